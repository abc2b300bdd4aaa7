"""Random event orders against the engine and a simulated cluster (Hypothesis).

Checked after every step: never more than k agents inside disruptive steps (and every live
disruptive task allowed to restart units belongs to a slot holder unless an operator
released it; such a task is launched only on a slot holder); hosts may need a restart
(their live run exits 76) or take the change live; never two live
tasks for one agent and step; no finished one-shot step is launched again for the same
target; the engine's indexes match a recount. At the end, benign events make it converge.

An operator may ask for the uninstall at any point; from then on: no install step starts,
an agent whose calico-node the uninstall stopped holds a restart slot until its uninstall
step finished (or an operator released it), and Teardown comes only when every agent that
is not gone is uninstalled or skipped. Converged then means: torn down.
"""

from __future__ import annotations

import itertools
import json

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from framework.engine import (
    AgentInfo,
    AgentRecord,
    AgentRemoved,
    AgentSeen,
    AgentsListed,
    AgentUnreachable,
    Decision,
    Engine,
    Event,
    Kill,
    Launch,
    Offers,
    Pause,
    Policy,
    Resume,
    RetryAgent,
    RetryPolicy,
    SkipAgent,
    Subscribed,
    Teardown,
    Tick,
    Uninstall,
)
from framework.engine.plan import DISRUPTIVE_STEPS, LONG_RUNNING_STEPS, OBSERVING_STEPS, STEP_ORDER
from framework.engine.progress import agent_facts
from framework.engine.steps import SATISFIED, Phase, step_phase
from framework.engine.tasks import TERMINAL_STATES, parse_task_id
from framework.engine.uninstall import uninstall_facts
from tests.engine.kit import make_plan
from tests.engine.sim import InvariantBroken, SimCluster

MAX_EXAMPLES = 200
STEPS_PER_EXAMPLE = 80
MAX_AGENTS = 6
SETTLE_ROUNDS = 400
SETTLE_STEP_S = 1.0
PICK = st.integers(min_value=0, max_value=63)


