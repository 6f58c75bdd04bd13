"""Splitting shell scripts and terminal transcripts into logical commands."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runbook.sources.shell import ShellLine, is_transcript, split_script

SCRIPT = """#!/usr/bin/env bash
set -euo pipefail
# build and push
docker build -t report-worker:1.4.2 .   # tag with the release
aws lambda update-function-code \\
  --function-name report_worker \\
  --image-uri 123456789012.dkr.ecr.us-east-1.amazonaws.com/report-worker:1.4.2

cat <<'JSON' > /tmp/payload.json
{"ping": true}
# this line is heredoc body, not a comment
JSON
for fn in report_worker api; do
  aws lambda wait function-updated --function-name "$fn"
done
aws ecr get-login-password --region us-east-1 |
  docker login --username AWS --password-stdin 123456789012.dkr.ecr.us-east-1.amazonaws.com
echo "multi
line" && true
"""


def test_script_logical_commands() -> None:
    lines = split_script(SCRIPT)
    assert [(sl.offset, sl.command) for sl in lines] == [
        (1, "set -euo pipefail"),
        (3, "docker build -t report-worker:1.4.2 ."),
        (
            4,
            "aws lambda update-function-code --function-name report_worker "
            "--image-uri 123456789012.dkr.ecr.us-east-1.amazonaws.com/report-worker:1.4.2",
        ),
        (
            8,
            "cat <<'JSON' > /tmp/payload.json\n"
            '{"ping": true}\n# this line is heredoc body, not a comment\nJSON',
        ),
        (
            12,
            'for fn in report_worker api; do\n  aws lambda wait function-updated --function-name "$fn"\ndone',
        ),
        (
            15,
            "aws ecr get-login-password --region us-east-1 | docker login --username AWS "
            "--password-stdin 123456789012.dkr.ecr.us-east-1.amazonaws.com",
        ),
        (17, 'echo "multi\nline" && true'),
    ]
    assert all(sl.output == "" and not sl.prompted for sl in lines)


def test_stray_apostrophe_does_not_swallow_the_rest() -> None:
    lines = split_script("echo don't panic\nkubectl get pods\n")
    assert [sl.command for sl in lines] == ["echo don't panic", "kubectl get pods"]


TRANSCRIPT = """Logged in as deploy.
$ kubectl get pods -n prod
NAME          READY   STATUS
api-7d9c-x1   1/1     Running
deploy@ci-3:~/app$ make test
ok  \tapi\t1.2s
# systemctl restart nginx
# Check the logs now
>>> print("python, not shell")
python, not shell
PS C:\\app> Get-Service nginx
(venv) $ echo 'a
> b'
a
b
"""


def test_transcript_prompts_and_output() -> None:
    lines = split_script(TRANSCRIPT)
    assert lines == [
        ShellLine(
            1,
            "kubectl get pods -n prod",
            "NAME          READY   STATUS\napi-7d9c-x1   1/1     Running",
            None,
            True,
        ),
        # next to "$"/"user@host$" prompts a bare "# ..." line is output, not a root prompt
        ShellLine(
            4,
            "make test",
            "ok  \tapi\t1.2s\n# systemctl restart nginx\n# Check the logs now\n"
            '>>> print("python, not shell")\npython, not shell',
            "~/app",
            True,
        ),
        ShellLine(10, "Get-Service nginx", "", None, True),
        ShellLine(11, "echo 'a\nb'", "a\nb", None, True),
    ]


def test_root_prompt_only_in_transcripts() -> None:
    # in a bash script "# restart" is a comment; in a console fence it is a root prompt
    assert split_script("# systemctl restart nginx\nls\n", transcript=False) == [ShellLine(1, "ls")]
    got = split_script("# systemctl restart nginx\nok\n", transcript=True)
    assert got == [ShellLine(0, "systemctl restart nginx", "ok", None, True)]
    assert split_script("# Restart the service\n", transcript=True) == []


def test_python_repl_is_not_a_transcript() -> None:
    assert not is_transcript(">>> import os\n>>> os.getcwd()\n'/app'")
    assert is_transcript("$ ls\nREADME.md")
    assert is_transcript("root@web-1:/var/log# tail -n 5 syslog")


def test_backslash_continuation_in_transcript() -> None:
    text = "$ aws s3 sync dist/ s3://site-bucket \\\n>   --delete\nupload: dist/index.html\n"
    assert split_script(text) == [
        ShellLine(
            0, "aws s3 sync dist/ s3://site-bucket --delete", "upload: dist/index.html", None, True
        )
    ]


@given(st.text(max_size=300), st.sampled_from([None, True, False]))
def test_never_raises(text: str, transcript: bool | None) -> None:
    for sl in split_script(text, transcript=transcript):
        assert sl.command.strip()
        assert 0 <= sl.offset < len(text.split("\n"))


AGENT_TRANSCRIPT = """⏺ I'll check the pods first.

