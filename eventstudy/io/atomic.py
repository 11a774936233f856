"""Atomic file writes: a temporary file beside the target, then ``os.replace``."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def temp_beside(path: Path) -> Path:
    """A fresh temporary path in ``path``'s folder (created with the umask's mode)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")


def replace_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Let ``write`` create a temporary file beside ``path``, then move it into
    place with ``os.replace``; on any failure the temporary file is removed and
    ``path`` is untouched."""
    tmp = temp_beside(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically."""

    def write(tmp: Path) -> None:
        with open(tmp, "x", encoding="utf-8", newline="\n") as fh:
            fh.write(text)

    replace_atomic(path, write)
