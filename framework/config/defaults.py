"""Release-specific defaults: the one place a new Calico, etcd or scheduler release changes.

Calico v3.0 dropped Mesos and DC/OS ("Integrates only with Kubernetes, OpenShift, and host
endpoints"), so v2.6 is the last Calico release line that supports them; v2.6.12 is its
final patch release. The Universe package's resource.json is rendered from these values.
"""

from __future__ import annotations

SCHEDULER_VERSION = "0.5.0"
SCHEDULER_IMAGE = f"calico/calico-dcos:v{SCHEDULER_VERSION}"
# The `dcos calico` subcommand (python -m operator_cli.build), published with the release.
CLI_URL = (f"https://github.com/projectcalico/calico-dcos/releases/download/"
           f"v{SCHEDULER_VERSION}/dcos-calico")

CALICO_VERSION = "v2.6.12"
CALICO_NODE_IMAGE = f"calico/node:{CALICO_VERSION}"
CALICO_CNI_VERSION = "v1.11.8"
CALICO_CNI_URL = (
    f"https://github.com/projectcalico/cni-plugin/releases/download/{CALICO_CNI_VERSION}/calico")
CALICO_IPAM_URL = (
    f"https://github.com/projectcalico/cni-plugin/releases/download/{CALICO_CNI_VERSION}"
    "/calico-ipam")

# The agents' etcd proxy: etcd's v2 API proxy (`etcd --proxy on`), still in the 3.5 line
# (etcd-io/etcd v3.5.33 `server/etcdmain/etcd.go` `startProxy`; removed in 3.6).
ETCD_VERSION = "v3.5.33"
ETCD_ARCHIVE_NAME = f"etcd-{ETCD_VERSION}-linux-amd64.tar.gz"
ETCD_BINARY_URL = (
    f"https://github.com/etcd-io/etcd/releases/download/{ETCD_VERSION}/{ETCD_ARCHIVE_NAME}")
# From the release's SHA256SUMS, as kubernetes-sigs/kubespray records it
# (`roles/kubespray_defaults/vars/main/checksums.yml`, generated from that file by
# `scripts/component_hash_update`). The CNI plugin v1.11 releases publish no digests
# (projectcalico/cni-plugin v1.11.8 `RELEASING.md`: only the two binaries are attached).
ETCD_ARCHIVE_SHA256 = "5025b5b24d81a9616b6e284ccd439b9a3df055ef8fdcdc142af3ec8f6a3b3c95"

MESOS_MASTER = "zk://zk-1.zk:2181,zk-2.zk:2181,zk-3.zk:2181,zk-4.zk:2181,zk-5.zk:2181/mesos"
ETCD_ENDPOINTS = "http://etcd.mesos:2379"
DCOS_LOGIN_URL = "https://leader.mesos/acs/api/v1/auth/login"
# The IAM's public keys for RS256 token verification; Admin Router serves /acs/api/v1/auth/
# without authentication (dcos/dcos 1.13.9, packages/adminrouter/extra/src/includes/server/
# open/master.conf). Plain http as the rest of open DC/OS; strict mode sets https and the CA.
DCOS_JWKS_URL = "http://leader.mesos/acs/api/v1/auth/jwks"
# Where DC/OS keeps the cluster CA's trust anchors on every node: Admin Router verifies its
# upstreams with it (dcos/dcos 1.10.11 and 1.13.9, packages/adminrouter/docker/
# adminrouter-upstreams-ee.conf: proxy_ssl_trusted_certificate).
DCOS_CA_BUNDLE = "/run/dcos/pki/CA/ca-bundle.crt"