⏺ Bash(kubectl get pods -n prod)
  ⎿  NAME       READY   STATUS
     api-1      1/1     Running

⏺ Read(deploy/values.yaml)
  ⎿  Read 40 lines

⏺ Bash(aws lambda update-function-code --function-name report_worker
      --image-uri 123456789012.dkr.ecr.us-east-1.amazonaws.com/report-worker:1.4.3)
  ⎿  Error: An error occurred (ResourceConflictException) when calling the UpdateFunctionCode operation
"""


def test_agent_terminal_transcript() -> None:
    # Claude Code's own rendering: only Bash(...) calls are shell; other tools end the output
    assert is_transcript(AGENT_TRANSCRIPT)
    assert split_script(AGENT_TRANSCRIPT) == [
        ShellLine(
            2,
            "kubectl get pods -n prod",
            "NAME       READY   STATUS\napi-1      1/1     Running",
            None,
            True,
        ),
        ShellLine(
            9,
            "aws lambda update-function-code --function-name report_worker "
            "--image-uri 123456789012.dkr.ecr.us-east-1.amazonaws.com/report-worker:1.4.3",
            "Error: An error occurred (ResourceConflictException) when calling the "
            "UpdateFunctionCode operation",
            None,
            True,
        ),
    ]


def test_timed_user_prompt_is_a_prompt_with_its_clock() -> None:
    # a PS1 with \t in front: "[10:03:40] dana@ops-bastion:~/src/app$ cmd"
    text = (
        "[10:03:40] dana@ops-bastion:~/src/app$ git pull --ff-only\n"
        "Already up to date.\n"
        "[10:04:10] dana@ops-bastion:~/src/app$ dcoker build -t app .\n"
        "bash: dcoker: command not found\n"
    )
    lines = split_script(text)
    assert [sl.command for sl in lines] == ["git pull --ff-only", "dcoker build -t app ."]
    assert [sl.clock for sl in lines] == ["10:03:40", "10:04:10"]
    assert lines[0].cwd == "~/src/app"
    assert lines[1].output == "bash: dcoker: command not found"


def test_bare_clock_before_dollar_prompt() -> None:
    # a pasted log: "14:52:30 $ cmd" (no brackets)
    text = "14:52:30 $ helm upgrade api ./chart\nRelease upgraded\n14:53:10 $ kubectl get pods\n"
    lines = split_script(text)
    assert [sl.command for sl in lines] == ["helm upgrade api ./chart", "kubectl get pods"]
    assert [sl.clock for sl in lines] == ["14:52:30", "14:53:10"]
    assert lines[0].output == "Release upgraded"


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("kubectl rollout status deployment/api -n prod", True),
        ("ENV=prod doppler run -- aws s3 ls", True),
        ("use the staging profile first", False),
        ("should be healthy after a minute", False),  # a word only the shell list had
        ("no errors in the last hour", False),  # a word only the notes list had
    ],
)
def test_one_prose_list_for_notes_and_transcripts(text: str, command: bool) -> None:
    from runbook.sources.common import looks_like_command
    from runbook.sources.shell import PROSE_WORDS

    assert looks_like_command(text) is command
    assert (text.split()[0].lower() in PROSE_WORDS) is not command
