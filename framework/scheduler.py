"""The scheduler process: leader lock, state, web server, pymesos driver and one worker.

Everything that changes the rollout happens on the worker (the main thread): it takes one
message at a time from the inbox (pymesos callbacks, operator actions, agent listings,
ticks), asks the engine, stores the decision in etcd, and only then applies its actions to
the driver. Status updates are acknowledged after their record is stored, so an etcd outage
loses nothing: unacknowledged updates come back from the agents.

A scheduler that loses the leader lock stops its driver and stands by, serving the page,
until it leads again. With SDK_UNINSTALL set it runs the uninstall plan, tears the framework
down itself and removes its state; restarted after that, it only serves the finished plan.
"""

from __future__ import annotations

import collections
import logging
import queue
import signal
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from pymesos import MesosSchedulerDriver

from framework import artifacts as artifact_files
from framework import etcd_check
from framework.config import Config
from framework.dcos_auth import TokenAuth, scheduler_driver, service_account_credentials
from framework.dcos_users import DcosUserTokens
from framework.engine import (
    AgentsListed,
    Decision,
    Decline,
    Engine,
    EngineError,
    Kill,
    Launch,
    Pause,
    Reconcile,
    Resume,
    RetryAgent,
    Revive,
    SkipAgent,
    Subscribed,
    Suppress,
    Teardown,
    Tick,
    Uninstall,
)
from framework.engine import Control as EngineControl
from framework.engine.records import OperatorNote
from framework.liveness import Heartbeat
from framework.master_api import MasterClient
from framework.mesos import (
    FRAMEWORK_REMOVED,
    Disconnected,
    DriverError,
    QueueingScheduler,
    RawOffers,
    Registered,
    StatusUpdate,
    framework_info,
    kill_task,
    reconcile_tasks,
)
from framework.plan import engine_plan, engine_policy, load_records
from framework.sandbox import SandboxReader
from framework.snapshot import OperatorControl, OperatorRequest, Snapshot, StatusView
from framework.state import (
    Batch,
    ConflictError,
    Credentials,
    EtcdConnection,
    NewEvent,
    NotLeader,
    StateStore,
    StoreError,
    StoreUnavailable,
    TLSFiles,
)
from framework.state import Control as StoredControl
from framework.taskinfo import task_info
from web import SCHEDULER_COUNTERS, HealthReport, create_app, serve

log = logging.getLogger("framework")

TICK_S = 1.0
SNAPSHOT_EVERY_S = 0.5
SNAPSHOT_REFRESH_S = 5.0
# Refreshing an unchanged document (for the fields that age) costs this share of a core at
# most: at 10,000 agents a build takes about 0.15 s, so it is refreshed every 15 s.
REFRESH_CPU_SHARE = 0.01
AGENT_LIST_EVERY_S = 30.0
ETCD_PING_EVERY_S = 2.0
ETCD_RETRY_S = 2.0
UNINSTALL_BY = "cosmos"
UNINSTALL_WHY = "SDK_UNINSTALL is set (dcos package uninstall)"
CLUSTER_RECHECK_S = 15.0


@dataclass(frozen=True)
class Stop:
    reason: str


@dataclass(frozen=True)
class LeadershipLost:
    reason: str


