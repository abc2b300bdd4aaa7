"""`python -m framework`: run the scheduler, validate its config, or talk to a running one."""

from __future__ import annotations

import sys

CLI_COMMANDS = ("status", "pause", "resume", "retry", "skip")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in CLI_COMMANDS:
        from framework.cli import main as cli_main

        return cli_main(argv)
    from framework.config import main_validate_or_run

    return main_validate_or_run(argv)


if __name__ == "__main__":
    sys.exit(main())
