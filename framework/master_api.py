"""Reads from the leading master's HTTP endpoints (agent list) with the scheduler's credentials:
the DC/OS service account's token when one is configured, else the Mesos principal/secret."""

from __future__ import annotations

import logging

import requests

from framework.config import Config
from framework.dcos_auth import DcosAuthError, ServiceAccountCredentials, TokenAuth
from framework.engine import PUBLIC_MESOS_ROLE

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 10.0


class MasterClient:
    def __init__(self, address: str, config: Config,
                 credentials: ServiceAccountCredentials | None = None) -> None:
        self.base = address if address.startswith("http") else f"http://{address}"
        self.auth: TokenAuth | tuple[str, str] | None = None
        if credentials is not None:
            self.auth = TokenAuth(credentials)
        elif config.mesos.principal and config.mesos.secret:
            self.auth = (config.mesos.principal, config.mesos.secret)

    def agents(self) -> list[tuple[str, str, str]] | None:
        """(agent id, hostname, private|public) of every registered agent; None on error."""
        try:
            resp = requests.get(f"{self.base}/master/slaves", auth=self.auth,
                                timeout=REQUEST_TIMEOUT_S)
            resp.raise_for_status()
            slaves = resp.json().get("slaves", [])
        except (requests.RequestException, ValueError, DcosAuthError) as err:
            log.warning("could not list agents from %s: %s", self.base, err)
            return None
        return [(s["id"], s.get("hostname", ""), _role(s)) for s in slaves if "id" in s]

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


def _role(slave: dict) -> str:
    public = (slave.get("attributes") or {}).get("public_ip") == "true" or \
        PUBLIC_MESOS_ROLE in (slave.get("reserved_resources") or {})
    return "public" if public else "private"