class Runtime:
    def __init__(self, config: Config, store: StateStore, artifacts_dir: Path,
                 inbox: queue.Queue | None = None) -> None:
        self.config = config
        self.store = store
        self.artifacts_dir = artifacts_dir
        self.inbox: queue.Queue = inbox if inbox is not None else queue.Queue()
        self.counters: collections.Counter = collections.Counter()
        self.plan = engine_plan(config)
        self.policy = engine_policy(config)
        self.engine = self._engine(())
        self.driver: MesosSchedulerDriver | None = None
        self.credentials = service_account_credentials(config.mesos.service_account,
                                                       config.dcos_ca_file)
        self.framework_id: str | None = None
        self.subscribed = False
        self.etcd_ok = True
        self.raw_offers: dict[str, dict] = {}
        self.master: MasterClient | None = None
        self.sandbox: SandboxReader | None = None
        self.urls = None
        self.etcd_peers: tuple[str, ...] = ()
        self.blocked: str | None = None  # why the cluster cannot be served, until it can
        self.web = None
        self._stop_reason: str | None = None
        self._stopping = False
        self.torn_down = False
        self.heartbeat = Heartbeat()
        self._dirty = True
        self._last_snapshot = 0.0
        self._build_cpu_s = 0.0
        self._last_agent_list = 0.0
        self.snapshot = Snapshot(self._document(time.time()))

    # -- start-up --

    def start_web(self) -> int:
        control = OperatorControl(self.inbox, _operator_event)
        login = self.config.web.dcos_login
        users = None if login is None else DcosUserTokens(
            login.jwks_url, login.users, ca_file=self.config.dcos_ca_file,
            auth=TokenAuth(self.credentials) if self.credentials else None)
        app = create_app(StatusView(self.snapshot, self.store), control,
                         token=self.config.web.operator_token, health=self.health,
                         metrics=self.metrics, artifacts_dir=self.artifacts_dir,
                         dcos_users=users)
        self.web = serve(app, self.config.web.bind_addresses, self.config.web.port)
        log.info("status page and API on port %d", self.web.port)
        # The artifacts' URLs name the port the web server got.
        self.urls = artifact_files.prepare(self.config, self.artifacts_dir, self.web.port)
        return self.web.port

    def check_etcd(self) -> None:
        """Block until the etcd cluster serves what the scheduler and Calico need.

        A cluster that cannot (no v3 API, no v2 API) is reported in the log, on /health and
        on the page, and checked again now and then: the scheduler stays up instead of
        exiting into a Marathon restart loop."""
        while True:
            self.heartbeat.beat()
            try:
                facts = etcd_check.probe(self.config)
            except etcd_check.EtcdUnreachable as err:
                self.etcd_ok = False
                log.warning("etcd unreachable while checking the cluster: %s", err)
                time.sleep(ETCD_RETRY_S)
                continue
            self.etcd_ok = True
            problem = etcd_check.problem(facts, self.config)
            if problem is None:
                log.info("%s", facts.summary())
                self.etcd_peers = facts.peer_urls
                self._set_blocked(None)
                return
            if problem != self.blocked:
                log.error("%s", problem)
            self._set_blocked(problem)
            time.sleep(CLUSTER_RECHECK_S)

    def _set_blocked(self, reason: str | None) -> None:
        self.blocked = reason
        self.snapshot.publish(self._document(time.time()), dict(self.engine.agents))

    def become_leader(self) -> bool:
        """Block until this scheduler holds the leader lock (etcd outages are waited out);
        False when asked to stop meanwhile.

        A standby scheduler has nothing to clean up: SIGTERM simply ends it."""
        while not self._stopping:
            self.heartbeat.beat()
            try:
                if self.store.leader.acquire(timeout_s=ETCD_RETRY_S):
                    log.info("leader lock acquired")
                    return True
                log.info("another scheduler is leader (%s); waiting",
                         self.store.leader.holder())
            except StoreUnavailable as err:
                self.etcd_ok = False
                log.warning("etcd unavailable while taking the leader lock: %s", err)
                time.sleep(ETCD_RETRY_S)
        return False

    def load_state(self) -> None:
        while True:
            self.heartbeat.beat()
            try:
                self.framework_id = self.store.load_framework_id()
                records = load_records(self.store.load_agents())
                stored = self.store.load_control()
                break
            except StoreUnavailable as err:
                self.etcd_ok = False
                log.warning("etcd unavailable while loading state: %s", err)
                time.sleep(ETCD_RETRY_S)
        self.etcd_ok = True
        uninstall = None if stored.uninstall is None else OperatorNote.from_dict(
            stored.uninstall, "control.uninstall")
        control = EngineControl(stored.paused, stored.by, stored.at, stored.why, uninstall)
        self.engine = self._engine(records, control)
        log.info("loaded %d agent records; framework id %s", len(records),
                 self.framework_id or "(none yet)")

    def _engine(self, records, control: EngineControl | None = None) -> Engine:
        # Random task id suffixes: unique across scheduler restarts, however quick.
        return Engine(self.plan, self.policy, records, control,
                      new_unique=lambda now: f"{int(now)}-{uuid.uuid4().hex[:12]}")

    def start_driver(self) -> None:
        webui = self.config.webui_url(self.web.port)
        info = framework_info(self.config, webui, self.framework_id)
        self.driver = scheduler_driver(QueueingScheduler(self.inbox), info, self.config.mesos,
                                       self.credentials, ca_file=self.config.dcos_ca_file,
                                       implicit_acknowledgements=False)
        self.driver.start()

    # -- the worker --

    def run(self) -> int:
        signal.signal(signal.SIGTERM, lambda *_: self._request_stop("SIGTERM"))
        threading.Thread(target=self._ping_etcd, daemon=True, name="etcd-ping").start()
        while self._stop_reason is None:
            self.heartbeat.beat()
            try:
                message = self.inbox.get(timeout=TICK_S)
            except queue.Empty:
                message = Tick()
            try:
                self.handle(message)
            except NotLeader as err:
                self.inbox.put(LeadershipLost(str(err)))
            self._periodic()
        return self.shutdown()

    def handle(self, message: object) -> None:
        if self.torn_down and not isinstance(message, Stop | OperatorRequest):
            return  # uninstalled: nothing is left to decide, and nothing may be stored
        match message:
            case Registered():
                self._registered(message)
            case Disconnected():
                self.subscribed = False
                self._dirty = True
            case DriverError():
                self._driver_error(message.message)
            case RawOffers():
                self.counters["calico_dcos_offers_received_total"] += len(message.offers)
                for offer in message.offers:
                    self.raw_offers[offer["id"]["value"]] = offer
                    if self.sandbox is not None:
                        self.sandbox.note_offer(offer)
                self._decide(message.to_engine())
                self._decline_leftovers(message)
            case StatusUpdate():
                if self._decide(message.status) is not None and self.driver is not None:
                    self._call(self.driver.acknowledgeStatusUpdate, message.raw)
                self._read_result(message)
            case OperatorRequest():
                self._operator(message)
            case Stop():
                self._stop_reason = message.reason
            case LeadershipLost():
                self._step_down(message.reason)
            case _:
                self._decide(message)

    def _registered(self, message: Registered) -> None:
        self.subscribed = True
        self._dirty = True
        self.master = MasterClient(message.master, self.config, self.credentials)
        if self.sandbox is None:
            self.sandbox = SandboxReader(self.config, self.inbox.put, self.master.auth,
                                         self._locate_agent).start()
        if message.framework_id != self.framework_id:
            log.info("registered with framework id %s", message.framework_id)
            self._store_call(self.store.save_framework_id, message.framework_id)
            self.framework_id = message.framework_id
        else:
            log.info("re-subscribed as %s", message.framework_id)
        self._decide(Subscribed())
        self._list_agents()

    def _read_result(self, update: StatusUpdate) -> None:
        """Ask for the installer's account of a task that ended (not for reconciliation
        answers, which repeat what was reported before)."""
        if self.sandbox is None or update.raw.get("reason") == "REASON_RECONCILIATION":
            return
        agent_id = (update.raw.get("agent_id") or {}).get("value")
        self.sandbox.task_ended(update.status.task_id, update.status.state, agent_id,
                                self.framework_id)

    def _driver_error(self, message: str) -> None:
        if FRAMEWORK_REMOVED not in message:
            log.error("the master reported an error: %s", message)
            return
        if self.engine.uninstalling:
            self._removed_while_uninstalling(message)
            return
        log.warning("the master removed framework %s; registering afresh", self.framework_id)
        self._stop_driver()
        self._store_call(self.store.clear_framework, f"master said: {message}")
        self.framework_id = None
        self.engine = self._engine((), self.engine.control)
        self.raw_offers.clear()
        self.start_driver()

    def _operator(self, request: OperatorRequest) -> None:
        if not request.claim():
            log.info("dropped an operator request whose caller was already told it failed: "
                     "%s", request.event)
            return
        if self.torn_down:
            request.error = EngineError("Calico is uninstalled and the framework torn down")
            request.done.set()
            return
        try:
            if self._decide(request.event, raise_store_errors=True) is None:
                request.error = StoreUnavailable("etcd is unavailable")
        except (EngineError, StoreError) as err:
            request.error = err
        finally:
            request.done.set()

    def _decide(self, event: object, raise_store_errors: bool = False) -> Decision | None:
        """Decide, store, then act. None when the decision could not be stored."""
        now = time.time()
        decision = self.engine.decide(event, now)
        if decision.needs_write or decision.notices:
            batch = Batch(
                agents={r.agent_id: r.to_dict() for r in decision.records},
                removed_agents=set(decision.removed),
                control=_stored_control(decision.control) if decision.control else None,
                events=[NewEvent(_event_kind(n), n.text, n.agent_id, n.by)
                        for n in decision.notices],
            )
            try:
                self.store.commit(batch)
                self.etcd_ok = True
            except (StoreUnavailable, ConflictError) as err:
                self.engine.rollback(decision)
                self.etcd_ok = not isinstance(err, StoreUnavailable)
                self.counters["calico_dcos_etcd_errors_total"] += 1
                log.warning("could not store a decision (%s); will retry", err)
                if isinstance(err, ConflictError):
                    self.load_state()
                if raise_store_errors:
                    raise
                return None
            for note in decision.notices:
                log.info("%s%s", note.text, f" (by {note.by})" if note.by else "")
        self._apply(decision)
        if decision.needs_write or decision.actions or decision.notices:
            self._dirty = True
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
                    task = task_info(self.config, action, offer, self.urls,
                                     offer.get("hostname", ""), self.etcd_peers)
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
                    self._teardown()

    def _decline_leftovers(self, message: RawOffers) -> None:
        """Never hold an offer: anything the engine did not use or decline goes back now."""
        leftovers = [o for o in message.offers if o["id"]["value"] in self.raw_offers]
        self._decline_all(leftovers)

    def _decline_all(self, offers: list[dict]) -> None:
        for offer in offers:
            offer_id = offer["id"]["value"]
            if self.raw_offers.pop(offer_id, None) is not None and self.driver is not None:
                self.counters["calico_dcos_offers_declined_total"] += 1
                self._call(self.driver.declineOffer, {"value": offer_id},
                           {"refuse_seconds": self.policy.refuse_wait_s})

    def _call(self, fn, *args) -> None:
        try:
            fn(*args)
        except Exception as err:  # a failed driver call must not stop the worker
            log.warning("driver call %s failed: %s", getattr(fn, "__name__", fn), err)

    def _store_call(self, fn, *args) -> None:
        while True:
            self.heartbeat.beat()
            try:
                fn(*args)
                self.etcd_ok = True
                return
            except StoreUnavailable as err:
                self.etcd_ok = False
                log.warning("etcd unavailable (%s); retrying", err)
                time.sleep(ETCD_RETRY_S)

    # -- periodic work --

    def _periodic(self) -> None:
        now = time.time()
        if self.subscribed and now - self._last_agent_list > AGENT_LIST_EVERY_S:
            self._list_agents()
        stale = now - self._last_snapshot
        # Rebuilding the document costs O(agents): only after a change, or now and then
        # for the fields that age (elapsed time, ETA, backoffs).
        refresh_s = max(SNAPSHOT_REFRESH_S, self._build_cpu_s / REFRESH_CPU_SHARE)
        if (self._dirty and stale >= SNAPSHOT_EVERY_S) or stale >= refresh_s:
            self._publish(now)

    def _publish(self, now: float) -> None:
        started = time.thread_time()
        self.snapshot.publish(self._document(now), dict(self.engine.agents))
        self._build_cpu_s = time.thread_time() - started
        self._dirty = False
        self._last_snapshot = now

    def _locate_agent(self, agent_id: str) -> str | None:
        master = self.master
        return None if master is None else master.agent_address(agent_id)

    def _list_agents(self) -> None:
        """Agents from /master/slaves, so agents that never offered are known too."""
        self._last_agent_list = time.time()
        master = self.master
        if master is None:
            return

        def fetch() -> None:
            agents = master.agents()
            if agents is not None:
                self.inbox.put(AgentsListed(tuple(agents)))
        threading.Thread(target=fetch, daemon=True, name="agent-list").start()

    def _ping_etcd(self) -> None:
        while self._stop_reason is None:
            try:
                self.store.ping()
                ok = True
            except StoreError:
                ok = False
            if ok != self.etcd_ok:
                self.etcd_ok = ok
                self._dirty = True
                if ok:
                    self.inbox.put(Tick())
            time.sleep(ETCD_PING_EVERY_S)

    def _document(self, now: float) -> dict:
        document = self.engine.status_document(now, framework={
            "name": self.config.framework.name, "id": self.framework_id,
            "subscribed": self.subscribed, "leader": self.store.leader.is_leader,
            "torn_down": self.torn_down})
        document["downloads"] = [
            {"name": d.name, "step": d.step, "url": d.url, "sha256": d.sha256,
             "pinned": d.pinned} for d in self.config.downloads()]
        if self.blocked:
            document["rollout"] = {**document["rollout"], "state": "halted",
                                   "reason": self.blocked}
        return document

    # -- web callbacks --

    def health(self) -> HealthReport:
        """Readiness (leader, subscribed, etcd answers) with its reasons, and liveness."""
        reasons = []  # the cause first: without etcd there is no lock, and no subscription
        if self.blocked:
            reasons.append(self.blocked)
        if not self.etcd_ok:
            reasons.append("etcd is unreachable")
        if not self.store.leader.is_leader:
            reasons.append("not the leader (waiting for the leader lock)")
        if not self.subscribed and not self.torn_down:
            reasons.append("not subscribed to the Mesos master")
        stalled = self.heartbeat.stalled()
        return HealthReport(not reasons, tuple(reasons), live=stalled is None,
                            live_reason=stalled)

    def metrics(self) -> dict[str, float]:
        return {name: self.counters[name] for name in SCHEDULER_COUNTERS}

    # -- shutdown --

    def _stop_driver(self) -> None:
        driver, self.driver = self.driver, None
        if driver is not None:
            driver.stop(failover=True)
            driver.join()

    def _request_stop(self, reason: str) -> None:
        self._stopping = True
        self.inbox.put(Stop(reason))

    def _step_down(self, reason: str) -> None:
        """The leader lock is lost (etcd unreachable for longer than its lease, or another
        scheduler took over): stop acting, keep serving the page, lead again when the lock
        is free. Exiting instead would only have Marathon start a scheduler that waits the
        same way, without a page meanwhile."""
        if self.store.leader.is_leader:
            return  # a stale report: this scheduler leads again already
        log.error("leadership lost (%s); standing by until this scheduler leads again",
                  reason)
        self._stop_driver()
        self.subscribed = False
        self.raw_offers.clear()
        self._publish(time.time())
        if self.become_leader():
            self.load_state()
            self.begin()

    def shutdown(self) -> int:
        log.info("stopping: %s", self._stop_reason)
        self._stop_driver()
        if self.sandbox is not None:
            self.sandbox.stop()
        if self.store.leader.is_leader:
            try:
                self.store.leader.release()
            except StoreError as err:
                log.warning("could not release the leader lock: %s", err)
        if self.web is not None:
            self.web.stop()
        return 0

    # -- uninstall --

    def begin(self) -> None:
        """After loading the state: record an uninstall Cosmos asked for before any offer can
        start an install step, then register with the master, unless nothing is left to do."""
        if self.config.uninstall or self.engine.uninstalling:
            if self.framework_id is None and not self.engine.agents:
                self._uninstalled("nothing is left to uninstall")
                return
            if not self.engine.uninstalling:
                self._record_uninstall()
            elif not self.config.uninstall:
                log.warning("an uninstall was requested earlier: it continues (it cannot be "
                            "withdrawn) although SDK_UNINSTALL is no longer set")
        self.start_driver()

    def _record_uninstall(self) -> None:
        while self._decide(Uninstall(UNINSTALL_BY, UNINSTALL_WHY)) is None:
            self.heartbeat.beat()  # etcd unavailable: nothing may start before it is stored
            time.sleep(ETCD_RETRY_S)
        log.info("uninstalling: Calico is removed from every agent, rolling, then the "
                 "framework tears itself down")

    def _teardown(self) -> None:
        """The uninstall is complete on every agent: deregister from Mesos, then remove the
        state. Cosmos's SDK uninstall path never tears the framework down (dcos/cosmos
        9afd051e46, service/ServiceUninstaller.scala talks only to Marathon and Admin
        Router): SDK schedulers do it with driver.stop(false) (mesosphere/dcos-commons
        0.40.0, scheduler/uninstall/DeregisterStep.java), as here."""
        driver, master, framework_id = self.driver, self.master, self.framework_id
        if driver is None or not self.subscribed or framework_id is None:
            return  # the engine asks again after the next subscription
        log.info("uninstall complete on every agent; tearing down framework %s", framework_id)
        self.driver, self.subscribed = None, False
        driver.stop(failover=False)  # pymesos 0.3.15 sends TEARDOWN when not failing over
        driver.join()
        if master is None or master.framework_registered(framework_id) is not False:
            log.warning("the master does not list framework %s as torn down; subscribing "
                        "again to retry", framework_id)
            self.start_driver()
            return
        self._uninstalled(f"framework {framework_id} torn down")

    def _removed_while_uninstalling(self, message: str) -> None:
        self._stop_driver()
        if self.engine.uninstall_complete():
            self._uninstalled(f"framework {self.framework_id} torn down ({message})")
            return
        # The tasks are gone, not what the installer changed on the agents: keep the
        # records, which say where Calico still is, and finish under a new registration.
        log.warning("the master removed framework %s before the uninstall finished; "
                    "registering afresh to finish it", self.framework_id)
        self._store_call(self.store.clear_framework, f"master said: {message}", True)
        self.framework_id = None
        self.raw_offers.clear()
        self.start_driver()

    def _uninstalled(self, why: str) -> None:
        """Nothing of this framework is left: remove its state and serve the finished plan
        (Cosmos deletes the app once `/v1/plans/deploy` answers 200)."""
        self._store_call(self.store.remove_all)
        note = self.engine.control.uninstall or OperatorNote(
            "uninstall", UNINSTALL_BY, time.time(), UNINSTALL_WHY)
        self.engine = self._engine(self.engine.agents.values(), EngineControl(uninstall=note))
        self.framework_id = None
        self.torn_down = True
        self._dirty = True
        log.info("uninstalled (%s): state removed from etcd; waiting for the app's removal",
                 why)


