"""A task joining the Calico CNI network through the simulated agent: the calico stand-ins
attach it (with a real veth into its own network namespace when the hosts have their own,
as root), calico-ipam gives each container its own address from the pool, and each way the
attach fails ends the task as Mesos does."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import socket
import subprocess
import sys
import threading

import pytest

from devcluster import netns
from devcluster.cluster import ClusterOptions, LocalCluster
from devcluster.etcd import EtcdServer
from devcluster.host import calico_cni
from devcluster.host.etcdv2 import Client, V2Error
from devcluster.host.hostdir import CNI_CONFIG_DIR, CNI_PLUGIN_DIR
from devcluster.mirror import CNI_STANDIN, PROJECT_ROOT
from tests.devcluster.harness import RecordingScheduler, launch
from tests.wait import wait_until

POOL = "10.99.0.0/26"  # one block of 64 addresses
MODES = [True, False] if netns.available() else [False]  # hosts in their own namespaces?
CONTAINER = {"type": "MESOS", "network_infos": [{"name": "calico"}]}


@pytest.fixture(params=MODES, ids=lambda own: "own-netns" if own else "shared-network")
def world(request, tmp_path):
    cluster = LocalCluster(tmp_path / "cluster",
                           ClusterOptions(agents=2, host_netns=request.param)).start()
    etcd = EtcdServer(tmp_path / "etcd", host=cluster.address).start()
    v2 = Client([etcd.endpoint])
    v2.set("/calico/v1/Ready", "true")
    v2.set(f"/calico/v1/ipam/v4/pool/{POOL.replace('/', '-')}",
           json.dumps({"cidr": POOL, "ipam": True, "disabled": False}))
    agents = sorted(cluster.master.agents.values(), key=lambda a: a.spec.hostname)
    for agent in agents:
        _install_cni(agent, etcd.endpoint)
    from pymesos import MesosSchedulerDriver

    scheduler = RecordingScheduler()
    driver = MesosSchedulerDriver(scheduler, {"user": "root", "name": "cni-test",
                                              "roles": ["*"],
                                              "capabilities": [{"type": "MULTI_ROLE"}]},
                                  cluster.url.removeprefix("http://"))
    driver.start()
    yield cluster, agents, v2, driver, scheduler, etcd
    driver.stop()
    driver.join()
    cluster.stop()
    etcd.stop()


def _install_cni(agent, endpoint: str, **changes) -> None:
    config = {"name": "calico", "cniVersion": "0.2.0", "type": "calico",
              "etcd_endpoints": endpoint, "nodename": agent.spec.hostname,
              "ipam": {"type": "calico-ipam", "ipv4_pools": [POOL]}, **changes}
    (agent.spec.root / CNI_CONFIG_DIR / "calico.conf").write_text(json.dumps(config))
    for name in ("calico", "calico-ipam"):
        path = agent.spec.root / CNI_PLUGIN_DIR / name
        path.write_text(CNI_STANDIN.format(python=sys.executable, name=name,
                                           project=str(PROJECT_ROOT)))
        path.chmod(0o755)


def _ip_of(status: dict) -> str:
    [network] = status["container_status"]["network_infos"]
    return network["ip_addresses"][0]["ip_address"]


def _links(namespace: str | None) -> str:
    with netns.entered(namespace):
        return subprocess.run(["ip", "-o", "link", "show"], capture_output=True,
                              text=True).stdout


def _listen(namespace: str | None, address: str) -> socket.socket:
    with netns.entered(namespace):
        server = socket.create_server((address, 0))

    def accept() -> None:
        with contextlib.suppress(OSError):  # closed by the test
            server.accept()[0].close()

    threading.Thread(target=accept, daemon=True).start()
    return server


CONNECT = ("python3 -c \"import socket,sys; socket.create_connection(('{ip}', {port}), "
           "timeout=10); print(open('/proc/net/route').read())\"")


def test_each_container_gets_its_own_address_and_its_packets_cross_a_real_veth(world):
    cluster, agents, v2, driver, scheduler, _ = world
    listeners = [_listen(a.spec.netns, a.spec.ip) for a in agents]
    tasks = []
    for index, (agent, listener) in enumerate(zip(agents, listeners, strict=True)):
        port = listener.getsockname()[1]
        tasks.append(launch(driver, scheduler, agent, f"t{index}",
                            CONNECT.format(ip=agent.spec.ip, port=port) + "; sleep 60",
                            container=CONTAINER))
    running = [scheduler.wait_state(f"t{i}", "TASK_RUNNING") for i in range(2)]
    addresses = [_ip_of(status) for status in running]
    assert len(set(addresses)) == 2
    assert all(address.startswith("10.99.0.") for address in addresses)
    handles = v2.get("/calico/ipam/v2/handle", recursive="true")["node"]["nodes"]
    assert len(handles) == 2
    if cluster.network is not None:
        for agent, task, address in zip(agents, tasks, addresses, strict=True):
            veth = calico_cni.host_veth_name(task.container_id)
            assert veth in _links(agent.spec.netns)
            with netns.entered(task.netns):
                inside = subprocess.run(["ip", "-4", "-o", "addr", "show", "eth0"],
                                        capture_output=True, text=True).stdout
                routes = subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
            assert f"{address}/32" in inside
            assert "default via 169.254.1.1 dev eth0" in routes
            assert "169.254.1.1 dev eth0 scope link" in routes
            proxy_arp = subprocess.run(
                ["ip", "netns", "exec", agent.spec.netns, "cat",
                 f"/proc/sys/net/ipv4/conf/{veth}/proxy_arp"], capture_output=True, text=True)
            assert proxy_arp.stdout.strip() == "1"
        # The connection from each task reached its host's listener over the veth.
        for task in tasks:
            stdout = wait_until(lambda t=task: (t.sandbox / "stdout").read_text() or None,
                                what="the task's connect")
            assert "eth0" in stdout
    for index in range(2):
        driver.killTask({"value": f"t{index}"})
    for index in range(2):
        scheduler.wait_state(f"t{index}", "TASK_KILLED")
    # DEL released the addresses and the veths; the namespaces are gone.
    wait_until(lambda: not (v2.get("/calico/ipam/v2/handle", recursive="true")["node"]
                            .get("nodes")), what="the handles released")
    if cluster.network is None:  # a shared network: an address on record, no interface
        assert all(task.netns is None for task in tasks)
    else:
        for agent, task in zip(agents, tasks, strict=True):
            veth = calico_cni.host_veth_name(task.container_id)
            wait_until(lambda a=agent, v=veth: v not in _links(a.spec.netns),
                       what="the host veth removed")
            assert task.netns is None
    for listener in listeners:
        listener.close()


def _failed(scheduler, task_id: str) -> str:
    status = scheduler.wait_state(task_id, "TASK_FAILED")
    assert status["reason"] == "REASON_CONTAINER_LAUNCH_FAILED"
    assert "The CNI plugin '" in status["message"]
    assert "failed to attach container" in status["message"]
    return status["message"]


def test_an_exhausted_pool_fails_the_task_with_calicos_message(world):
    cluster, agents, v2, driver, scheduler, _ = world
    block = calico_cni.new_block(ipaddress.ip_network(POOL), "elsewhere")
    block["allocations"] = [0] * 64
    block["unallocated"] = []
    block["attributes"] = [{"handle_id": "other.c", "secondary": None}]
    v2.set(f"/calico/ipam/v2/assignment/ipv4/block/{POOL.replace('/', '-')}",
           json.dumps(block))
    launch(driver, scheduler, agents[0], "full", "true", container=CONTAINER,
           wait_state=None)
    message = _failed(scheduler, "full")
    assert "Failed to request 1 IPv4 addresses. IPAM allocated only 0." in message
    _nothing_left(agents[0], v2)


def _nothing_left(agent, v2) -> None:
    """No address held, no veth, no container namespace left behind by a failed attach."""
    handles = v2.get("/calico/ipam/v2/handle", recursive="true")["node"] \
        if _has(v2, "/calico/ipam/v2/handle") else {}
    assert not handles.get("nodes")
    if agent.spec.netns is not None:
        assert "cali" not in _links(agent.spec.netns)
        assert not [n for n in netns.NETNS_DIR.iterdir()
                    if n.name.startswith(f"{netns.NETNS_PREFIX}{os.getpid()}-c-")]


def _has(v2, key: str) -> bool:
    try:
        v2.get(key)
    except V2Error:
        return False
    return True


def test_a_missing_pool_fails_the_task(world):
    cluster, agents, v2, driver, scheduler, _ = world
    v2.request("DELETE", f"/v2/keys/calico/v1/ipam/v4/pool/{POOL.replace('/', '-')}")
    launch(driver, scheduler, agents[0], "nopool", "true", container=CONTAINER,
           wait_state=None)
    assert f"The given pool ({POOL}) does not exist" in _failed(scheduler, "nopool")
    _nothing_left(agents[0], v2)


def test_a_missing_plugin_binary_or_network_fails_the_task_as_mesos_does(world):
    cluster, agents, v2, driver, scheduler, _ = world
    (agents[0].spec.root / CNI_PLUGIN_DIR / "calico").unlink()
    launch(driver, scheduler, agents[0], "noplugin", "true", container=CONTAINER,
           wait_state=None)
    status = scheduler.wait_state("noplugin", "TASK_FAILED")
    assert "Failed to find CNI plugin 'calico' used by CNI network 'calico'" in \
        status["message"]
    launch(driver, scheduler, agents[1], "nonet", "true", wait_state=None,
           container={"type": "MESOS", "network_infos": [{"name": "other"}]})
    status = scheduler.wait_state("nonet", "TASK_FAILED")
    assert "Unknown CNI network 'other'" in status["message"]
    for agent in agents:
        _nothing_left(agent, v2)


def test_etcd_unreachable_fails_the_task(world):
    cluster, agents, v2, driver, scheduler, etcd = world
    _install_cni(agents[0], f"http://{cluster.address}:1")
    launch(driver, scheduler, agents[0], "noetcd", "true", container=CONTAINER,
           wait_state=None)
    assert "Unable to retreive ReadyFlag from Backend" in _failed(scheduler, "noetcd")


def _port_open(agent, port: int) -> bool:
    with netns.entered(agent.spec.netns):
        try:
            socket.create_connection((agent.spec.ip, port), timeout=2).close()
        except OSError:
            return False
    return True


BGP_CHECK = ("python3 -c \"import socket; socket.create_connection(('{ip}', 179), "
             "timeout=5).close()\"")


@pytest.mark.skipif(not netns.available(), reason="a real veth needs root")
def test_a_task_on_the_calico_network_reaches_its_agents_bird_only_while_calico_node_runs(
        world):
    """The verify path: from the task's own namespace, over its veth, to port 179 on its
    agent, which BIRD answers once calico/node's startup succeeded."""
    cluster, agents, v2, driver, scheduler, etcd = world
    if cluster.network is None:
        pytest.skip("hosts share this machine's network: no veth, and port 179 is privileged")
    agent = agents[0]
    env = {**os.environ, **agent.host_env}
    check = BGP_CHECK.format(ip=agent.spec.ip)
    launch(driver, scheduler, agent, "before", check, container=CONTAINER, wait_state=None)
    assert scheduler.wait_state("before", "TASK_FAILED")["message"] == \
        "Command exited with status 1"
    run = subprocess.run(["docker", "run", "-d", "--name", "calico-node", "--net=host",
                          "-e", f"ETCD_ENDPOINTS={etcd.endpoint}", "calico/node:v2.6.12"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    launch(driver, scheduler, agent, "running", check, container=CONTAINER, wait_state=None)
    finished = scheduler.wait_state("running", "TASK_FINISHED")
    assert _ip_of(finished).startswith("10.99.0.")
    subprocess.run(["docker", "stop", "calico-node"], env=env, check=True, capture_output=True,
                   timeout=60)
    wait_until(lambda: not _port_open(agent, 179), what="BIRD gone with its container")
    launch(driver, scheduler, agent, "stopped", check, container=CONTAINER, wait_state=None)
    scheduler.wait_state("stopped", "TASK_FAILED")


def test_health_checks_of_a_task_on_a_cni_network_run_in_its_namespace(world):
    cluster, agents, v2, driver, scheduler, _ = world
    port = 18000 + os.getpid() % 1000
    serve = (f"python3 -c \"import socket,time; s=socket.create_server(('127.0.0.1', {port})); "
             "time.sleep(60)\"")
    check = {"type": "TCP", "tcp": {"port": port}, "delay_seconds": 0.1,
             "interval_seconds": 0.2, "grace_period_seconds": 30, "timeout_seconds": 2}
    launch(driver, scheduler, agents[0], "served", serve, container=CONTAINER,
           health_check=check)
    wait_until(lambda: any(s.get("healthy") is True for s in scheduler.kinds("update")
                           if s["task_id"]["value"] == "served"), what="a healthy update")
    if cluster.network is not None:  # nothing listens there in the host's namespace
        with netns.entered(agents[0].spec.netns), pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2)
