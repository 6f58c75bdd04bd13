"""assemble and mine read the program behind wrappers from normalize's one wrapper table."""

from __future__ import annotations

import pytest

from runbook.assemble import program_of, programs_in
from runbook.mine.tables import segment_program, segments
from runbook.normalize import normalize


@pytest.mark.parametrize(
    ("text", "program", "sub"),
    [
        ("ENV=prod doppler run -- aws lambda wait function-updated", "aws", "lambda wait"),
        (
            "infisical run --env=prod -- kubectl rollout status deploy/api",
            "kubectl",
            "rollout status",
        ),
        ("teller run -- terraform apply", "terraform", "apply"),
        ("varlock run -- helm upgrade api ./chart", "helm", "upgrade api"),
        ("sudo -u deploy systemctl restart api", "systemctl", "restart api"),
        ("timeout 30 kubectl get pods", "kubectl", "get pods"),
        ("kubectl get pods|grep api", "kubectl", "get pods"),
        ("aws s3 sync \\\n  ./dist s3://bucket", "aws", "s3 sync"),
    ],
)
def test_program_of_reads_past_every_known_wrapper(text: str, program: str, sub: str) -> None:
    assert program_of(text) == (program, sub)
    # the mined program agrees with normalize's
    assert normalize(text).program == program


@pytest.mark.parametrize(
    ("text", "program"),
    [
        ("infisical run -- aws s3 ls", "aws"),
        ("sudo -u postgres psql -c 'select 1'", "psql"),
        ("timeout 60 curl -fsS https://x/health", "curl"),
        ("bash -c 'ls; kubectl apply -f x.yaml'", "bash"),  # kinds unwraps the script itself
    ],
)
def test_segment_program_uses_the_same_table(text: str, program: str) -> None:
    assert segment_program(segments(text)[0]) == program


def test_programs_in_lists_wrappers_and_pipeline_programs_but_not_heredoc_bodies() -> None:
    text = "teller run -- kubectl apply -f - <<EOF | tee out.txt\nkind: Deployment\nEOF"
    assert programs_in(text) == ["teller", "kubectl", "tee"]
    # a quoted `|` is an argument, not a pipe
    assert programs_in("grep 'a|b' log.txt && make deploy") == ["grep", "make"]
