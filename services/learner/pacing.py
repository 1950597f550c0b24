"""When should actors that wait for new weights collect another rollout with the old ones?

By default an actor sends one rollout per policy version and then waits, so on
a small machine the learner has the CPU to itself while it updates. A batch
larger than one round of rollouts needs those waiting actors to go on with the
current weights; telling them too early lets fast actors run a rollout ahead,
into the next update, where they compete with the learner for the CPU (~10%
slower on 2 cores, and one version more policy lag).

So the learner says "more" only when it needs data that nobody is producing:
every actor it expects has sent its rollout and is waiting. It expects the
actors of the previous batch and those heard from in this one. Without that
knowledge (the first batch), when an expected actor has gone silent (it was
stopped), or when the rollouts the actors wait on were lost (sent to a learner
that was then killed), ``stall_seconds`` without any rollout also means
"more". Actors still collecting ignore a "more": only one that arrives while
an actor waits releases it.
"""
from __future__ import annotations


class FleetPacer:
    def __init__(self, stall_seconds: float, now: float):
        self.stall_seconds = stall_seconds
        self.previous: set[str] = set()
        self.waiting: dict[str, bool] = {}  # actors heard from in this batch
        self.last_arrival = now  # the stall clock starts with the learner

    def new_batch(self, now: float) -> None:
        """A batch was taken for an update: every actor is acting with new weights."""
        if self.waiting:
            self.previous = set(self.waiting)
        self.waiting = {}
        self.last_arrival = now

    def arrived(self, actor_id: str, waits: bool, now: float) -> None:
        """A rollout came in (used or stale); ``waits``: its actor now waits."""
        self.waiting[actor_id] = waits
        self.last_arrival = now

    def needs_more(self, now: float) -> bool:
        """True if waiting actors should act on; call while the batch is not full."""
        expected = self.previous | set(self.waiting)
        if self.previous and all(self.waiting.get(actor, False) for actor in expected):
            return True
        return now - self.last_arrival >= self.stall_seconds

    def released(self, now: float) -> None:
        """"More" went out: the waiting actors are acting again."""
        self.waiting = dict.fromkeys(self.waiting, False)
        self.last_arrival = now
