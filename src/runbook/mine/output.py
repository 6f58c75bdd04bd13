"""Expected output: the output lines most successful runs share, variable parts templated.

Each line is masked with the same rules as error signatures (digests, ids, timestamps,
numbers); a masked line present in a majority of the runs that recorded output is kept. The
line is shown literally when every run printed it identically, else in its masked form;
``…`` marks where the representative run printed lines the others did not share.
Sample: ``{"status":"ok","version":"1.23.0"}`` and ``{"status":"ok","version":"1.24.1"}``
-> ``{"status":"ok","version":"{version}"}``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

__all__ = ["ELISION", "MAX_LINES", "expected_output"]

MAX_LINES = 12
ELISION = "…"  # stands for lines that differ between the runs
# Lines authors use to mark trimmed output; never part of what a run printed.
_ELISIONS = frozenset({"[...]", "...", "…", "[…]", "[snip]", "[trimmed]", "(truncated)"})


def _lines(output: str) -> list[str]:
    out: list[str] = []
    for line in output.splitlines():
        stripped = line.rstrip()
        if not stripped.strip() or stripped.strip() in _ELISIONS:
            continue
        out.append(stripped)
    return out


def expected_output(outputs: Sequence[str], mask: Callable[[str], str]) -> str:
    """Lines common to a majority of ``outputs`` (non-empty ones), at most MAX_LINES."""
    runs = [_lines(o) for o in outputs if o and o.strip()]
    runs = [r for r in runs if r]
    if not runs:
        return ""
    masked_runs = [[mask(line) for line in lines] for lines in runs]
    counts: Counter[str] = Counter()
    for masked in masked_runs:
        counts.update(set(masked))
    need = len(runs) // 2 + 1
    common = {m for m, c in counts.items() if c >= need}
    if not common:
        return ""
    # Representative: the run showing most common lines (first such run: inputs are ordered).
    best = max(range(len(runs)), key=lambda i: (len(common.intersection(masked_runs[i])), -i))
    originals: dict[str, set[str]] = {}
    for lines, masked in zip(runs, masked_runs, strict=True):
        for line, m in zip(lines, masked, strict=True):
            if m in common:
                bucket = originals.setdefault(m, set())
                if len(bucket) < 2:
                    bucket.add(line)
    shown: list[str] = []
    emitted: set[str] = set()
    skipped = False  # lines of the representative run left out since the last shown line
    for line, m in zip(runs[best], masked_runs[best], strict=True):
        if m not in common or m in emitted:
            skipped = True
            continue
        if skipped and shown:
            # mark where lines that differ between runs were left out, so a JSON document
            # or a table keeps its shape instead of reading as adjacent fragments
            shown.append(ELISION)
        skipped = False
        emitted.add(m)
        variants = originals.get(m, {line})
        shown.append(line if len(variants) == 1 else m)
        if len(shown) >= MAX_LINES:
            break
    return "\n".join(shown)
