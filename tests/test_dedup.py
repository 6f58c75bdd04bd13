"""Dedup across formats: one deploy seen in a CI log and in shell history counts once."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from runbook.config import Config
from runbook.dedup import deduplicate, jaccard
from runbook.discover import kind_of
from runbook.model import Command, EvidenceKind, Execution, ParsedFile, SourceRef
from runbook.sources import read_evidence

ROOT = Path(__file__).parent / "data" / "machine" / "dedup"
T0 = datetime(2025, 3, 5, 9, 0)


def _read(rel: str) -> ParsedFile:
    kind = kind_of(rel)
    assert kind is not None
    got = read_evidence(ROOT / rel, ROOT, kind, Config())
    assert isinstance(got, ParsedFile), got
    return got


def _ex(
    path: str,
    start: datetime | None,
    commands: list[str],
    *,
    minutes: float = 5,
    timed: bool = False,
    kind: EvidenceKind = EvidenceKind.NOTES,
) -> Execution:
    cmds = tuple(
        Command(
            text,
            SourceRef(path, i + 1),
            exit_code=0 if timed else None,
            duration_s=10.0 if timed else None,
        )
        for i, text in enumerate(commands)
    )
    finished = start + timedelta(minutes=minutes) if start else None
    return Execution(
        id=path,
        source=SourceRef(path, 1),
        kind=kind,
        started_at=start,
        finished_at=finished,
        commands=cmds,
    )


DEPLOY = [
    "helm upgrade checkout charts/checkout --set image.tag=8d1e0aa",
    "kubectl rollout status deploy/checkout -n checkout",
    "curl -fsS https://checkout.example.com/healthz",
]


def test_ci_log_and_shell_history_of_the_same_deploy() -> None:
    history = _read(".zsh_history")
    ci = _read("ci-logs/run-5521-deploy.log")
    assert len(history.executions) == 1 and len(ci.executions) == 1
    kept, pairs = deduplicate([*history.executions, *ci.executions])
    # the CI log knows durations and exit codes of every step: it is the richer record
    assert [e.id for e in kept] == ["ci-logs/run-5521-deploy.log"]
    assert pairs == ((".zsh_history", "ci-logs/run-5521-deploy.log"),)
    # input order does not matter
    assert deduplicate([*ci.executions, *history.executions]) == (tuple(kept), pairs)


def test_same_commands_on_another_day_are_two_runs() -> None:
    a = _ex("ci-logs/a.log", T0, DEPLOY, timed=True)
    b = _ex(".bash_history", T0 + timedelta(days=1), DEPLOY)
    kept, pairs = deduplicate([a, b])
    assert kept == (a, b) and pairs == ()


def test_overlapping_but_different_operations_are_kept() -> None:
    a = _ex("ci-logs/a.log", T0, DEPLOY, timed=True)
    b = _ex(
        "notes/db.md",
        T0 + timedelta(minutes=1),
        ["psql -c 'select 1'", "pg_dump orders > orders.sql", DEPLOY[2]],
    )
    assert jaccard(frozenset(["x", "y"]), frozenset(["y", "z"])) == 1 / 3
    assert deduplicate([a, b])[1] == ()


def test_starts_within_minutes_without_end_times_and_noise_ignored() -> None:
    a = _ex(".claude/observations/execution-1.md", T0, DEPLOY, minutes=0, timed=True)
    # the session note adds "cd" and "ls": navigation does not make it another run
    b = _ex("docs/session.md", T0 + timedelta(minutes=3), ["cd ~/src", "ls", *DEPLOY], minutes=0)
    kept, pairs = deduplicate([b, a])
    assert kept == (a,)
    assert pairs == (("docs/session.md", ".claude/observations/execution-1.md"),)


def test_runs_of_one_file_and_undated_records_are_never_merged() -> None:
    a = _ex("history.txt", T0, DEPLOY)
    b = Execution(
        id="history.txt#2",
        source=SourceRef("history.txt", 40),
        kind=a.kind,
        started_at=T0 + timedelta(minutes=1),
        commands=a.commands,
    )
    guide = _ex("docs/guide.md", None, DEPLOY)
    kept, pairs = deduplicate([a, b, guide])
    assert kept == (a, b, guide) and pairs == ()


def test_equal_records_tie_break_on_id() -> None:
    a = _ex("b-notes.md", T0, DEPLOY)
    b = _ex("a-notes.md", T0, DEPLOY)
    kept, pairs = deduplicate([a, b])
    assert [e.id for e in kept] == ["a-notes.md"]
    assert pairs == (("b-notes.md", "a-notes.md"),)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 600),
            st.lists(st.sampled_from([*DEPLOY, "ls", "make test", "terraform apply"]), max_size=5),
            st.booleans(),
        ),
        max_size=12,
    )
)
def test_order_independent_and_every_drop_points_at_a_kept_run(
    specs: list[tuple[int, list[str], bool]],
) -> None:
    runs = [
        _ex(f"f{i}.md", T0 + timedelta(minutes=m), cmds, timed=t)
        for i, (m, cmds, t) in enumerate(specs)
    ]
    kept, pairs = deduplicate(runs)
    assert len(kept) + len(pairs) == len(runs)
    kept_ids = {e.id for e in kept}
    assert all(k in kept_ids and d not in kept_ids for d, k in pairs)
    again, pairs2 = deduplicate(list(reversed(runs)))
    assert {e.id for e in again} == kept_ids and pairs2 == pairs


def test_a_history_fragment_of_a_recorded_session_is_the_same_run() -> None:
    # The recording spans an idle hour; the history cut the session there and kept the part
    # after it: 4 of the recording's 9 commands, all inside its time range.
    steps = [
        "pytest tests/ -q -x",
        "docker build -t worker:v1 .",
        "docker tag worker:v1 1234.dkr.ecr.us-east-1.amazonaws.com/worker:v1",
        "docker push 1234.dkr.ecr.us-east-1.amazonaws.com/worker:v1",
        "terraform -chdir=infra plan -out tfplan",
        "terraform -chdir=infra apply tfplan",
        "aws lambda wait function-updated --function-name worker",
        "make smoke ENV=prod",
        "aws logs tail /aws/lambda/worker --since 10m",
    ]
    cast = _ex("ops/casts/deploy.cast", T0, steps, minutes=90, timed=True, kind=EvidenceKind.CAST)
    part = _ex(
        "ops/history/.zsh_history#4",
        T0 + timedelta(minutes=75),
        steps[5:],
        minutes=10,
        kind=EvidenceKind.SHELL_HISTORY,
    )
    other = _ex(  # the same commands on another day: a different run
        "ops/history/.zsh_history#5",
        T0 + timedelta(days=2),
        steps[5:],
        kind=EvidenceKind.SHELL_HISTORY,
    )
    kept, pairs = deduplicate([cast, part, other])
    assert [e.id for e in kept] == [cast.id, other.id]
    assert pairs == ((part.id, cast.id),)


def test_a_failed_ci_attempt_and_its_rerun_are_two_runs() -> None:
    steps = ["go test ./...", "docker build -t api:v1 .", "docker push api:v1", "helm upgrade api"]
    first = _ex(
        "ci-logs/run-42.log", T0, steps[:3], minutes=2, timed=True, kind=EvidenceKind.CI_LOG
    )
    again = _ex(
        "ci-logs/run-42-attempt-2.log",
        T0 + timedelta(minutes=3),
        steps,
        minutes=4,
        timed=True,
        kind=EvidenceKind.CI_LOG,
    )
    kept, pairs = deduplicate([first, again])
    assert len(kept) == 2 and pairs == ()
