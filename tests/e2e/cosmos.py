"""Cosmos's part in `dcos package uninstall`, played against a dev stack as its source does.

For an app labelled `DCOS_COMMONS_UNINSTALL`, Cosmos (dcos/cosmos v0.4.1 and 9afd051e46,
handler/UninstallHandler.scala `runSdkUninstall`, service/ServiceUninstaller.scala):
  1. reads `/v1/state/frameworkId` (1.10.1+; any error counts as an empty set),
  2. PUTs the app with `env.SDK_UNINSTALL = "true"`: a Marathon deployment that replaces the
     scheduler's task (upgradeStrategy 0/0: the old one is killed first) and finishes when
     the new task passes its health check,
  3. then polls, every 10 s, `GET /service/<app>/v1/plans/deploy` until it answers 200 while
     `/v1/state/frameworkId` fails or answers the same set as before,
  4. and deletes the app (Marathon kills the scheduler's task).
Cosmos never talks to the Mesos master on this path.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from devcluster.stack import DevStack
from tests.wait import wait_until

POLL_S = 0.5  # Cosmos waits 10 s between polls; only the order of things matters here
SDK_UNINSTALL = {"SDK_UNINSTALL": "true"}


def http_get(url: str) -> tuple[int, object]:
    """(status, JSON body or None); status 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        try:
            return err.code, json.loads(err.read() or b"null")
        except ValueError:
            return err.code, None
    except (OSError, ValueError):
        return 0, None


class CosmosUninstall:
    def __init__(self, stack: DevStack) -> None:
        self.stack = stack
        self.framework_ids: object = None

    def _get(self, path: str) -> tuple[int, object]:
        return http_get(self.stack.status_url + path)

    def start(self) -> None:
        """Steps 1 and 2, up to the end of Marathon's deployment."""
        status, body = self._get("v1/state/frameworkId")
        self.framework_ids = body if status == 200 else []
        self.stack.stop_scheduler()
        self.stack.start_scheduler(SDK_UNINSTALL)
        self.wait_deployed()

    def wait_deployed(self, deadline_s: float = 60.0) -> None:
        """Marathon counts the new task once its health check (`/health/live`) passes."""
        wait_until(lambda: self._get("health/live")[0] == 200, deadline_s,
                   "the restarted scheduler to pass its health check", POLL_S)

    def relaunched(self) -> None:
        """Marathon starts a task that died again, with the same app definition."""
        self.stack.start_scheduler(SDK_UNINSTALL)
        self.wait_deployed()

    def done(self) -> bool:
        """Step 3's condition."""
        status, body = self._get("v1/state/frameworkId")
        same_ids = status != 200 or body == self.framework_ids
        return self._get("v1/plans/deploy")[0] == 200 and same_ids

    def finish(self, deadline_s: float) -> None:
        """Steps 3 and 4."""
        wait_until(self.done, deadline_s, "the deploy plan to answer 200", POLL_S)
        self.stack.stop_scheduler()
