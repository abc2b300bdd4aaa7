"""`python -m universe build|render|serve`: the Calico Universe package tool."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from universe import build, render
from universe.errors import UniverseError
from universe.schemas import load_schemas, reference_dir
from universe.serve import REPO_PATH, make_server

DEFAULT_OUT = Path("build/universe")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m universe", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("build", help="check the package and write the repo files")
    make.add_argument("--out", type=Path, default=DEFAULT_OUT)
    make.add_argument("--reference", type=Path, default=None,
                      help="directory with the Universe and Marathon schemas "
                           "(default: the project's tests/data/reference/)")
    make.add_argument("--min-dcos", default=build.MIN_DCOS_RELEASE,
                      help="minDcosReleaseVersion of the package")
    make.add_argument("--cli-url", default=build.defaults.CLI_URL,
                      help="where the DC/OS CLI downloads dcos-calico (the built cli/dcos-calico,"
                           " e.g. http://<serve host>:8086/cli/dcos-calico); must end in "
                           "/dcos-calico")
    show = commands.add_parser("render", help="print the Marathon app Cosmos would create")
    show.add_argument("--options", type=Path, default=None, help="options JSON file")
    serve = commands.add_parser("serve", help="serve a built repo for `dcos package repo add`")
    serve.add_argument("--dir", type=Path, default=DEFAULT_OUT)
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8086)
    return parser


def _render(options_path: Path | None) -> int:
    options = {}
    if options_path is not None:
        try:
            options = json.loads(options_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise UniverseError(f"cannot read options {options_path}: {err}") from None
        if not isinstance(options, dict):
            raise UniverseError(f"options {options_path} must be a JSON object")
    package = build.parse_package(build.source_texts())
    app = render.render_app(package.marathon_template, package.config, package.resource,
                            options)
    print(json.dumps(app, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        if args.command == "build":
            schemas = load_schemas(reference_dir(args.reference))
            for path in build.build(args.out, schemas, min_dcos=args.min_dcos,
                                    cli_url=args.cli_url):
                print(path)
            return 0
        if args.command == "render":
            return _render(args.options)
        server = make_server(args.dir, args.host, args.port)
        host, port = server.server_address[:2]
        print(f"serving http://{host}:{port}{REPO_PATH}", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            server.server_close()
        return 0
    except UniverseError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
