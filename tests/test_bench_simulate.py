"""The simulator: deterministic per seed, realistic deviations, time-ordered hold-out split."""

from __future__ import annotations

import pytest

from bench.simulate import fill, generate_value, iter_runs, simulate
from bench.spec import VarSpec, load_scenarios


@pytest.fixture(scope="module")
def lambda_sim():  # type: ignore[no-untyped-def]
    sc = load_scenarios(["lambda-deploy"])[0]
    return simulate(sc, 40, seed=3)


def _fingerprint(sim):  # type: ignore[no-untyped-def]
    return [
        (r.author, [(e.kind, e.text, e.duration, e.exit_code) for e in r.events]) for r in sim.runs
    ]


def test_same_seed_same_runs_and_other_seed_differs() -> None:
    sc = load_scenarios(["k8s-rollback"])[0]
    a, b, c = simulate(sc, 12, seed=1), simulate(sc, 12, seed=1), simulate(sc, 12, seed=2)
    assert _fingerprint(a) == _fingerprint(b)
    assert _fingerprint(a) != _fingerprint(c)
    # Adding runs never changes earlier ones.
    assert _fingerprint(simulate(sc, 14, seed=1))[:12] == _fingerprint(a)


def test_holdout_is_the_newest_share(lambda_sim) -> None:  # type: ignore[no-untyped-def]
    assert len(lambda_sim.visible) == 28 and len(lambda_sim.held_out) == 12
    assert max(r.started for r in lambda_sim.visible) < min(r.started for r in lambda_sim.held_out)
    starts = [r.started for r in lambda_sim.runs]
    assert starts == sorted(starts)


def test_runs_carry_the_deviations_the_spec_asks_for(lambda_sim) -> None:  # type: ignore[no-untyped-def]
    kinds = {e.kind for r in lambda_sim.runs for e in r.events}
    assert {"step", "verify", "noise", "typo", "retry", "fail", "fix"} <= kinds
    typos = [e for r in lambda_sim.runs for e in r.events if e.kind == "typo"]
    assert all(e.exit_code == 127 and "not found" in e.output for e in typos)
    orders = {tuple(r.step_order) for r in lambda_sim.runs if r.outcome == "success"}
    assert len(orders) > 1  # swaps and the optional step vary the order
    assert any(r.outcome == "failure" for r in lambda_sim.runs) or any(
        r.failure for r in lambda_sim.runs
    )
    # Steps of a run happen in time order and never overlap.
    for r in lambda_sim.runs:
        for a, b in zip(r.events, r.events[1:], strict=False):
            assert a.end <= b.start


def test_varying_tokens_vary_and_constants_do_not(lambda_sim) -> None:  # type: ignore[no-untyped-def]
    versions = {r.values["version"] for r in lambda_sim.runs}
    assert len(versions) == len(lambda_sim.runs)
    secrets = {r.values["aws_secret"] for r in lambda_sim.runs}
    assert len(secrets) == 1  # per_run: false — one value for the whole scenario
    assert lambda_sim.planted_secrets()  # secrets made it into the visible evidence


def test_rolled_back_runs_stop_at_the_failure() -> None:
    sc = load_scenarios(["postgres-migration"])[0]
    sim = simulate(sc, 60, seed=7)
    rolled = [r for r in sim.runs if r.failure and r.failure.rolled_back]
    assert rolled
    for r in rolled:
        assert r.outcome == "failure"
        assert r.events[-1].kind == "fail"
    fixed = [r for r in sim.runs if r.failure and not r.failure.rolled_back]
    for r in fixed:
        kinds = [e.kind for e in r.events]
        assert kinds.index("fail") < kinds.index("fix")
        assert r.outcome == "success"


def test_fill_leaves_undeclared_braces() -> None:
    assert (
        fill("docker inspect {name} --format '{{.Id}}' {other}", {"name": "x"})
        == "docker inspect x --format '{{.Id}}' {other}"
    )


@pytest.mark.parametrize(
    ("kind", "pattern"),
    [
        ("aws_key_id", r"AKIA[A-Z2-7]{16}"),
        ("github_token", r"ghp_[A-Za-z0-9]{36}"),
        ("jwt", r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+"),
        ("sha256", r"[0-9a-f]{64}"),
        ("uuid", r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}"),
        ("pod", r"app-[a-z0-9]{10}-[a-z0-9]{5}"),
    ],
)
def test_generators_make_realistic_tokens(kind: str, pattern: str) -> None:
    import random
    import re
    from datetime import datetime

    value = generate_value(VarSpec("x", kind), random.Random(1), 0, datetime(2025, 1, 1))
    assert re.fullmatch(pattern, value), value


def test_iter_runs_spacing_packs_runs_closely() -> None:
    sc = load_scenarios(["lambda-deploy"])[0]
    runs = list(iter_runs(sc, 5, seed=1, spacing_minutes=30))
    span = (runs[-1].started - runs[0].started).total_seconds()
    assert span < 5 * 3600
