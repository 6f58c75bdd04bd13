"""Consensus order of command keys across runs: pairwise precedence, Copeland, Kemeny polish.

Each run is a sequence of distinct item ids (first occurrences). For every pair of items
that co-occur in a run we count which came first; an item beats another when more runs put
it first. Items are ranked by Copeland score (wins - losses), ties broken by mean relative
position and then by id; adjacent pairs the majority disagrees with are then swapped (each
swap strictly lowers the Kemeny disagreement, so this terminates). Identical sequences are
counted once with a weight, which keeps large corpora cheap.
Sample input: ``consensus_order([("a","b","c"), ("a","c","b"), ("a","b","c")])`` -> a, b, c.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from typing import TypeVar

__all__ = ["consensus_order"]

K = TypeVar("K", bound=Hashable)


def consensus_order(runs: Iterable[Sequence[K]], sort_key: dict[K, str] | None = None) -> list[K]:
    """Order the items seen in ``runs`` by pairwise precedence majority (deterministic)."""
    weights: Counter[tuple[K, ...]] = Counter(tuple(r) for r in runs)
    items: set[K] = set()
    for seq in weights:
        items.update(seq)
    if not items:
        return []
    names = sort_key if sort_key is not None else {k: str(k) for k in items}
    before: Counter[tuple[K, K]] = Counter()
    rel_sum: dict[K, float] = dict.fromkeys(items, 0.0)
    rel_n: dict[K, int] = dict.fromkeys(items, 0)
    for seq, weight in weights.items():
        n = len(seq)
        for i, a in enumerate(seq):
            rel_sum[a] += weight * (i / (n - 1) if n > 1 else 0.5)
            rel_n[a] += weight
            for b in seq[i + 1 :]:
                before[(a, b)] += weight
    score: dict[K, int] = dict.fromkeys(items, 0)
    ordered_items = sorted(items, key=lambda k: names[k])
    for i, a in enumerate(ordered_items):
        for b in ordered_items[i + 1 :]:
            ab, ba = before[(a, b)], before[(b, a)]
            if ab > ba:
                score[a] += 1
                score[b] -= 1
            elif ba > ab:
                score[b] += 1
                score[a] -= 1
    mean_pos = {k: rel_sum[k] / rel_n[k] if rel_n[k] else 0.5 for k in items}
    order = sorted(items, key=lambda k: (-score[k], mean_pos[k], names[k]))
    # Kemeny polish: swap adjacent pairs that a strict majority orders the other way.
    for _ in range(len(order) * len(order) + 1):
        changed = False
        for i in range(len(order) - 1):
            a, b = order[i], order[i + 1]
            if before[(b, a)] > before[(a, b)]:
                order[i], order[i + 1] = b, a
                changed = True
        if not changed:
            break
    return order
