"""Build the wheels that PyPI cannot give us for this Python into ./.wheelhouse.

pymesos 0.3.15 depends on http-parser 0.9.0, whose sdist ships Cython output that no
longer compiles on Python 3.11+ and a setup.py that imports the removed ``imp`` module.
pymesos falls back to http-parser's pure-Python parser when the C extension is absent, so
we repackage the sdist's Python modules as a pure wheel. Stdlib only; idempotent.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

HTTP_PARSER_VERSION = "0.9.0"
WHEEL_NAME = f"http_parser-{HTTP_PARSER_VERSION}-py3-none-any.whl"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_http_parser_wheel(out_dir: Path) -> Path:
    wheel = out_dir / WHEEL_NAME
    if wheel.exists():
        return wheel
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--no-binary", ":all:", f"http-parser=={HTTP_PARSER_VERSION}", "-d", tmp],
            check=True,
        )
        sdist = next(Path(tmp).glob("http-parser-*.tar.gz"))
        files: dict[str, bytes] = {}
        with tarfile.open(sdist) as tar:
            for member in tar.getmembers():
                parts = Path(member.name).parts
                if (member.isfile() and len(parts) == 3 and parts[1] == "http_parser"
                        and parts[2].endswith(".py")):
                    extracted = tar.extractfile(member)
                    if extracted is not None:
                        files[f"http_parser/{parts[2]}"] = extracted.read()
    dist_info = f"http_parser-{HTTP_PARSER_VERSION}.dist-info"
    files[f"{dist_info}/METADATA"] = (
        "Metadata-Version: 2.1\nName: http-parser\n"
        f"Version: {HTTP_PARSER_VERSION}\nSummary: http request/response parser "
        "(pure-Python build)\n"
    ).encode()
    files[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: calico-dcos tools/wheelhouse.py\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = [_record_line(name, data) for name, data in sorted(files.items())]
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    partial = wheel.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(files.items()):
            zf.writestr(name, data)
    partial.replace(wheel)
    return wheel


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(".wheelhouse"))
    args = parser.parse_args()
    print(build_http_parser_wheel(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
