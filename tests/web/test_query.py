"""Properties of agent filtering and paging: pages tile the filtered list exactly, in order,
and the whole-cluster counts are never touched."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from web.contracts import AGENT_STATES
from web.query import AgentQuery, apply_query, matches

agents = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.uuids().map(str),
            "hostname": st.text(alphabet="abcAB.-<>", min_size=1, max_size=8),
            "state": st.sampled_from(AGENT_STATES),
        }
    ),
    max_size=40,
)
queries = st.builds(
    AgentQuery,
    state=st.none() | st.sampled_from(AGENT_STATES),
    text=st.text(alphabet="abAB.<", max_size=2),
)


@given(agents, queries, st.integers(min_value=1, max_value=7))
def test_pages_tile_the_filtered_agents(agent_list, query, limit):
    document = {"rollout": {"counts": {"total": len(agent_list)}}, "agents": agent_list}
    expected = [a for a in agent_list if matches(a, query)]
    collected = []
    for offset in range(0, len(expected) + limit, limit):
        window = AgentQuery(query.state, query.text, offset, limit)
        result = apply_query(document, window)
        assert result["page"]["total"] == len(expected)
        assert len(result["agents"]) <= limit
        assert result["rollout"] is document["rollout"]
        collected += result["agents"]
    assert collected == expected
    assert document["agents"] is agent_list  # the source document is never modified