OPERATOR_EVENTS = {"pause": Pause, "resume": Resume, "retry": RetryAgent, "skip": SkipAgent}


def _operator_event(kind: str, *args: str):
    return OPERATOR_EVENTS[kind](*args)


def _stored_control(control: EngineControl) -> StoredControl:
    uninstall = None if control.uninstall is None else control.uninstall.to_dict()
    return StoredControl(paused=control.paused, by=control.by, at=control.at, why=control.why,
                         uninstall=uninstall)


def _event_kind(notice) -> str:
    return "step" if notice.step else "rollout"


def run(config: Config) -> int:
    logging.basicConfig(level=config.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pymesos").setLevel(logging.WARNING)
    log.info("starting with %s", config.redacted())
    for download in config.downloads():
        if not download.pinned:
            log.warning("%s (%s) is not pinned to a sha256: agents run it unverified",
                        download.name, download.url)
    tls = None
    if config.etcd.ca_file:
        tls = TLSFiles(config.etcd.ca_file, config.etcd.cert_file, config.etcd.key_file)
    credentials = None
    if config.etcd.username is not None and config.etcd.password is not None:
        credentials = Credentials(config.etcd.username, config.etcd.password)
    conn = EtcdConnection(list(config.etcd.endpoints), tls=tls, credentials=credentials)
    inbox: queue.Queue = queue.Queue()
    store = StateStore(conn, config.framework.name,
                       on_leadership_lost=lambda why: inbox.put(LeadershipLost(why)))
    with tempfile.TemporaryDirectory(prefix="calico-dcos-artifacts-") as tmp:
        runtime = Runtime(config, store, Path(tmp), inbox)
        runtime.start_web()
        runtime.check_etcd()
        runtime.become_leader()
        runtime.load_state()
        runtime.begin()
        return runtime.run()

