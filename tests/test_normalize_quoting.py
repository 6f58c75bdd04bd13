"""Display text runs exactly as recorded: each word keeps its quoting; placeholders stay inside."""

from __future__ import annotations

import itertools
import json
import re
import shlex
from datetime import datetime, timedelta
from pathlib import Path

from _mine_runs import run
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runbook.cli import main
from runbook.execute import substitute
from runbook.mine import mine, render_commands
from runbook.model import Command, MinedCommand, OperationType, Procedure, SourceRef
from runbook.normalize import normalize, quote_contexts, shell_word, unquoted_globs

T0 = datetime(2025, 10, 1, 9, 0, 0)


def _all(p: Procedure) -> list[MinedCommand]:
    return [
        c for s in p.steps for c in (*s.commands, *((s.verification,) if s.verification else ()))
    ] + [*p.pre_checks, *p.monitoring]


def _argv(display: str) -> list[str]:
    """Shell words of a display text, without the variant comment lines."""
    lines = [ln for ln in display.splitlines() if not ln.startswith("# ")]
    return shlex.split("\n".join(lines))


# ------------------------------------------------------------------ words


def test_spelling_is_kept_on_every_token() -> None:
    t = normalize("""echo "$HOME/x"a\\ b 'c d' >/tmp/f""")
    assert [tok.spelling for tok in t.tokens] == ["echo", '"$HOME/x"a\\ b', "'c d'", ">", "/tmp/f"]


def test_quote_contexts_read_each_character() -> None:
    assert quote_contexts("""a'b'"c\\$"\\d$(x y)""") == ("abc$d$(x y)", "bsdxecccccc")
    assert quote_contexts("'open") is None


def test_recorded_quotes_are_kept() -> None:
    assert shell_word("/*", "'/*'", after_flag=True) == "'/*'"
    assert shell_word("$HOME/x", '"$HOME/x"') == '"$HOME/x"'
    assert shell_word("a b", '"a b"') == '"a b"'
    assert shell_word("plain", "plain") == "plain"


def test_a_glob_that_lost_its_quotes_is_quoted_again() -> None:
    # the value of a flag: the shell would glob it (to every top-level directory for /*)
    assert shell_word("/*", "/*", after_flag=True) == "'/*'"
    assert shell_word("services[0].desiredCount", "services[0].desiredCount", after_flag=True) == (
        "'services[0].desiredCount'"
    )
    # --flag=value and KEY=value keep the name bare; the tilde prefix stays expandable
    assert shell_word("--query=a[0]", "--query=a[0]") == "--query='a[0]'"
    assert shell_word("~/logs/*.log", "~/logs/*.log", after_flag=True) == "~/'logs/*.log'"
    # $VAR expansion survives: double quotes, not single
    assert shell_word("$PREFIX/*", "$PREFIX/*", after_flag=True) == '"$PREFIX/*"'


def test_a_positional_file_pattern_stays_a_glob() -> None:
    assert shell_word("dist/*", "dist/*") == "dist/*"
    assert shell_word("logs/*.gz", "logs/*.gz") == "logs/*.gz"
    # but brackets (JMESPath, jq) are never a file pattern
    assert shell_word(".items[0]", ".items[0]") == "'.items[0]'"


def test_placeholders_stay_inside_the_quotes() -> None:
    text = "Reservations[].Instances[?InstanceId=='i-0abc1234']"
    at = text.index("i-0abc1234")
    shown = shell_word(text, f'"{text}"', slots=((at, at + 10, "{instance-id}"),))
    assert shown == "\"Reservations[].Instances[?InstanceId=='{instance-id}']\""
    assert substitute(shown, {"instance-id": "i-0abc1234"}) == f'"{text}"'


def test_without_a_spelling_words_get_shlex_quoting() -> None:
    assert shell_word("a b", "") == "'a b'"
    assert shell_word("it's", "") == shlex.quote("it's")
    assert shell_word("", "") == "''"
    assert shell_word("{name}-x", "", slots=((0, 6, "{name}"),)) == "{name}-x"


