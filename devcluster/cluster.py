"""A local cluster: the master emulator, its HTTP front and N simulated agent hosts."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from devcluster import netns
from devcluster.agent import AgentSpec, SimulatedAgent
from devcluster.agent_http import AgentServer
from devcluster.control_api import ControlApi
from devcluster.master import Master, MasterOptions
from devcluster.master_http import MasterServer
from devcluster.netns import ClusterNetwork
from devcluster.platforms import DEFAULT_PLATFORM, PLATFORMS

log = logging.getLogger(__name__)

HOST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")


@dataclass(frozen=True)
class ClusterOptions:
    agents: int = 3
    public_agents: int = 0
    hostnames: tuple[str, ...] = ()
    # The Docker of the newest emulated DC/OS release (devcluster.platforms).
    docker_version: str = PLATFORMS[DEFAULT_PLATFORM].docker_version
    docker_restart_s: float = 0.5
    agent_restart_s: float = 1.0
    port: int = 0
    events_file: Path | None = None
    master: MasterOptions = field(default_factory=MasterOptions)
    # Each host in its own network namespace (its own 127.0.0.1; needs root), and the
    # master on the gateway address the namespaces reach (devcluster/netns.py).
    host_netns: bool = False


def agent_ip(index: int) -> str:
    """Each agent gets its own loopback address: 127.0.1.1, 127.0.1.2, ... 127.0.2.1, ..."""
    return f"127.0.{1 + index // 254}.{1 + index % 254}"


class LocalCluster:
    def __init__(self, work_dir: Path, options: ClusterOptions | None = None) -> None:
        self.work_dir = Path(work_dir)
        self.options = options or ClusterOptions()
        master_options = self.options.master
        if master_options.agent_restart_s != self.options.agent_restart_s:
            master_options = MasterOptions(**{**master_options.__dict__,
                                              "agent_restart_s": self.options.agent_restart_s})
        self.master = Master(self.work_dir, master_options, self.options.events_file)
        self.control = ControlApi(self)
        self.network = (ClusterNetwork(self.options.agents + self.options.public_agents)
                        if self.options.host_netns else None)
        try:
            self.server = MasterServer(self.master, self.options.port, self.control,
                                       host=self.address)
        except BaseException:
            self._stop_network()
            raise
        self.agent_servers: list[AgentServer] = []
        self._count = 0

    @property
    def address(self) -> str:
        """Where the cluster's servers listen: an address every host reaches."""
        return self.network.gateway if self.network is not None else "127.0.0.1"

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> LocalCluster:
        self.server.start()
        for _ in range(self.options.agents):
            self.add_agent(public=False)
        for _ in range(self.options.public_agents):
            self.add_agent(public=True)
        self.master.start()
        return self

    def stop(self) -> None:
        self.master.stop()
        self.server.stop()
        for server in self.agent_servers:
            server.stop()
        self._stop_network()

    def _stop_network(self) -> None:
        network, self.network = self.network, None
        if network is not None:
            network.stop()

    def add_agent(self, public: bool = False, hostname: str | None = None,
                  docker_version: str | None = None) -> SimulatedAgent:
        from devcluster.host.prepare import prepare_host
        from devcluster.host.spec import HostSpec

        index = self._count
        self._count += 1
        if hostname is None:
            names = self.options.hostnames
            if index < len(names):
                hostname = names[index]
            else:
                hostname = f"{'public-' if public else ''}agent-{index + 1}.devcluster"
        agent_id = self.master.next_agent_id()
        root = self.work_dir / "hosts" / f"{index + 1:04d}"
        namespace = None
        if self.network is not None:
            namespace, ip = self.network.add_host(index)
        else:
            ip = agent_ip(index)
        host_spec = HostSpec(
            agent_id=agent_id,
            # Mesos reports any host name; the host's own files use a plain one.
            hostname=hostname if HOST_NAME.match(hostname) else f"host-{index + 1}",
            ip=ip,
            public=public,
            docker_version=docker_version or self.options.docker_version,
            events_file=self.options.events_file,
            control_url=f"{self.url}/devcluster/agents/{agent_id}/unit",
            docker_restart_s=self.options.docker_restart_s,
            agent_restart_s=self.options.agent_restart_s,
            netns=namespace,
        )
        host_env = prepare_host(root, host_spec)
        with netns.entered(namespace):  # its endpoints answer on the host's own address
            http = AgentServer(self.master, agent_id, ip)
        self.agent_servers.append(http)
        spec = AgentSpec(id=agent_id, hostname=hostname, ip=ip, public=public, root=root,
                         work_dir=self.work_dir / "agents" / agent_id, netns=namespace,
                         http_port=http.port)
        agent = self.master.add_agent(spec, host_env)
        http.start()
        log.info("agent %s (%s) at %s, host root %s", hostname, agent_id, ip, root)
        return agent
