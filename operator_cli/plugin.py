"""`dcos calico`: the DC/OS CLI subcommand the Universe package installs.

The DC/OS CLI runs a package's subcommand binary `dcos-<package>` with the subcommand's
name first: `dcos-calico calico <args>` (dcos/dcos-cli 0.5.14 `dcos/subcommand.py`: `info`
runs `[executable, noun, '--info']`; 0.7.13 `pkg/cmd/dcos.go` passes the arguments from
the command's name on), and asks `dcos-calico calico --info` for the one-line description
its help lists (0.7.13 `pkg/plugin/manager.go` `commandDescription`).

It talks to the service through Admin Router, `<DC/OS URL>/service/<name>/`, with the
user's own DC/OS login (`operator_cli.dcos`): Admin Router checks it and the scheduler
verifies it and records the user in the event log. The operator token
($CALICO_OPERATOR_TOKEN or --token-file) still works for scripts.
"""

from __future__ import annotations

import argparse
import os
import re
import ssl
import sys
from collections.abc import Mapping, Sequence

from operator_cli.api import EXIT_OK, EXIT_USAGE, Api, CliError
from operator_cli.commands import TOKEN_ENV, add_arguments, read_secret, run
from operator_cli.dcos import attached_cluster

SUBCOMMAND = "calico"
DESCRIPTION = "Show and steer the Calico for DC/OS rollout (status, plan, pause, resume, " \
              "retry, skip)"
DEFAULT_SERVICE = "calico"
SERVICE_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")  # package option service.name


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"dcos {SUBCOMMAND}", description=DESCRIPTION,
                                     allow_abbrev=False)
    add_arguments(parser)
    parser.add_argument("--name", default=DEFAULT_SERVICE,
                        help="the service's name (package option service.name)")
    return parser


def tls_context(verify: bool | str) -> ssl.SSLContext:
    """How to check the cluster's certificate, as the DC/OS CLI is set up to."""
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=None if verify is True else verify)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    environ = os.environ if environ is None else environ
    if args[:1] == [SUBCOMMAND]:
        args = args[1:]
    if args == ["--info"]:
        print(DESCRIPTION)
        return EXIT_OK
    options = build_parser().parse_args(args)
    try:
        if not SERVICE_NAME.match(options.name):
            raise CliError(f"--name {options.name!r} is not a service name", EXIT_USAGE)
        cluster = attached_cluster(environ)
        base = f"{cluster.url.rstrip('/')}/service/{options.name}/"
        api = Api(base, read_secret(options.token_file, environ, TOKEN_ENV), cluster.token,
                  tls_context(cluster.verify) if base.startswith("https://") else None)
        run(options, api, sys.stdout)
    except CliError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    return EXIT_OK
