"""The five example runbooks of the issue, regenerated from examples/acme-platform and compared.

Review a diff of tests/data/golden/examples/ like code: it is what an operator would read.
`pytest --update-goldens` rewrites them.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from _golden import check_golden

from runbook.api import generate
from runbook.config import load_config

ROOT = Path(__file__).resolve().parents[1] / "examples" / "acme-platform"
CASES = [
    ("deployment", "lambda"),
    ("rollback", "lambda"),
    ("incident-response", "API timeout"),
    ("migration", "Aurora schema change"),
    ("scaling", "Aurora read replica addition"),
]

pytestmark = pytest.mark.skipif(not ROOT.is_dir(), reason="example corpus not present")


@pytest.mark.parametrize(("op_type", "scope"), CASES)
def test_example_runbook(request: pytest.FixtureRequest, op_type: str, scope: str) -> None:
    config = replace(load_config(ROOT), cache=False)  # never write a cache into examples/
    result = generate(
        ROOT, op_type, scope, today=date(2025, 12, 28), config=config, allow_single_run=True
    )
    check_golden(request, f"examples/{result.filename}.md", result.markdown)
    check_golden(request, f"examples/{result.filename}.json", result.json)
    doc = json.loads(result.json)
    assert doc["steps"], "every example type has recorded runs to mine"
    planted = ROOT / ".secrets-planted.txt"
    if planted.is_file():
        for secret in planted.read_text(encoding="utf-8").splitlines():
            secret = secret.strip()
            if secret and not secret.startswith("#"):
                assert secret not in result.markdown and secret not in result.json
