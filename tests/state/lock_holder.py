"""A scheduler stand-in for leader tests: `python -m tests.state.lock_holder ENDPOINT ROOT TTL`.

Takes the lock of framework `calico`, prints `leader`, then obeys stdin lines:
`write <agent-id>` answers `ok` or `refused <ErrorType>`. Prints `lost` when leadership is
lost. Being a separate process lets tests SIGKILL or SIGSTOP it.
"""

from __future__ import annotations

import sys

from framework.state import EtcdConnection, StateStore, StoreError


def say(line: str) -> None:
    print(line, flush=True)


def main(endpoint: str, root: str, ttl_s: str) -> int:
    store = StateStore(EtcdConnection([endpoint], timeout_s=2.0), "calico", root=root,
                       lease_ttl_s=int(ttl_s), on_leadership_lost=lambda why: say("lost"))
    if not store.leader.acquire(timeout_s=30):
        say("gave up")
        return 1
    say("leader")
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        if command == "write":
            try:
                store.put_agent(arg, {"by": store.leader.identity})
                say("ok")
            except StoreError as err:
                say(f"refused {type(err).__name__}")
    store.leader.release()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
