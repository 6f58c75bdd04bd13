"""The consensus procedure of many runs: support, merging, parameters, order, durations.

Steps (see ``mine``): clean each run; count per item (key + occurrence number) the runs
containing it; merge minority variants that differ in one literal argument, a wrapper prefix or
added flags (``--env staging``, noted with their own support); keep majority items as steps and
recurring minority items as optional; order by pairwise precedence, optional items next to the
required step they are recorded beside; decide parameters; summarize durations; then group into
phases and steps (``group``).
Sample: 12 deploy runs of ``docker build -t api:{sha} .`` ... -> Procedure(steps=[...]).
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from runbook.mine import align, durations, group, kinds, output, params
from runbook.mine.clean import clean_run, usual_repeats
from runbook.model import (
    Command,
    CommandTemplate,
    EvidenceKind,
    Execution,
    MinedCommand,
    OperationType,
    Outcome,
    Param,
    Procedure,
    SourceRef,
    Stat,
    Token,
)
from runbook.normalize import flag_takes_value, join_words, shell_word, unquoted_globs

__all__ = ["is_guide", "mine", "render_commands", "shape_of"]

Normalizer = Callable[[str], CommandTemplate]
Masker = Callable[[str], str]

MAX_EVIDENCE = 8
MAX_OUTPUT_RUNS = 40
MIN_GAP_CAP_S = 60.0
MIN_MEASURED = 3  # measured durations needed before gap-derived ones are ignored
OPTIONAL_MIN_SHARE = 0.1  # an optional step is in at least this share of the runs (and 2)

Item = tuple[str, int]  # (normalize key, occurrence number within the run)


@dataclass(slots=True)
class _Slot:
    """One placeholder position of a kept command: per-run values."""

    pos: int  # token index
    index: int  # placeholder index within the token (-1: the whole literal token)
    hint: str
    values: dict[int, str] = field(default_factory=dict)  # run index -> value

    def varies(self) -> bool:
        return len(set(self.values.values())) > 1


@dataclass(slots=True)
class _Unit:
    """A kept command across runs (possibly several merged key variants)."""

    item: Item
    keys: tuple[str, ...]
    template: CommandTemplate  # representative (from the most recent run)
    runs: dict[int, tuple[Command, float | None, bool, tuple[str, ...]]]
    merged: tuple[int, ...] = ()  # token positions that differ between merged variants
    slots: list[_Slot] = field(default_factory=list)
    # Minority spellings folded in that add or omit flags: (verb, flag text, runs).
    flag_variants: list[tuple[str, str, int]] = field(default_factory=list)


def is_guide(execution: Execution) -> bool:
    """A document (guide, runbook) rather than a recorded run: no exit codes, times or output."""
    if execution.kind is EvidenceKind.CI_WORKFLOW:
        return True  # a workflow file declares the pipeline; its runs are the CI logs
    if execution.kind is not EvidenceKind.NOTES:
        return False
    if execution.started_at is not None or execution.duration_s is not None:
        return False
    return not any(
        c.exit_code is not None or c.started_at is not None or c.duration_s is not None or c.output
        for c in execution.commands
    )


def _default_normalizer() -> Normalizer:
    from runbook import normalize

    return normalize.normalize


def _default_masker() -> Masker:
    from runbook import normalize

    return normalize.error_signature


def _recency(e: Execution) -> tuple[datetime, str]:
    when = e.started_at or next((c.started_at for c in e.commands if c.started_at), None)
    return (when or datetime.min, e.id)


def mine(
    executions: Sequence[Execution],
    op_type: OperationType,
    *,
    majority: float = 0.5,
    normalizer: Normalizer | None = None,
    masker: Masker | None = None,
) -> Procedure:
    """Consensus procedure of the successful (or unknown-outcome, non-guide) runs."""
    # Constant commands repeat verbatim across runs: normalize each text once (bounded).
    normalize = lru_cache(maxsize=16384)(normalizer or _default_normalizer())
    mask = masker or _default_masker()
    selected = [
        e for e in executions if e.outcome is not Outcome.FAILURE and e.commands and not is_guide(e)
    ]
    # Most recent first: representatives and examples come from the newest evidence.
    runs = sorted(selected, key=_recency, reverse=True)
    n = len(runs)
    if n == 0:
        return Procedure(steps=(), runs=())
    need = int(n * majority) + 1  # strictly more than ``majority`` of the runs

    noise = 0
    units: dict[Item, _Unit] = {}
    sequences: list[list[Item]] = []
    totals: list[float] = []
    repeats = usual_repeats(runs, normalize)
    for r, execution in enumerate(runs):
        cleaned = clean_run(execution, normalize, repeats)
        noise += cleaned.noise + cleaned.detour
        seq: list[Item] = []
        for occ in cleaned.occurrences:
            item = (occ.template.key, occ.occ)
            unit = units.get(item)
            if unit is None:
                unit = units[item] = _Unit(item, (item[0],), occ.template, {})
            values = tuple(v for tok in occ.template.tokens for v in params.slot_values(tok))
            unit.runs[r] = (occ.command, occ.duration, occ.from_gap, values)
            seq.append(item)
        sequences.append(seq)
        if cleaned.total is not None:
            totals.append(cleaned.total)

    alias = _absorb_instances(units, need)
    alias.update(_merge_variants({k: v for k, v in units.items() if k not in alias}, need))
    alias.update(_merge_wrappers({k: v for k, v in units.items() if k not in alias}, need))
    alias.update(_merge_flag_variants({k: v for k, v in units.items() if k not in alias}, need))
    kept: dict[Item, _Unit] = {}
    one_offs = 0
    rare = 0
    # An optional step recurs: in two runs at least, and in a tenth of them in a large
    # corpus (a habit or a fix seen in 2 of 44 histories is not part of the procedure).
    floor = max(2, math.ceil(OPTIONAL_MIN_SHARE * n))
    for item, unit in units.items():
        if item in alias:
            continue
        support = len(unit.runs)
        if support >= need or support >= floor:
            kept[item] = unit
        elif support >= 2:
            rare += 1
        else:
            one_offs += 1

    ordered_seqs = []
    for seq in sequences:
        mapped: list[Item] = []
        for item in seq:
            target = alias.get(item, item)
            if target in kept and target not in mapped:
                mapped.append(target)
        ordered_seqs.append(mapped)
    # Recurring commands at random places (habits, inspection) are noise, not optional steps.
    for item in _misplaced({i for i, u in kept.items() if len(u.runs) < need}, ordered_seqs):
        noise += len(kept.pop(item).runs)
    if any(item not in kept for seq in ordered_seqs for item in seq):
        ordered_seqs = [[i for i in seq if i in kept] for seq in ordered_seqs]
    names = {item: f"{item[0]}\x00{item[1]:04d}" for item in kept}
    order = align.consensus_order(ordered_seqs, names)
    order = _place_optional(order, ordered_seqs, {i for i, u in kept.items() if len(u.runs) < need})

    texts, unit_params = _parameterize([kept[i] for i in order], normalize)
    mined: list[MinedCommand] = []
    # Per command: whether measured durations suffice (start-to-start gaps include idle time).
    measured: dict[Item, bool] = {}
    for item in order:
        unit = kept[item]
        support = len(unit.runs)
        recorded, gaps = _timings(unit)
        measured[item] = _prefer_measured(recorded, gaps)
        mined.append(
            MinedCommand(
                key=_merged_key(unit) if unit.merged else unit.template.key,
                text=texts[item] + _variant_notes(unit, n),
                params=unit_params[item],
                support=support,
                of=n,
                optional=support < need,
                is_check=kinds.is_check(unit.template),
                duration=_duration(recorded, gaps, measured[item]),
                expected_output=_output(unit, mask),
                evidence=_evidence(unit),
                program=unit.template.program,
                subcommand=unit.template.subcommand,
                keys=unit.keys,
                role=kinds.role(unit.template),
            )
        )
    templates = [kept[item].template for item in order]
    # Per run and command: seconds, or None when unknown or only a start-to-start gap while
    # enough runs measured it.
    per_run = [
        {
            i: (None if measured[i] and kept[i].runs[r][2] else kept[i].runs[r][1])
            for i in order
            if r in kept[i].runs
        }
        for r in range(n)
    ]
    grouped = group.group_steps(mined, templates, op_type, per_run_durations=per_run, order=order)
    return Procedure(
        steps=grouped.steps,
        runs=tuple(sorted(e.id for e in runs)),
        total=durations.summarize(totals),
        noise_dropped=noise,
        one_offs_dropped=one_offs,
        rare_dropped=rare,
        pre_checks=grouped.pre_checks,
        monitoring=grouped.monitoring,
    )


# ------------------------------------------------------------------- merging

PLACEMENT_MIN_SHARE = 0.6


def _neighbours(
    optional: set[Item], sequences: Sequence[Sequence[Item]]
) -> tuple[dict[Item, Counter[Item | None]], dict[Item, Counter[Item | None]]]:
    """For each optional item, count the required item recorded just before and just after it."""
    before: dict[Item, Counter[Item | None]] = defaultdict(Counter)
    after: dict[Item, Counter[Item | None]] = defaultdict(Counter)
    for seq in sequences:
        last: Item | None = None
        for item in seq:
            if item in optional:
                before[item][last] += 1
            else:
                last = item
        nxt: Item | None = None
        for item in reversed(seq):
            if item in optional:
                after[item][nxt] += 1
            else:
                nxt = item
    return before, after


def _misplaced(optional: set[Item], sequences: Sequence[Sequence[Item]]) -> list[Item]:
    """Optional items whose neighbours among the required items change from run to run.

    A real optional step sits at one place in the procedure (the same required step before
    and after it); a habit such as ``gh auth status`` lands anywhere.
    """
    if not optional:
        return []
    before, after = _neighbours(optional, sequences)
    out: list[Item] = []
    for item in sorted(optional):
        total = sum(before[item].values())
        if total < 2:
            continue
        share = min(max(before[item].values()), max(after[item].values())) / total
        # Few sightings agree by chance easily: demand more agreement from them.
        if share < (PLACEMENT_MIN_SHARE if total >= 5 else 0.75):
            out.append(item)
    return out


def _place_optional(
    order: Sequence[Item], sequences: Sequence[Sequence[Item]], optional: set[Item]
) -> list[Item]:
    """Put each optional item next to the required item it is recorded beside.

    Pairwise precedence says little about items that rarely co-occur with the rest: a block
    run in two runs (``terraform plan``, ``terraform apply``) could otherwise be split by an
    unrelated required step. Each optional item goes right before the required item that
    most often follows it (or right after the one that most often precedes it); optional
    items sharing a place keep their consensus order.
    """
    if not optional or len(optional) == len(order):
        return list(order)
    before, after = _neighbours(optional, sequences)
    rank = {item: i for i, item in enumerate(order)}

    def top(counts: Counter[Item | None]) -> tuple[int, Item | None]:
        best = max(
            counts.items(),
            key=lambda kv: (kv[1], kv[0] is not None, -rank[kv[0]] if kv[0] is not None else 0),
        )
        return best[1], best[0]

    lead: dict[Item | None, list[Item]] = defaultdict(list)  # placed before the key
    trail: dict[Item | None, list[Item]] = defaultdict(list)  # placed after the key
    for item in order:
        if item not in optional:
            continue
        n_after, next_item = top(after[item])
        n_before, prev_item = top(before[item])
        if n_after >= n_before:
            lead[next_item].append(item)
        else:
            trail[prev_item].append(item)
    out: list[Item] = [*trail[None]]
    for item in order:
        if item in optional:
            continue
        out.extend(lead[item])
        out.append(item)
        out.extend(trail[item])
    out.extend(lead[None])
    return out


def _absorb_instances(units: dict[Item, _Unit], need: int) -> dict[Item, Item]:
    """Fold minority items that are literal instances of a majority template into it.

    Masking rules cannot catch every varying value (an all-digit short SHA), so a run whose
    token is literal where most runs have a placeholder is matched against the placeholder's
    pattern instead of becoming a separate one-off.
    """
    targets: dict[tuple[str, int, int], list[Item]] = defaultdict(list)
    for item, unit in units.items():
        if len(unit.runs) >= need and any(tok.slot for tok in unit.template.tokens):
            targets[(unit.template.program, item[1], len(unit.template.tokens))].append(item)
    alias: dict[Item, Item] = {}
    if not targets:
        return alias
    for item in sorted(units):
        unit = units[item]
        if len(unit.runs) >= need:
            continue
        t = unit.template
        for target_item in sorted(targets.get((t.program, item[1], len(t.tokens)), ())):
            target = units[target_item]
            values = _instance_values(target.template.tokens, t.tokens)
            if values is None:
                continue
            for r, (cmd, dur, gap, own) in unit.runs.items():
                target.runs.setdefault(r, (cmd, dur, gap, _fill(values, own)))
            alias[item] = target_item
            break
    return alias


def _instance_values(pattern: Sequence[Token], tokens: Sequence[Token]) -> list[str | int] | None:
    """Slot values of ``tokens`` read through ``pattern``'s templates, or None if no match.

    An int entry points into the instance's own flat slot values (same template there).
    """
    out: list[str | int] = []
    offset = 0
    for want, got in zip(pattern, tokens, strict=True):
        want_t, got_t = params.token_template(want), params.token_template(got)
        got_n = len(params.token_slots(got))
        if not want.slot:
            if want_t != got_t:
                return None
            offset += got_n
            continue
        names = params.token_slots(want)
        if got.slot and want_t == got_t:
            out.extend(range(offset, offset + got_n))
            offset += got_n
            continue
        if got_n:
            return None  # masked differently: not an instance of this template
        regex_values = params.slot_values(Token(got.text, want.slot, want.template))
        if (
            regex_values == (got.text,) + ("",) * (len(names) - 1)
            and want_t != "{" + names[0] + "}"
        ):
            return None  # the literal does not fit the template around the placeholder
        out.extend(regex_values)
    return out


def _fill(values: list[str | int], own: tuple[str, ...]) -> tuple[str, ...]:
    """Values read through the target template, with pointers into the instance's own."""
    return tuple(v if isinstance(v, str) else (own[v] if v < len(own) else "") for v in values)


