"""Group runs by procedure: runs of one procedure share most of their commands.

A repository holds the runs of many procedures side by side (several services, several kinds
of operation). Each run is reduced to the command templates it ran (``terraform apply``,
``helm rollback``: program and subcommand) and the words that name it (title, file name,
tags). Runs are grouped by a soft Jaccard similarity against each group's profile (the share
of the group's runs that ran each command), so optional steps do not split a procedure.
Commands found in most runs weigh less (inverse document frequency): ``curl`` says little
about which procedure a run is. Words only add when shared: a shell-history session has no
title and is no less a run of its procedure. Groups that are one procedure seen twice (alike
profiles, or one group a fragment of a larger one) are merged; partial runs (failed early,
two commands) join the one group that holds what they ran, or stay alone.

Sample: runs {docker build, docker push, terraform plan, terraform apply} x 3 and {terraform
fmt, terraform init, terraform plan, terraform apply} x 3 -> two groups; a failed run
{docker push} joins the first; a partial run {terraform plan, terraform apply} stays alone.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["JOIN", "NAME_WEIGHT", "PARTIAL_JOIN", "Member", "containment", "group", "similarity"]

JOIN = 0.45  # a complete run joins a group at this similarity; groups this alike merge
PARTIAL_JOIN = 0.5  # a partial run joins the group holding this share of its commands' weight
PARTIAL_MARGIN = 0.1  # ...and holding this much more than any other group
# Shared naming words add up to this much to a run's similarity (never subtract).
NAME_WEIGHT = 0.25
# A group whose usual commands are this much inside a larger one, and this much more than in
# any other group at least as large, is a fragment of it (sessions cut short, shell history).
FRAGMENT_HELD = 0.7
FRAGMENT_MARGIN = 0.2
CORE_SHARE = 0.5  # a group's usual commands: run by at least this share of its runs
SEED_LOOKS = 400  # distinct complete looks that may found a group (bounded work)

_Look = tuple[frozenset[str], frozenset[str]]  # (commands, names)


@dataclass(frozen=True, slots=True)
class Member:
    """One run to group: what it ran (command templates) and the words that name it."""

    id: str
    commands: frozenset[str]
    names: frozenset[str] = frozenset()
    # A complete run may found a group; a partial one (failed early, few commands) only joins.
    full: bool = True


@dataclass(slots=True)
class _Group:
    commands: Counter[str] = field(default_factory=Counter)
    names: Counter[str] = field(default_factory=Counter)
    size: int = 0
    members: list[str] = field(default_factory=list)
    _cached: tuple[dict[str, float], dict[str, float]] | None = None

    def add(self, look: _Look, ids: Sequence[str]) -> None:
        n = len(ids)
        self.commands.update(dict.fromkeys(look[0], n))
        self.names.update(dict.fromkeys(look[1], n))
        self.size += n
        self.members.extend(ids)
        self._cached = None

    def absorb(self, other: _Group) -> None:
        self.commands.update(other.commands)
        self.names.update(other.names)
        self.size += other.size
        self.members.extend(other.members)
        self._cached = None

    def profiles(self) -> tuple[dict[str, float], dict[str, float]]:
        """Share of the group's runs that ran each command / carry each naming word."""
        if self._cached is None:
            n = self.size or 1
            self._cached = (
                {f: c / n for f, c in self.commands.items()},
                {f: c / n for f, c in self.names.items()},
            )
        return self._cached


def cluster_weights(sets: Sequence[frozenset[str]]) -> dict[str, float]:
    """Inverse document frequency of every feature: common ones say little about a procedure."""
    df: Counter[str] = Counter(f for s in sets for f in s)
    n = len(sets)
    # Square-rooted: in a small corpus every optional step is "rare", and a full idf would
    # let three optional commands outweigh the five that every run shares.
    return {f: math.sqrt(math.log(1.0 + n / c)) for f, c in df.items()}


def command_profile(members: Sequence[Member]) -> dict[str, float]:
    """Share of the members that ran each command (a group's command profile)."""
    counts: Counter[str] = Counter(f for m in members for f in m.commands)
    n = len(members) or 1
    return {f: c / n for f, c in counts.items()}


def similarity(
    features: frozenset[str], profile: Mapping[str, float], weight: Mapping[str, float]
) -> float:
    """Soft Jaccard of a feature set and a group profile (feature -> share of its runs)."""
    inter = sum(weight[f] * profile.get(f, 0.0) for f in features)
    union = sum(weight[f] for f in features) + sum(
        weight[f] * p for f, p in profile.items() if f not in features
    )
    return inter / union if union > 0 else 0.0


def containment(
    features: frozenset[str], profile: Mapping[str, float], weight: Mapping[str, float]
) -> float:
    """The share of a feature set's weight that a group profile holds."""
    total = sum(weight[f] for f in features)
    return sum(weight[f] * profile.get(f, 0.0) for f in features) / total if total > 0 else 0.0


