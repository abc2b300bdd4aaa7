"""The scheduler process: leader lock, state, web server, pymesos driver and one worker.

Everything that changes the rollout happens on the worker (the main thread): it takes one
message at a time from the inbox (pymesos callbacks, operator actions, agent listings,
ticks) and hands it to the `Applier` (framework/applier.py), which asks the engine, stores
the decision in etcd, and only then applies its actions to the driver. Status updates are
acknowledged after their record is stored, so an etcd outage loses nothing:
unacknowledged updates come back from the agents. Every wait for etcd follows one policy
(`EtcdRetry`, framework/retry.py).

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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pymesos import MesosSchedulerDriver

from framework import etcd_check, task_files
from framework.applier import Applier
from framework.config import Config
from framework.dcos_auth import TokenAuth, scheduler_driver, service_account_credentials
from framework.dcos_users import DcosUserTokens
from framework.engine import (
    AfterRemoval,
    AgentsListed,
    Engine,
    EngineError,
    Launch,
    Pause,
    Resume,
    RetryAgent,
    RolloutControl,
    SkipAgent,
    Subscribed,
    Tick,
    Uninstall,
)
from framework.engine.records import OperatorNote
from framework.engine_setup import engine_plan, engine_policy
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
)
from framework.retry import OUTAGES, EtcdRetry
from framework.sandbox import SandboxReader
from framework.snapshot import OperatorControl, OperatorRequest, Snapshot, StatusView
from framework.state import (
    ConflictError,
    Credentials,
    EtcdConnection,
    NotLeader,
    StateStore,
    StoreError,
    StoreUnavailable,
    TLSFiles,
)
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
UNINSTALL_BY = "cosmos"
UNINSTALL_WHY = "SDK_UNINSTALL is set (dcos package uninstall)"

T = TypeVar("T")


@dataclass(frozen=True)
class Stop:
    reason: str


@dataclass(frozen=True)
class LeadershipLost:
    reason: str


class Runtime:
    """Start-up, the worker's loop, periodic work, health and the uninstall's end; the
    decisions themselves are applied by `Applier` (framework/applier.py)."""

    def __init__(self, config: Config, store: StateStore, artifacts_dir: Path,
                 inbox: queue.Queue | None = None, retry: EtcdRetry | None = None) -> None:
        self.config = config
        self.store = store
        self.artifacts_dir = artifacts_dir
        self.inbox: queue.Queue = inbox if inbox is not None else queue.Queue()
        self.retry = retry or EtcdRetry()
        self.counters: collections.Counter = collections.Counter()
        self.plan = engine_plan(config)
        self.policy = engine_policy(config)
        self.credentials = service_account_credentials(config.mesos.service_account,
                                                       config.dcos_ca_file)
        self.applier = Applier(store, build_engine=self._engine, connect=self._new_driver,
                               task_for=self._task_for, refuse_s=self.policy.refuse_wait_s,
                               retrying=self._retrying, etcd_seen=self._etcd_seen,
                               changed=self._changed, teardown=self._teardown,
                               counters=self.counters)
        self.subscribed = False
        self.etcd_ok = True
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

    @property
    def engine(self) -> Engine:
        return self.applier.engine

    @property
    def framework_id(self) -> str | None:
        return self.applier.framework_id

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
        self.urls = task_files.prepare(self.config, self.artifacts_dir, self.web.port)
        return self.web.port

    def check_etcd(self) -> None:
        """Block until the etcd cluster serves what the scheduler and Calico need.

        A cluster that cannot (no v3 API, no v2 API) is reported in the log, on /health and
        on the page, and checked again now and then: the scheduler stays up instead of
        exiting into a Marathon restart loop."""
        facts = self._retrying(self._usable_cluster)
        log.info("%s", facts.summary())
        self.etcd_peers = facts.peer_urls
        self._set_blocked(None)

    def _usable_cluster(self) -> etcd_check.EtcdFacts:
        facts = etcd_check.probe(self.config)
        self.etcd_ok = True
        problem = etcd_check.problem(facts, self.config)
        if problem is not None:
            if problem != self.blocked:
                log.error("%s", problem)
            self._set_blocked(problem)
            raise etcd_check.ClusterUnusable(problem)
        return facts

    def _set_blocked(self, reason: str | None) -> None:
        self.blocked = reason
        self.snapshot.publish(self._document(time.time()), dict(self.engine.agents))

    def become_leader(self) -> bool:
        """Block until this scheduler holds the leader lock (etcd outages are waited out);
        False when asked to stop meanwhile.

        A standby scheduler has nothing to clean up: SIGTERM simply ends it."""
        def acquire() -> bool:
            if self.store.leader.acquire(timeout_s=self.retry.interval_s):
                return True
            log.info("another scheduler is leader (%s); waiting", self.store.leader.holder())
            return False
        while not self._stopping:
            try:
                if self._retrying(acquire, stop=lambda: self._stopping):
                    log.info("leader lock acquired")
                    return True
            except StoreUnavailable:
                return False  # asked to stop while etcd was unavailable
        return False

    def load_state(self) -> None:
        self.applier.load()

    def _engine(self, records, control: RolloutControl | None = None) -> Engine:
        # Random task id suffixes: unique across scheduler restarts, however quick.
        return Engine(self.plan, self.policy, records, control,
                      new_unique=lambda now: f"{int(now)}-{uuid.uuid4().hex[:12]}")

    def start_driver(self) -> None:
        self.applier.connect()

    def _new_driver(self, framework_id: str | None) -> MesosSchedulerDriver:
        webui = self.config.webui_url(self.web.port)
        info = framework_info(self.config, webui, framework_id)
        driver = scheduler_driver(QueueingScheduler(self.inbox), info, self.config.mesos,
                                  self.credentials, ca_file=self.config.dcos_ca_file,
                                  implicit_acknowledgements=False)
        driver.start()
        return driver

    def _task_for(self, launch: Launch, offer: dict) -> dict:
        return task_info(self.config, launch, offer, self.urls, offer.get("hostname", ""),
                         self.etcd_peers)

    # -- waiting for etcd --

    def _retrying(self, attempt: Callable[[], T], *,
                  retry_on: tuple[type[Exception], ...] = OUTAGES,
                  stop: Callable[[], bool] | None = None) -> T:
        """`attempt()` under the retry policy, with the liveness heartbeat beating."""
        result = self.retry.call(attempt, self.heartbeat.beat, self._waiting,
                                 retry_on=retry_on, stop=stop or (lambda: False))
        self.etcd_ok = True  # it answered
        return result

    def _waiting(self, err: Exception, delay: float) -> None:
        if isinstance(err, etcd_check.ClusterUnusable):
            return  # said once by `_usable_cluster`, and on /health meanwhile
        if isinstance(err, ConflictError):
            return  # the applier reloaded the state and said so
        self.etcd_ok = False
        log.warning("etcd unavailable (%s); retrying in %.0f s", err, delay)

    def _etcd_seen(self, ok: bool) -> None:
        self.etcd_ok = ok

    def _changed(self) -> None:
        self._dirty = True

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
                if self.sandbox is not None:
                    for offer in message.offers:
                        self.sandbox.note_offer(offer)
                self.applier.offers(message)
            case StatusUpdate():
                self.applier.status(message)
                self._read_result(message)
            case OperatorRequest():
                self._operator(message)
            case Stop():
                self._stop_reason = message.reason
            case LeadershipLost():
                self._step_down(message.reason)
            case _:
                self.applier.decide(message)

    def _registered(self, message: Registered) -> None:
        self.subscribed = True
        self._dirty = True
        self.master = MasterClient(message.master, self.config, self.credentials)
        if self.sandbox is None:
            self.sandbox = SandboxReader(self.config, self.inbox.put, self.master.auth,
                                         self._locate_agent).start()
        self.applier.registered(message.framework_id)
        self.applier.decide(Subscribed())
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
        why = f"master said: {message}"
        match self.engine.after_removal():
            case AfterRemoval.REGISTER_AFRESH:
                log.warning("the master removed framework %s; registering afresh",
                            self.framework_id)
                self.applier.reregister(why, keep_agents=False)
            case AfterRemoval.FINISH_UNINSTALL:
                log.warning("the master removed framework %s before the uninstall finished; "
                            "registering afresh to finish it", self.framework_id)
                self.applier.reregister(why, keep_agents=True)
            case AfterRemoval.UNINSTALLED:
                self.applier.disconnect()
                self._uninstalled(f"framework {self.framework_id} torn down ({message})")

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
            if self.applier.decide(request.event, raise_store_errors=True) is None:
                request.error = StoreUnavailable("etcd is unavailable")
        except (EngineError, StoreError) as err:
            request.error = err
        finally:
            request.done.set()

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
        self.applier.disconnect()
        self.subscribed = False
        self._publish(time.time())
        if self.become_leader():
            self.load_state()
            self.begin()

    def shutdown(self) -> int:
        log.info("stopping: %s", self._stop_reason)
        self.applier.disconnect()
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
        """Nothing may start before the uninstall is stored: wait out etcd, and decide again
        on the reloaded state after a conflict."""
        self._retrying(lambda: self.applier.decide(Uninstall(UNINSTALL_BY, UNINSTALL_WHY),
                                                   raise_store_errors=True),
                       retry_on=(StoreUnavailable, ConflictError))
        log.info("uninstalling: Calico is removed from every agent, rolling, then the "
                 "framework tears itself down")

    def _teardown(self) -> None:
        """The uninstall is complete on every agent: deregister from Mesos, then remove the
        state. Cosmos's SDK uninstall path never tears the framework down (dcos/cosmos
        9afd051e46, service/ServiceUninstaller.scala talks only to Marathon and Admin
        Router): SDK schedulers do it with driver.stop(false) (mesosphere/dcos-commons
        0.40.0, scheduler/uninstall/DeregisterStep.java), as here."""
        master, framework_id = self.master, self.framework_id
        if self.applier.driver is None or not self.subscribed or framework_id is None:
            return  # the engine asks again after the next subscription
        log.info("uninstall complete on every agent; tearing down framework %s", framework_id)
        self.subscribed = False
        self.applier.deregister()
        if master is None or master.framework_registered(framework_id) is not False:
            log.warning("the master does not list framework %s as torn down; subscribing "
                        "again to retry", framework_id)
            self.start_driver()
            return
        self._uninstalled(f"framework {framework_id} torn down")

    def _uninstalled(self, why: str) -> None:
        """Nothing of this framework is left: remove its state and serve the finished plan
        (Cosmos deletes the app once `/v1/plans/deploy` answers 200)."""
        self._retrying(self.store.remove_all)
        note = self.engine.control.uninstall or OperatorNote(
            "uninstall", UNINSTALL_BY, time.time(), UNINSTALL_WHY)
        self.applier.engine = self._engine(self.engine.agents.values(),
                                           RolloutControl(uninstall=note))
        self.applier.framework_id = None
        self.torn_down = True
        self._dirty = True
        log.info("uninstalled (%s): state removed from etcd; waiting for the app's removal",
                 why)


OPERATOR_EVENTS = {"pause": Pause, "resume": Resume, "retry": RetryAgent, "skip": SkipAgent}


def _operator_event(kind: str, *args: str):
    return OPERATOR_EVENTS[kind](*args)


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