def _split_assign(text: str) -> tuple[str, str]:
    """``--flag=value`` / ``KEY=value`` -> (``--flag=``, ``value``); else ("", text)."""
    if "=" in text and (text.startswith("-") or _ASSIGN.match(text)):
        head, value = text.split("=", 1)
        return head + "=", value
    return "", text


_ASSIGN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


MAX_MERGED_POSITIONS = 3


def _program_index(t: CommandTemplate) -> int | None:
    for pos, tok in enumerate(t.tokens):
        if tok.text == t.program or tok.text.endswith("/" + t.program):
            return pos
    return None


def _merge_wrappers(units: dict[Item, _Unit], need: int) -> dict[Item, Item]:
    """Merge items that differ only in what precedes the program (``ENV=x doppler run --``).

    Run in different runs, ``aws lambda wait ...`` and ``ENV=staging doppler run -- aws
    lambda wait ...`` are one step; the best supported spelling is shown.
    """
    buckets: dict[tuple[object, ...], list[Item]] = defaultdict(list)
    for item, unit in units.items():
        t = unit.template
        at = _program_index(t)
        if at is None:
            continue
        rest = tuple(params.token_template(tok) for tok in t.tokens[at:])
        slots = sum(len(params.token_slots(tok)) for tok in t.tokens)
        buckets[(item[1], slots, rest)].append(item)
    alias: dict[Item, Item] = {}
    for shape in sorted(buckets, key=repr):
        members = sorted(buckets[shape])
        if len(members) < 2 or sum(1 for m in members if units[m].merged) > 1:
            continue
        run_sets = [set(units[m].runs) for m in members]
        union = set().union(*run_sets)
        overlap = sum(len(x) for x in run_sets) - len(union)
        if len(union) < min(need, 2) or overlap > 0.1 * len(union):
            continue
        # A merged-variant item keeps its layout: it survives, the plain spellings join it.
        survivor = max(
            members,
            key=lambda m: (bool(units[m].merged), len(units[m].runs), [-ord(c) for c in m[0]]),
        )
        target = units[survivor]
        for m in members:
            if m == survivor:
                continue
            tags = tuple(
                "\x00" + units[m].template.tokens[pos].text
                for pos in target.merged
                if pos < len(units[m].template.tokens)
            )
            for r, (cmd, dur, gap, values) in units[m].runs.items():
                target.runs.setdefault(r, (cmd, dur, gap, (*values, *tags)))
            alias[m] = survivor
        target.keys = tuple(sorted({k for m in members for k in units[m].keys}))
    return alias


