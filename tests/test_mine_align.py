from __future__ import annotations

import random

from _mine_runs import kendall_tau

from runbook.mine.align import consensus_order

TRUE = ["init", "plan", "apply", "verify", "smoke", "logs"]


def test_identical_runs_give_their_order() -> None:
    assert consensus_order([TRUE] * 5) == TRUE


def test_swapped_independent_steps_follow_the_majority() -> None:
    swapped = ["init", "plan", "apply", "smoke", "verify", "logs"]
    assert consensus_order([TRUE, TRUE, swapped, TRUE, swapped]) == TRUE


def test_missing_and_extra_steps() -> None:
    runs = [
        TRUE,
        ["init", "apply", "verify", "smoke", "logs"],  # plan skipped
        ["init", "plan", "apply", "verify", "logs"],  # smoke skipped
        ["init", "plan", "debug", "apply", "verify", "smoke", "logs"],  # an extra detour
        TRUE,
    ]
    order = consensus_order(runs)
    assert [x for x in order if x != "debug"] == TRUE
    assert order.index("plan") < order.index("debug") < order.index("apply")


def test_noisy_orders_reach_high_kendall_tau() -> None:
    rng = random.Random(7)
    truth = [f"step-{i:02d}" for i in range(12)]
    runs = []
    for _ in range(30):
        seq = list(truth)
        for _ in range(2):  # operators swap a couple of neighbouring steps
            i = rng.randrange(len(seq) - 1)
            seq[i], seq[i + 1] = seq[i + 1], seq[i]
        if rng.random() < 0.3:
            seq.pop(rng.randrange(len(seq)))
        runs.append(seq)
    assert kendall_tau(consensus_order(runs), truth) >= 0.95


def test_deterministic_under_shuffled_runs() -> None:
    runs = [["a", "b", "c"], ["b", "a", "c"], ["c", "a"], ["b", "c"]]
    first = consensus_order(runs)
    for seed in range(5):
        shuffled = list(runs)
        random.Random(seed).shuffle(shuffled)
        assert consensus_order(shuffled) == first


def test_cycles_terminate() -> None:
    runs = [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]]
    assert sorted(consensus_order(runs)) == ["a", "b", "c"]


def test_empty() -> None:
    assert consensus_order([]) == []
