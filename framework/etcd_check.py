"""What the scheduler learns about the etcd cluster before it touches anything.

Two APIs must be there: v3 for the scheduler's own state (etcd3 client), and v2 for Calico
v2.6, whose every client on the agents (calico/node, the CNI plugin v1.11, Docker's `etcd://`
cluster store) uses the v2 keys API. Facts this relies on (etcd-io/etcd):
- `GET /version` answers `{"etcdserver": "3.5.1", "etcdcluster": "3.5.0"}`; etcd 2.x has no
  v3 API at all (the Universe `etcd` 0.0.x package ran etcd-mesos with etcd 2.2.1).
- The v2 API is on by default up to 3.3 and off from 3.4 (`--enable-v2`, v3.4.0
  `etcdmain/config.go`); without it `/v2/keys` and `/v2/members` answer 404.
- `/v2/members` lists every member's peer and client URLs; the agents' proxies (etcd's v2
  proxy) start from the peer URLs (v3.5.33 `server/etcdmain/etcd.go` `startProxy` reads
  `/members` from them).
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass

from framework.config import STEP_CALICO_NODE, STEP_CNI, STEP_DOCKER, STEP_ETCD_PROXY, Config

TIMEOUT_S = 5.0
WHAT_TO_RUN = ("run an etcd 3.x cluster that serves the v2 API too (on by default up to "
               "etcd 3.3; etcd 3.4 and 3.5: start it with --enable-v2), such as the later "
               "revision of the Universe etcd package (dcos-etcd), and point etcd.endpoints "
               "at it")


class EtcdUnreachable(Exception):
    """No endpoint answered; the reason of the last one."""


class ClusterUnusable(Exception):
    """etcd answers but cannot serve the install (see `problem`); only an operator mends it."""


@dataclass(frozen=True)
class EtcdFacts:
    endpoint: str  # the endpoint that answered
    server_version: str
    serves_v2: bool
    peer_urls: tuple[str, ...]

    def summary(self) -> str:
        return (f"etcd {self.server_version} at {self.endpoint}: v3 API "
                f"{'yes' if self.serves_v3 else 'no'}, v2 API "
                f"{'yes' if self.serves_v2 else 'no'}, members' peer URLs "
                f"{', '.join(self.peer_urls) or 'unknown'}")

    @property
    def serves_v3(self) -> bool:
        return _major(self.server_version) >= 3


def calico_needs_v2(config: Config) -> bool:
    """Whether any enabled step puts a Calico client (or Docker's etcd store) on etcd."""
    steps = set(config.enabled_steps())
    docker_on_etcd = STEP_DOCKER in steps and config.docker.cluster_store.startswith("etcd://")
    return docker_on_etcd or bool(steps & {STEP_ETCD_PROXY, STEP_CNI, STEP_CALICO_NODE})


def problem(facts: EtcdFacts, config: Config) -> str | None:
    """One sentence saying why this cluster cannot serve the install, or None."""
    if not facts.serves_v3:
        return (f"etcd at {facts.endpoint} is etcd {facts.server_version}, which serves only "
                "the v2 API, but the scheduler keeps its state through the v3 API: "
                f"{WHAT_TO_RUN}")
    if calico_needs_v2(config) and not facts.serves_v2:
        return (f"etcd at {facts.endpoint} does not serve the v2 API that Calico v2.6 needs; "
                "start it with --enable-v2")
    if config.etcd_proxy.enabled and not config.etcd.discovery_srv and not facts.peer_urls:
        return (f"etcd at {facts.endpoint} lists no member peer URLs for the agents' etcd "
                "proxies; set etcd.discovery_srv to a domain with their SRV records")
    return None


def probe(config: Config, timeout_s: float = TIMEOUT_S) -> EtcdFacts:
    """Ask the first endpoint that answers; EtcdUnreachable when none does."""
    opener = _opener(config)
    last = "no endpoint"
    for endpoint in config.etcd.endpoints:
        base = endpoint.rstrip("/")
        try:
            status, version = _get(opener, f"{base}/version", timeout_s)
            if status != 200 or not isinstance(version, dict):
                raise EtcdUnreachable(f"GET {base}/version answered {status}")
            keys, _ = _get(opener, f"{base}/v2/keys/", timeout_s)
            peers: tuple[str, ...] = ()
            if keys == 200:
                _, members = _get(opener, f"{base}/v2/members", timeout_s)
                peers = _peer_urls(members)
            return EtcdFacts(base, str(version.get("etcdserver", "unknown")), keys == 200,
                             peers)
        except (OSError, EtcdUnreachable) as err:
            last = f"{base}: {getattr(err, 'reason', err)}"
    raise EtcdUnreachable(last)


def _opener(config: Config) -> urllib.request.OpenerDirector:
    """Direct connections (no proxy from the environment), with the etcd TLS files."""
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
    if config.etcd.ca_file:
        context = ssl.create_default_context(cafile=config.etcd.ca_file)
        if config.etcd.cert_file:
            context.load_cert_chain(config.etcd.cert_file, config.etcd.key_file)
        handlers.append(urllib.request.HTTPSHandler(context=context))
    return urllib.request.build_opener(*handlers)


def _get(opener: urllib.request.OpenerDirector, url: str, timeout_s: float
         ) -> tuple[int, object]:
    try:
        with opener.open(url, timeout=timeout_s) as resp:
            status, body = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, None
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


def _peer_urls(members: object) -> tuple[str, ...]:
    found: list[str] = []
    if isinstance(members, dict):
        for member in members.get("members") or []:
            for url in (member.get("peerURLs") or []) if isinstance(member, dict) else []:
                if isinstance(url, str) and url not in found:
                    found.append(url)
    return tuple(found)


def _major(version: str) -> int:
    try:
        return int(version.split(".", 1)[0])
    except ValueError:
        return 0
