"""Scheduler configuration: environment variables with command-line overrides, all validated.

`load(argv, env)` returns an immutable `Config` or raises `ConfigError` listing every
problem at once. The variables are documented in docs/configuration.md.
"""

from framework.config.loader import ConfigError, load
from framework.config.model import Config
from framework.config.variables import VARIABLES, Variable
from framework.engine.plan import (
    DISRUPTIVE_STEPS,
    STEP_CALICO_NODE,
    STEP_CNI,
    STEP_DOCKER,
    STEP_ETCD_PROXY,
    STEP_ORDER,
    STEP_VERIFY,
)

__all__ = [
    "DISRUPTIVE_STEPS",
    "STEP_CALICO_NODE",
    "STEP_CNI",
    "STEP_DOCKER",
    "STEP_ETCD_PROXY",
    "STEP_ORDER",
    "STEP_VERIFY",
    "VARIABLES",
    "Config",
    "ConfigError",
    "Variable",
    "load",
]
