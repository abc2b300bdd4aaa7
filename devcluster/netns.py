"""Each simulated host in its own network namespace, so it has its own 127.0.0.1 as a real
agent does (the etcd proxy binds 127.0.0.1:2379 on every host).

As root, a dev cluster creates a bridge on the host side with the cluster's gateway address
and, per simulated host, a namespace joined to the bridge by a veth pair (`eth0` inside,
with the host's address and a default route to the gateway). The dev cluster's servers (etcd,
the master emulator, the artifact mirror, the scheduler) listen on the gateway address, which
both this machine and every namespace reach.

Addresses come from 198.18.0.0/15 (RFC 2544: reserved for network benchmarks, never routed),
one block per dev cluster that no address on this machine uses yet. Names carry the creating
process's pid (`cdc<pid><seq>...`, `cdc-<pid>-<seq>-<n>`), so dev clusters of several
processes never collide; whatever a dead pid left behind (a crash) is removed by the next dev
cluster that starts. Without root nothing is created and hosts share this machine's network.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import ipaddress
import itertools
import logging
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

NETNS_DIR = Path("/run/netns")
LOCK_FILE = Path("/run/calico-devcluster-netns.lock")
ADDRESS_RANGE = ipaddress.ip_network("198.18.0.0/15")
LINK_PREFIX = "cdc"  # + 6 hex digits of pid + 2 of sequence + suffix (<= 15 characters)
NETNS_PREFIX = "cdc-"  # + pid-seq-index
CLONE_NEWNET = 0x40000000
IP_TIMEOUT_S = 30.0
_LINK_RE = re.compile(rf"^{LINK_PREFIX}([0-9a-f]{{6}})[0-9a-f]{{2}}")
_NETNS_RE = re.compile(rf"^{NETNS_PREFIX}(\d+)-")
_sequence = itertools.count()
_libc = ctypes.CDLL(None, use_errno=True)


class NetnsError(RuntimeError):
    pass


def available() -> bool:
    """Namespaces need root and iproute2's `ip`."""
    return os.geteuid() == 0 and shutil.which("ip") is not None


@contextlib.contextmanager
def entered(name: str | None) -> Iterator[None]:
    """Run the block (this thread only) inside the named namespace; sockets it opens and
    processes it starts live there. None: stay where we are."""
    if name is None:
        yield
        return
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        _setns(NETNS_DIR / name)
        try:
            yield
        finally:
            if _libc.setns(own, CLONE_NEWNET) != 0:
                raise NetnsError(f"cannot return from namespace {name}: "
                                 f"{os.strerror(ctypes.get_errno())}")
    finally:
        os.close(own)


def _setns(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            raise NetnsError(f"cannot enter {path}: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(fd)


class ClusterNetwork:
    """The bridge and namespaces of one dev cluster."""

    def __init__(self, hosts: int) -> None:
        sweep_stale()
        pid = os.getpid()
        seq = next(_sequence) % 256
        self.tag = f"{pid:06x}{seq:02x}"
        self.netns_stem = f"{NETNS_PREFIX}{pid}-{seq}"
        self.bridge = f"{LINK_PREFIX}{self.tag}br"
        self._lock = threading.Lock()
        self._namespaces: list[str] = []
        with _machine_lock():
            self.subnet = _free_block(hosts + 2)
            self.gateway = str(next(self.subnet.hosts()))
            _ip("link", "add", self.bridge, "type", "bridge")
            _ip("addr", "add", f"{self.gateway}/{self.subnet.prefixlen}", "dev", self.bridge)
            _ip("link", "set", self.bridge, "up")
        self._hosts = self.subnet.hosts()
        next(self._hosts)  # the gateway's
        log.info("dev cluster network %s on bridge %s", self.subnet, self.bridge)

    def add_host(self, index: int) -> tuple[str, str]:
        """(namespace name, address) of a new host namespace joined to the bridge."""
        with self._lock:
            try:
                address = str(next(self._hosts))
            except StopIteration:
                raise NetnsError(f"no address left in {self.subnet}") from None
            name = f"{self.netns_stem}-{index}"
            veth = f"{LINK_PREFIX}{self.tag}{index:04x}"
            _ip("netns", "add", name)
            self._namespaces.append(name)
        _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", name)
        _ip("link", "set", veth, "master", self.bridge, "up")
        _ip("-n", name, "-batch", "-", stdin=(
            "link set lo up\nlink set eth0 up\n"
            f"addr add {address}/{self.subnet.prefixlen} dev eth0\n"
            f"route add default via {self.gateway}\n"))
        return name, address

    def stop(self) -> None:
        """Remove every namespace (their veths go with them) and the bridge."""
        with self._lock:
            names, self._namespaces = self._namespaces, []
        commands = "".join(f"netns delete {name}\n" for name in names)
        commands += f"link delete {self.bridge}\n"
        _ip("-force", "-batch", "-", stdin=commands, check=False)


def add_container_netns(container_id: str) -> str:
    """A network namespace for one container (the agent's, devcluster/cni.py), loopback up;
    its name carries this process's pid so a dead dev cluster's are swept."""
    name = f"{NETNS_PREFIX}{os.getpid()}-c-{container_id}"
    _ip("netns", "add", name)
    try:
        _ip("-n", name, "link", "set", "lo", "up")
    except NetnsError:
        delete_netns(name)
        raise
    return name


def delete_netns(name: str) -> None:
    _ip("netns", "delete", name, check=False)


def sweep_stale() -> None:
    """Remove namespaces and links that dev clusters of dead processes left behind."""
    commands = []
    if NETNS_DIR.is_dir():
        for entry in NETNS_DIR.iterdir():
            match = _NETNS_RE.match(entry.name)
            if match and not _alive(int(match.group(1))):
                commands.append(f"netns delete {entry.name}\n")
    links = _ip("-o", "link", "show", check=False)
    for line in links.splitlines():
        name = line.split(":", 2)[1].strip().split("@", 1)[0] if ":" in line else ""
        match = _LINK_RE.match(name)
        if match and not _alive(int(match.group(1), 16)):
            commands.append(f"link delete {name}\n")
    if commands:
        log.info("removing %d network namespaces and links of dead dev clusters", len(commands))
        _ip("-force", "-batch", "-", stdin="".join(commands), check=False)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _free_block(addresses: int) -> ipaddress.IPv4Network:
    """The first block of ADDRESS_RANGE big enough and unused by any address here."""
    prefix = min(24, 32 - max(addresses + 2, 4).bit_length())
    used = [ipaddress.ip_interface(word).network
            for word in re.findall(r"inet (\S+)", _ip("-4", "-o", "addr", "show"))]
    for block in ADDRESS_RANGE.subnets(new_prefix=prefix):
        if not any(block.overlaps(net) for net in used):
            return block
    raise NetnsError(f"no free /{prefix} left in {ADDRESS_RANGE}")


@contextlib.contextmanager
def _machine_lock() -> Iterator[None]:
    """Dev clusters starting at once pick their address blocks one at a time."""
    with open(LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _ip(*args: str, stdin: str | None = None, check: bool = True) -> str:
    done = subprocess.run(["ip", *args], input=stdin, capture_output=True, text=True,
                          timeout=IP_TIMEOUT_S)
    if check and done.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout
