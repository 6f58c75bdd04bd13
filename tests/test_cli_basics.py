from click.testing import CliRunner

from runbook.cli import main


def test_version_and_help() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0
    assert "runbook" in result.output
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "evidence" in result.output
