import etcd3


def test_real_etcd_round_trip(etcd_server, etcd_prefix):
    host, port = etcd_server.endpoint.removeprefix("http://").split(":")
    client = etcd3.client(host=host, port=int(port))
    client.put(f"{etcd_prefix}/k", "v")
    value, meta = client.get(f"{etcd_prefix}/k")
    assert value == b"v"
    assert meta.mod_revision > 0
