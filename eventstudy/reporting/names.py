"""Collision-free file stems of a study's plots and HTML anchors of its names."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal

PlotKind = Literal["car", "overview", "heatmap", "pooled"]
PlotKey = tuple[str, str, "str | None"]
"""``(kind, event, group)`` of a plot (``group`` None for the overview, heat table
and pooled plot; ``event`` ``""`` for the pooled plot)."""
_STEM_PART_MAX = 60
_HASH_LEN = 8


def _safe_part(raw: str) -> str:
    """``raw`` with every character but ``A-Za-z0-9.-_`` replaced by ``_``, cut to
    :data:`_STEM_PART_MAX` characters (``_`` when empty)."""
    return re.sub(r"[^A-Za-z0-9.\-_]", "_", raw)[:_STEM_PART_MAX] or "_"


def _digest(raw: str, n: int = _HASH_LEN) -> str:
    """The first ``n`` hex digits of the SHA-256 of ``raw`` (UTF-8)."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:n]


def _stem_of(prefix: Sequence[str], parts: Sequence[str]) -> str:
    """``prefix`` and the sanitised ``parts`` joined by ``_``, plus ``-<hash of the
    raw parts>`` when sanitising changed any part."""
    safe = [_safe_part(x) for x in parts]
    stem = "_".join(list(prefix) + safe)
    if safe != list(parts):
        stem += "-" + _digest(json.dumps(list(parts)))
    return stem


def _unique_stems(base: dict[Any, tuple[str, str]]) -> dict[Any, str]:
    """Stems that differ even on a case-insensitive file system.

    ``base`` maps each key to ``(stem, raw)``: its stem alone (see :func:`_stem_of`)
    and a text unique to the key. Keys whose stems are equal ignoring case get
    ``-<hash of raw>`` appended (longer hashes if they still clash), so the result
    depends only on the set of keys, never on their order.
    """
    out = {k: s for k, (s, _) in base.items()}
    n = _HASH_LEN
    while True:
        seen: dict[str, list[Any]] = {}
        for k, s in out.items():
            seen.setdefault(s.casefold(), []).append(k)
        clash = [k for ks in seen.values() if len(ks) > 1 for k in ks]
        if not clash or n > 64:
            return out
        for k in clash:
            out[k] = f"{base[k][0]}-{_digest(base[k][1], n)}"
        n *= 2


def plot_file_stem(kind: PlotKind, event: str, group: str | None = None) -> str:
    """File stem of one plot, on its own (:func:`plot_file_stems` makes a study's
    stems collision-free).

    The event id and group are sanitised (characters other than ``A-Za-z0-9.-_``
    become ``_``, each part is cut to 60 characters); when that changes either of
    them, ``-`` and 8 hex digits of the SHA-256 of the raw names are appended, so
    ``A/B`` and ``A_B`` get different stems.

    Examples
    --------
    >>> plot_file_stem("car", "E05_JP_DEAL", "jp_autos")
    'car_E05_JP_DEAL_jp_autos'
    >>> plot_file_stem("overview", "E/1 x")
    'overview_E_1_x-a5ba77d5'
    >>> plot_file_stem("pooled", "")
    'pooled'
    """
    if kind == "pooled":
        return "pooled"
    parts = [str(event)] + ([str(group)] if group is not None else [])
    return _stem_of([kind], parts)


def plot_file_stems(keys: Iterable[PlotKey]) -> dict[PlotKey, str]:
    """Collision-free file stems of a study's plots.

    Parameters
    ----------
    keys
        ``(kind, event, group)`` of every plot of the study (``group`` None for the
        overview and heat table).

    Returns
    -------
    dict
        Key -> stem: :func:`plot_file_stem`, plus ``-<hash>`` for the stems that
        would otherwise be equal ignoring case (``a`` and ``A`` on a
        case-insensitive file system; event ``A`` with group ``B_c`` and event
        ``A_B`` with group ``c``). Deterministic: it depends only on the set of
        keys.

    Examples
    --------
    >>> stems = plot_file_stems([("overview", "a", None), ("overview", "A", None),
    ...                          ("overview", "b", None)])
    >>> stems[("overview", "b", None)]
    'overview_b'
    >>> len({s.lower() for s in stems.values()})
    3
    """
    base = {k: (plot_file_stem(k[0], k[1], k[2]),  # type: ignore[arg-type]
                json.dumps([k[0], k[1], k[2]])) for k in dict.fromkeys(keys)}
    return _unique_stems(base)


def name_stems(names: Iterable[str]) -> dict[str, str]:
    """Collision-free stems of names (event ids, groups), for HTML anchors.

    Each name is sanitised as in :func:`plot_file_stem` (with a hash when that
    changed it); names whose stems are equal ignoring case get a hash too.

    Examples
    --------
    >>> s = name_stems(["A/B", "A_B", "E1"])
    >>> s["A_B"], s["E1"], s["A/B"] != s["A_B"]
    ('A_B', 'E1', True)
    """
    base = {n: (_stem_of([], [str(n)]), str(n)) for n in dict.fromkeys(names)}
    return _unique_stems(base)