def _inserted(short: Sequence[str], long: Sequence[str]) -> tuple[int, int] | None:
    """Where ``long`` inserts tokens into ``short`` (start, count), all others equal in order."""
    if len(long) <= len(short):
        return None
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    extra = len(long) - len(short)
    if list(long[i + extra :]) != list(short[i:]):
        return None
    return i, extra


def _flags_added(short: CommandTemplate, long: CommandTemplate) -> str | None:
    """The flag groups (``--env staging``) ``long`` adds to ``short``, else None."""
    where = _inserted(_shape_tokens(short), _shape_tokens(long))
    if where is None:
        return None
    start, count = where
    extra: list[str] = []
    for pos in range(start, start + count):
        tok = long.tokens[pos]
        after_flag = pos > 0 and flag_takes_value(long.tokens[pos - 1].text)
        # literal flags and values as recorded (-H 'X-Team: ops'); placeholders as templated
        shown = shell_word(tok.text, tok.spelling, after_flag=after_flag)
        extra.append(params.token_template(tok) if tok.slot else shown)
    if not extra[0].startswith("-") or count > 2 * MAX_MERGED_POSITIONS:
        return None
    return " ".join(extra)


def _merge_flag_variants(units: dict[Item, _Unit], need: int) -> dict[Item, Item]:
    """Fold a spelling that adds (or omits) flags into the more common one.

    ``dr test smoke --env staging`` in the staging runs and ``dr test smoke`` in the others
    are one step: the runs never ran both, so the flags are a per-run variation. The more
    common spelling is shown (on a tie the shorter); each variant is noted with its own
    support. Together they must recur (a step, or an optional step). Returns member ->
    survivor.
    """
    by_program: dict[tuple[str, int], list[Item]] = defaultdict(list)
    for item, unit in units.items():
        if unit.template.program:
            by_program[(unit.template.program, item[1])].append(item)
    alias: dict[Item, Item] = {}
    for bucket in sorted(by_program):
        members = by_program[bucket]
        if len(members) < 2:
            continue
        support = {m: len(units[m].runs) for m in members}
        size = {m: len(units[m].template.tokens) for m in members}
        targets = sorted(members, key=lambda m: (-support[m], size[m], m))
        for minor in sorted(members, key=lambda m: (support[m], -size[m], m)):
            unit = units[minor]
            if support[minor] >= need or minor in alias or unit.flag_variants:
                continue
            for major in targets:
                target = units[major]
                if major == minor or major in alias or support[major] < support[minor]:
                    continue
                if support[major] == support[minor] and size[major] > size[minor]:
                    continue  # on a tie the shorter spelling is shown
                # Literal argument values may differ too (a new instance name each run).
                added = _flags_added(target.template, unit.template)
                omitted = None if added else _flags_added(unit.template, target.template)
                if added is None and omitted is None:
                    continue
                together = set(unit.runs) | set(target.runs)
                shared = set(unit.runs) & set(target.runs)
                if len(together) < min(need, 2) or len(shared) > 0.1 * len(together):
                    continue  # run together: two different commands, not a variant
                for r, value in unit.runs.items():
                    target.runs.setdefault(r, value)
                verb = "add" if added else "omit"
                target.flag_variants.append((verb, added or omitted or "", len(unit.runs)))
                target.keys = tuple(sorted({*target.keys, *unit.keys}))
                alias[minor] = major
                support[major] = len(target.runs)
                break
    return alias


