"""`/v1/plans/deploy`, the endpoint Cosmos polls during an uninstall: 200 only once the
framework is torn down, 202 before, 417 when halted; the body shaped like the SDK's."""

from __future__ import annotations

import pytest

from framework.engine import Kill, Launch, Pause, RetryPolicy, TaskStatus, Uninstall
from framework.engine.policy import Policy
from tests.engine.kit import Driver, of_type
from web import HealthReport, create_app


class Document:
    """A StatusSource serving one status document."""

    def __init__(self, document: dict) -> None:
        self.document = document

    def status(self) -> dict:
        return self.document

    def agent(self, agent_id: str):
        return None

    def events(self, agent_id=None, limit=100):
        return []


def get(document: dict, path: str = "/v1/plans/deploy"):
    source = Document(document)
    app = create_app(source, source, token=None, health=lambda: HealthReport(ok=True),
                     metrics=dict)
    return app.test_client().get(path)


def doc(driver: Driver, torn_down: bool = False) -> dict:
    return driver.engine.status_document(driver.now, framework={"torn_down": torn_down})


def uninstalled_driver() -> Driver:
    driver = Driver(agents=("a1",))
    driver.complete_agent("a1")
    driver.send(Uninstall("cosmos", "dcos package uninstall"))
    for _ in range(5):
        decision = driver.offer("a1")
        for kill in of_type(decision, Kill):
            driver.send(TaskStatus(kill.task_id, "TASK_KILLED"))
        for launch in of_type(decision, Launch):
            driver.send(TaskStatus(launch.task_id, "TASK_FINISHED"))
    assert driver.engine.uninstall_complete()
    return driver


def test_the_only_plan_is_deploy():
    driver = Driver(agents=("a1",))
    assert get(doc(driver), "/v1/plans").get_json() == ["deploy"]
    missing = get(doc(driver), "/v1/plans/recovery")
    assert missing.status_code == 404 and missing.is_json


def test_an_install_in_progress_is_202_and_complete_is_200():
    driver = Driver(agents=("a1", "a2"))
    response = get(doc(driver))
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "IN_PROGRESS" and body["errors"] == []
    (phase,) = body["phases"]
    assert (phase["name"], phase["status"]) == ("install", "PENDING")
    assert [s["name"] for s in phase["steps"]] == ["a1.example", "a2.example"]
    assert set(phase["steps"][0]) == {"id", "name", "status", "message"}
    for agent in ("a1", "a2"):
        driver.complete_agent(agent)
    assert get(doc(driver)).status_code == 200


def test_an_uninstall_is_complete_for_cosmos_only_once_the_framework_is_torn_down():
    driver = Driver(agents=("a1",))
    driver.complete_agent("a1")
    driver.send(Uninstall("cosmos", "dcos package uninstall"))
    body = get(doc(driver)).get_json()
    assert [p["name"] for p in body["phases"]] == ["uninstall", "deregister"]
    driver = uninstalled_driver()
    waiting = get(doc(driver))
    assert waiting.status_code == 202
    assert waiting.get_json()["phases"][1]["status"] == "PENDING"
    done = get(doc(driver, torn_down=True))
    assert done.status_code == 200 and done.get_json()["status"] == "COMPLETE"


def test_a_halted_plan_is_417_with_the_reason_and_a_paused_one_is_waiting():
    driver = Driver(policy=Policy(retry=RetryPolicy(max_attempts=1)), agents=("a1",))
    driver.status(driver.launch("a1").task_id, "TASK_FAILED", message="no etcd")
    response = get(doc(driver))
    assert response.status_code == 417
    body = response.get_json()
    assert body["status"] == "ERROR" and body["errors"][0].startswith("rollout halted")
    assert body["phases"][0]["steps"][0]["status"] == "ERROR"
    paused = Driver(agents=("a1",))
    paused.send(Pause("alice", "freeze"))
    response = get(doc(paused))
    assert (response.status_code, response.get_json()["status"]) == (202, "WAITING")


@pytest.mark.parametrize("path", ["/v1/state/frameworkId", "/v1/plans/deploy/start"])
def test_no_framework_id_endpoint_and_no_plan_actions(path):
    # Cosmos 1.10.1-1.12.2 compares /v1/state/frameworkId before and after the restart, and
    # treats any error as "ready to delete" (ServiceUninstaller.scala, `.handle`): a 404.
    assert get(doc(Driver()), path).status_code in (404, 405)
