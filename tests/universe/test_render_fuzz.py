"""Whatever text an option holds, the rendered app is JSON and carries it unchanged."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from universe import render

FREE_TEXT_OPTIONS = {  # options without a pattern, and the env var each lands in
    ("mesos", "master"): "MESOS_MASTER",
    ("mesos", "principal"): "MESOS_PRINCIPAL",
    ("etcd", "endpoints"): "CALICO_ETCD_ENDPOINTS",
    ("cni", "subnet"): "CALICO_CNI_SUBNET",
    ("calico_node", "felix_env"): "CALICO_NODE_FELIX_ENV",
}


@settings(derandomize=True, max_examples=150, deadline=None)
@given(st.sampled_from(sorted(FREE_TEXT_OPTIONS)), st.text(min_size=1, max_size=60))
def test_text_survives_rendering(package, option, text):
    group, name = option
    app = render.render_app(package.marathon_template, package.config, package.resource,
                            {group: {name: text}})
    assert app["env"][FREE_TEXT_OPTIONS[option]] == text
