"""One output folder = one complete, consistent set of files from one run.

A run never writes into its ``--out`` folder file by file. It writes the whole set
(tables, ``summary.md``, ``run.json``, plots and report when asked) into a staging
folder beside it (``.<name>.new-<token>``, on the same file system), then swaps the
staging folder in with two renames::

    out  ->  .<name>.old-<token>        (skipped when out does not exist yet)
    .<name>.new-<token>  ->  out
    remove .<name>.old-<token>

So a reader, a crash or a concurrent run sees the old set, the new set, or (for the
instant between the two renames) no folder, never a mixture; files of an earlier run
that this run does not produce do not survive. Runs and refreshes of one folder take
the same lock, ``.<name>.lock`` beside it, for the whole of their work; the next holder
of the lock first repairs what a killed run left (:func:`recover`): it puts back an
``.old`` folder whose swap was cut between the two renames and deletes abandoned
staging folders.

``run.json`` lists every file of the set with its SHA-256 (``files``) and says which
optional parts the set has (``outputs``: plots, report). :func:`verify_set` checks a
folder against that list, so ``eventstudy report`` and ``eventstudy refresh`` know
whether the files belong together.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from eventstudy.errors import OutputError
from eventstudy.io.atomic import fsync_path

RUN_FILE = "run.json"
DERIVED_FILES = frozenset({"report.html", "report.md", "report.tex",
                           "cross_section.csv", "refresh.log"})
"""Files that commands add to a finished set later (derived from it, or a log a user
pointed there); never listed in ``run.json``."""


def lock_path(out: str | Path) -> Path:
    """The lock file that every writer of ``out`` holds: ``.<name>.lock`` beside it."""
    o = Path(out)
    return o.parent / f".{o.name}.lock"


def _describe(exc: OSError, path: Path) -> OutputError:
    why = {errno.ENOSPC: "no space left on the device; free some space or choose "
                         "another --out",
           errno.EDQUOT: "disk quota exceeded; free some space or choose another "
                         "--out",
           errno.EACCES: "permission denied; choose a folder you can write to",
           errno.EPERM: "permission denied; choose a folder you can write to",
           errno.EROFS: "read-only file system; choose another --out",
           errno.ENOTDIR: "a part of the path is a file, not a folder; choose "
                          "another --out",
           errno.ENAMETOOLONG: "the path is too long; choose a shorter --out"}
    reason = why.get(exc.errno or 0, f"cannot write ({exc.strerror or exc})")
    return OutputError(reason, path=str(exc.filename or path))


def check_target(out: str | Path, inputs: Iterable[str | Path] = ()) -> Path:
    """Check that ``out`` can receive an output set, before any work is done.

    Parameters
    ----------
    out
        The output folder.
    inputs
        The run's input files (study file, events, universe, prices, factors).

    Returns
    -------
    pathlib.Path
        ``out``, absolute.

    Raises
    ------
    OutputError
        ``out`` is a file or lies under one; it is, or contains, an input file; or it
        is a folder with other content that is not an eventstudy output set (a run
        replaces the whole folder).
    """
    o = Path(out).absolute()
    if o.exists() and not o.is_dir():
        raise OutputError("is a file; --out must name a folder", path=str(out))
    for parent in o.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"lies under the file {parent}; choose another "
                                  "--out", path=str(out))
            break
    if o == Path(o.anchor):
        raise OutputError("is the root of the file system; choose a folder for the "
                          "outputs", path=str(out))
    ro = o.resolve()
    for inp in inputs:
        p = Path(inp).absolute().resolve()
        if p == ro or ro in p.parents:
            raise OutputError(f"contains the input {inp}: a run replaces the whole "
                              "output folder; choose a separate --out",
                              path=str(out))
    if o.is_dir() and any(o.iterdir()) and not (o / RUN_FILE).is_file():
        raise OutputError("exists and is not an eventstudy output folder (it has no "
                          "run.json); a run replaces the whole folder, so choose a new "
                          "or empty one", path=str(out))
    return o


@contextmanager
def output_lock(out: str | Path, wait: float | None = None) -> Iterator[None]:
    """Hold the lock of ``out`` (``.<name>.lock`` beside it) for a run or refresh.

    Parameters
    ----------
    out
        The output folder.
    wait
        Seconds to wait for another holder; None waits as long as it takes, 0 fails
        at once.

    Raises
    ------
    OutputError
        Another run or refresh of ``out`` holds the lock (after ``wait`` seconds), or
        the lock file cannot be created.
    """

    path = lock_path(out)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _describe(exc, path.parent) from None
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=-1 if wait is None else wait)
    except Timeout:
        raise OutputError(f"another run or refresh is writing it (lock {path}); try "
                          "again later or pass --wait SECONDS", path=str(out)) from None
    except OSError as exc:
        raise _describe(exc, path) from None
    try:
        yield
    finally:
        lock.release()


def recover(out: str | Path) -> None:
    """Repair what a killed writer of ``out`` left; call it holding the lock.

    An ``.<name>.old-*`` folder with no ``out`` is a swap cut between its two renames:
    it goes back into place. Abandoned ``.<name>.new-*`` staging folders and leftover
    ``.old-*`` folders are deleted.
    """
    o = Path(out)
    if not o.parent.is_dir():
        return
    olds = sorted(o.parent.glob(f".{o.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds and not o.exists():
        os.rename(olds.pop(), o)
    for d in olds + list(o.parent.glob(f".{o.name}.new-*")):
        shutil.rmtree(d, ignore_errors=True)



def _swap(stage: Path, out: Path) -> None:
    old: Path | None = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{secrets.token_hex(4)}"
        os.rename(out, old)
    os.rename(stage, out)
    fsync_path(out.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_set(out: str | Path, write: Callable[[Path], object]) -> list[Path]:
    """Write a complete output set with ``write(stage)`` and swap it in as ``out``.

    The caller holds :func:`output_lock` (``run`` and ``refresh`` do, for the whole
    run). ``write`` receives an empty staging folder beside ``out``; when it returns,
    the staging folder replaces ``out`` whole. When it raises (or the process is
    killed), ``out`` is left as it was.

    Parameters
    ----------
    out
        The output folder.
    write
        Writes every file of the set into the folder it is given.

    Returns
    -------
    list of pathlib.Path
        The files of the new set (under ``out``), sorted.

    Raises
    ------
    OutputError
        A file system error while writing or swapping (full disk, no permission, a
        path under a file), naming the path.
    """
    o = Path(out).absolute()
    try:
        o.parent.mkdir(parents=True, exist_ok=True)
        recover(o)
        stage = Path(_mkdtemp(o))
    except OSError as exc:
        raise _describe(exc, o) from None
    try:
        write(stage)
        files = sorted(p.relative_to(stage) for p in stage.rglob("*") if p.is_file())
        _fsync_files(stage, files)
        _swap(stage, o)
    except OSError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        raise _describe(exc, o) from None
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return [o / f for f in files]


def _mkdtemp(out: Path) -> str:
    """A new staging folder beside ``out``, with the permissions of a folder made by
    ``mkdir`` (the umask applies; ``tempfile.mkdtemp`` would make it private)."""
    for _ in range(100):
        path = out.parent / f".{out.name}.new-{secrets.token_hex(6)}"
        try:
            path.mkdir(mode=0o777)
        except FileExistsError:
            continue
        return str(path)
    raise FileExistsError(errno.EEXIST, "no free staging folder name", str(out))


def _fsync_files(stage: Path, files: list[Path]) -> None:
    for f in files:
        fsync_path(stage / f, strict=True)
    fsync_path(stage)


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes, as hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest(folder: str | Path, digests: Mapping[str, str] | None = None
             ) -> dict[str, str]:
    """``relative/posix/path -> SHA-256`` of every file in ``folder`` except
    ``run.json`` and the derived files (reports, cross-sections), sorted by path.

    Parameters
    ----------
    folder
        The folder.
    digests
        SHA-256 (hex) already known for some of its files (``relative/posix/path``
        keys), computed by their writers from the bytes as they wrote them; the
        other files are read and hashed.
    """
    root = Path(folder)
    known = digests or {}
    names = sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                   if p.is_file())
    return {n: known.get(n) or sha256_file(root / n) for n in names
            if n != RUN_FILE and n not in DERIVED_FILES}


def write_run_json(folder: str | Path, info: dict[str, Any],
                   report: str | None = None,
                   digests: Mapping[str, str] | None = None) -> Path:
    """Write ``run.json`` into a staging folder, listing its files.

    Parameters
    ----------
    folder
        The staging folder, holding every other file of the set already.
    info
        The run's metadata.
    report
        The report file the set will also hold (``"report.html"``), or None.
    digests
        SHA-256 of files whose writers hashed them as they wrote them (see
        :func:`manifest`), so that they are not read again; the caller vouches
        that those files are unchanged since.

    Returns
    -------
    pathlib.Path
    """
    root = Path(folder)
    plots = any((root / "plots").glob("*")) if (root / "plots").is_dir() else False
    full = dict(info)
    full["files"] = manifest(root, digests)
    full["outputs"] = {"plots": plots, "report": report}
    path = root / RUN_FILE
    path.write_text(json.dumps(full, indent=2, sort_keys=True, default=str) + "\n",
                    encoding="utf-8")
    return path


def verify_set(out: str | Path) -> list[str]:
    """Check that the files in ``out`` are the complete set its ``run.json`` lists.

    Parameters
    ----------
    out
        A finished output folder.

    Returns
    -------
    list of str
        One line per problem (a listed file missing or changed since the run, a file
        the run did not write, the declared report missing, no usable ``run.json``);
        empty when the set is complete and consistent.
    """
    o = Path(out)
    run = o / RUN_FILE
    if not run.is_file():
        return [f"{run}: missing; this is not a finished eventstudy run"]
    try:
        info = json.loads(run.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [f"{run}: unreadable ({exc}); rerun the study"]
    files = info.get("files") if isinstance(info, dict) else None
    if not isinstance(files, dict):
        return [f"{run}: lists no files (written by an older eventstudy); rerun the "
                "study"]
    problems: list[str] = []
    for name, sha in sorted(files.items()):
        p = o / name
        if not p.is_file():
            problems.append(f"{name}: missing")
        elif sha256_file(p) != sha:
            problems.append(f"{name}: changed since the run wrote it (SHA-256 "
                            "differs)")
    present = manifest(o)
    problems += [f"{name}: not written by this run" for name in present
                 if name not in files]
    report = (info.get("outputs") or {}).get("report")
    if report and not (o / str(report)).is_file():
        problems.append(f"{report}: missing (the run built it)")
    return problems
