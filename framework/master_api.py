"""Reads from the leading master's HTTP endpoints (agent list) with the scheduler's credentials:
the DC/OS service account's token when one is configured, else the Mesos principal/secret."""

from __future__ import annotations

import json
import logging
from typing import Any

import requests

from framework.config import Config
from framework.dcos_auth import DcosAuthError, ServiceAccountCredentials, TokenAuth
from framework.engine import PUBLIC_MESOS_ROLE, AgentInfo

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 10.0
# The fields `MasterClient.agents` reads from `/master/slaves` (at any depth); the others are
# dropped while the listing is decoded. Why: at 10,000 agents the listing is about 10 MB
# of JSON, 36 MB as Python objects when decoded whole, kept only until the roles are read,
# and it is read again every 30 s (a peak of the scheduler's resident set, with the
# document built meanwhile).
LISTING_FIELDS = frozenset({"slaves", "recovered_slaves", "id", "hostname", "attributes",
                            "public_ip", "reserved_resources", PUBLIC_MESOS_ROLE})
LISTING_CHUNK_BYTES = 1024 * 1024


class MasterClient:
    def __init__(self, address: str, config: Config,
                 credentials: ServiceAccountCredentials | None = None) -> None:
        self.base = address if address.startswith("http") else \
            f"{config.mesos.scheme}://{address}"
        self.verify_tls: str | bool = config.dcos_ca_file or True
        self.auth: TokenAuth | tuple[str, str] | None = None
        if credentials is not None:
            self.auth = TokenAuth(credentials)
        elif config.mesos.principal and config.mesos.secret:
            self.auth = (config.mesos.principal, config.mesos.secret)

    def agent_address(self, agent_id: str) -> str | None:
        """Where the agent answers ("ip:port", from its libprocess `pid`); None if unknown.
        `/master/slaves?slave_id=` lists that one agent (apache/mesos 1.4 master `slaves`)."""
        try:
            resp = requests.get(f"{self.base}/master/slaves", params={"slave_id": agent_id},
                                auth=self.auth, timeout=REQUEST_TIMEOUT_S, verify=self.verify_tls)
            resp.raise_for_status()
            slaves = resp.json().get("slaves", [])
        except (requests.RequestException, ValueError, AttributeError, DcosAuthError) as err:
            log.warning("could not look up agent %s at %s: %s", agent_id, self.base, err)
            return None
        pids = [s.get("pid", "") for s in slaves if s.get("id") == agent_id]
        return (pids[0].partition("@")[2] or None) if pids else None

    def agents(self) -> list[AgentInfo] | None:
        """Every agent the master lists (`/master/slaves`): registered ones, and after a
        master failover those known from its registry that have not re-registered yet
        (`recovered_slaves`, apache/mesos master/readonly_handler.cpp; 1.4: http.cpp).
        Unreachable and gone agents are in neither list. None on error."""
        try:
            # Read as a stream so the body's bytes are gone before the long decoding.
            with requests.get(f"{self.base}/master/slaves", auth=self.auth, stream=True,
                              timeout=REQUEST_TIMEOUT_S, verify=self.verify_tls) as resp:
                resp.raise_for_status()
                text = b"".join(resp.iter_content(LISTING_CHUNK_BYTES)).decode()
            listing = json.loads(text, object_pairs_hook=_listed_fields)
        except (requests.RequestException, ValueError, DcosAuthError) as err:
            log.warning("could not list agents from %s: %s", self.base, err)
            return None
        registered = [AgentInfo(s["id"], s.get("hostname", ""), _role(s))
                      for s in listing.get("slaves", []) if "id" in s]
        recovering = [AgentInfo(s["id"], s.get("hostname", ""), _role(s), recovering=True)
                      for s in listing.get("recovered_slaves") or [] if "id" in s]
        return registered + recovering

    def framework_registered(self, framework_id: str) -> bool | None:
        """True while the master lists the framework as registered, False once it lists it
        among the completed (torn down) ones, None when it cannot tell (an error, or a
        framework it does not show us).

        `/master/state` lists registered frameworks under `frameworks` and removed ones
        under `completed_frameworks`, each only when the caller may see it (apache/mesos
        1.4.0, src/master/http.cpp, the state endpoint's writer)."""
        try:
            resp = requests.get(f"{self.base}/master/state", auth=self.auth,
                                timeout=REQUEST_TIMEOUT_S)
            resp.raise_for_status()
            state = resp.json()
        except (requests.RequestException, ValueError, DcosAuthError) as err:
            log.warning("could not read the master's state from %s: %s", self.base, err)
            return None
        for key, registered in (("frameworks", True), ("completed_frameworks", False)):
            if any(fw.get("id") == framework_id for fw in state.get(key) or ()):
                return registered
        return None


def _listed_fields(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return {name: value for name, value in pairs if name in LISTING_FIELDS}


def _role(slave: dict) -> str:
    """Public when the agent's resources are reserved to slave_public (DC/OS runs public
    agents with --default_role=slave_public) or it carries DC/OS's public_ip attribute
    (recovered agents are listed without resources)."""
    public = (slave.get("attributes") or {}).get("public_ip") == "true" or \
        PUBLIC_MESOS_ROLE in (slave.get("reserved_resources") or {})
    return "public" if public else "private"