def _variant_notes(unit: _Unit, n: int) -> str:
    """Comment lines naming the folded flag variants (a shell comment: the command still runs)."""
    return "".join(
        f"\n# {runs}/{n} runs {verb}: {flags}"
        for verb, flags, runs in sorted(unit.flag_variants, key=lambda v: (-v[2], v[1], v[0]))
    )


def _value_positions(t: CommandTemplate) -> list[int]:
    """Token positions holding a literal argument value (not program, subcommand or flag)."""
    out: list[int] = []
    sub = set(t.subcommand.split())
    for pos, tok in enumerate(t.tokens):
        if params.token_slots(tok) or (tok.text.startswith("-") and "=" not in tok.text):
            continue
        if tok.text in sub or tok.text == t.program:
            continue
        if pos + 1 < len(t.tokens) and t.tokens[pos + 1].text == t.program and "=" not in tok.text:
            continue  # a wrapper word right before the program (sudo, time...)
        out.append(pos)
    return out


def _merge_variants(units: dict[Item, _Unit], need: int) -> dict[Item, Item]:
    """Merge items that differ only in literal argument values across runs.

    Variants qualify when they (almost) never share a run - the values changed between
    runs, they are not different commands - and together recur (a step or an optional
    step). A variant that alone is a majority absorbs only variants seen in at least two
    runs. Returns member -> survivor.
    """
    buckets: dict[tuple[object, ...], list[Item]] = defaultdict(list)
    for item, unit in units.items():
        t = unit.template
        positions = set(_value_positions(t))
        if not positions:
            continue
        skeleton = tuple(
            "\x00" + _split_assign(tok.text)[0] if pos in positions else params.token_template(tok)
            for pos, tok in enumerate(t.tokens)
        )
        buckets[(t.program, t.subcommand, item[1], skeleton)].append(item)
    alias: dict[Item, Item] = {}
    for shape in sorted(buckets, key=repr):
        members = sorted(m for m in buckets[shape] if m not in alias)
        if any(len(units[m].runs) >= need for m in members):
            members = [m for m in members if len(units[m].runs) >= 2]
        if len(members) < 2 or any(units[m].merged for m in members):
            continue
        run_sets = [set(units[m].runs) for m in members]
        union = set().union(*run_sets)
        overlap = sum(len(s) for s in run_sets) - len(union)
        # Together a step (majority) or an optional step (two runs or more).
        if len(union) < min(need, 2) or overlap > 0.1 * len(union):
            continue
        diff = tuple(
            pos
            for pos in _value_positions(units[members[0]].template)
            if len({units[m].template.tokens[pos].text for m in members}) > 1
        )
        if not diff or len(diff) > MAX_MERGED_POSITIONS:
            continue
        survivor = max(members, key=lambda m: (len(units[m].runs), [-ord(c) for c in m[0]]))
        target = units[survivor]
        merged_runs: dict[int, tuple[Command, float | None, bool, tuple[str, ...]]] = {}
        for m in [survivor, *(m for m in members if m != survivor)]:
            toks = units[m].template.tokens
            tags = tuple("\x00" + toks[pos].text for pos in diff)
            for r, (cmd, dur, gap, values) in units[m].runs.items():
                merged_runs.setdefault(r, (cmd, dur, gap, (*values, *tags)))
            if m != survivor:
                alias[m] = survivor
        target.runs = merged_runs
        target.merged = diff
        target.keys = tuple(sorted(units[m].template.key for m in members))
    return alias


