"""Build calico-installer.pyz: `python -m installer.build --out PATH`.

A zipapp holding only the installer package's .py files and a tiny __main__; entries are
stored in sorted order with a fixed timestamp, so the same sources give the same bytes.
`zipapp_bytes` builds such a zipapp of any package (the operator CLI is one too).
"""

import argparse
import io
import os
import sys
import zipfile
from typing import List, Optional

from installer import fsutil
from installer.errors import InstallerError

SHEBANG = b"#!/usr/bin/env python3\n"
FIXED_DATE = (2020, 1, 1, 0, 0, 0)
MAIN = b"import sys\nfrom installer.cli import main\nsys.exit(main())\n"
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def sources(package_dir: str = PACKAGE_DIR) -> List[str]:
    """Paths of the package's .py files relative to its parent, sorted."""
    found = []
    for directory, subdirs, files in os.walk(package_dir):
        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                found.append(os.path.relpath(path, os.path.dirname(package_dir)))
    return sorted(found)


def _entry(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, FIXED_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    zf.writestr(info, data)


def zipapp_bytes(package_dir: str, main: bytes) -> bytes:
    """An executable zipapp of the package at `package_dir` whose __main__ is `main`."""
    archive = io.BytesIO()
    archive.write(SHEBANG)
    with zipfile.ZipFile(archive, "w") as zf:
        _entry(zf, "__main__.py", main)
        for relative in sources(package_dir):
            with open(os.path.join(os.path.dirname(package_dir), relative), "rb") as src:
                _entry(zf, relative.replace(os.sep, "/"), src.read())
    return archive.getvalue()


def build(out: str) -> str:
    """Write the .pyz atomically to out (a file path, or a dir to hold calico-installer.pyz)."""
    if os.path.isdir(out):
        out = os.path.join(out, "calico-installer.pyz")
    fsutil.atomic_write(out, zipapp_bytes(PACKAGE_DIR, MAIN), mode=0o755)
    return out


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m installer.build")
    parser.add_argument("--out", required=True, help="output file or directory")
    options = parser.parse_args(argv)
    try:
        path = build(options.out)
    except InstallerError as err:
        sys.stderr.write("{}\n".format(err.reason))
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
