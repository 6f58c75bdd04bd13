"""Machine-record formats of the bench: each lands where the tool looks and reads back whole."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bench.formats import FORMATS, applies, ci_simulation, typed_events, write_format_corpus
from bench.simulate import Simulation, simulate
from bench.spec import load_scenarios
from runbook.config import Config
from runbook.discover import kind_of
from runbook.model import EvidenceKind
from runbook.sources import read_evidence


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate(load_scenarios(["k8s-helm-deploy"])[0], 24, seed=7)


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "observations"])
def test_same_simulation_same_bytes(sim: Simulation, fmt: str, tmp_path: Path) -> None:
    write_format_corpus(sim, tmp_path / "a", fmt)
    write_format_corpus(sim, tmp_path / "b", fmt)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")


def _read_all(root: Path) -> dict[str, list[int]]:
    """Per evidence kind: the command count of every execution the tool reads."""
    out: dict[str, list[int]] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        kind = kind_of(rel)
        if not p.is_file() or kind is None:
            continue
        parsed = read_evidence(p, root, kind, Config())
        assert not isinstance(parsed, str) and hasattr(parsed, "executions"), (rel, parsed)
        for ex in parsed.executions:
            out.setdefault(kind.value, []).append(len(ex.commands))
    return out


def test_ci_logs_are_read_as_one_execution_per_attempt(sim: Simulation, tmp_path: Path) -> None:
    ci = ci_simulation(sim)
    corpus = write_format_corpus(ci, tmp_path, "ci-log")
    logs = [f for f in corpus.files if f.startswith("ci-logs/")]
    assert any(f.endswith("-attempt-2.log") for f in logs)  # a run fixed by hand was re-run
    read = _read_all(tmp_path)
    assert len(read[EvidenceKind.CI_LOG.value]) == len(logs)
    assert EvidenceKind.CI_WORKFLOW.value in read
    # CI does not type: no noise, typo or retry, and no think time between steps
    for run in ci.runs:
        assert {e.kind for e in run.events} <= {"step", "verify", "fail", "fix"}
        pairs = zip(run.events, run.events[1:], strict=False)
        gaps = [
            (b.start - a.end).total_seconds() for a, b in pairs if "fix" not in (a.kind, b.kind)
        ]
        assert all(0 <= g < 1 for g in gaps)


def test_histories_hold_personal_work_and_every_flavour(sim: Simulation, tmp_path: Path) -> None:
    corpus = write_format_corpus(sim, tmp_path, "shell-history")
    names = {Path(f).name for f in corpus.files}
    assert names <= {".zsh_history", ".bash_history", "fish_history", "history.db"}
    assert len(names) >= 3  # several operators, several shells
    text = "".join((tmp_path / f).read_text() for f in corpus.files if not f.endswith(".db"))
    assert "git pull --rebase" in text or "make test" in text or "ls -la" in text
    read = _read_all(tmp_path)
    assert sum(len(v) for v in read.values()) >= len(sim.visible) // 2


def test_casts_replay_to_the_typed_commands(sim: Simulation, tmp_path: Path) -> None:
    corpus = write_format_corpus(sim, tmp_path, "cast")
    assert len(corpus.files) == len(sim.visible)
    read = _read_all(tmp_path)[EvidenceKind.CAST.value]
    assert len(read) == len(sim.visible)
    for count, run in zip(read, sorted(sim.visible, key=lambda r: r.started), strict=True):
        assert count == len(typed_events(sim, run))  # a rolled-back run shows its rollback


def test_mixed_format_records_some_runs_twice(sim: Simulation, tmp_path: Path) -> None:
    corpus = write_format_corpus(sim, tmp_path / "dup", "mixed-format")
    single = write_format_corpus(sim, tmp_path / "one", "mixed-format", duplicates=False)
    assert corpus.duplicated_runs > 0 and single.duplicated_runs == 0
    kinds = {kind_of(f) for f in corpus.files}
    assert {EvidenceKind.CI_LOG, EvidenceKind.CAST, EvidenceKind.SHELL_HISTORY} <= kinds
    assert EvidenceKind.JOURNAL in kinds or EvidenceKind.OBSERVATION in kinds


def test_ci_logs_do_not_apply_to_incident_response() -> None:
    assert not applies("ci-log", "incident-response")
    assert applies("ci-log", "deployment") and applies("cast", "incident-response")
    with pytest.raises(ValueError, match="unknown format"):
        write_format_corpus(simulate(load_scenarios(["k8s-rollback"])[0], 3), Path("x"), "fax")
