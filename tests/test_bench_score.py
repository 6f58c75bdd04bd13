"""The scorer on hand-made runbook JSON: each figure reacts to exactly the defect it measures."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from bench.baselines import latest_run, most_frequent, oracle
from bench.score import commands_match, kendall_tau, mask_output, mask_truth, score
from bench.simulate import Simulation, simulate
from bench.spec import load_scenarios

DECLARED = frozenset({"version", "digest"})


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate(load_scenarios(["lambda-deploy"])[0], 60, seed=7)


@pytest.fixture()
def perfect(sim: Simulation) -> dict[str, Any]:
    # The oracle writes templates with the spec's {var} names, like a tool's {placeholders}.
    return oracle(sim)


def _step(out: dict[str, Any], step_id_command_prefix: str) -> dict[str, Any]:
    return next(s for s in out["steps"] if s["commands"][0].startswith(step_id_command_prefix))


def test_masking_and_matching() -> None:
    truth = mask_truth("docker push repo/app:{version}", DECLARED)
    assert truth == "docker push repo/app:<*>"
    assert commands_match(truth, mask_output("docker push repo/app:{image-tag}"))
    assert commands_match(
        truth, mask_output("docker push repo/app:2.4.1")
    )  # literal still the same step
    assert commands_match(truth, mask_output("docker push {image}"))
    assert not commands_match(truth, mask_output("docker pull repo/app:{tag}"))
    assert not commands_match(truth, mask_output("docker push repo/app:{tag} --all-tags"))
    # Quotes are shell syntax, not content; redaction markers are placeholders.
    assert commands_match(
        mask_truth('aws x --paths "/*"', DECLARED), mask_output("aws x --paths '/*'")
    )
    assert commands_match(
        mask_truth('curl -H "Authorization: Bearer {jwt}" u', frozenset({"jwt"})),
        mask_output('curl -H "Authorization: Bearer [REDACTED]" u'),
    )
    # Undeclared braces (docker --format) are compared the same way on both sides.
    assert commands_match(
        mask_truth("docker inspect x --format '{{.Id}}'", DECLARED),
        mask_output("docker inspect x --format '{{.Id}}'"),
    )


def test_kendall_tau() -> None:
    assert kendall_tau([0, 1, 2, 3], [10, 20, 30, 40], set()) == 1.0
    assert kendall_tau([0, 1, 2, 3], [40, 30, 20, 10], set()) == -1.0
    assert kendall_tau([0, 1, 2], [20, 10, 30], set()) == pytest.approx(1 / 3)
    assert kendall_tau([0, 1, 2], [20, 10, 30], {(0, 1)}) == 1.0  # declared swappable pair ignored


def test_oracle_scores_perfectly(sim: Simulation, perfect: dict[str, Any]) -> None:
    s = score(perfect, sim)
    assert s.recall == s.precision == s.kendall_tau == s.parameterization == 1.0
    assert s.noise_rejection == 1.0 and s.verification_pairing == 1.0
    assert s.troubleshooting_coverage == 1.0 and s.leaked_secrets == 0
    assert s.duration_error is not None and s.duration_error < 0.2
    assert s.misses() == [] or s.misses() == ["steps_within_20"]


def test_missing_and_extra_steps(sim: Simulation, perfect: dict[str, Any]) -> None:
    out = copy.deepcopy(perfect)
    out["steps"] = [s for s in out["steps"] if not s["commands"][0].startswith("docker tag")]
    out["steps"][0]["commands"].append("ls -la")
    s = score(out, sim)
    assert s.recall == pytest.approx(7 / 8)
    assert s.precision == pytest.approx(7 / 8)
    assert any("docker tag" in m for m in s.details["missing_steps"])
    assert s.details["extra_commands"][0]["command"] == "ls -la"


def test_order_swap_lowers_tau_but_declared_swaps_do_not(
    sim: Simulation, perfect: dict[str, Any]
) -> None:
    out = copy.deepcopy(perfect)
    steps = out["steps"]
    steps[0], steps[1] = steps[1], steps[0]  # test/build: a declared swap pair
    assert score(out, sim).kendall_tau == 1.0
    steps[2], steps[4] = steps[4], steps[2]  # tag after plan: a real order error
    tau = score(out, sim).kendall_tau
    assert tau is not None and tau < 0.95


def test_literal_values_and_templated_constants_lower_parameterization(
    sim: Simulation, perfect: dict[str, Any]
) -> None:
    out = copy.deepcopy(perfect)
    build = _step(out, "docker build")
    build["commands"] = ["docker build -t report-worker:2.4.3 --build-arg GIT_SHA=6b39012 ."]
    s = score(out, sim)
    assert s.recall == 1.0
    assert s.parameterization is not None and s.parameterization < 1.0
    assert any("should be a placeholder" in e for e in s.details["param_errors"])
    out2 = copy.deepcopy(perfect)
    _step(out2, "terraform -chdir=infra/lambda apply")["commands"] = [
        "terraform {chdir} apply -auto-approve tfplan"
    ]
    s2 = score(out2, sim)
    assert any("should stay literal" in e for e in s2.details["param_errors"])


def test_verification_pairing(sim: Simulation, perfect: dict[str, Any]) -> None:
    out = copy.deepcopy(perfect)
    _step(out, "terraform -chdir=infra/lambda apply")["verification"] = None
    s = score(out, sim)
    assert s.verification_pairing == pytest.approx(2 / 3)
    # A verification attached to the wrong step does not count.
    out = copy.deepcopy(perfect)
    v = _step(out, "docker build")["verification"]
    _step(out, "docker build")["verification"] = None
    _step(out, "docker tag")["verification"] = v
    assert score(out, sim).verification_pairing == pytest.approx(2 / 3)


def test_noise_in_steps_lowers_noise_rejection(sim: Simulation, perfect: dict[str, Any]) -> None:
    noise = next(e.text for r in sim.visible for e in r.events if e.kind == "noise")
    out = copy.deepcopy(perfect)
    out["steps"][2]["commands"].append(noise)
    s = score(out, sim)
    assert s.noise_rejection is not None and s.noise_rejection < 1.0
    assert mask_output(noise) in s.details["noise_kept"]


def test_secret_anywhere_in_output_is_a_leak(sim: Simulation, perfect: dict[str, Any]) -> None:
    secret = sim.planted_secrets()[0]
    out = copy.deepcopy(perfect)
    out["steps"][3]["expected_output"] = f"token {secret}"
    assert score(out, sim).leaked_secrets == 1
    assert score(perfect, sim, raw_text=f"noise {secret}").leaked_secrets == 1


def test_troubleshooting_needs_signature_and_true_fix(
    sim: Simulation, perfect: dict[str, Any]
) -> None:
    out = copy.deepcopy(perfect)
    for entry in out["troubleshooting"]:
        if entry["title"] == "ecr-token-expired":
            entry["solution"] = ["Re-run the push"]
    s = score(out, sim)
    modes = s.details["troubleshooting"]["modes"]
    assert (
        modes["ecr-token-expired"]["signature_found"]
        and not modes["ecr-token-expired"]["fix_found"]
    )
    assert s.troubleshooting_coverage is not None and s.troubleshooting_coverage < 1.0
    # Fix commands inside prose / backticks / bullets still count.
    for entry in out["troubleshooting"]:
        if entry["title"] == "ecr-token-expired":
            entry["solution"] = [
                "1. Log in again: `aws ecr get-login-password --region us-east-1 | docker login --username AWS --password-stdin 123456789012.dkr.ecr.us-east-1.amazonaws.com`"
            ]
    assert score(out, sim).troubleshooting_coverage == 1.0


def test_durations(sim: Simulation, perfect: dict[str, Any]) -> None:
    out = copy.deepcopy(perfect)
    out["estimated_duration"]["median_seconds"] *= 2
    for step in out["steps"]:
        step["duration"] = None
    s = score(out, sim)
    assert s.duration_error is not None and s.duration_error > 0.5
    assert s.steps_within_20 == 0.0


def test_baselines_have_the_tool_shape_and_lose(sim: Simulation) -> None:
    tool_like = score(oracle(sim), sim)
    for fn in (latest_run, most_frequent):
        out = fn(sim)
        json.dumps(out)
        assert out["schema_version"] == 1 and out["steps"]
        s = score(out, sim)
        assert s.verification_pairing == 0.0
        assert s.troubleshooting_coverage == 0.0
        assert (s.parameterization or 0) < (tool_like.parameterization or 0)
    newest = max((r for r in sim.visible if r.outcome == "success"), key=lambda r: r.started)
    assert [s["commands"][0] for s in latest_run(sim)["steps"]] == [e.text for e in newest.events]


def test_garbage_output_does_not_crash(sim: Simulation) -> None:
    for bad in (
        {},
        {"steps": "x"},
        {"steps": [None, {"commands": [3, None]}], "troubleshooting": [1]},
    ):
        s = score(bad, sim)  # type: ignore[arg-type]
        assert s.recall == 0.0


def test_quoting_lost_only_flags_commands_that_would_glob() -> None:
    from bench.score import quoting_lost

    assert quoting_lost('aws x --paths "/*"', "aws x --paths /*")
    assert quoting_lost(
        "aws y --query 'Versions[-2].Version'", "aws y --query Versions[-2].Version"
    )
    assert not quoting_lost('aws x --paths "/*"', "aws x --paths '/*'")
    assert not quoting_lost('pg_dump "postgresql://u:{pw}@h/db"', "pg_dump postgresql://u:<*>@h/db")
    assert not quoting_lost("ls *.md", "ls *.md")  # unquoted in the recording too
