"""Terraform reads and state checks pair as the verification of the plan / apply beside them."""

from __future__ import annotations

from runbook.mine import mine
from runbook.mine.kinds import check_kind
from runbook.model import Command, EvidenceKind, Execution, OperationType, Outcome, SourceRef
from runbook.normalize import normalize

TF = "terraform -chdir=infra/prod"


def test_show_of_a_saved_plan_piped_to_grep_is_a_read() -> None:
    assert (
        check_kind(normalize(f"{TF} show -no-color plan-7.tfplan | grep -E '^Plan:'")) == "verify"
    )
    assert check_kind(normalize(f"{TF} show")) == "verify"


def test_detailed_exitcode_plan_is_a_state_check_unless_it_saves_the_plan() -> None:
    assert check_kind(normalize(f"{TF} plan -input=false -detailed-exitcode")) == "verify"
    assert check_kind(normalize(f"{TF} plan -detailed-exitcode -out=tfplan")) == "dryrun"
    assert check_kind(normalize(f"{TF} plan -input=false -out=plan-7.tfplan")) == "dryrun"


def test_pipeline_after_a_write_is_not_a_read() -> None:
    assert check_kind(normalize(f"{TF} apply -auto-approve | tee apply.log")) is None


def _run(i: int) -> Execution:
    path = f"runs/tf-{i}.md"
    texts = [
        f"{TF} init -input=false",
        f"{TF} plan -input=false -out=plan-{i}.tfplan",
        f"{TF} show -no-color plan-{i}.tfplan | grep -E '^Plan:'",
        f"{TF} apply -input=false plan-{i}.tfplan",
        f"{TF} plan -input=false -detailed-exitcode",
        "curl -fsS https://api.example.com/health",
    ]
    return Execution(
        id=path,
        source=SourceRef(path, 1),
        kind=EvidenceKind.NOTES,
        outcome=Outcome.SUCCESS,
        commands=tuple(
            Command(t, SourceRef(path, n + 2), exit_code=0, duration_s=2.0)
            for n, t in enumerate(texts)
        ),
    )


def test_show_verifies_the_plan_and_detailed_plan_verifies_the_apply() -> None:
    procedure = mine([_run(i) for i in range(4)], OperationType.DEPLOYMENT)
    by_first = {
        step.commands[0].text.split()[2]: step.verification.text if step.verification else ""
        for step in procedure.steps
        if step.commands[0].text.startswith("terraform")
    }
    assert "show" in by_first["plan"]
    assert "-detailed-exitcode" in by_first["apply"]
    # neither check is a step of its own
    assert set(by_first) == {"init", "plan", "apply"}