class RolloutMachine(RuleBasedStateMachine):
    @initialize(
        agents=st.integers(min_value=1, max_value=4),
        k=st.integers(min_value=1, max_value=2),
        parallel=st.integers(min_value=1, max_value=3),
        max_failed=st.integers(min_value=0, max_value=2),
        steps=st.sets(st.sampled_from(STEP_ORDER), min_size=1),
    )
    def start(self, agents, k, parallel, max_failed, steps):
        self.steps = tuple(s for s in STEP_ORDER if s in steps)
        self.versions = dict.fromkeys(self.steps, 1)
        self.policy = Policy(
            max_concurrent_restarts=k,
            max_parallel=parallel,
            retry=RetryPolicy(max_attempts=2, backoff_base_s=1.0, backoff_cap_s=4.0, max_reruns=2),
            max_failed=max_failed,
            launch_timeout_s=30.0,
            refuse_wait_s=SETTLE_STEP_S,
        )
        self.sim = SimCluster(now=1000.0)
        self.node_stopped: set[str] = set()  # agents whose calico-node the uninstall killed
        self.torn_down = False
        launches = itertools.count()
        self.new_unique = lambda now: f"{int(now * 1000)}-{next(launches)}"  # across restarts
        self.engine = Engine(self._plan(), self.policy, new_unique=self.new_unique)
        self.next_agent = agents
        for i in range(agents):
            self.sim.agents[f"a{i}"] = True
        self.send(AgentsListed(tuple(AgentInfo(a, f"{a}.example") for a in self.sim.agents)))

    def _plan(self):
        hashes = {s.replace("-", "_"): f"{s}-v{v}" for s, v in self.versions.items()}
        return make_plan(steps=self.steps, **hashes)

    # -- plumbing ----------------------------------------------------------------------

    def send(self, event: Event):
        decision = self.engine.decide(event, self.sim.now)
        for record in decision.records:  # what the scheduler stores, it can load again
            assert AgentRecord.from_dict(json.loads(json.dumps(record.to_dict()))) == record
        for kill in decision.actions:
            if isinstance(kill, Kill):
                self.check_kill(kill, decision)
        if Teardown() in decision.actions:
            self.check_teardown()
        self.sim.apply(decision.actions, self.check_launch)
        return decision

    def check_teardown(self) -> None:
        """Only when uninstalling and every agent not gone is uninstalled or skipped."""
        assert self.engine.uninstalling
        for agent_id in self.engine.agents:
            assert self.engine.facts(agent_id).state in ("complete", "gone"), agent_id
        self.torn_down = True

    def check_kill(self, kill: Kill, decision: Decision) -> None:
        """A complete long-running task is never killed without a config change."""
        before = decision.undo.get(kill.agent_id) or self.engine.agents.get(kill.agent_id)
        if before is None:
            return
        step = parse_task_id(kill.task_id)[0]
        spec = self.engine.plan.spec(step)
        record = before.step(step)
        if self.engine.uninstalling:
            if step == "calico-node" and record.task_id == kill.task_id:
                self.node_stopped.add(kill.agent_id)
            return
        if spec is not None and record.task_id == kill.task_id and spec.long_running:
            complete = step_phase(spec, record, self.policy.retry) is Phase.COMPLETE
            if complete and not record.kill_requested:
                raise InvariantBroken(f"complete long-running task killed: {kill}")

    def check_launch(self, launch: Launch) -> None:
        if launch.step in DISRUPTIVE_STEPS and launch.allow_restart \
                and launch.agent_id not in self.engine.restart_slot_holders():
            raise InvariantBroken(f"restart allowed without a slot: {launch}")
        if (launch.step == "uninstall") != self.engine.uninstalling:
            raise InvariantBroken(f"{launch.step} launched while uninstalling="
                                  f"{self.engine.uninstalling}")
        for task in self.sim.live_tasks():
            if (task.agent_id, task.step) == (launch.agent_id, launch.step):
                raise InvariantBroken(f"second live task for {launch.agent_id}/{launch.step}")
        if (launch.agent_id, launch.step, launch.target_hash) in self.sim.finished:
            raise InvariantBroken(f"finished step re-run: {launch}")

    def reachable(self) -> list[str]:
        return sorted(a for a, up in self.sim.agents.items() if up and a not in self.sim.removed)

    def known(self) -> list[str]:
        return sorted(a for a in self.sim.agents if a not in self.sim.removed)

    def restart_scheduler(self) -> None:
        self.engine = Engine(
            self._plan(),
            self.policy,
            self.engine.agents.values(),
            self.engine.control,
            new_unique=self.new_unique,
        )
        self.sim.suppressed = False
        self.sim.filters.clear()
        self.send(Subscribed())

    # -- rules -------------------------------------------------------------------------

    @rule(pick=PICK, short=st.booleans(), drop=st.booleans())
    def offer(self, pick, short, drop):
        candidates = [a for a in self.reachable() if self.sim.can_offer(a)]
        if not candidates:
            return
        self.sim.drop_next_launch = drop and pick % 5 == 0
        agent_id = candidates[pick % len(candidates)]
        self.send(Offers((self.sim.make_offer(agent_id, cpus=0.05 if short else 4.0),)))
        self.sim.drop_next_launch = False

    @rule(pick=PICK, outcome=st.sampled_from(["ok", "ok", "ok", "rerun", "restart", "fail"]))
    def progress_task(self, pick, outcome):
        tasks = self.sim.live_tasks(reachable_only=True)
        if tasks:
            self.sim.advance(tasks[pick % len(tasks)], outcome)

    @rule(pick=PICK)
    def crash_on_a_complete_agent(self, pick):
        """A long-running task dies on an agent the rollout had finished."""
        tasks = [
            t
            for t in self.sim.live_tasks(reachable_only=True)
            if t.step in LONG_RUNNING_STEPS and self.engine.facts(t.agent_id).state == "complete"
        ]
        if tasks:
            self.sim.advance(tasks[pick % len(tasks)], "fail")

    @precondition(lambda self: self.sim.pending)
    @rule(pick=PICK)
    def deliver(self, pick):
        update = self.sim.take_update(pick % len(self.sim.pending))
        self.sim.delivered.append(update)
        self.send(update)

    @precondition(lambda self: self.sim.delivered)
    @rule(pick=PICK)
    def deliver_again(self, pick):
        self.send(self.sim.delivered[pick % len(self.sim.delivered)])

    @rule(pick=PICK)
    def restart_agent_unit(self, pick):
        agents = self.reachable()
        if agents:
            self.sim.restart_agent(agents[pick % len(agents)])

    @rule(pick=PICK)
    def agent_unreachable(self, pick):
        agents = self.reachable()
        if agents:
            agent_id = agents[pick % len(agents)]
            self.sim.agents[agent_id] = False
            self.send(AgentUnreachable(agent_id))

    @rule(pick=PICK)
    def agent_returns(self, pick):
        away = [a for a in self.known() if not self.sim.agents[a]]
        if away:
            agent_id = away[pick % len(away)]
            self.sim.reregister(agent_id)
            self.send(AgentSeen(AgentInfo(agent_id, f"{agent_id}.example")))

    @rule(pick=PICK)
    def remove_agent(self, pick):
        agents = self.known()
        if len(agents) > 1:
            agent_id = agents[pick % len(agents)]
            self.sim.removed.add(agent_id)
            self.send(AgentRemoved(agent_id))

    @precondition(lambda self: len(self.sim.agents) < MAX_AGENTS)
    @rule()
    def add_agent(self):
        agent_id = f"a{self.next_agent}"
        self.next_agent += 1
        self.sim.agents[agent_id] = True
        self.send(AgentSeen(AgentInfo(agent_id, f"{agent_id}.example")))

    @rule(seconds=st.sampled_from([0.5, 1.0, 3.0, 10.0, 40.0]))
    def tick(self, seconds):
        self.sim.now += seconds
        self.send(Tick())

    @rule(resume=st.booleans())
    def pause_or_resume(self, resume):
        self.send(Resume("ops", "go") if resume else Pause("ops", "wait"))

    @rule(pick=PICK, skip=st.booleans())
    def operator_acts_on_agent(self, pick, skip):
        agents = sorted(self.engine.agents)
        agent_id = agents[pick % len(agents)]
        if skip:
            self.send(SkipAgent(agent_id, "ops", "operator override"))
        else:
            self.retry(agent_id, "operator override")

    def retry(self, agent_id: str, reason: str) -> None:
        """A retry verifies the agent again: its observing steps may re-run."""
        self.sim.finished -= {f for f in self.sim.finished
                              if f[0] == agent_id and f[1] in OBSERVING_STEPS}
        self.send(RetryAgent(agent_id, "ops", reason))

    @rule(pick=PICK)
    def change_config(self, pick):
        step = self.steps[pick % len(self.steps)]
        self.versions[step] += 1
        self.restart_scheduler()

    @rule()
    def scheduler_restarts(self):
        self.restart_scheduler()

    @precondition(lambda self: not self.engine.uninstalling and len(self.sim.tasks) >= 3)
    @rule(now=st.booleans())
    def operator_uninstalls(self, now):
        if now:  # only once the rollout did something, and then half the chances
            self.send(Uninstall("cosmos", "dcos package uninstall"))

    def deliver_all(self):
        while self.sim.pending:
            self.send(self.sim.take_update(0))

    @rule(rounds=st.integers(min_value=1, max_value=8))
    def healthy_for_a_while(self, rounds):
        for _ in range(rounds):
            self.benign_round()

    def benign_round(self):
        """A second of a healthy cluster: updates arrive, tasks succeed, agents offer."""
        self.deliver_all()
        for task in self.sim.live_tasks(reachable_only=True):
            self.sim.advance(task, "ok")
        self.deliver_all()
        for agent_id in self.reachable():
            if self.sim.can_offer(agent_id):
                self.send(Offers((self.sim.make_offer(agent_id),)))
        self.sim.now += SETTLE_STEP_S
        self.send(Tick())

    # -- invariants --------------------------------------------------------------------

    @invariant()
    def budget_holds(self):
        holders = self.engine.restart_slot_holders()
        assert len(holders) <= self.policy.max_concurrent_restarts, holders
        restarting = set()
        for task in self.sim.live_tasks():
            if task.step in DISRUPTIVE_STEPS and task.allow_restart:
                record = self.engine.agents[task.agent_id].step(task.step)
                assert task.agent_id in holders or record.released, (task, holders)
                restarting.add(task.agent_id)
        assert len(restarting) <= self.policy.max_concurrent_restarts, restarting

    @invariant()
    def an_agent_whose_uninstall_began_holds_its_slot(self):
        if not self.engine.uninstalling:
            return
        spec, retry = self.engine.plan.uninstall, self.policy.retry
        holders = self.engine.restart_slot_holders()
        for agent_id in self.node_stopped:
            agent = self.engine.agents.get(agent_id)
            record = agent.step("uninstall")
            done = step_phase(spec, record, retry) in SATISFIED
            if agent.presence != "gone" and not done and not record.released:
                assert agent_id in holders, (agent_id, holders)

    @invariant()
    def agents_with_work_are_not_refused_for_long(self):
        if self.sim.suppressed:
            return
        longest = max(self.policy.refuse_wait_s, self.policy.retry.backoff_cap_s)
        holders = self.engine.restart_slot_holders()
        facts = {a: self.engine.facts(a) for a in self.engine.agents}
        budget_full = len(holders) >= self.policy.max_concurrent_restarts
        parallel_full = sum(f.in_flight for f in facts.values()) >= self.policy.max_parallel
        ending = {u.task_id for u in self.sim.pending if u.state in TERMINAL_STATES}
        running = {t.agent_id for t in self.sim.tasks.values()
                   if t.step not in LONG_RUNNING_STEPS and (t.live or t.task_id in ending)}
        in_line = self.engine.waiting_in_line()
        for agent_id in self.reachable():
            if (budget_full and agent_id not in holders) or (
                    parallel_full and not facts[agent_id].in_flight) or agent_id in in_line:
                continue  # waiting in line: declined until about its turn (lines.py)
            if agent_id in running:
                continue  # its one-shot task's end (reported or still to be) lifts the filter
            if facts[agent_id].unfinished:
                assert self.sim.filters.get(agent_id, 0.0) <= self.sim.now + longest, agent_id

    @invariant()
    def one_live_task_per_agent_and_step(self):
        seen = set()
        for task in self.sim.live_tasks():
            key = (task.agent_id, task.step)
            assert key not in seen, key
            seen.add(key)

    @invariant()
    def indexes_match_a_recount(self):
        plan, policy = self.engine.plan, self.engine.policy
        facts_of = uninstall_facts if self.engine.uninstalling else agent_facts
        recount = {a: facts_of(plan, policy, r) for a, r in self.engine.agents.items()}
        for agent_id, facts in recount.items():
            assert self.engine.facts(agent_id) == facts
        assert self.engine.restart_slot_holders() == {a for a, f in recount.items() if f.holder}

    @invariant()
    def status_is_consistent_json(self):
        doc = self.engine.status_document(self.sim.now)
        json.dumps(doc)
        counts = doc["rollout"]["counts"]
        assert counts["total"] == sum(v for k, v in counts.items() if k != "total")
        assert counts["total"] + doc["rollout"]["gone"] == len(self.engine.agents)

    # -- convergence -------------------------------------------------------------------

    def teardown(self):
        if not hasattr(self, "engine"):
            return
        self.send(Resume("ops", "settle"))
        for agent_id in self.known():
            if not self.sim.agents[agent_id]:
                self.sim.reregister(agent_id)
                self.send(AgentSeen(AgentInfo(agent_id, f"{agent_id}.example")))
        for _ in range(SETTLE_ROUNDS):
            for agent_id in sorted(self.engine.agents):
                if self.engine.facts(agent_id).state == "failed":
                    self.retry(agent_id, "settle")
            self.benign_round()
            self.budget_holds()
            self.an_agent_whose_uninstall_began_holds_its_slot()
            self.one_live_task_per_agent_and_step()
            if self._converged():
                return
        doc = self.engine.status_document(self.sim.now)
        raise AssertionError(f"no convergence: {json.dumps(doc, indent=1)}")

    def _converged(self) -> bool:
        if self.engine.uninstalling:
            return self.torn_down and self.engine.uninstall_complete()
        doc = self.engine.status_document(self.sim.now)
        return doc["rollout"]["counts"]["total"] > 0 and doc["rollout"]["state"] == "complete"


RolloutMachine.TestCase.settings = settings(
    max_examples=MAX_EXAMPLES,
    stateful_step_count=STEPS_PER_EXAMPLE,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestRollout = RolloutMachine.TestCase

