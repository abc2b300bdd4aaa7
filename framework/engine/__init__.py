"""The rollout engine: the pure core of the scheduler (no I/O; time is passed in).

Build an `Engine` from the plan, the policy and the stored records, feed it events, and for
each `Decision` store `decision.records` (one JSON value per agent, `AgentRecord.to_dict`)
and `decision.control`, then apply `decision.actions` in order. See README.md next to this
file for the full contract.
"""

from framework.engine.actions import (
    Action,
    Decision,
    Decline,
    Kill,
    Launch,
    Notice,
    Reconcile,
    Revive,
    Suppress,
    Teardown,
)
from framework.engine.engine import AfterRemoval, Engine
from framework.engine.errors import (
    EngineError,
    PlanError,
    PolicyError,
    RecordError,
    TaskIdError,
    UnknownAgentError,
)
from framework.engine.events import (
    PUBLIC_MESOS_ROLE,
    AgentInfo,
    AgentRemoved,
    AgentSeen,
    AgentsListed,
    AgentUnreachable,
    Event,
    Offer,
    Offers,
    Pause,
    Resume,
    RetryAgent,
    RoleResources,
    SkipAgent,
    Subscribed,
    TaskReported,
    TaskStatus,
    Tick,
    Uninstall,
)
from framework.engine.plan import STEP_ORDER, STEP_UNINSTALL, Plan, StepSpec
from framework.engine.policy import Policy, RetryPolicy
from framework.engine.progress import AGENT_STATES
from framework.engine.records import AgentRecord, OperatorNote, RolloutControl, StepRecord
from framework.engine.reports import HostChange, TaskReport
from framework.engine.status import (
    MODES,
    ROLLOUT_STATES,
    STEP_STATES,
    Observations,
    status_document,
)
from framework.engine.tasks import make_task_id, parse_task_id

__all__ = [
    "AGENT_STATES",
    "MODES",
    "ROLLOUT_STATES",
    "STEP_STATES",
    "Action",
    "AfterRemoval",
    "AgentInfo",
    "AgentRecord",
    "AgentRemoved",
    "AgentSeen",
    "AgentUnreachable",
    "AgentsListed",
    "Decision",
    "Decline",
    "Engine",
    "EngineError",
    "Event",
    "HostChange",
    "Kill",
    "Launch",
    "Notice",
    "Observations",
    "Offer",
    "Offers",
    "OperatorNote",
    "PUBLIC_MESOS_ROLE",
    "Pause",
    "Plan",
    "PlanError",
    "Policy",
    "PolicyError",
    "Reconcile",
    "RecordError",
    "Resume",
    "RetryAgent",
    "RetryPolicy",
    "Revive",
    "RoleResources",
    "RolloutControl",
    "STEP_ORDER",
    "STEP_UNINSTALL",
    "SkipAgent",
    "StepRecord",
    "StepSpec",
    "Subscribed",
    "TaskReport",
    "TaskReported",
    "Suppress",
    "Teardown",
    "TaskIdError",
    "TaskStatus",
    "Tick",
    "Uninstall",
    "UnknownAgentError",
    "make_task_id",
    "parse_task_id",
    "status_document",
]
