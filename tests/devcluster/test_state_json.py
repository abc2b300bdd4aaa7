"""/master/state, /master/slaves and friends against payloads recorded from real masters."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.devcluster.harness import launch
from tests.devcluster.rawhttp import RawSubscription
from tests.devcluster.shapes import missing_keys, shape_mismatches
from tests.reference import reference_files
from tests.wait import wait_until

# Keys real masters add that the emulator does not model (by last path component).
NOT_MODELLED = {"log_dir", "external_log_file", "domain", "discovery", "container", "labels",
                "name", "port_mappings"}
# Keys that exist only for some items (public agents, tasks using ports, frameworks
# without MULTI_ROLE: the recorded ones have `role`, ours `roles`).
ITEM_SPECIFIC = {"public_ip", "slave_public", "ports", "role"}


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    """A cluster in a varied state: agents of both kinds, live, finished and
    re-registered things, outstanding offers."""
    from tests.devcluster.harness import MasterHarness, RecordingScheduler

    harness = MasterHarness(tmp_path_factory.mktemp("state"))
    try:
        private = harness.add_agent()
        public = harness.add_agent(public=True)
        sched = RecordingScheduler()
        driver = harness.driver(sched)
        framework_id = sched.registered_id()
        launch(driver, sched, private, "t-run", "exec sleep 600")
        launch(driver, sched, private, "t-done", "true", wait_state="TASK_FINISHED")
        sched.take_offer(public.id)
        harness.master.agent_unit_action(private.id, "restart", duration_s=0.0)
        wait_until(lambda: private.reregistered_time, what="agent re-registered")
        harness.master.drop_stream(framework_id)
        wait_until(lambda: sched.kinds("reregistered"), what="framework re-registered")
        wait_until(lambda: harness.master.offers, what="offers outstanding")
        yield {name: harness.get_json(f"/master/{name}") for name in ("state", "slaves")}
    finally:
        harness.close()


def _recorded():
    return reference_files("mesos/recorded", "*.json")


@pytest.mark.parametrize("path", _recorded(), ids=lambda p: p.stem)
def test_same_types_as_recorded(documents, path):
    recorded = json.loads(path.read_text())
    ours = documents["state" if "_master_state_" in path.name else "slaves"]
    assert shape_mismatches(ours, recorded) == []


@pytest.mark.parametrize("path", _recorded(), ids=lambda p: p.stem)
def test_no_recorded_key_missing_except_unmodelled(documents, path):
    recorded = json.loads(path.read_text())
    ours = documents["state" if "_master_state_" in path.name else "slaves"]
    missing = [m for m in missing_keys(ours, recorded)
               if m.rsplit(".", 1)[-1] not in NOT_MODELLED | ITEM_SPECIFIC
               and not m.startswith("$.flags.")]
    assert missing == []


def test_state_content(documents):
    state = documents["state"]
    assert state["flags"]["allocation_interval"] == "100ms"
    assert state["leader_info"]["id"] == state["id"]
    assert state["activated_slaves"] == 2.0 and state["unreachable_slaves"] == 0.0
    (framework,) = state["frameworks"]
    assert framework["connected"] and framework["active"]
    assert framework["reregistered_time"] >= framework["registered_time"]
    assert [t["id"] for t in framework["tasks"]] == ["t-run"]
    assert [t["id"] for t in framework["completed_tasks"]] == ["t-done"]
    done = framework["completed_tasks"][0]
    assert [s["state"] for s in done["statuses"]] == [
        "TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"]
    ip = done["statuses"][0]["container_status"]["network_infos"][0]["ip_addresses"][0]
    assert ip["ip_address"].startswith("127.0.")
    public = next(s for s in state["slaves"] if s["attributes"])
    assert public["attributes"] == {"public_ip": "true"}
    assert set(public["reserved_resources"]) == {"slave_public"}
    assert public["unreserved_resources"]["cpus"] == 0.0


def test_slaves_resources_add_up(documents):
    for agent in documents["slaves"]["slaves"]:
        total = agent["resources"]
        used, offered = agent["used_resources"], agent["offered_resources"]
        assert used["cpus"] + offered["cpus"] <= total["cpus"] + 1e-9
        full_used = sum(r["scalar"]["value"] for r in agent["used_resources_full"]
                        if r["name"] == "cpus")
        assert full_used == pytest.approx(used["cpus"])


@pytest.mark.parametrize(("version", "reported", "master_capabilities", "agent_capability"), [
    # configure.ac of the builds DC/OS 1.10.11 and 1.13.9 ship; master/constants.cpp
    # MASTER_CAPABILITIES (1.8.x only); slave/constants.cpp AGENT_CAPABILITIES.
    ("1.4", "1.4.3", None, "RESERVATION_REFINEMENT"),
    ("1.8", "1.8.2", ["AGENT_UPDATE"], "AGENT_OPERATION_FEEDBACK"),
])
def test_version_and_capabilities(make_harness, version, reported, master_capabilities,
                                  agent_capability):
    harness = make_harness(version)
    harness.add_agent()
    assert harness.get_json("/version")["version"] == reported
    state = harness.get_json("/master/state")
    assert state["version"] == reported
    assert state.get("capabilities") == master_capabilities
    assert agent_capability in state["slaves"][0]["capabilities"]
    assert state["slaves"][0]["version"] == reported
    stream = RawSubscription(harness.master.address).open()
    try:
        info = stream.events[0]["subscribed"]["master_info"]
        assert info["version"] == reported
        assert ([c["type"] for c in info["capabilities"]] if "capabilities" in info
                else None) == master_capabilities
    finally:
        stream.close()
    # DC/OS sets --offer_timeout=2mins on both (gen/dcos-config.yaml).
    assert state["flags"]["offer_timeout"] == "2mins"


def test_redirect(harness):

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as err:
        opener.open(f"{harness.server.url}/master/redirect", timeout=5)
    host, port = harness.master.address
    assert err.value.code == 307
    assert err.value.headers["Location"] == f"//{host}:{port}"