def _alike(a: _Group, b: _Group, weight: Mapping[str, float]) -> float:
    """Weighted Jaccard of two groups' command profiles."""
    pa, pb = a.profiles()[0], b.profiles()[0]
    keys = set(pa) | set(pb)
    inter = sum(weight[f] * min(pa.get(f, 0.0), pb.get(f, 0.0)) for f in keys)
    union = sum(weight[f] * max(pa.get(f, 0.0), pb.get(f, 0.0)) for f in keys)
    return inter / union if union > 0 else 0.0


def _held(core: Sequence[str], g: _Group) -> float:
    # A count, not idf-weighted: a fragment's rare detour (``terraform state list``) would
    # otherwise outweigh the plan and apply it shares with its procedure.
    profile = g.profiles()[0]
    return sum(profile.get(f, 0.0) for f in core) / len(core) if core else 0.0


def _merge(groups: list[_Group], weight: Mapping[str, float], join: float) -> list[_Group]:
    """Merge groups that are one procedure: alike profiles first, then fragments."""
    kept: list[_Group] = []
    for g in sorted(groups, key=lambda g: (-g.size, sorted(g.members))):
        alike = [_alike(g, k, weight) for k in kept]
        top = max(range(len(kept)), key=lambda i: (alike[i], -i), default=-1)
        if top >= 0 and alike[top] >= join:
            kept[top].absorb(g)
        else:
            kept.append(g)
    # Smallest first: a fragment joins the one larger group that holds its usual commands.
    out = sorted(kept, key=lambda g: (-g.size, sorted(g.members)))
    for g in reversed(list(out)):
        larger = [k for k in out if k is not g and k.size >= g.size]
        core = [f for f, p in g.profiles()[0].items() if p >= CORE_SHARE]
        held = [_held(core, k) for k in larger]
        top = max(range(len(larger)), key=lambda i: (held[i], -i), default=-1)
        if top < 0:
            continue
        runner = max((h for i, h in enumerate(held) if i != top), default=0.0)
        if held[top] >= FRAGMENT_HELD and held[top] - runner >= FRAGMENT_MARGIN:
            larger[top].absorb(g)
            out = [k for k in out if k is not g]
    return out


def group(members: Sequence[Member], *, join: float = JOIN) -> list[list[str]]:
    """Member ids grouped by procedure, largest group first; unplaced members stand alone."""
    cmd_weight = cluster_weights([m.commands for m in members])
    name_weight = cluster_weights([m.names for m in members])
    # Runs recorded the same way look the same: each distinct look is placed once.
    looks: dict[_Look, list[str]] = {}
    full_looks: set[_Look] = set()
    for m in members:
        look = (m.commands, m.names)
        looks.setdefault(look, []).append(m.id)
        if m.full and m.commands:
            full_looks.add(look)
    order = sorted(looks, key=lambda k: (-len(looks[k]), -len(k[0]), sorted(k[0]), sorted(k[1])))
    full = [k for k in order if k in full_looks]

    def score(look: _Look, g: _Group) -> float:
        commands, names = g.profiles()
        ran = similarity(look[0], commands, cmd_weight)
        return ran + NAME_WEIGHT * containment(look[1], names, name_weight)

    def place(groups: Sequence[_Group]) -> list[_Group]:
        """Each complete look to the group it fits best, against the groups' current profiles."""
        fresh = [_Group() for _ in groups]
        for look in full:
            scores = [score(look, g) for g in groups]
            fresh[scores.index(max(scores))].add(look, looks[look])
        return [g for g in fresh if g.size]

    # Greedy pass, most common look first; then each run to its best group once more. Past
    # SEED_LOOKS distinct looks (a huge varied corpus) the rarer ones only join a group.
    groups: list[_Group] = []
    for look in full[:SEED_LOOKS]:
        scores = [score(look, g) for g in groups]
        top = max(scores, default=0.0)
        if top >= join:
            groups[scores.index(top)].add(look, looks[look])
        else:
            groups.append(_Group())
            groups[-1].add(look, looks[look])
    groups = place(groups)
    merged = _merge(groups, cmd_weight, join)
    if len(merged) != len(groups):
        groups = place(merged)
    # Partial runs join the one group that holds most of what they ran (their names break a
    # near tie), else stand alone. They do not enter the profiles: a failed attempt does not
    # redefine a procedure.
    placed = [list(g.members) for g in groups]
    alone: list[list[str]] = []
    for look in order:
        if look in full_looks:
            continue
        ids = looks[look]
        ran = [containment(look[0], g.profiles()[0], cmd_weight) for g in groups]
        named = [containment(look[1], g.profiles()[1], name_weight) for g in groups]
        scores = [r + NAME_WEIGHT * n for r, n in zip(ran, named, strict=True)]
        ranked = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
        if ranked:
            top = ranked[0]
            runner = scores[ranked[1]] if len(ranked) > 1 else 0.0
            enough = ran[top] if look[0] else named[top]
            if enough >= PARTIAL_JOIN and scores[top] - runner >= PARTIAL_MARGIN:
                placed[top].extend(ids)
                continue
        if look[0] or look[1]:
            alone.append(list(ids))
        else:
            alone.extend([i] for i in ids)  # nothing to compare: each run on its own
    out = [sorted(ms) for ms in placed if ms] + [sorted(ms) for ms in alone]
    return sorted(out, key=lambda ms: (-len(ms), ms))
