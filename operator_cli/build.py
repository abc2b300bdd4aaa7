"""Build `dcos-calico`, the DC/OS CLI subcommand: `python -m operator_cli.build --out PATH`.

An executable zipapp (`#!/usr/bin/env python3`) of this package, built like the installer's
(sorted entries, fixed timestamps: the same sources give the same bytes, so the sha256 in
the package's resource.json is stable). The DC/OS CLI installs a `kind: executable` binary
as `dcos-<package>` and runs it as `dcos-calico calico <args>`: see `operator_cli.plugin`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path

from installer import fsutil
from installer.build import zipapp_bytes

NAME = "dcos-calico"
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
MAIN = b"import sys\nfrom operator_cli.plugin import main\nsys.exit(main())\n"


def plugin_bytes() -> bytes:
    return zipapp_bytes(PACKAGE_DIR, MAIN)


def sha256() -> str:
    return hashlib.sha256(plugin_bytes()).hexdigest()


def build(out: Path) -> Path:
    """Write the executable atomically to `out` (a file, or a directory to hold dcos-calico)."""
    path = out / NAME if out.is_dir() else out
    path.parent.mkdir(parents=True, exist_ok=True)
    fsutil.atomic_write(str(path), plugin_bytes(), mode=0o755)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m operator_cli.build")
    parser.add_argument("--out", type=Path, required=True, help="output file or directory")
    path = build(parser.parse_args(argv).out)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
