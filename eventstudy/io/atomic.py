"""Atomic file writes: a temporary file beside the target, then ``os.replace``."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def fsync_path(path: Path, strict: bool = False) -> None:
    """Flush a file's or a folder's data to disk (a folder: its entries, so that a
    rename in it is durable).

    With ``strict`` an ``OSError`` propagates (a file whose content must be on disk);
    without it, a path the system cannot open or sync (a folder on some file systems)
    is skipped.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        if strict:
            raise
        return
    try:
        os.fsync(fd)
    except OSError:
        if strict:
            raise
    finally:
        os.close(fd)


def temp_beside(path: Path) -> Path:
    """A fresh temporary path in ``path``'s folder (created with the umask's mode)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")


def replace_atomic(path: Path, write: Callable[[Path], object],
                   durable: bool = False) -> None:
    """Let ``write`` create a temporary file beside ``path``, then move it into
    place with ``os.replace``; on any failure the temporary file is removed and
    ``path`` is untouched.

    Parameters
    ----------
    path
        The target file.
    write
        Writes the whole content to the path it is given.
    durable
        Also ``fsync`` the file before the rename and its folder after it, so the
        new content survives a power cut (the price cache asks for it).
    """
    tmp = temp_beside(path)
    try:
        write(tmp)
        if durable:
            fsync_path(tmp, strict=True)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_path(path.parent)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically."""

    def write(tmp: Path) -> None:
        with open(tmp, "x", encoding="utf-8", newline="\n") as fh:
            fh.write(text)

    replace_atomic(path, write)
