"""One output folder = one complete set from one run (eventstudy.io.outputset).

Runs are killed (SIGKILL, in a real subprocess) at each stage of writing; two runs
write into one folder at once; a refresh is interrupted and repaired; the report
refuses files that do not belong together; bad output paths exit 2 with the path
named and no traceback.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import MiniStudy

from eventstudy.cli import cli
from eventstudy.io.outputset import lock_path, manifest, verify_set

SET = ("abnormal_returns.csv", "car.csv", "diagnostics.csv", "events.csv",
       "excluded.csv", "summary.md", "tests.csv")


def invoke(*args: object) -> object:
    return CliRunner().invoke(cli, [str(a) for a in args], prog_name="eventstudy")


def run_cli(ms: MiniStudy, out: Path, *extra: str) -> None:
    r = invoke("run", ms.study, "--prices", ms.prices, "--out", out, "-q", *extra)
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]


def _tests_in(out: Path) -> set[str]:
    import pandas as pd

    return set(pd.read_csv(out / "tests.csv")["test"])


def snapshot(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes()
            for p in sorted(out.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------ the set itself
def test_run_json_lists_every_file_with_its_sha(mini_study: MiniStudy,
                                                tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_cli(mini_study, out, "--plots")
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    listed = info["files"]
    on_disk = sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                     if p.is_file() and p.name != "run.json")
    assert sorted(listed) == on_disk
    assert set(SET) <= set(listed) and any(n.startswith("plots/") for n in listed)
    import hashlib

    for name, sha in listed.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == sha
    assert info["outputs"] == {"plots": True, "report": None}
    assert verify_set(out) == []
    # the folder has the permissions of an ordinary folder, not mkdtemp's 0700
    assert out.stat().st_mode & 0o077 == 0o777 & ~_umask() & 0o077


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_files_of_an_earlier_run_do_not_survive(mini_study: MiniStudy,
                                                tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_cli(mini_study, out, "--plots")
    assert (out / "plots").is_dir()
    r = invoke("report", out)
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    assert (out / "report.html").is_file()
    run_cli(mini_study, out, "--tests", "csect_t")
    assert not (out / "plots").exists()
    assert not (out / "report.html").exists()
    assert _tests_in(out) == {"csect_t"}
    assert verify_set(out) == []
    # nothing is left beside the folder but its lock
    beside = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out"))
    assert beside == [".out.lock"]


def test_report_refuses_files_that_do_not_belong_together(mini_study: MiniStudy,
                                                          tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_cli(mini_study, out)
    other = tmp_path / "other"
    run_cli(mini_study, other, "--tests", "csect_t")
    (out / "tests.csv").write_bytes((other / "tests.csv").read_bytes())
    (out / "stray.csv").write_text("x\n1\n", encoding="utf-8")
    r = invoke("report", out)
    assert r.exit_code == 2  # type: ignore[attr-defined]
    text = r.output  # type: ignore[attr-defined]
    assert "tests.csv: changed since the run wrote it" in text
    assert "stray.csv: not written by this run" in text
    assert "Traceback" not in text and not (out / "report.html").exists()
    r = invoke("report", out, "--force")
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    assert "warning: tests.csv: changed" in r.output  # type: ignore[attr-defined]


def test_report_on_a_folder_without_a_file_list(mini_study: MiniStudy,
                                                tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_cli(mini_study, out)
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    del info["files"]
    (out / "run.json").write_text(json.dumps(info), encoding="utf-8")
    r = invoke("report", out)
    assert r.exit_code == 2  # type: ignore[attr-defined]
    assert "lists no files" in r.output  # type: ignore[attr-defined]


# ------------------------------------------------------------------ killed runs
_DRIVER = textwrap.dedent("""
    import os, signal, sys
    import eventstudy.io.outputset as o
    import eventstudy.results.core as r

    stage = sys.argv[1]

    def die(*_a, **_k):
        os.kill(os.getpid(), signal.SIGKILL)

    if stage == "table":            # after the first table, before the others
        import eventstudy.io.csv as c
        orig = c.write_table
        calls = []
        def write_table(*a, **k):
            calls.append(1)
            if len(calls) == 2:
                die()
            return orig(*a, **k)
        c.write_table = write_table
    elif stage == "run_json":       # every table staged, run.json not yet
        r.write_run_json = die
    elif stage == "before_swap":    # the whole set staged and synced
        from pathlib import Path
        o.fsync_path = (lambda p, strict=False:
                        die() if ".new-" in Path(p).name else None)
    elif stage == "between_renames":  # out moved aside, the new set not in place
        orig_rename = os.rename
        def rename(src, dst):
            if ".new-" in str(src):
                die()
            return orig_rename(src, dst)
        o.os.rename = rename
    elif stage == "cleanup":        # new set in place, old one not yet deleted
        o.shutil.rmtree = lambda p, *a, **k: die() if ".old-" in str(p) else None
    from eventstudy.cli import main
    sys.argv = ["eventstudy"] + sys.argv[2:]
    main()
