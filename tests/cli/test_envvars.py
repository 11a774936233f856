"""Every option of every command has its EVENTSTUDY_... variable, under the name the
README's table documents, and the variables work."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from conftest import MiniStudy

from eventstudy.cli import cli, iter_options

README = Path(__file__).resolve().parents[2] / "README.md"


def _documented() -> list[tuple[str, str, str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("### Environment variables", 1)[1].split("\n## ", 1)[0]
    row = r"^\| `eventstudy ([^`]+)` \| `(--[\w-]+)` \| `(EVENTSTUDY_\w+)` \|"
    rows = re.findall(row, section, flags=re.M)
    return [(c, o, v) for c, o, v in rows]


def test_readme_table_lists_every_option_with_its_variable() -> None:
    actual = [(" ".join(path), max(opt.opts, key=len), str(opt.envvar))
              for path, opt in iter_options()]
    assert len(actual) > 40
    assert _documented() == actual


def test_every_variable_is_namespaced_and_unique_per_command() -> None:
    seen: dict[tuple[tuple[str, ...], str], str] = {}
    for path, opt in iter_options():
        assert str(opt.envvar).startswith("EVENTSTUDY_"), (path, opt.opts)
        assert opt.show_envvar
        key = (path, str(opt.envvar))
        assert key not in seen, key
        seen[key] = str(opt.name)


def test_variables_set_the_options(mini_study: MiniStudy, tmp_path: Path) -> None:
    out = tmp_path / "from-env"
    env = {"EVENTSTUDY_RUN_OUT": str(out), "EVENTSTUDY_RUN_TESTS": "csect_t",
           "EVENTSTUDY_RUN_PRICES": str(mini_study.prices),
           "EVENTSTUDY_RUN_QUIET": "1"}
    r = CliRunner().invoke(cli, ["run", str(mini_study.study)], env=env)
    assert r.exit_code == 0, r.output
    assert r.output == ""  # quiet, from the environment
    import pandas as pd

    assert set(pd.read_csv(out / "tests.csv")["test"]) == {"csect_t"}


def test_cache_dir_variable_is_shared(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["prices", "show", "7203.T"],
                           env={"EVENTSTUDY_CACHE_DIR": str(tmp_path / "c")})
    assert r.exit_code == 2
    assert str(tmp_path / "c") in r.output
