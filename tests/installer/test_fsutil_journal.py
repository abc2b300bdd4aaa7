"""Atomic writes, created-dir tracking and the journal's records and backups."""

import json
import os

import pytest

from installer import fsutil
from installer.errors import HostError
from installer.host import Host
from installer.journal import Journal


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"old")
    fsutil.atomic_write(str(target), b"new", mode=0o600)
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o600
    assert os.listdir(tmp_path) == ["f"]


def test_atomic_write_failure_keeps_previous(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"old")
    with pytest.raises(HostError, match="cannot write"):
        fsutil.atomic_write(str(tmp_path / "missing" / "f"), b"x")
    (tmp_path / "dir").mkdir()
    with pytest.raises(HostError, match="cannot write"):  # rename over a directory fails
        fsutil.atomic_write(str(tmp_path / "dir"), b"x")
    assert target.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["dir", "f"]


def test_ensure_dir_reports_created_dirs(tmp_path):
    created = fsutil.ensure_dir(str(tmp_path / "a" / "b"))
    assert created == [str(tmp_path / "a"), str(tmp_path / "a" / "b")]
    assert fsutil.ensure_dir(str(tmp_path / "a" / "b")) == []
    fsutil.remove_empty_dirs(created)
    assert os.listdir(tmp_path) == []


def test_missing_dirs_rejects_file_in_the_way(tmp_path):
    (tmp_path / "a").write_text("file")
    with pytest.raises(HostError, match="not a directory"):
        fsutil.missing_dirs(str(tmp_path / "a" / "b"))


def test_remove_empty_dirs_keeps_non_empty(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "keep").write_text("x")
    fsutil.remove_empty_dirs([str(tmp_path / "a")])
    assert (tmp_path / "a" / "keep").exists()


def test_journal_round_trip_and_cleanup(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    journal = Journal(str(root / "var/lib/calico-dcos"))
    assert journal.load("docker") is None
    saved = journal.save("docker", {"phase": "written", "target": {"a": 1}})
    assert journal.load("docker") == saved
    assert saved["step"] == "docker" and saved["updated_at"] > 0
    journal.save_backup("docker", "daemon.json", b"\x00exact bytes")
    assert journal.load_backup("docker", "daemon.json") == b"\x00exact bytes"
    journal.remove_if_empty()
    assert (root / "var/lib/calico-dcos").exists()  # still holds a record
    journal.clear("docker")
    journal.drop_backup("docker", "daemon.json")
    journal.remove_if_empty()
    assert os.listdir(root) == []  # var and var/lib were created by the journal


def test_journal_keeps_preexisting_parents(tmp_path):
    (tmp_path / "var/lib").mkdir(parents=True)
    journal = Journal(str(tmp_path / "var/lib/calico-dcos"))
    journal.save("cni", {"phase": "done"})
    journal.clear("cni")
    journal.remove_if_empty()
    assert os.listdir(tmp_path / "var/lib") == []
    assert (tmp_path / "var/lib").is_dir()


def test_corrupt_journal_is_a_clear_error(tmp_path):
    journal = Journal(str(tmp_path))
    os.makedirs(journal.journal_dir)
    with open(journal.path("docker"), "w") as handle:
        handle.write("{half")
    with pytest.raises(HostError, match="corrupt"):
        journal.load("docker")
    with open(journal.path("docker"), "w") as handle:
        json.dump([1], handle)
    with pytest.raises(HostError, match="not a JSON object"):
        journal.load("docker")


def test_write_target_follows_links_under_the_root(tmp_path):
    host = Host(str(tmp_path))
    (tmp_path / "srv").mkdir()
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "daemon.json").symlink_to("/srv/daemon.json")  # a host path
    (tmp_path / "etc" / "relative.json").symlink_to("daemon.json")
    assert host.write_target(host.path("/etc/relative.json")) == host.path("/srv/daemon.json")
    assert host.write_target(host.path("/etc/plain.json")) == host.path("/etc/plain.json")
    (tmp_path / "etc" / "loop").symlink_to("loop")
    with pytest.raises(HostError, match="too many levels"):
        host.write_target(host.path("/etc/loop"))
