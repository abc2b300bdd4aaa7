"""A master that takes only https (DC/OS strict mode): the scheduler subscribes, calls and
lists agents over TLS verified with the cluster CA, authenticated with its service account."""

from __future__ import annotations

import dataclasses
import ssl

import pytest

from framework.scheduler import Runtime
from tests.auth.test_runtime import store_for, subscribe_and_list
from tests.devcluster.harness import FAST, MasterHarness
from tests.state.tls import make_certs


@pytest.fixture
def certs(tmp_path):
    return make_certs(tmp_path / "pki")


@pytest.fixture
def https_master(tmp_path, iam, certs):
    harness = MasterHarness(tmp_path / "cluster",
                            dataclasses.replace(FAST, authenticate_token=iam.principal_of))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certs.server_cert, certs.server_key)
    httpd = harness.server._server.httpd  # what LIBPROCESS_SSL_ENABLED does to the master
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    harness.add_agent()
    yield harness
    harness.close()


def test_the_scheduler_reaches_an_https_master_with_the_cluster_ca(
        https_master, account, config_for, etcd_server, etcd_prefix, tmp_path, certs, iam):
    config = config_for(account, MESOS_MASTER=https_master.address, CALICO_MESOS_TLS="true",
                        CALICO_DCOS_CA_FILE=str(certs.ca),
                        CALICO_ETCD_ENDPOINTS=etcd_server.endpoint)
    runtime = Runtime(config, store_for(config, etcd_server, etcd_prefix), tmp_path)
    runtime.start_web()
    try:
        registered, listed = subscribe_and_list(runtime)  # listed: /master/slaves over https
        assert runtime.master.base == f"https://{registered.master}"
        assert [a.role for a in listed.agents] == ["private"]
        assert set(iam.presented) == {iam.latest_token()}
    finally:
        runtime.shutdown()
