"""The scheduler runtime with a DC/OS service account: the key is checked before anything
starts, and the driver and the agent list both authenticate with the account's token."""

import dataclasses
import queue
import time

import pytest

from framework.config import ConfigError
from framework.engine import AgentsListed
from framework.mesos import Registered
from framework.scheduler import Runtime
from framework.state import EtcdConnection, StateStore
from tests.auth.conftest import UID
from tests.auth.test_tokens import BROKEN_PEM
from tests.devcluster.harness import DEADLINE_S, FAST, MasterHarness


@pytest.fixture
def harness(tmp_path, iam):
    h = MasterHarness(tmp_path / "cluster",
                      dataclasses.replace(FAST, authenticate_token=iam.principal_of))
    h.add_agent()
    h.add_agent(public=True)
    yield h
    h.close()


def store_for(config, etcd_server, etcd_prefix) -> StateStore:
    return StateStore(EtcdConnection([etcd_server.endpoint], timeout_s=2.0),
                      config.framework.name, root=etcd_prefix)


def next_of(runtime: Runtime, kind: type) -> object:
    """Handle inbox messages as the worker does until one of `kind` has been handled."""
    end = time.monotonic() + DEADLINE_S
    while time.monotonic() < end:
        try:
            message = runtime.inbox.get(timeout=0.1)
        except queue.Empty:
            continue
        runtime.handle(message)
        if isinstance(message, kind):
            return message
    raise AssertionError(f"no {kind.__name__} within {DEADLINE_S}s")


def subscribe_and_list(runtime: Runtime) -> tuple[Registered, AgentsListed]:
    """Start the runtime's web server first, then this: etcd check, lock, state, driver,
    until the framework is registered and the agents are listed."""
    runtime.check_etcd()
    runtime.become_leader()
    runtime.load_state()
    runtime.start_driver()
    return next_of(runtime, Registered), next_of(runtime, AgentsListed)


def test_a_private_key_that_cannot_sign_is_reported_with_the_config_problems(
        account, config_for, iam):
    with pytest.raises(ConfigError) as caught:
        config_for(dataclasses.replace(account, private_key=BROKEN_PEM), CALICO_CNI_MTU="1")
    problems = caught.value.problems
    assert any(p.startswith("CALICO_SERVICE_ACCOUNT_PRIVATE_KEY: not a usable") for p in problems)
    assert iam.logins == []


def test_the_runtime_subscribes_and_lists_agents_with_the_token(
        harness, account, config_for, etcd_server, etcd_prefix, tmp_path, iam):
    config = config_for(account, MESOS_MASTER=harness.address,
                        CALICO_ETCD_ENDPOINTS=etcd_server.endpoint)
    runtime = Runtime(config, store_for(config, etcd_server, etcd_prefix), tmp_path)
    runtime.start_web()
    try:
        _, listed = subscribe_and_list(runtime)
        assert sorted(a.role for a in listed.agents) == ["private", "public"]
        with harness.master.lock:
            (fw,) = harness.master.frameworks.values()
            assert fw.info["principal"] == UID
        assert set(iam.presented) == {iam.latest_token()}
        assert len(iam.logins) == 1
    finally:
        runtime.shutdown()
