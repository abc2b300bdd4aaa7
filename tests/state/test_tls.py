"""etcd over TLS with client certificates, using a CA made for this test run."""

from __future__ import annotations

import pytest

from framework.state import EtcdConnection, StateStore, StoreUnavailable, TLSFiles
from tests.state.tls import TLSEtcd, have_openssl, make_ca, make_certs

pytestmark = pytest.mark.skipif(not have_openssl(), reason="needs the openssl CLI")


@pytest.fixture(scope="module")
def tls_etcd(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls")
    certs = make_certs(directory / "certs")
    with TLSEtcd(directory / "etcd", certs) as server:
        yield server


def store_for(endpoint: str, tls: TLSFiles | None, root: str) -> StateStore:
    return StateStore(EtcdConnection([endpoint], tls=tls, timeout_s=2.0), "calico", root=root)


def test_store_works_over_tls_with_a_client_certificate(tls_etcd, etcd_prefix):
    certs = tls_etcd.certs
    store = store_for(tls_etcd.endpoint,
                      TLSFiles(str(certs.ca), str(certs.client_cert), str(certs.client_key)),
                      etcd_prefix)
    try:
        assert store.leader.acquire(timeout_s=10)
        store.save_framework_id("fw-tls")
        store.put_agent("a-S0", {"secure": True})
        assert store.load_framework_id() == "fw-tls"
        assert store.load_agents() == {"a-S0": {"secure": True}}
    finally:
        store.leader.release()
        store.conn.close()


def test_missing_client_certificate_is_refused(tls_etcd, etcd_prefix):
    store = store_for(tls_etcd.endpoint, TLSFiles(str(tls_etcd.certs.ca)), etcd_prefix)
    with pytest.raises(StoreUnavailable):
        store.load_agents()
    store.conn.close()


def test_server_from_another_ca_is_not_trusted(tls_etcd, etcd_prefix, tmp_path):
    other_ca, _ = make_ca(tmp_path, "other-ca")
    certs = tls_etcd.certs
    store = store_for(tls_etcd.endpoint,
                      TLSFiles(str(other_ca), str(certs.client_cert), str(certs.client_key)),
                      etcd_prefix)
    with pytest.raises(StoreUnavailable):
        store.load_agents()
    store.conn.close()


def test_plain_http_to_a_tls_server_fails_cleanly(tls_etcd, etcd_prefix):
    store = store_for(tls_etcd.endpoint.replace("https", "http"), None, etcd_prefix)
    with pytest.raises(StoreUnavailable):
        store.load_agents()
    store.conn.close()


def test_the_cluster_check_reads_a_tls_cluster_with_the_client_certificate(tls_etcd):
    from framework import etcd_check
    from framework.config import load

    certs = tls_etcd.certs
    config = load([], {"CALICO_ETCD_ENDPOINTS": tls_etcd.endpoint,
                       "CALICO_ETCD_CA_FILE": str(certs.ca),
                       "CALICO_ETCD_CERT_FILE": str(certs.client_cert),
                       "CALICO_ETCD_KEY_FILE": str(certs.client_key)})
    facts = etcd_check.probe(config, timeout_s=5.0)
    assert facts.serves_v3 and not facts.serves_v2  # this member runs without --enable-v2
