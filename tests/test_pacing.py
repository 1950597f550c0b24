"""FleetPacer: when waiting actors are asked for another rollout (pure logic, a fake clock)."""
from __future__ import annotations

from services.learner.pacing import FleetPacer

FLEET = [str(i) for i in range(8)]


def pacer_after_one_batch(actors=FLEET) -> FleetPacer:
    pacer = FleetPacer(stall_seconds=1.0, now=0.0)
    for actor in actors:
        pacer.arrived(actor, waits=True, now=0.5)
    pacer.new_batch(now=1.0)
    return pacer


def test_no_rollout_for_a_stall_period_means_more():
    # Collecting actors ignore it; actors whose rollouts died with a killed
    # learner wait for exactly this from the restarted one.
    pacer = FleetPacer(stall_seconds=1.0, now=0.0)
    assert not pacer.needs_more(now=0.9)  # a fresh learner waits a stall period too
    assert pacer.needs_more(now=1.0)
    pacer.released(now=1.0)
    assert not pacer.needs_more(now=1.5)


def test_one_round_fills_the_batch_so_early_finishers_are_not_released():
    pacer = pacer_after_one_batch()
    for i, actor in enumerate(FLEET[:7]):
        pacer.arrived(actor, waits=True, now=2.0 + 0.1 * i)
        assert not pacer.needs_more(now=2.0 + 0.1 * i + 0.05)


def test_more_as_soon_as_every_expected_actor_waits():
    pacer = pacer_after_one_batch(FLEET[:2])  # 2 actors, a batch of several rounds
    pacer.arrived("0", waits=True, now=1.5)
    assert not pacer.needs_more(now=1.6)
    pacer.arrived("1", waits=True, now=1.7)
    assert pacer.needs_more(now=1.7)  # no stall wait
    pacer.released(now=1.7)
    assert not pacer.needs_more(now=1.8)  # they are acting again
    pacer.arrived("0", waits=True, now=2.3)
    pacer.arrived("1", waits=True, now=2.4)
    assert pacer.needs_more(now=2.4)


def test_an_actor_that_does_not_wait_keeps_the_others_waiting():
    pacer = pacer_after_one_batch(FLEET[:2])
    pacer.arrived("0", waits=True, now=1.5)
    pacer.arrived("1", waits=False, now=1.6)  # it goes on by itself
    assert not pacer.needs_more(now=2.0)


def test_silent_actor_falls_back_to_the_stall_rule():
    pacer = pacer_after_one_batch(FLEET[:3])  # actor "2" was stopped
    pacer.arrived("0", waits=True, now=1.5)
    pacer.arrived("1", waits=True, now=1.6)
    assert not pacer.needs_more(now=2.5)
    assert pacer.needs_more(now=2.6)  # 1 s without a rollout
    pacer.released(now=2.6)
    assert not pacer.needs_more(now=3.5)  # at most one "more" per stall period


def test_first_batch_has_no_fleet_to_expect_so_it_waits_for_a_stall():
    pacer = FleetPacer(stall_seconds=1.0, now=0.0)
    pacer.arrived("0", waits=True, now=2.0)
    assert not pacer.needs_more(now=2.5)  # others may still be collecting
    assert pacer.needs_more(now=3.0)


def test_expected_fleet_is_the_last_batch_s():
    pacer = pacer_after_one_batch(FLEET[:2])
    pacer.arrived("0", waits=True, now=1.5)
    pacer.new_batch(now=2.0)  # "1" sent nothing for that batch: it is no longer expected
    assert pacer.previous == {"0"}
    pacer.arrived("0", waits=True, now=2.5)
    assert pacer.needs_more(now=2.5)


def test_patience_grows_with_the_slowest_delivery_of_the_last_batch():
    # A loaded machine: rollouts take ~3 s from release to arrival, spread out.
    pacer = FleetPacer(stall_seconds=1.0, now=0.0)
    for i, actor in enumerate(FLEET):
        pacer.arrived(actor, waits=True, now=2.0 + 0.15 * i)
    pacer.new_batch(now=10.0)  # a long update; deliveries then took up to 3.05 s
    assert pacer.patience == 2 * 3.05
    pacer.arrived("0", waits=True, now=12.0)
    assert not pacer.needs_more(now=14.0)  # 2 s gaps are normal here, not a stall
    assert not pacer.needs_more(now=18.0)
    assert pacer.needs_more(now=12.0 + 6.1)  # an expected actor is overdue: gone


def test_patience_never_drops_below_the_stall_period():
    pacer = pacer_after_one_batch()  # deliveries of 0.5 s
    assert pacer.patience == 1.0


def test_a_released_actor_s_delivery_counts_from_its_release():
    pacer = pacer_after_one_batch(FLEET[:2])  # batch starts at 1.0
    pacer.arrived("0", waits=True, now=2.0)
    pacer.arrived("1", waits=True, now=2.0)
    pacer.released(now=5.0)  # both act again at 5.0
    pacer.arrived("0", waits=True, now=5.5)
    pacer.arrived("1", waits=True, now=5.7)
    pacer.new_batch(now=6.0)
    assert pacer.patience == max(1.0, 2 * 1.0)  # slowest: 1.0 s (batch start to 2.0)


def test_a_fleet_larger_than_one_batch_fills_its_round():
    pacer = pacer_after_one_batch()  # 8 actors expected
    for actor in FLEET[:4]:  # 4 rollouts may already fill --batch-steps
        pacer.arrived(actor, waits=True, now=1.5)
    assert not pacer.round_complete(now=1.6)  # the other 4 are still coming
    for actor in FLEET[4:]:
        pacer.arrived(actor, waits=True, now=1.8)
    assert pacer.round_complete(now=1.8)


def test_a_silent_actor_does_not_hold_the_round_forever():
    pacer = pacer_after_one_batch()
    for actor in FLEET[:7]:  # actor "7" was stopped
        pacer.arrived(actor, waits=True, now=1.5)
    assert not pacer.round_complete(now=2.0)
    assert pacer.round_complete(now=1.5 + pacer.patience)
