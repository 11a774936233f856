"""Every Python example in docs/tutorial.md and the README's Library section runs."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_tutorial_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = _python_blocks((ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 4
    monkeypatch.chdir(ROOT)
    ns: dict[str, object] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for block in blocks:
            exec(compile(block, "docs/tutorial.md", "exec"), ns)  # noqa: S102


def test_readme_library_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Library", 1)[1].split("\n## ", 1)[0]
    blocks = _python_blocks(section)
    assert blocks, "README Library section has no python example"
    monkeypatch.chdir(ROOT)
    ns: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), ns)  # noqa: S102
    res = ns["res"]
    assert res.n_pairs > 50  # type: ignore[attr-defined]


def test_readme_study_file_keys_are_the_config_reference() -> None:
    """The README's "all keys" TOML block is the study-file reference of
    :mod:`eventstudy.config` (its docstring), so neither drifts."""
    import tomllib

    import eventstudy.config as config
    from eventstudy.config import _KNOWN  # noqa: PLC2701 - the parser's key list

    full = str(config.__doc__).split("Full set of keys and defaults::", 1)[1]
    lines: list[str] = []
    for line in full.lstrip("\n").splitlines():
        if line and not line.startswith("    "):
            break
        lines.append(line[4:])
    reference = "\n".join(lines).strip("\n")
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    after = text.split("All keys, with their defaults", 1)[1]
    block = after.split("```toml\n", 1)[1].split("```", 1)[0].strip("\n")
    assert block == reference
    parsed = tomllib.loads(block)
    assert {k: set(v) for k, v in parsed.items()} == {
        k: set(v) for k, v in _KNOWN.items()}
