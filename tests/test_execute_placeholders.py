"""Which `{name}`s `runbook run` and `runbook validate` take for parameters: a runbook with a
Parameters section has those and no others, and the braces of a jsonpath or jq expression
(`{end}`) are never parameters."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_execute import Fake, session

from runbook.errors import ExitStatus
from runbook.runbook_parse import command_placeholders
from runbook.validate import validate_runbook

JSONPATH = "'{range .items[*]}{.metadata.name}{\"\\n\"}{end}'"

DECLARED = f"""\
# Runbook: Scaling - checkout

**Generated**: 2025-11-02
**Last Validated**: 2025-11-01
**Estimated Duration**: ~2 minutes
**Runbook Owner**: platform
**Review Frequency**: Quarterly

## Parameters

- `{{namespace}}` — the namespace of the service, e.g. `shop`
- `{{replicas}}` — how many pods to run, e.g. `6`

## Procedure

### Step 1: Scale the deployment

**Command**:
```bash
kubectl scale deployment/checkout -n {{namespace}} --replicas={{replicas}}
```

**Verification**:
```bash
kubectl get pods -n {{namespace}} -l app=checkout -o jsonpath={JSONPATH}
```

**Expected**: one pod name a line

### Step 2: Watch the rollout

**Command**:
```bash
kubectl rollout status deployment/checkout -n {{namespace}} --timeout=120s
```
"""


def test_a_jsonpath_end_is_not_asked_for_when_parameters_are_declared() -> None:
    fake = Fake(answers=["shop", "6", "y", "y"], results={"get pods": []})
    s = session(fake, text=DECLARED)
    assert s.state.values == {"namespace": "shop", "replicas": "6"}
    assert not any("{end}" in q for q in fake.asked)
    result = s.execute(None)
    assert result.status is ExitStatus.OK
    assert fake.commands[1] == (
        f"kubectl get pods -n shop -l app=checkout -o jsonpath={JSONPATH}"
    )  # the jsonpath runs exactly as written
    assert "not among the runbook's Parameters" not in fake.text  # jsonpath syntax: no note


def test_an_undeclared_name_runs_as_written_with_a_note() -> None:
    text = DECLARED.replace("--timeout=120s", "--timeout={rollout-timeout}")
    fake = Fake(answers=["shop", "6", "y", "y"])
    s = session(fake, text=text)
    assert "rollout-timeout" not in s.state.values
    assert "{rollout-timeout} is not among the runbook's Parameters: it runs as written" in (
        fake.text
    )


def test_without_a_parameters_section_every_name_outside_a_jsonpath_is_one() -> None:
    text = DECLARED.split("## Parameters")[0] + "## Procedure" + DECLARED.split("## Procedure")[1]
    text = text.replace("--timeout=120s", "--timeout={rollout-timeout}")
    fake = Fake(answers=["shop", "6", "120s", "q"])
    s = session(fake, text=text)
    assert s.state.values == {"namespace": "shop", "replicas": "6", "rollout-timeout": "120s"}
    assert not any("{end}" in q for q in fake.asked)


@pytest.mark.parametrize(
    ("command", "names"),
    [
        ("kubectl get pods -n {ns} -o jsonpath='{.items[0].metadata.name}'", ["ns"]),
        ("kubectl get pods -o jsonpath={range .items[*]}{.status.phase}{end}", []),
        ("kubectl get nodes -o go-template='{{range .items}}{{end}}' --context {ctx}", ["ctx"]),
        ("aws lambda list-functions | jq '.Functions[] | {name}'", []),
        ("jq -r '{id}' out.json && deploy --id {release-id}", ["release-id"]),
        ('curl -d \'{"tag": "{image-tag}"}\' https://{host}/deploy', ["image-tag", "host"]),
    ],
)
def test_parameters_of_a_command(command: str, names: list[str]) -> None:
    assert [m.group(1) for m in command_placeholders(command)] == names


def test_validate_does_not_flag_jsonpath_braces_but_flags_undeclared_names(
    tmp_path: Path,
) -> None:
    path = tmp_path / "scale.md"
    path.write_text(DECLARED.replace("--timeout=120s", "--timeout={rollout-timeout}"), "utf-8")
    from datetime import date

    result = validate_runbook(path, display="scale.md", today=date(2025, 11, 20))
    rb108 = [f.message for f in result.findings if f.rule == "RB108"]
    assert rb108 == ["placeholder `{rollout-timeout}` is used but never explained"]
    assert not [f for f in result.findings if f.rule == "RB109"]  # both declared names used


def test_a_here_string_is_not_a_heredoc() -> None:
    from runbook.runbook_parse import shell_commands

    body = 'redis-cli -h {host} <<< "PING"\nredis-cli -h {host} INFO memory'
    assert [text for _line, text in shell_commands(body, "bash")] == body.split("\n")
