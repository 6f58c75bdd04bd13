from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from runbook.failures import cluster
from runbook.mine import mine
from runbook.mine.group import MAX_STEPS
from runbook.model import Command, EvidenceKind, Execution, OperationType, Outcome, SourceRef

POOL = [
    "terraform init",
    "terraform plan -out=tfplan",
    "terraform apply tfplan",
    "kubectl -n team-a rollout status deployment/api",
    "kubectl -n team-b rollout status deployment/api",
    "helm upgrade api ./chart --set image.tag=v1.2.3",
    "helm upgrade api ./chart --set image.tag=v1.2.4",
    "curl -fsS https://api.example.com/health",
    "ls",
    "cd /tmp",
    "docker push registry.example/api:abc1234",
    "docker push registry.example/api:def5678",
    "psql -c 'select 1'",
    "echo 'quoted \" mess",
    "",
    "aws logs tail /aws/lambda/w --since 5m",
    "make deploy ENV=prod",
]

command = st.tuples(
    st.sampled_from(POOL),
    st.one_of(st.none(), st.sampled_from([0, 1, 2, 127])),
    st.one_of(st.none(), st.floats(min_value=0, max_value=90_000, allow_nan=False)),
    st.sampled_from(["", "ok", "Error: boom 1234", "denied: token expired"]),
    st.booleans(),
)
runs_strategy = st.lists(st.lists(command, max_size=12), min_size=0, max_size=8)


def _build(raw: list[list[tuple[str, int | None, float | None, str, bool]]]) -> list[Execution]:
    out = []
    t0 = datetime(2025, 1, 1)
    for i, cmds in enumerate(raw):
        at = t0 + timedelta(days=i)
        commands = []
        for j, (text, code, dur, output, timed) in enumerate(cmds):
            commands.append(
                Command(
                    text, SourceRef(f"r{i}.md", j + 1), code, at if timed else None, dur, output
                )
            )
            at += timedelta(seconds=dur or 1)
        out.append(
            Execution(
                id=f"r{i}.md",
                source=SourceRef(f"r{i}.md"),
                kind=EvidenceKind.OBSERVATION,
                outcome=Outcome.SUCCESS if i % 3 else Outcome.UNKNOWN,
                commands=tuple(commands),
            )
        )
    return out


@settings(max_examples=60, deadline=None)
@given(runs_strategy, st.sampled_from(list(OperationType)))
def test_mining_never_crashes_and_keeps_its_invariants(raw, op_type) -> None:  # type: ignore[no-untyped-def]
    runs = _build(raw)
    p = mine(runs, op_type)
    assert len(p.steps) <= MAX_STEPS
    for step in p.steps:
        assert step.commands
        assert 0 < step.support <= step.of
        for c in step.commands:
            assert c.support <= c.of == len(p.runs)
            names = [prm.name for prm in c.params]
            assert len(names) == len(set(names))
            assert all(len(prm.examples) <= 3 for prm in c.params)
        if step.duration is not None:
            assert step.duration.median_s <= step.duration.p90_s
    assert mine(list(reversed(runs)), op_type) == p
    clusters = cluster(runs, [])
    assert [c.occurrences for c in clusters] == sorted(
        (c.occurrences for c in clusters), reverse=True
    )