""")


def _killed_run(stage: str, ms: MiniStudy, out: Path, *args: str) -> int:
    cmd = [sys.executable, "-c", _DRIVER, stage, "run", str(ms.study), "--prices",
           str(ms.prices), "--out", str(out), "-q", *args]
    return subprocess.run(cmd, capture_output=True, timeout=300).returncode


@pytest.mark.parametrize("stage", ["table", "run_json", "before_swap",
                                   "between_renames", "cleanup"])
def test_a_run_killed_while_writing_leaves_one_set(stage: str, mini_study: MiniStudy,
                                                   tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_cli(mini_study, out, "--tests", "csect_t")
    old = snapshot(out)
    code = _killed_run(stage, mini_study, out, "--tests", "csect_t,patell", "--plots")
    assert code == -9  # killed by SIGKILL, where the stage said
    # whatever a reader finds now, after the next holder of the lock repaired what
    # the killed run left, is the old set or the new one, complete, never a mixture
    r = invoke("report", out)
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    assert verify_set(out) == []
    now = {k: v for k, v in snapshot(out).items() if k != "report.html"}
    if stage == "cleanup":
        assert _tests_in(out) == {"csect_t", "patell"}
        assert any(k.startswith("plots/") for k in now)
    else:
        assert now == old
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) \
        == [".out.lock"]


def test_a_killed_first_run_leaves_no_folder(mini_study: MiniStudy,
                                             tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _killed_run("run_json", mini_study, out) == -9
    assert not out.exists()
    run_cli(mini_study, out)  # the next run cleans the abandoned staging folder
    assert verify_set(out) == []
    assert [p.name for p in tmp_path.iterdir() if ".new-" in p.name] == []


# ------------------------------------------------------------------ concurrency
def test_two_concurrent_runs_into_one_folder(mini_study: MiniStudy,
                                             tmp_path: Path) -> None:
    out = tmp_path / "out"
    base = ["run", str(mini_study.study), "--prices", str(mini_study.prices), "--out",
            str(out), "-q"]
    code = ("from eventstudy.cli import main; import sys; "
            "sys.argv=['eventstudy']+sys.argv[1:]; main()")
    procs = [subprocess.Popen([sys.executable, "-c", code, *base, "--tests", t],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for t in ("csect_t", "csect_t,patell,bmp")]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    assert verify_set(out) == []
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert _tests_in(out) == set(info["parameters"]["tests"])
    assert manifest(out) == info["files"]


def test_a_locked_folder_makes_run_wait_and_refresh_fail(mini_study: MiniStudy,
                                                        tmp_path: Path) -> None:
    from filelock import FileLock

    out = tmp_path / "out"
    with FileLock(str(lock_path(out))):
        r = invoke("run", mini_study.study, "--prices", mini_study.prices, "--out",
                   out, "-q", "--wait", "0.2")
    assert r.exit_code == 2  # type: ignore[attr-defined]
    assert "another run or refresh is writing it" in r.output  # type: ignore
    assert not out.exists()


# ------------------------------------------------------------------ refresh
@pytest.fixture
def file_study(mini_study: MiniStudy) -> Path:
    """The mini study with its prices named in the study file (no network)."""
    text = mini_study.study.read_text(encoding="utf-8")
    text += '\n[data]\nsource = "file"\nprices = "prices.csv"\n'
    mini_study.study.write_text(text, encoding="utf-8")
    return mini_study.study


def _refresh(study: Path, out: Path) -> str:
    r = invoke("refresh", study, "--out", out)
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    return str(r.output)  # type: ignore[attr-defined]


def test_an_interrupted_refresh_is_repaired_by_the_next(file_study: Path,
                                                        tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert "rewritten" in _refresh(file_study, out)
    assert (out / "report.html").is_file() and (out / "plots").is_dir()
    assert "nothing rewritten" in _refresh(file_study, out)
    # new prices arrive; the refresh is killed after staging, before the swap
    prices = file_study.parent / "prices.csv"
    lines = prices.read_text(encoding="utf-8").splitlines()
    prices.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    before = snapshot(out)
    cmd = [sys.executable, "-c", _DRIVER, "before_swap", "refresh", str(file_study),
           "--out", str(out)]
    assert subprocess.run(cmd, capture_output=True, timeout=300).returncode == -9
    assert snapshot(out) == before  # the old set, whole
    assert "rewritten" in _refresh(file_study, out)  # the next refresh repairs it
    assert "nothing rewritten" in _refresh(file_study, out)
    assert verify_set(out) == []


@pytest.mark.parametrize("damage", ["report", "plot", "table"])
def test_refresh_rebuilds_an_incomplete_set(damage: str, file_study: Path,
                                            tmp_path: Path) -> None:
    out = tmp_path / "out"
    _refresh(file_study, out)
    if damage == "report":
        (out / "report.html").unlink()
    elif damage == "plot":
        next((out / "plots").glob("*.png")).unlink()
    else:
        (out / "car.csv").write_text("truncated", encoding="utf-8")
    assert "rewritten" in _refresh(file_study, out)
    assert verify_set(out) == [] and (out / "report.html").is_file()


# ------------------------------------------------------------------ bad --out
def _bad_out(ms: MiniStudy, out: Path) -> str:
    r = invoke("run", ms.study, "--prices", ms.prices, "--out", out, "-q")
    text = str(r.output)  # type: ignore[attr-defined]
    assert r.exit_code == 2, text  # type: ignore[attr-defined]
    assert "Traceback" not in text
    return text


def test_out_is_a_file(mini_study: MiniStudy, tmp_path: Path) -> None:
    f = tmp_path / "file.txt"
    f.write_text("x", encoding="utf-8")
    assert "is a file" in _bad_out(mini_study, f)
    assert "lies under the file" in _bad_out(mini_study, f / "out")
    assert f.read_text(encoding="utf-8") == "x"


def test_out_equal_to_or_containing_an_input(mini_study: MiniStudy) -> None:
    assert "contains the input" in _bad_out(mini_study, mini_study.root)
    assert "contains the input" in _bad_out(mini_study, mini_study.root.parent)
    assert mini_study.events.is_file()


def test_out_with_foreign_content(mini_study: MiniStudy, tmp_path: Path) -> None:
    d = tmp_path / "mine"
    d.mkdir()
    (d / "notes.txt").write_text("keep me", encoding="utf-8")
    assert "not an eventstudy output folder" in _bad_out(mini_study, d)
    assert (d / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_full_disk_is_a_clean_error(mini_study: MiniStudy, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import eventstudy.io.csv as csvmod  # every table goes through write_table

    out = tmp_path / "out"
    run_cli(mini_study, out, "--tests", "csect_t")
    old = snapshot(out)

    def full(*_a: object, **_k: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(out / "x"))

    monkeypatch.setattr(csvmod, "write_table", full)
    text = _bad_out(mini_study, out)
    assert "no space left on the device" in text
    assert snapshot(out) == old
    assert [p.name for p in tmp_path.iterdir() if ".new-" in p.name] == []
