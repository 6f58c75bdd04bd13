"""Cause-specific fixes of a minority of incidents stay out of the mined procedure."""

from __future__ import annotations

from runbook.incidents import common_response_runs
from runbook.model import Command, EvidenceKind, Execution, Outcome, SourceRef

CHECK = "aws cloudwatch describe-alarms --alarm-names db-connections-high"
THROTTLE = (
    "aws lambda put-function-concurrency --function-name worker --reserved-concurrent-executions 50"
)
REBOOT = "aws rds reboot-db-instance --db-instance-identifier reports-db-instance-1"
NOTIFY = "gh issue create --repo acme/reports --label incident --body-file incident.md"


def _incident(i: int, extra: list[tuple[str, str]]) -> Execution:
    path = f"incidents/{i}.md"
    cmds = [(CHECK, ""), (THROTTLE, ""), *extra]
    return Execution(
        id=f"incident:{path}",
        source=SourceRef(path, 1),
        kind=EvidenceKind.OBSERVATION,
        outcome=Outcome.SUCCESS,
        commands=tuple(
            Command(t, SourceRef(path, n + 2), origin=o) for n, (t, o) in enumerate(cmds)
        ),
    )


def _texts(run: Execution) -> list[str]:
    return [c.text for c in run.commands]


def test_minority_journal_solution_and_recovery_are_dropped() -> None:
    runs = [
        _incident(0, [(REBOOT, "journal-solution")]),
        _incident(1, [(REBOOT, "recovery")]),
        _incident(2, []),
        _incident(3, []),
        _incident(4, []),
    ]
    out = common_response_runs(runs)
    assert [_texts(r) for r in out] == [[CHECK, THROTTLE]] * 5
    assert [r.id for r in out] == [r.id for r in runs]


def test_majority_journal_solution_is_kept() -> None:
    runs = [_incident(i, [(NOTIFY, "journal-solution")]) for i in range(3)] + [_incident(3, [])]
    out = common_response_runs(runs)
    assert [_texts(r) for r in out[:3]] == [[CHECK, THROTTLE, NOTIFY]] * 3


def test_fix_also_run_as_a_matter_of_course_is_kept() -> None:
    # one incident ran the notification after a failure, another as an ordinary step
    runs = [
        _incident(0, [(NOTIFY, "recovery")]),
        _incident(1, [(NOTIFY, "")]),
        _incident(2, []),
        _incident(3, []),
        _incident(4, []),
    ]
    out = common_response_runs(runs)
    assert _texts(out[0]) == [CHECK, THROTTLE, NOTIFY]


def test_run_known_only_from_its_journal_keeps_its_commands() -> None:
    only = Execution(
        id="incident:j.md",
        source=SourceRef("j.md", 1),
        kind=EvidenceKind.JOURNAL,
        commands=(Command(REBOOT, SourceRef("j.md", 3), origin="journal-solution"),),
    )
    out = common_response_runs([only, _incident(1, []), _incident(2, [])])
    assert _texts(out[0]) == [REBOOT]


def test_command_between_an_action_and_its_retry_is_a_recovery() -> None:
    from runbook.incidents import _between_retries

    scale = "kubectl scale deployment/api -n shop --replicas=8"
    login = "aws eks update-kubeconfig --name prod --role-arn arn:aws:iam::1:role/oncall"
    cmds = [Command(t, SourceRef("r.md", n)) for n, t in enumerate([CHECK, scale, login, scale])]
    assert _between_retries(cmds) == {2}
    # a check looked at before and after a change is no retry of it
    again = [Command(t, SourceRef("r.md", n)) for n, t in enumerate([CHECK, THROTTLE, CHECK])]
    assert _between_retries(again) == set()
