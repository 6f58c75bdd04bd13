"""A heredoc recorded in the runs (``cat <<EOF > values.yaml`` + body + ``EOF``) is shown in
the runbook as the recorded lines, values that vary become parameters inside the body, and
``runbook run`` writes the file the runs wrote."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from _validate_corpus import write_run
from test_execute import Fake

from runbook import api
from runbook.errors import ExitStatus
from runbook.execute import RunIO, RunOptions, Session, substitute
from runbook.observe import Captured, run_captured
from runbook.runbook_parse import parse_runbook

HEREDOC = "cat <<EOF > values.yaml\nimage:\n  tag: {sha}\nreplicas: 3\nEOF"


def _corpus(root: Path) -> None:
    for i, day in enumerate((1, 3, 5, 8)):
        calls = [
            ("make test", 60.0, 0, "42 passed"),
            (HEREDOC.replace("{sha}", f"a{i}b2c3d"), 1.0, 0, ""),
            ("helm upgrade billing-api ./chart -n prod -f values.yaml", 30.0, 0, "upgraded"),
            ("kubectl rollout status deployment/billing-api -n prod", 40.0, 0, "rolled out"),
        ]
        write_run(root, datetime(2025, 10, day, 10), calls)


def _runbook(root: Path) -> str:
    result = api.generate(root, "deployment", "billing-api", today=date(2025, 10, 9))
    return result.markdown


def test_the_body_shows_as_recorded_with_its_parameter(tmp_path: Path) -> None:
    _corpus(tmp_path)
    text = _runbook(tmp_path)
    fence = "cat << EOF > values.yaml\nimage:\n  tag: {commit-sha}\nreplicas: 3\nEOF\n```"
    assert fence in text
    assert "### Step 2: Write values.yaml" in text
    assert "- `{commit-sha}` — observed: `a1b2c3d`, `a2b2c3d`, `a3b2c3d`" in text


def test_run_writes_the_file_with_the_value_in_place(tmp_path: Path) -> None:
    _corpus(tmp_path / "corpus")
    text = _runbook(tmp_path / "corpus")
    work = tmp_path / "work"
    work.mkdir()

    def runner(command: str, timeout: float, on_output: Callable[[bytes, bool], None]) -> Captured:
        if not command.startswith("cat"):
            return Captured(0, "ok", 0.1)  # make, helm, kubectl are not run here
        return run_captured(command, cwd=str(work), timeout_s=timeout, on_output=on_output)

    fake = Fake(answers=["y", "y", "y", "y"])
    io = RunIO(ask=fake.ask, say=fake.said.append, show_output=fake.shown.append, runner=runner)
    value = "9f3c2e1"
    opts = RunOptions(params=(("commit-sha", value),))
    session = Session(parse_runbook(text, "rb.md"), text, opts, io)
    session.prepare()
    assert session.execute(None).status is ExitStatus.OK
    assert (work / "values.yaml").read_text() == f"image:\n  tag: {value}\nreplicas: 3\n"


def test_substitute_in_heredoc_bodies() -> None:
    command = "cat <<'EOF' | kubectl apply -f -\ntag: {tag}\nEOF\nkubectl get x -n {ns}"
    assert substitute(command, {"tag": "a'b $x", "ns": "a b"}) == (
        "cat <<'EOF' | kubectl apply -f -\ntag: a'b $x\nEOF\nkubectl get x -n 'a b'"
    )
    expanding = "cat <<EOF\ntag: {tag}\nEOF"
    command = substitute(expanding, {"tag": "a`b`$HOME"})
    assert command == "cat <<EOF\ntag: a\\`b\\`\\$HOME\nEOF"
    out = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True)
    assert out.stdout == "tag: a`b`$HOME\n"  # the value reaches the body, nothing expanded
