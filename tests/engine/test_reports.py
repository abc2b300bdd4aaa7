"""The installer's report of a task (its result file) joins the task it describes: the reason
replaces Mesos's "Command exited with status N", what changed is kept, decisions do not move."""

from __future__ import annotations

import pytest

from framework.engine import AgentRecord, HostChange, RecordError, TaskReport, TaskReported
from framework.engine.reports import MAX_CHANGES
from tests.engine.kit import Driver, launch_step, make_plan

FAILED = TaskReport("failed", "docker left the active state after 0 s; previous daemon.json "
                              "restored and docker is active",
                    (HostChange("wrote", "/etc/docker/daemon.json"),
                     HostChange("restarted", "docker", 1.2),
                     HostChange("restored", "/etc/docker/daemon.json")), 4.0)


@pytest.fixture
def driver() -> Driver:
    return Driver(make_plan(("docker", "cni")), agents=["a1"])


def test_a_failed_task_shows_the_installers_reason_and_keeps_its_changes(driver):
    launch = launch_step(driver, "a1", "docker")
    driver.status(launch.task_id, "TASK_FAILED", message="Command exited with status 1")
    before = driver.engine.facts("a1")
    decision = driver.send(TaskReported(launch.task_id, FAILED))
    (record,) = decision.records
    step = record.step("docker")
    assert step.message == FAILED.message and step.report == FAILED
    assert driver.engine.facts("a1") == before
    assert decision.actions == ()
    assert [n.text for n in decision.notices] == [f"{launch.task_id}: {FAILED.message}"]
    assert driver.agent_doc("a1")["steps"][0]["message"] == FAILED.message
    assert AgentRecord.from_dict(record.to_dict()) == record


def test_a_report_for_an_earlier_task_lands_in_the_history(driver):
    first = launch_step(driver, "a1", "docker")
    driver.status(first.task_id, "TASK_FAILED", message="Command exited with status 1")
    driver.now += 60  # past the backoff
    second = driver.launch("a1")
    assert second is not None and second.step == "docker"
    (record,) = driver.send(TaskReported(first.task_id, FAILED)).records
    step = record.step("docker")
    assert step.task_id == second.task_id and step.report is None
    past = step.history[0]  # (before it: the live run that found a restart needed)
    assert (past.task_id, past.message, past.report) == (first.task_id, FAILED.message, FAILED)
    assert past.to_dict()["report"]["changes"][1] == {
        "action": "restarted", "target": "docker", "seconds": 1.2}  # rounded to 0.1 s


@pytest.mark.parametrize("case", ["unknown task", "foreign id", "still running", "repeated"])
def test_reports_that_change_nothing_store_nothing(driver, case):
    launch = launch_step(driver, "a1", "docker")
    task_id = {"unknown task": launch.task_id + "x", "foreign id": "not-ours"}.get(
        case, launch.task_id)
    if case == "repeated":
        driver.status(launch.task_id, "TASK_FAILED")
        driver.send(TaskReported(task_id, FAILED))
    decision = driver.send(TaskReported(task_id, FAILED))
    assert decision.records == () and decision.notices == ()


def test_a_result_file_becomes_a_bounded_report():
    result = {"step": "cni", "status": "again", "exit_code": 75, "changed": True,
              "message": "installed /opt/mesosphere/active/cni/calico; restart issued\n",
              "changes": [{"action": "wrote", "target": f"/f{i}", "seconds": None}
                          for i in range(MAX_CHANGES + 5)],
              "started_at": 100.0, "finished_at": 102.5}
    report = TaskReport.from_result_file(result)
    assert report.status == "again" and report.duration_s == 2.5
    assert report.message == "installed /opt/mesosphere/active/cni/calico; restart issued"
    assert len(report.changes) == MAX_CHANGES
    assert report.summary.startswith("wrote /f0; wrote /f1")
    assert TaskReport("ok", "done").summary == "nothing changed"


@pytest.mark.parametrize("result", [
    [], {"status": "great", "message": "x"}, {"status": "ok", "message": ""},
    {"status": "ok", "message": "x", "changes": {}},
    {"status": "ok", "message": "x", "changes": [{"action": "rm -rf", "target": "/"}]},
    {"status": "ok", "message": "x", "changes": [{"action": "wrote", "target": "/a",
                                                  "seconds": -1}]},
])
def test_a_result_file_that_is_not_the_installers_is_refused(result):
    with pytest.raises(RecordError):
        TaskReport.from_result_file(result)
