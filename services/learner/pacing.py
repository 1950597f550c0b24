"""When should actors that wait for new weights collect another rollout with the old ones?

By default an actor sends one rollout per policy version and then waits, so
the fleet acts with the learner's newest policy (lag 0, like one-process PPO)
and, on a small machine, the learner has the CPU to itself while it updates.
A batch larger than one round of rollouts needs those waiting actors to go on
with the current weights; telling them too early lets them run a rollout
ahead, into the next update: one version of policy lag, which costs learning
per sample (docs/RESULTS.md).

So the learner says "more" only when it needs data that nobody is producing:
every actor it expects (those of the previous batch and those heard from in
this one) has sent its rollout and is waiting. Without that knowledge (the
first batch), when an expected actor has gone silent (it was stopped), or when
the rollouts the actors wait on were lost (sent to a learner that was then
killed), a quiet spell also means "more": no rollout for ``patience`` seconds.
Patience adapts to the fleet: twice the slowest delivery (release to arrival)
of the last batch, at least ``stall_seconds``. A fixed second misread a loaded
machine, where 128 steps take several seconds, as a stalled fleet: it released
the first finishers and the lag went to 1 for good.
Actors still collecting ignore a "more": only one that arrives while an actor
waits releases it. The other way round, a fleet larger than one batch: the
batch waits for the whole round (every expected actor's rollout), so none of
them arrives after the update only to be dropped as stale.
"""
from __future__ import annotations


class FleetPacer:
    def __init__(self, stall_seconds: float, now: float):
        self.stall_seconds = stall_seconds
        self.patience = stall_seconds
        self.previous: set[str] = set()
        self.waiting: dict[str, bool] = {}  # actors heard from in this batch
        self.acting_since: dict[str, float] = {}  # when each actor was last released
        self.batch_started = now
        self.last_event = now  # the quiet-spell clock starts with the learner
        self.slowest = 0.0  # the longest release-to-arrival delivery in this batch

    def new_batch(self, now: float) -> None:
        """A batch was taken for an update: every actor is acting with new weights."""
        if self.waiting:
            self.previous = set(self.waiting)
        if self.slowest:
            self.patience = max(self.stall_seconds, 2.0 * self.slowest)
        self.waiting, self.acting_since = {}, {}
        self.slowest = 0.0
        self.batch_started = self.last_event = now

    def arrived(self, actor_id: str, waits: bool, now: float) -> None:
        """A rollout came in for this batch; ``waits``: its actor now waits."""
        self.waiting[actor_id] = waits
        self.slowest = max(self.slowest, now - self.acting_since.get(actor_id, self.batch_started))
        self.acting_since[actor_id] = now  # an actor that does not wait goes straight on
        self.last_event = now

    def round_complete(self, now: float) -> bool:
        """Every actor of the previous batch has delivered for this one, or the quiet
        spell says the missing ones are gone: with more actors than one batch needs,
        the batch takes the whole round (lockstep), so no rollout is left to go stale."""
        missing = self.previous - set(self.waiting)
        return not missing or now - self.last_event >= self.patience

    def needs_more(self, now: float) -> bool:
        """True if waiting actors should act on; call while the batch is not full."""
        expected = self.previous | set(self.waiting)
        if self.previous and all(self.waiting.get(actor, False) for actor in expected):
            return True
        return now - self.last_event >= self.patience

    def released(self, now: float) -> None:
        """"More" went out: the waiting actors are acting again."""
        for actor, waits in self.waiting.items():
            if waits:
                self.acting_since[actor] = now
        self.waiting = dict.fromkeys(self.waiting, False)
        self.last_event = now
