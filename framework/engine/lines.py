"""Waiting lines for the two capacities (restart slots, the parallel cap): who waits in which
order, how fast agents leave the line, and when each waiting agent is next offered.

Why: every REVIVE clears all of the framework's decline filters on a real master, so a
framework that revives whenever a slot frees is re-offered every agent, N offers per
handover. Instead each waiting agent is declined until about when its turn can come, from
its place in line and the pace of the last departures (the next agents for half that
time, so a turn that comes early costs little). Offers then scale with the capacities,
not with the number of agents; a REVIVE is needed only when capacity is free and no
waiting agent will be offered soon (the estimate was too long).

The lines are in-memory hints for refusal lengths, never stored: a scheduler restart
starts them afresh (a subscription revives every agent anyway), and a decision rolled
back leaves them as they are.
"""

from __future__ import annotations

import bisect
import collections
import heapq
import itertools

# Departures the rate is measured over, in capacities: departures come in bursts (slots
# taken in the same allocation cycle), so the rate is measured over more than one.
RATE_WINDOW_CAPACITIES = 2


class Line:
    """Agents waiting for one capacity, in the order they started waiting, and how fast
    they leave the line for it."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        # When agents new to the line took the capacity, the latest last.
        self._departures: collections.deque[float] = collections.deque(
            maxlen=RATE_WINDOW_CAPACITIES * capacity + 1)
        self._formed: float | None = None  # when agents began to wait, the line being empty
        self._tickets: dict[str, int] = {}
        self._order: list[int] = []  # the tickets of waiting agents, ascending
        self._counter = itertools.count()
        self._front = itertools.count(-1, -1)
        self._served: set[str] = set()  # took the capacity before, with work left
        self._until: dict[str, float] = {}
        self._expiries: list[tuple[float, str]] = []

    def __len__(self) -> int:
        return len(self._tickets)

    def waiting(self) -> frozenset[str]:
        return frozenset(self._tickets)

    def rank(self, agent_id: str) -> int:
        """How many agents wait ahead of this one. A new one joins at the end, or at the
        front when it held the capacity before (an agent between two disruptive steps
        finishes before others start)."""
        ticket = self._tickets.get(agent_id)
        if ticket is None:
            front = agent_id in self._served
            ticket = self._tickets[agent_id] = next(self._front if front else self._counter)
            bisect.insort(self._order, ticket)
        return bisect.bisect_left(self._order, ticket)

    def took(self, agent_id: str, now: float | None) -> None:
        """The agent took the capacity: a departure from the line if it waited in it."""
        self._served.add(agent_id)
        ticket = self._tickets.get(agent_id)
        if ticket is None:
            return
        self.leave(agent_id)
        if now is not None and ticket >= 0:  # an agent back for more is no new departure
            self._departures.append(now)

    def forget(self, agent_id: str) -> None:
        """The agent has no work left to wait for."""
        self._served.discard(agent_id)
        self.leave(agent_id)

    def leave(self, agent_id: str) -> None:
        ticket = self._tickets.pop(agent_id, None)
        self._until.pop(agent_id, None)
        if ticket is not None:
            del self._order[bisect.bisect_left(self._order, ticket)]
        if not self._tickets:
            self._departures.clear()  # an empty line's idle time is no interval
            self._formed = None

    def interval(self, shortest: float) -> float:
        """The measured time between two departures. Departures come in bursts (capacity
        freed during one allocation cycle is taken at the next), so until the window is
        full the time is measured from when the line formed, not from the first
        departure: a single burst's departures share one instant, and measured among
        themselves they would give 0 s, declining every waiting agent for the shortest
        time at each cycle. Since the line formed, the agents that held the capacity then
        turned over too (as many as the capacity, less the one whose departure is
        counted), so they count as departures: the first turn measured alone would make
        the next ones `capacity` times too late, idling what frees meanwhile. With nothing measured
        yet, as if every holder turned over within `shortest`. Each errs early: an early
        offer costs one more offer, a late one idles capacity."""
        times = self._departures
        if len(times) == times.maxlen or self._formed is None:
            start, count = (times[0] if times else 0.0), len(times) - 1
        else:
            start, count = self._formed, len(times) + self.capacity - 1
        span = times[-1] - start if times else 0.0
        if count < 1 or span <= 0.0:
            return shortest / self.capacity
        return span / count

    def refusal(self, agent_id: str, now: float, shortest: float, longest: float) -> float:
        """Seconds to decline a waiting agent's offers for: until about its turn. The
        next `capacity` agents are refused for half that, so an early turn costs little."""
        rank = self.rank(agent_id)
        if self._formed is None:
            self._formed = now
        start = self._departures[-1] if self._departures else now
        wait = start + (rank + 1) * self.interval(shortest) - now
        if rank < self.capacity:
            wait /= 2
        refuse = min(longest, max(shortest, wait))
        self._until[agent_id] = now + refuse
        heapq.heappush(self._expiries, (now + refuse, agent_id))
        return refuse

    def next_offer_at(self) -> float | None:
        """When the first waiting agent's decline filter ends (None: one has none, or
        nobody waits)."""
        if len(self._until) < len(self._tickets):
            return None
        while self._expiries:
            until, agent_id = self._expiries[0]
            if self._until.get(agent_id) == until:
                return until
            heapq.heappop(self._expiries)
        return None

    def filters_cleared(self) -> None:
        """A REVIVE cleared every filter: every waiting agent is offered again."""
        self._until.clear()
        self._expiries.clear()
