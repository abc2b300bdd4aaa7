"""Any text in any variable gives a Config or a ConfigError naming it, never a crash."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from framework.config import VARIABLES, Config, ConfigError, load

NAMES = [variable.env for variable in VARIABLES]
TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "0", "-1", "true", "nan", "inf", "{}", "[]", "null", "http://",
                     "etcd://", "zk://", "/", "::", "[::1]:5050", "a" * 300, "\x00",
                     '{"FELIX_X": null}', "can-reach=", "interface=["]),
)


@settings(derandomize=True, max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(NAMES), TEXT, max_size=6))
def test_any_env_gives_config_or_config_error(env):
    try:
        assert isinstance(load([], env), Config)
    except ConfigError as err:
        assert err.problems
        for problem in err.problems:
            assert any(name in problem for name in NAMES), problem
