"""Files the scheduler serves to the Mesos fetcher at /artifacts/: the installer and configs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import jinja2

from framework.config import STEP_CNI, Config
from framework.taskinfo import ArtifactUrls
from installer.build import build

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("framework", "templates"),
    autoescape=False,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


def render_cni_config(config: Config) -> str:
    inputs = config.step_inputs()[STEP_CNI]
    return TEMPLATES.get_template("calico.conf.j2").render(**inputs)


def prepare(config: Config, directory: Path, port: int) -> ArtifactUrls:
    """Build the installer and render configs into `directory`; their URLs for agents."""
    build(str(directory / "calico-installer.pyz"))
    cni = render_cni_config(config).encode()
    name = f"cni-{hashlib.sha256(cni).hexdigest()[:16]}.conf"
    (directory / name).write_bytes(cni)
    base = config.installer.url
    host = config.framework.hostname
    if ":" in host:
        host = f"[{host}]"
    served = f"http://{host}:{port}/artifacts"
    return ArtifactUrls(installer=base or f"{served}/calico-installer.pyz",
                        cni_config=f"{served}/{name}")
