"""The etcd release archive from the dev cluster's mirror, fetched in the TaskInfo shapes:
the shape the scheduler used to send fails as it does under the Mesos fetcher (an executable
URI is never extracted: apache/mesos 1.4.0 src/launcher/fetcher.cpp `fetchBypassingCache`),
the production shape leaves the archive for the installer to check and unpack."""

from __future__ import annotations

import errno
import subprocess
import tarfile

import pytest

from devcluster.fetcher import fetch_all
from devcluster.mirror import ArtifactMirror, file_sha256
from framework.config import defaults, load
from framework.engine import Launch
from framework.taskinfo import ArtifactUrls, task_info
from tests.framework.test_glue import OFFER


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    served = ArtifactMirror(tmp_path_factory.mktemp("mirror")).start()
    yield served
    served.stop()


def test_the_mirror_serves_release_shaped_artifacts_at_the_default_paths(mirror):
    url = mirror.url(defaults.ETCD_BINARY_URL)
    assert url.endswith("/etcd-io/etcd/releases/download/v3.5.33/etcd-v3.5.33-linux-amd64.tar.gz")
    with tarfile.open(mirror.path(defaults.ETCD_BINARY_URL)) as tar:
        assert "etcd-v3.5.33-linux-amd64/etcd" in tar.getnames()
    env = mirror.scheduler_env()
    assert env["CALICO_ETCD_PROXY_BINARY_SHA256"] == file_sha256(
        mirror.path(defaults.ETCD_BINARY_URL))
    assert "CALICO_CNI_PLUGIN_SHA256" not in env  # unpinned, as the package's default


def test_the_old_executable_tarball_shape_fails_to_exec_as_on_mesos(mirror, tmp_path):
    old_shape = {"value": mirror.url(defaults.ETCD_BINARY_URL), "executable": True,
                 "extract": False, "output_file": "etcd"}
    fetch_all([old_shape], tmp_path)
    with pytest.raises(OSError) as caught:
        subprocess.run([str(tmp_path / "etcd"), "--version"], capture_output=True)
    assert caught.value.errno == errno.ENOEXEC  # "Exec format error": a gzip file


def test_the_production_shape_leaves_the_archive_intact(mirror, tmp_path):
    config = load([], mirror.scheduler_env())
    launch = Launch("o1", "a1", "calico-etcd-proxy.a1.1", "etcd-proxy", "*", 0.1, 64.0, "h")
    urls = ArtifactUrls("http://s/calico-installer.pyz", "http://s/c.conf")
    task = task_info(config, launch, OFFER, urls, "h1", ("http://e1:2380",))
    fetch_all(task["command"]["uris"][1:], tmp_path)
    archive = tmp_path / defaults.ETCD_ARCHIVE_NAME
    assert file_sha256(archive) == config.etcd_proxy.binary_sha256
    assert [p.name for p in tmp_path.iterdir()] == [defaults.ETCD_ARCHIVE_NAME]
