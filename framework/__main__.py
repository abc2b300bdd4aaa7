"""`python -m framework`: run the scheduler, validate its config, or talk to a running one."""

from __future__ import annotations

import os
import sys

CLI_COMMANDS = ("status", "plan", "pause", "resume", "retry", "skip")
EXIT_BAD_CONFIG = 2


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in CLI_COMMANDS:
        from operator_cli.commands import main as cli_main

        return cli_main(argv)

    from framework.config import ConfigError, load

    try:
        config = load(argv, os.environ)
    except ConfigError as err:
        print("invalid configuration:", file=sys.stderr)
        for problem in err.problems:
            print(f"  - {problem}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    if config.validate_only:
        print("configuration is valid")
        return 0

    from framework.dcos_auth import DcosAuthError
    from framework.memory import return_large_blocks
    from framework.scheduler import run
    from framework.state import StoreAuthError

    return_large_blocks()
    try:
        return run(config)
    except DcosAuthError as err:
        print(f"cannot log in to DC/OS: {err}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    except StoreAuthError as err:
        print(f"cannot log in to etcd: {err}", file=sys.stderr)
        return EXIT_BAD_CONFIG


if __name__ == "__main__":
    sys.exit(main())
