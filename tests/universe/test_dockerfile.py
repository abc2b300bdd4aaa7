"""The scheduler's Dockerfile stays in step with the repo and the package it ships in."""

from __future__ import annotations

import re
from pathlib import Path

from framework.config import defaults

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")


def test_every_copied_source_exists():
    sources = re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE, flags=re.MULTILINE)
    paths = [path for line in sources for path in line.split()]
    assert paths
    for path in paths:
        assert (REPO / path).exists(), path


def test_installs_through_the_wheelhouse_and_runs_the_scheduler():
    assert "python tools/wheelhouse.py --out /wheels" in DOCKERFILE
    assert "--no-index --find-links /wheels calico-dcos" in DOCKERFILE
    assert re.search(r"^FROM python:3\.11-slim$", DOCKERFILE, flags=re.MULTILINE)
    assert DOCKERFILE.rstrip().endswith('ENTRYPOINT ["python", "-m", "framework"]')
    assert re.search(r"^USER calico$", DOCKERFILE, flags=re.MULTILINE), "not root"


def test_the_documented_tag_is_the_image_the_package_pins():
    assert f"docker build -t {defaults.SCHEDULER_IMAGE} ." in DOCKERFILE


def test_every_installed_package_is_copied_into_the_image():
    setup = (REPO / "setup.cfg").read_text(encoding="utf-8")
    include = setup.split("[options.packages.find]", 1)[1].split("[", 1)[0]
    packages = {line.strip() for line in include.splitlines()
                if line.strip() and "=" not in line and not line.strip().endswith(".*")}
    assert "operator_cli" in packages
    for package in packages:
        assert f"COPY {package}/ {package}/" in DOCKERFILE, package