def test_unbalanced_spelling_is_shown_as_recorded() -> None:
    assert shell_word("'abc", "'abc") == "'abc"
    assert shell_word("'x'", "'x'") == "'x'"  # a whitespace-split word keeps its quote marks
    source = SourceRef("j.md", 1)
    (shown,) = render_commands([Command("echo 'deploy v1.2.3 done", source)], normalize)
    assert shown == "echo 'deploy {version} done"


def test_unquoted_globs_counts_only_bare_glob_characters() -> None:
    assert unquoted_globs("'/*'") == 0
    assert unquoted_globs("/*") == 1
    assert unquoted_globs("a[0]'*'") == 1


# ------------------------------------------------------------------ normalize keys


def test_expressions_keep_their_structure_around_a_placeholder() -> None:
    t = normalize(
        "aws ec2 describe-instances --query "
        "\"Reservations[].Instances[?InstanceId=='i-0abc1234def567890'].State.Name\""
    )
    assert t.key.endswith(
        "--query \"Reservations[].Instances[?InstanceId=='{instance-id}'].State.Name\""
    )
    json_key = normalize(
        'aws dynamodb delete-item --table-name locks --key \'{"LockID":{"S":"tf-2025-01-02T10:11:12Z"}}\''
    )
    assert json_key.key.endswith('--key \'{"LockID":{"S":"tf-{timestamp}"}}\'')
    # a plain value still becomes one placeholder named after its flag
    assert normalize("aws x --image-uri reg/api:v1.2.3").key == "aws x --image-uri {image-uri}"


# ------------------------------------------------------------------ mined commands


def _mined(texts_per_run: list[list[str]]) -> list[MinedCommand]:
    runs = [
        run(f"r{i}", [(text, 5) for text in texts], start=T0 + timedelta(days=i))
        for i, texts in enumerate(texts_per_run)
    ]
    return _all(mine(runs, OperationType.DEPLOYMENT))


def test_mined_commands_keep_recorded_quotes_and_requote_lost_ones() -> None:
    inval = "aws cloudfront create-invalidation --distribution-id E2QWRTYUIOP123 --paths '/*'"
    query = (
        "aws ecs describe-services --cluster prod --services api --query 'services[0].desiredCount'"
    )
    lost = query.replace("'", "")
    mined = _mined(
        [
            ["npm run build", inval, query],
            ["npm run build", inval, lost],
            ["npm run build", inval.replace("'/*'", '"/*"'), query],
        ]
    )
    texts = {c.text for c in mined}
    assert inval in texts  # majority spelling: single quotes
    assert query in texts  # one run lost the quotes; the shell must not glob it


def test_a_tie_between_spellings_goes_to_the_most_recent_run() -> None:
    older = "aws s3 cp build/app.js s3://web/ --cache-control 'max-age=60, public'"
    newer = older.replace("'max-age=60, public'", '"max-age=60, public"')
    texts = {c.text for c in _mined([["npm run build", older], ["npm run build", newer]])}
    assert newer in texts


def test_placeholder_inside_a_jmespath_stays_quoted() -> None:
    ids = ["i-0abc1234def567890", "i-0fed9876cba543210", "i-0123456789abcdef0"]
    mined = _mined(
        [
            [
                "npm run build",
                "aws ec2 describe-instances --query "
                f"\"Reservations[].Instances[?InstanceId=='{i}'].State.Name\" --output text",
            ]
            for i in ids
        ]
    )
    (cmd,) = [c for c in mined if c.text.startswith("aws ec2")]
    assert cmd.text == (
        "aws ec2 describe-instances --query "
        "\"Reservations[].Instances[?InstanceId=='{instance-id}'].State.Name\" --output text"
    )


