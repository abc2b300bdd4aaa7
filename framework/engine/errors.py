"""Typed errors of the rollout engine, all under one root so callers can catch the package."""

from __future__ import annotations


class EngineError(Exception):
    """Root of every error the engine raises."""


class PlanError(EngineError):
    """The plan (steps, hashes, resources) is inconsistent."""


class PolicyError(EngineError):
    """A policy value is out of range."""


class RecordError(EngineError):
    """A stored record cannot be decoded; the message says which field and why."""


class TaskIdError(EngineError):
    """A task id does not have the form `calico-<step>.<agent-id>.<unique>`."""


class UnknownAgentError(EngineError):
    """An operator action names an agent the engine does not know."""

    def __init__(self, agent_id: str) -> None:
        super().__init__(f"unknown agent {agent_id!r}")
        self.agent_id = agent_id