def _merged_key(unit: _Unit) -> str:
    temps = [params.token_template(tok) for tok in unit.template.tokens]
    for pos in unit.merged:
        tok = unit.template.tokens[pos]
        name = _slot_hint(unit.template.tokens, pos, None) or "value"
        temps[pos] = _split_assign(tok.text)[0] + "{" + name + "}"
    return " ".join(temps)


# ---------------------------------------------------------------- parameters


def _slot_hint(tokens: Sequence[Token], pos: int, slot_name: str | None) -> str:
    prev = tokens[pos - 1].text if pos > 0 else None
    flag = params.flag_name(prev, tokens[pos].text)
    if flag is None and slot_name is None and "://" in tokens[pos].text:
        return "url"
    if slot_name and (slot_name.lower() not in params.GENERIC_SLOTS or flag is None):
        return slot_name
    return flag or slot_name or "value"


def _parameterize(
    ordered: Sequence[_Unit], normalize: Normalizer | None = None
) -> tuple[dict[Item, str], dict[Item, tuple[Param, ...]]]:
    """Decide constants vs placeholders for every kept command, naming shared values once.

    ``normalize`` re-reads the runs' commands so each token keeps the quoting it was
    recorded with; without it the representative's spelling is used.
    """
    slots: list[tuple[_Unit, _Slot]] = []
    for unit in ordered:
        tokens = unit.template.tokens
        flat = 0
        layout: list[_Slot] = []
        for pos, tok in enumerate(tokens):
            for index, name in enumerate(params.token_slots(tok)):
                layout.append(_Slot(pos, index, _slot_hint(tokens, pos, name)))
                flat += 1
        for pos in unit.merged:
            layout.append(_Slot(pos, -1, _slot_hint(tokens, pos, None)))
        for r, (_cmd, _d, _g, values) in unit.runs.items():
            # Values of a different layout (quoting differences) are ignored, not misaligned.
            if len(values) != len(layout):
                continue
            for slot, value in zip(layout, values, strict=True):
                slot.values[r] = value[1:] if value.startswith("\x00") else value
        for slot in layout:
            if slot.index == -1:
                # ``--flag=value`` variants: the value after "=" is the parameter.
                slot.values = {r: _split_assign(v)[1] for r, v in slot.values.items()}
        unit.slots = layout
        slots.extend((unit, s) for s in layout)
    varying = [(u, s) for u, s in slots if s.varies()]
    # Link slots carrying the same value in (nearly) every run where both appear.
    parent = list(range(len(varying)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    agree: Counter[tuple[int, int]] = Counter()
    by_run: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for idx, (_u, s) in enumerate(varying):
        for r, v in s.values.items():
            if v:
                by_run[r][v].append(idx)
    for r in sorted(by_run):
        for members in by_run[r].values():
            for a_i, a in enumerate(members):
                for b in members[a_i + 1 :]:
                    agree[(a, b)] += 1
    for (a, b), count in sorted(agree.items()):
        both = len(varying[a][1].values.keys() & varying[b][1].values.keys())
        if count >= 2 and count >= 0.9 * both:
            parent[find(b)] = find(a)
    # Name each linked group after its first slot; names unique across the procedure.
    taken: set[str] = set()
    group_name: dict[int, str] = {}
    group_values: dict[int, dict[int, str]] = defaultdict(dict)
    for idx, (_u, s) in enumerate(varying):
        root = find(idx)
        for r, v in s.values.items():
            group_values[root].setdefault(r, v)
        if root in group_name:
            continue
        base = s.hint
        name, k = base, 2
        while name in taken:
            name, k = f"{base}-{k}", k + 1
        taken.add(name)
        group_name[root] = name
    slot_name = {id(s): group_name[find(i)] for i, (_u, s) in enumerate(varying)}
    examples: dict[str, tuple[str, ...]] = {}
    for root, name in group_name.items():
        picked: list[str] = []
        for r in sorted(group_values[root]):  # run 0 is the most recent
            v = group_values[root][r]
            if v and v not in picked:
                picked.append(v)
            if len(picked) == 3:
                break
        examples[name] = tuple(sorted(picked))
    texts: dict[Item, str] = {}
    out_params: dict[Item, tuple[Param, ...]] = {}
    for unit in ordered:
        text, used = _render(unit, slot_name, normalize)
        texts[unit.item] = text
        out_params[unit.item] = tuple(Param(name, examples.get(name, ())) for name in used)
    return texts, out_params


def _render(
    unit: _Unit, slot_name: dict[int, str], normalize: Normalizer | None = None
) -> tuple[str, list[str]]:
    tokens = unit.template.tokens
    if not tokens:
        return unit.template.raw, []
    rep_run = min(unit.runs)  # most recent run holding this command
    by_pos: dict[int, list[_Slot]] = defaultdict(list)
    for s in unit.slots:
        by_pos[s.pos].append(s)
    used: list[str] = []
    plans: list[_Plan] = []
    for pos, tok in enumerate(tokens):
        template = params.token_template(tok)
        slots_here = by_pos.get(pos, [])
        whole = next((s for s in slots_here if s.index == -1), None)
        if whole is not None and whole.varies():
            name = slot_name[id(whole)]
            used.append(name)
            before = params.token_template(tokens[pos - 1]) if pos else ""
            head = _split_assign(tok.text)[0]
            plans.append(_Plan(template, whole="{" + name + "}", head=head, before=before))
            continue
        inner = sorted((s for s in slots_here if s.index >= 0), key=lambda s: s.index)
        names = params.token_slots(tok)
        if not inner or not names:
            plans.append(_Plan(template))
            continue
        fill: list[str | None] = []
        for i, _name in enumerate(names):
            slot = inner[i] if i < len(inner) else None
            if slot is not None and slot.varies():
                fill.append(None)
            elif slot is None:
                fill.append("")
            else:
                value = slot.values.get(rep_run)
                fill.append(value if value is not None else next(iter(slot.values.values()), ""))
        labels = tuple(
            slot_name[id(inner[i])] if i < len(inner) and fill[i] is None else names[i]
            for i in range(len(names))
        )
        used.extend(lbl for i, lbl in enumerate(labels) if fill[i] is None)
        plans.append(_Plan(template, labels=labels, fill=tuple(fill)))
    pieces = _spell(plans, _recorded_tokens(unit, normalize))
    seen: list[str] = []
    for name in used:
        if name not in seen:
            seen.append(name)
    return join_words(pieces), seen


@dataclass(frozen=True, slots=True)
class _Plan:
    """How one token is shown: literal, one whole placeholder, or placeholders inside."""

    template: str
    whole: str = ""  # "{name}": the value (after ``--flag=``) is one placeholder
    labels: tuple[str, ...] = ()  # per token slot: its placeholder name
    fill: tuple[str | None, ...] = ()  # per token slot: None = placeholder, else constant
    head: str = ""  # whole: the ``--flag=`` / ``KEY=`` kept before the placeholder
    before: str = ""  # whole: the previous token's template


MAX_SPELLING_RUNS = 64  # recent runs whose quoting is compared per token


def _recorded_tokens(unit: _Unit, normalize: Normalizer | None) -> list[tuple[Token, ...]]:
    """Token lists of the unit's most recent runs with the representative's layout."""
    rep = unit.template.tokens
    if normalize is None:
        return [rep]
    out: list[tuple[Token, ...]] = []
    for r in sorted(unit.runs):
        t = normalize(unit.runs[r][0].text)
        if len(t.tokens) != len(rep):
            continue
        out.append(t.tokens)
        if len(out) >= MAX_SPELLING_RUNS:
            break
    return out or [rep]


def _spell(plans: Sequence[_Plan], recorded: Sequence[Sequence[Token]]) -> list[str]:
    """Each token as the runs spelled it: the majority quoting (ties: the most recent run),
    but a spelling that keeps glob characters from the shell beats one that lost its quotes.
    """
    pieces: list[str] = []
    for pos, plan in enumerate(plans):
        votes: Counter[str] = Counter()
        first: dict[str, int] = {}
        for r, toks in enumerate(recorded):
            tok = toks[pos]
            if plan.whole:
                # a merged value: only runs with the same flag before it spell it
                before = params.token_template(toks[pos - 1]) if pos else ""
                if _split_assign(tok.text)[0] != plan.head or before != plan.before:
                    continue
            elif params.token_template(tok) != plan.template:
                continue
            prev = toks[pos - 1].text if pos > 0 else ""
            shown = _spell_token(tok, prev, plan)
            if shown is None:
                continue
            votes[shown] += 1
            first.setdefault(shown, r)
        if votes:
            best = min(votes, key=lambda w: (unquoted_globs(w), -votes[w], first[w]))
            pieces.append(best)
        elif plan.whole:
            pieces.append(plan.head + plan.whole)
        elif plan.labels:
            pieces.append(params.render_token(plan.template, plan.labels, plan.fill))
        else:
            pieces.append(plan.template)
    return pieces


def _spell_token(tok: Token, prev: str, plan: _Plan) -> str | None:
    """One recorded token shown through ``plan`` (None when its values cannot be located)."""
    after_flag = flag_takes_value(prev) if prev else False
    if plan.whole:
        head = len(_split_assign(tok.text)[0])
        slots: tuple[tuple[int, int, str], ...] = ((head, len(tok.text), plan.whole),)
    elif plan.labels:
        if any(v == "" for v in plan.fill):
            return None  # a slot without values: the template shows it
        spans = params.slot_spans(tok)
        if spans is None or len(spans) != len(plan.labels):
            return None
        slots = tuple(
            (start, end, "{" + label + "}")
            for (start, end), label, value in zip(spans, plan.labels, plan.fill, strict=True)
            if value is None
        )
    else:
        slots = ()
    return shell_word(tok.text, tok.spelling, slots=slots, after_flag=after_flag)


def _shape_tokens(t: CommandTemplate) -> list[str]:
    positions = set(_value_positions(t))
    return [
        _split_assign(tok.text)[0] + "\x00" if pos in positions else params.token_template(tok)
        for pos, tok in enumerate(t.tokens)
    ]


def shape_of(t: CommandTemplate) -> str:
    """The template with literal argument values wildcarded: equal for cross-run variants."""
    return " ".join(_shape_tokens(t))


def render_commands(commands: Sequence[Command], normalize: Normalizer) -> tuple[str, ...]:
    """Display texts for commands observed once or a few times (fix commands).

    Instances of one command shape are rendered together: values (masked or literal) that
    differ between them become placeholders. A value seen in a single instance keeps its
    placeholder only when normalize masked it as per-run by nature (digests, SHAs,
    timestamps are never reusable constants).
    """
    groups: dict[str, list[tuple[int, Command, CommandTemplate]]] = {}
    order: list[str] = []
    for r, cmd in enumerate(commands):
        t = normalize(cmd.text)
        shape = shape_of(t)
        if shape not in groups:
            groups[shape] = []
            order.append(shape)
        groups[shape].append((r, cmd, t))
    out: list[str] = []
    for shape in order:
        members = groups[shape]
        first = members[0][2]
        if len(members) == 1:
            out.append(_render_single(first))
            continue
        diff = tuple(
            pos
            for pos in _value_positions(first)
            if len(
                {m[2].tokens[pos].text for m in members if len(m[2].tokens) == len(first.tokens)}
            )
            > 1
        )
        unit = _Unit((first.key, 1), (first.key,), first, {}, merged=diff)
        for r, cmd, t in members:
            if len(t.tokens) != len(first.tokens):
                continue
            values = tuple(v for tok in t.tokens for v in params.slot_values(tok))
            tags = tuple("\x00" + t.tokens[pos].text for pos in diff)
            unit.runs.setdefault(r, (cmd, None, False, (*values, *tags)))
        texts, _ = _parameterize([unit], normalize)
        out.append(texts[unit.item])
    return tuple(out)


# Slot names whose values differ every run by nature (a single sighting is no constant).
_PER_RUN = re.compile(
    r"sha|digest|timestamp|uuid|date|time|tag|version|revision|build|run-id|lock-id|request-id|token"
)


def _render_single(t: CommandTemplate) -> str:
    plans: list[_Plan] = []
    for tok in t.tokens:
        names = params.token_slots(tok)
        template = params.token_template(tok)
        if names and any(_PER_RUN.search(n) for n in names):
            values = params.slot_values(tok)
            fill = tuple(
                None if _PER_RUN.search(n) else v for n, v in zip(names, values, strict=False)
            )
            plans.append(_Plan(template, labels=names, fill=fill))
        else:
            plans.append(_Plan(template))
    return join_words(_spell(plans, [t.tokens])) if plans else t.raw


# ----------------------------------------------------------------- durations


def _timings(unit: _Unit) -> tuple[list[float], list[float]]:
    """(measured durations, start-to-start gaps) of a unit across runs, each sorted."""
    recorded: list[float] = []
    gaps: list[float] = []
    for _c, d, gap, _v in unit.runs.values():
        if d is not None:
            (gaps if gap else recorded).append(d)
    return sorted(recorded), sorted(gaps)


def _prefer_measured(recorded: list[float], gaps: list[float]) -> bool:
    """Ignore start-to-start gaps (they include idle time) when measured durations suffice.

    Three measured values do; one or two do when the gaps are clearly inflated by idle time.
    Both lists are sorted.
    """
    if len(recorded) >= MIN_MEASURED:
        return True
    if not recorded or not gaps:
        return bool(recorded)
    return durations.quantile(gaps, 0.5) > 1.5 * durations.quantile(recorded, 0.5)


def _duration(recorded: list[float], gaps: list[float], measured: bool) -> Stat | None:
    if measured:
        # Enough measured durations: start-to-start gaps would only add idle time.
        return durations.summarize(recorded)
    if gaps:
        med = durations.quantile(gaps, 0.5)
        # An idle gap (operator away) is not the command's duration.
        cap = max(10.0 * med, MIN_GAP_CAP_S)
        gaps = [g for g in gaps if g <= cap]
    return durations.summarize(recorded + gaps)


def _output(unit: _Unit, mask: Masker) -> str:
    outputs: list[str] = []
    for r in sorted(unit.runs):
        cmd = unit.runs[r][0]
        if cmd.output.strip():
            outputs.append(cmd.output)
            if len(outputs) >= MAX_OUTPUT_RUNS:
                break
    return output.expected_output(outputs, mask)


def _evidence(unit: _Unit) -> tuple[SourceRef, ...]:
    refs = {unit.runs[r][0].source for r in unit.runs}
    return tuple(heapq.nsmallest(MAX_EVIDENCE, refs))