def test_fix_commands_keep_their_quotes() -> None:
    source = SourceRef("j.md", 1)
    texts = render_commands(
        [
            Command(
                "aws dynamodb delete-item --table-name tf-locks "
                '--key \'{"LockID":{"S":"tf-state/prod"}}\'',
                source,
            ),
            Command("kubectl get pods -o jsonpath='{.items[*].metadata.name}'", source),
        ],
        normalize,
    )
    assert texts == (
        'aws dynamodb delete-item --table-name tf-locks --key \'{"LockID":{"S":"tf-state/prod"}}\'',
        "kubectl get pods -o jsonpath='{.items[*].metadata.name}'",
    )


# ------------------------------------------------------------------ property: argv round trip

_ALPHABET = "abcXYZ019._-/:,=@%+*?[]{}$'\" ;|&<>()~#!\\"
_value = st.text(alphabet=_ALPHABET, min_size=1, max_size=12)


def _double(value: str) -> str:
    # shlex reads \$ inside double quotes as two characters (bash: one): no $ here
    if "$" in value or "`" in value:
        return shlex.quote(value)
    return '"' + "".join("\\" + c if c in '"\\' else c for c in value) + '"'


@st.composite
def _argument(draw: st.DrawFn) -> tuple[str, list[str]]:
    """One argument as a flag and value; its spelling in each of three runs."""
    flag = draw(st.sampled_from(["--query", "--paths", "--key", "--filter", "-o"]))
    value = draw(_value)
    styles = draw(st.lists(st.sampled_from(["single", "double", "bare"]), min_size=3, max_size=3))
    spelled: list[str] = []
    for style in styles:
        if style == "double":
            spelled.append(_double(value))
        elif style == "bare" and all(c.isalnum() or c in "._-/:,=@%+*?[]" for c in value):
            spelled.append(value)  # a recording that lost the quotes of a glob
        else:
            spelled.append(shlex.quote(value))
    glued = draw(st.booleans()) and flag.startswith("--")
    return flag, [f"{flag}={s}" if glued else f"{flag} {s}" for s in spelled]


_VERSIONS = ("v1.4.2", "v1.5.0", "v2.0.1")


@st.composite
def _commands(draw: st.DrawFn) -> list[str]:
    """Three runs of one command: quoted arguments plus a version that varies per run."""
    args = draw(st.lists(_argument(), min_size=1, max_size=3, unique_by=lambda a: a[0]))
    where = draw(st.sampled_from(["bare", "single", "double", "json"]))
    out: list[str] = []
    for r, version in enumerate(_VERSIONS):
        if where == "bare":
            varying = f"--image-tag {version}"
        elif where == "single":
            varying = f"--image 'registry/app:{version}'"
        elif where == "double":
            varying = f'--image "registry/app:{version}"'
        else:
            varying = f'--overrides \'{{"tag":"{version}","ok":true}}\''
        out.append(" ".join(["deployctl", "apply", varying, *(a[1][r] for a in args)]))
    return out


def _round_trips(display: str, params: dict[str, tuple[str, ...]], original: str) -> bool:
    names = sorted(params)
    for values in itertools.product(*(params[n] or ("",) for n in names)):
        try:
            argv = _argv(substitute(display, dict(zip(names, values, strict=True))))
        except ValueError:
            continue
        if argv == shlex.split(original):
            return True
    return False


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_commands())
def test_display_text_round_trips_to_the_recorded_argv(commands: list[str]) -> None:
    runs = [
        run(f"r{i}", [("make build", 5), (text, 5)], start=T0 + timedelta(days=i))
        for i, text in enumerate(commands)
    ]
    mined = [c for c in _all(mine(runs, OperationType.DEPLOYMENT)) if "deployctl" in c.text]
    assert len(mined) == 1
    cmd = mined[0]
    params = {p.name: p.examples for p in cmd.params}
    for original in commands:
        assert _round_trips(cmd.text, params, original), (cmd.text, params, original)


