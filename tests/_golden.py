"""Golden-file comparison shared by the render tests (`pytest --update-goldens` rewrites)."""

from __future__ import annotations

from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "data" / "golden"


def check_golden(request: pytest.FixtureRequest, name: str, text: str) -> None:
    """Compare ``text`` with the golden file, or rewrite it under --update-goldens."""
    path = GOLDEN / name
    if request.config.getoption("--update-goldens"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.is_file(), f"missing golden {path}; run pytest --update-goldens"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{path} differs; review and run pytest --update-goldens"
