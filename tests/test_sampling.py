"""The actor's action sampling: softmax frequencies, exact log-probs, seeded."""
from __future__ import annotations

import numpy as np
import pytest

from common.policy import sample_action


def softmax(logits):
    p = np.exp(logits - logits.max())
    return p / p.sum()


@pytest.mark.parametrize("seed", [0, 1])
def test_frequencies_follow_softmax_and_logprob_is_exact(seed):
    logits = np.random.default_rng(seed).normal(0, 2, 10).astype(np.float32)
    rng = np.random.default_rng(seed + 100)
    counts = np.zeros(10)
    for _ in range(50_000):
        action, logprob = sample_action(logits, rng)
        counts[action] += 1
        expected = np.log(softmax(logits.astype(np.float64))[action])
        assert logprob == pytest.approx(expected, abs=1e-9)
    assert np.abs(counts / 50_000 - softmax(logits)).max() < 0.01


def test_same_seed_same_actions_and_extreme_logits():
    logits = np.array([0.0, 50.0, -50.0], np.float32)
    draws = lambda: [sample_action(logits, np.random.default_rng(7))[0] for _ in range(3)]
    assert draws() == draws() == [1, 1, 1]
    a = [sample_action(np.zeros(4, np.float32), np.random.default_rng(3)) for _ in range(2)]
    assert a[0] == a[1] and a[0][1] == pytest.approx(np.log(0.25))


def test_choose_action_greedy_or_sampled():
    from common.policy import choose_action
    logits = np.array([0.1, 2.0, -1.0, 1.9], np.float32)
    assert choose_action(logits, np.random.default_rng(0), greedy=True) == (1, 0.0)
    assert choose_action(logits, np.random.default_rng(5), greedy=False) == \
        sample_action(logits, np.random.default_rng(5))