@settings(max_examples=150, deadline=None)
@given(st.lists(_value, min_size=1, max_size=4))
def test_fix_command_round_trips(values: list[str]) -> None:
    text = " ".join(["tool", "exec", *(shlex.quote(v) for v in values)])
    (shown,) = render_commands([Command(text, SourceRef("j.md", 1))], normalize)
    got, want = _argv(shown), shlex.split(text)
    assert len(got) == len(want), (shown, text)
    for word, recorded in zip(got, want, strict=True):
        # a per-run value seen once (a version, a date) is a placeholder: any value fits
        pattern = ".+".join(re.escape(p) for p in re.split(r"\{[a-z][a-z0-9-]*\}", word))
        assert re.fullmatch(pattern, recorded, re.DOTALL), (shown, text)


# ------------------------------------------------------------------ the whole pipeline

_DIST = "E2QWRTYUIOP123"
_INSTANCES = (
    "i-0abc1234def567890",
    "i-0fed9876cba543210",
    "i-0123456789abcdef0",
    "i-0aa11bb22cc33dd44",
)


def _observation(root: Path, day: int, instance: str, *, lost_quotes: bool = False) -> None:
    when = f"2025-11-{day:02d}"
    query = f"Reservations[].Instances[?InstanceId=='{instance}'].State.Name"
    calls = [
        ("npm ci", "added 812 packages in 31s", "33s"),
        ("npm run build", "vite v5.4.8 building for production...\n✓ built in 41.20s", "44s"),
        ("aws s3 sync dist/ s3://acme-web-prod --delete", "upload: dist/index.html", "19s"),
        (
            f"aws cloudfront create-invalidation --distribution-id {_DIST} --paths '/*'",
            '{"Invalidation": {"Status": "InProgress"}}',
            "2s",
        ),
        (
            # one recording lost the quotes: the runbook must still quote the expression
            f"aws ec2 describe-instances --query {query} --output text"
            if lost_quotes
            else f'aws ec2 describe-instances --query "{query}" --output text',
            "running",
            "2s",
        ),
        ("curl -fsS https://www.acme.example/healthz", "ok", "1s"),
    ]
    blocks = [
        f"### Bash - {when}T10:{2 * i:02d}:00Z\n\n**Input**:\n```bash\n{text}\n```\n"
        f"**Output**:\n```\n{output}\n```\n\n**Exit Code**: 0\n**Duration**: {duration}\n"
        for i, (text, output, duration) in enumerate(calls)
    ]
    path = (
        root / ".claude" / "observations" / when / f"execution-10{day:02d}00-deployment-frontend.md"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'---\nmode: execution\ndate: {when}\ntime: "10:00:00"\n'
        'context: "Deploy the web frontend to prod"\ntags: [deployment, frontend, prod]\n---\n\n'
        "# Execution: frontend deploy\n\n## Tool Calls\n\n" + "\n".join(blocks),
        encoding="utf-8",
    )


def test_generated_runbook_keeps_the_quotes(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    for n, (day, instance) in enumerate(zip((3, 10, 17, 24), _INSTANCES, strict=True)):
        _observation(root, day, instance, lost_quotes=n == 1)
    runner = CliRunner()
    env = {"RUNBOOK_NOW": "2025-12-28"}
    base = ["generate", "deployment", "frontend", "--root", str(root), "--stdout"]
    md = runner.invoke(main, base, env=env, catch_exceptions=False)
    js = runner.invoke(main, [*base, "--format", "json"], env=env, catch_exceptions=False)
    assert md.exit_code == 0 and js.exit_code == 0, md.stderr + js.stderr
    invalidate = f"aws cloudfront create-invalidation --distribution-id {_DIST} --paths '/*'"
    describe = (
        "aws ec2 describe-instances --query "
        "\"Reservations[].Instances[?InstanceId=='{instance-id}'].State.Name\" --output text"
    )
    assert invalidate in md.stdout.splitlines()
    assert describe in md.stdout.splitlines()
    data = json.loads(js.stdout)
    commands = [c for step in data["steps"] for c in step["commands"]]
    commands += [
        step["verification"]["command"] for step in data["steps"] if step.get("verification")
    ]
    assert invalidate in commands
    assert describe in commands
    assert not any("--paths /*" in c for c in commands)
