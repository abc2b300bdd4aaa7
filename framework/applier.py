"""Applies the engine's decisions to etcd and the Mesos driver: store, then act.

The one place where a decision meets the outside, always in this order: the decision's
records, control and notices are committed in one transaction; only then are its actions
sent to the driver, and only then is the status update that caused it acknowledged (an
update whose record was not stored stays unacknowledged, and the agent sends it again). A
decision that could not be stored is rolled back in the engine; after a conflict (someone
else changed the state) the engine is rebuilt from what etcd holds. Offers the decision
neither used nor declined are declined at once: an offer is never held. When the master
removed the framework, the stored registration is cleared and the driver registers afresh.

Everything else (start-up, the worker's loop, periodic work, health, the uninstall's end)
is the scheduler's (framework/scheduler.py); the driver and store are passed in, so this is
tested with fakes that count calls (tests/framework/test_applier.py).
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

from framework.engine import (
    AgentRecord,
    Decision,
    Decline,
    Engine,
    Kill,
    Launch,
    Reconcile,
    Revive,
    RolloutControl,
    Suppress,
    Teardown,
)
from framework.engine.records import OperatorNote
from framework.engine_setup import decode_record, load_records
from framework.mesos import RawOffers, StatusUpdate, kill_task, reconcile_tasks
from framework.state import Batch, ConflictError, NewEvent, StoredControl, StoreUnavailable

log = logging.getLogger("framework")

T = TypeVar("T")


class Driver(Protocol):
    """The calls of pymesos's `MesosSchedulerDriver` the applier makes (`kill_task` and
    `reconcile_tasks` send through its `connected`, `framework_id` and `_send`)."""

    connected: bool
    framework_id: Any

    def launchTasks(self, offer_id: dict, tasks: list[dict], filters: dict) -> None: ...  # noqa: N802
    def declineOffer(self, offer_id: dict, filters: dict) -> None: ...  # noqa: N802
    def acknowledgeStatusUpdate(self, status: dict) -> None: ...  # noqa: N802
    def suppressOffers(self) -> None: ...  # noqa: N802
    def reviveOffers(self) -> None: ...  # noqa: N802
    def reconcileTasks(self, tasks: list) -> None: ...  # noqa: N802
    def _send(self, body: dict) -> None: ...
    def stop(self, failover: bool = False) -> None: ...
    def join(self) -> None: ...


class Store(Protocol):
    """What the applier reads and writes of the state store (framework.state.StateStore)."""

    def commit(self, batch: Batch) -> Any: ...
    def load_framework_id(self) -> str | None: ...
    def load_agents(self, decode: Callable[[str, dict], T]) -> dict[str, T]: ...
    def load_control(self) -> StoredControl: ...
    def save_framework_id(self, framework_id: str) -> None: ...
    def clear_framework(self, why: str, keep_agents: bool = False) -> Any: ...


class Applier:
    """Holds the engine, the framework id, the driver and the offers not yet answered.

    `build_engine(records, control)` makes an engine; `connect(framework_id)` a started
    driver registering under that id (None: a new framework); `task_for(launch, offer)` the
    TaskInfo of a launch; `retrying(fn)` calls a store function until etcd answers;
    `etcd_seen(ok)` hears whether etcd took a write; `changed()` that the status may have;
    `teardown()` carries out the engine's `Teardown`.
    """

    def __init__(self, store: Store, *,
                 build_engine: Callable[[Iterable[AgentRecord], RolloutControl | None], Engine],
                 connect: Callable[[str | None], Driver],
                 task_for: Callable[[Launch, dict], dict],
                 refuse_s: float,
                 retrying: Callable[[Callable[[], Any]], Any],
                 etcd_seen: Callable[[bool], None],
                 changed: Callable[[], None],
                 teardown: Callable[[], None],
                 counters: collections.Counter | None = None) -> None:
        self.store = store
        self.build_engine = build_engine
        self._connect = connect
        self.task_for = task_for
        self.refuse_s = refuse_s
        self.retrying = retrying
        self.etcd_seen = etcd_seen
        self.changed = changed
        self.teardown = teardown
        self.counters: collections.Counter = counters if counters is not None else (
            collections.Counter())
        self.engine = build_engine((), None)
        self.framework_id: str | None = None
        self.driver: Driver | None = None
        self.raw_offers: dict[str, dict] = {}

    # -- state --

    def load(self) -> None:
        """Rebuild the engine and framework id from what etcd holds (etcd outages are
        waited out): at start, after a conflict, and when leading again."""
        def read() -> tuple[str | None, list[AgentRecord], StoredControl]:
            return (self.store.load_framework_id(),
                    load_records(self.store.load_agents(decode_record)),
                    self.store.load_control())
        self.framework_id, records, stored = self.retrying(read)
        self.etcd_seen(True)
        uninstall = None if stored.uninstall is None else OperatorNote.from_dict(
            stored.uninstall, "control.uninstall")
        control = RolloutControl(stored.paused, stored.by, stored.at, stored.why, uninstall)
        self.engine = self.build_engine(records, control)
        log.info("loaded %d agent records; framework id %s", len(records),
                 self.framework_id or "(none yet)")

    def registered(self, framework_id: str) -> None:
        """Keep the id the master gave (waiting out etcd: a new id must not be lost)."""
        if framework_id != self.framework_id:
            log.info("registered with framework id %s", framework_id)
            self.retrying(lambda: self.store.save_framework_id(framework_id))
            self.framework_id = framework_id
        else:
            log.info("re-subscribed as %s", framework_id)

    # -- deciding --

    def decide(self, event: object, raise_store_errors: bool = False) -> Decision | None:
        """Decide, store, then act. None when the decision could not be stored (or, with
        `raise_store_errors`, the store's error)."""
        decision = self.engine.decide(event, time.time())
        if decision.needs_write or decision.notices:
            batch = Batch(
                agents={r.agent_id: r.to_dict() for r in decision.records},
                removed_agents=set(decision.removed),
                control=stored_control(decision.control) if decision.control else None,
                events=[NewEvent("step" if n.step else "rollout", n.text, n.agent_id, n.by)
                        for n in decision.notices],
            )
            try:
                self.store.commit(batch)
                self.etcd_seen(True)
            except (StoreUnavailable, ConflictError) as err:
                self.engine.rollback(decision)
                self.etcd_seen(not isinstance(err, StoreUnavailable))
                self.counters["calico_dcos_etcd_errors_total"] += 1
                log.warning("could not store a decision (%s); will retry", err)
                if isinstance(err, ConflictError):
                    self.load()
                if raise_store_errors:
                    raise
                return None
            for note in decision.notices:
                log.info("%s%s", note.text, f" (by {note.by})" if note.by else "")
        self._apply(decision)
        if decision.needs_write or decision.actions or decision.notices:
            self.changed()
        return decision

    def offers(self, message: RawOffers) -> None:
        """Decide on a batch of offers; decline whatever the decision left."""
        self.counters["calico_dcos_offers_received_total"] += len(message.offers)
        for offer in message.offers:
            self.raw_offers[offer["id"]["value"]] = offer
        self.decide(message.to_engine())
        for offer in message.offers:
            offer_id = offer["id"]["value"]
            if self.raw_offers.pop(offer_id, None) is not None and self.driver is not None:
                self.counters["calico_dcos_offers_declined_total"] += 1
                self._call(self.driver.declineOffer, {"value": offer_id},
                           {"refuse_seconds": self.refuse_s})

    def status(self, message: StatusUpdate) -> Decision | None:
        """Decide on a status update; acknowledge it once its decision is stored."""
        decision = self.decide(message.status)
        if decision is not None and self.driver is not None:
            self._call(self.driver.acknowledgeStatusUpdate, message.raw)
        return decision

    def _apply(self, decision: Decision) -> None:
        driver = self.driver
        if driver is None:
            return
        for action in decision.actions:
            match action:
                case Launch():
                    offer = self.raw_offers.pop(action.offer_id, None)
                    if offer is None:
                        continue
                    task = self.task_for(action, offer)
                    log.info("launching %s on %s", action.task_id, offer.get("hostname"))
                    self.counters["calico_dcos_offers_accepted_total"] += 1
                    self._call(driver.launchTasks, offer["id"], [task],
                               {"refuse_seconds": action.refuse_seconds})
                case Decline():
                    self.raw_offers.pop(action.offer_id, None)
                    self.counters["calico_dcos_offers_declined_total"] += 1
                    self._call(driver.declineOffer, {"value": action.offer_id},
                               {"refuse_seconds": action.refuse_seconds})
                case Kill():
                    log.info("killing %s", action.task_id)
                    self._call(kill_task, driver, action.task_id, action.agent_id)
                case Suppress():
                    self.counters["calico_dcos_suppress_total"] += 1
                    self._call(driver.suppressOffers)
                case Revive():
                    self.counters["calico_dcos_revive_total"] += 1
                    self._call(driver.reviveOffers)
                case Reconcile() if action.tasks:
                    self._call(reconcile_tasks, driver, action.tasks)
                case Reconcile():
                    self._call(driver.reconcileTasks, [])
                case Teardown():
                    self.teardown()

    @staticmethod
    def _call(fn: Callable[..., object], *args: object) -> None:
        try:
            fn(*args)
        except Exception as err:  # a failed driver call must not stop the worker
            log.warning("driver call %s failed: %s", getattr(fn, "__name__", fn), err)

    # -- the driver --

    def connect(self) -> None:
        """Start a driver registering under the stored framework id (or as a new one)."""
        self.driver = self._connect(self.framework_id)

    def disconnect(self) -> None:
        """Stop the driver with failover: the master keeps the framework and its tasks."""
        driver, self.driver = self.driver, None
        self.raw_offers.clear()
        if driver is not None:
            driver.stop(failover=True)
            driver.join()

    def deregister(self) -> None:
        """Stop the driver without failover: pymesos 0.3.15 then sends TEARDOWN, and the
        master ends the framework and any task left."""
        driver, self.driver = self.driver, None
        self.raw_offers.clear()
        if driver is not None:
            driver.stop(failover=False)
            driver.join()

    def reregister(self, why: str, keep_agents: bool) -> None:
        """The master removed the framework (and its tasks): forget the registration and
        register afresh. The agent records go too, unless `keep_agents` (an uninstall
        still needs to know where Calico is); the operator's control stays."""
        self.disconnect()
        self.retrying(lambda: self.store.clear_framework(why, keep_agents))
        self.framework_id = None
        if not keep_agents:
            self.engine = self.build_engine((), self.engine.control)
        self.connect()


def stored_control(control: RolloutControl) -> StoredControl:
    uninstall = None if control.uninstall is None else control.uninstall.to_dict()
    return StoredControl(paused=control.paused, by=control.by, at=control.at, why=control.why,
                         uninstall=uninstall)
