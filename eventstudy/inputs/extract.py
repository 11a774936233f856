"""Deterministic, offline extraction of event candidates from seed documents.

This module turns the news articles in ``seeds/`` into *candidate* mentions for a
human to review before anything goes into an event catalog under ``events/``. It
uses regular expressions and a keyword file only: no network, no language model,
no randomness and no clock, so the same inputs always give byte-identical output.

Output contract (one row per mention, see :data:`CANDIDATE_COLUMNS`)
--------------------------------------------------------------------
``doc``
    File name of the document.
``start``, ``end``
    Character offsets into the document text, decoded as UTF-8 with newlines left
    untranslated, so that ``text[start:end] == value``.
``sentence``
    The sentence that contains the mention (stripped of surrounding blanks).
``kind``
    ``"amount"``, ``"date"`` or ``"party"`` (:data:`MENTION_KINDS`).
``value``
    The matched text.
``normalized``
    See the rules below.
``entities``
    ``;``-joined canonical names of every keyword entity (parties and topics) found
    in the sentence, in order of first appearance.
``groups``
    ``;``-joined, sorted universe groups mapped from those entities.

Rows are sorted by ``(doc, start, kind)``.

Normalisation rules
-------------------
Amounts (digits only; spelled-out numbers and bare "billions" are not amounts):

* A currency must be given: ``$``, ``US$``, ``USD``, "... dollars" (US dollars);
  ``¥``, ``JPY``, "... yen"; ``€``, ``EUR``, "... euros"; ``₩``, ``KRW``, "... won";
  ``£``, ``GBP``. Scales: thousand/k, million/mn/m, billion/bn, trillion/tn (case
  does not matter for the words, so "$ 1 Trillion" is an amount).
* A leading approximator (around, about, approximately, approx., roughly, nearly,
  almost, some) is part of the mention: "Around $40 billion" → ``40000000000``.
  Bounds such as "up to" or "more than" are not part of it.
* US dollars are written as a plain number string of dollars: "$550 billion" →
  ``550000000000``; "$1,000" → ``1000``.
* An amount directly followed by a parenthesised amount is **one** mention:
  "6 trillion yen (approximately $55 billion)" → ``55000000000`` (the US-dollar
  figure the text states is used, even if it is arithmetically wrong).
* Otherwise yen are converted when the document states an exchange rate, e.g.
  "150 yen to the dollar", "$1 = ¥150" or "USD/JPY at 150" (the first one stated in
  the document is used; the rate phrase itself is not an amount). The dollar figure
  is rounded to whole dollars.
* Any other non-dollar amount is written as ``<ISO code> <number>``:
  "10 trillion yen" → ``JPY 10000000000000``.

Dates are closed intervals ``YYYY-MM-DD/YYYY-MM-DD``:

* "2025-07-22", "July 22, 2025", "22 July 2025" → that day.
* "July 2025" → ``2025-07-01/2025-07-31``; "2017" → the whole year; "1980s", "90’s"
  → the decade (two-digit decades ≥ 30 are 19xx, others 20xx).
* Parts of a month: early / beginning of / start of → days 1-10; mid / middle of →
  days 10-20; late / end of → day 20 to month end ("end of February 2026" →
  ``2026-02-20/2026-02-28``). Boundary days belong to both neighbours because the
  phrases are fuzzy.
* Parts of a year: beginning/start of → January; early → January-April; mid /
  middle of → May-August; late → September-December; end of → December ("end of
  2025" → ``2025-12-01/2025-12-31``).
* Ranges "A to B", "A through B", "A until B", "A–B", "between A and B" are one
  mention from the start of A to the end of B: "90’s to 2000" →
  ``1990-01-01/2000-12-31``.
* Expressions without a year are resolved against the document's *reference year*:
  the latest explicit year written in the document's date mentions (decades do not
  count). A bare month ("March"; bare "May" only when followed by a day) and
  "July 22" use that year; "this year", "earlier this year", "later this year", and
  "this/earlier this/later this week, month or quarter" → the whole reference year;
  "last year" / "next year" → the year before / after. When the document gives no
  year, or the expression cannot be bounded by a year ("last week", "yesterday",
  "tomorrow", weekday names), ``normalized`` is ``unresolved:<value>``.
* Durations ("several years", "the next 14 months", "decades") and generic words
  such as "today" (mostly "nowadays" in news prose) are not dates.

Parties are the alias matches of keyword entities whose ``kind`` is ``"party"``;
``normalized`` is the canonical entity name. Keyword files are described in
:func:`load_keywords`.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as _dt
import os
import re
import stat
import tempfile
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import pandas as pd

from eventstudy.errors import InputError

__all__ = [
    "CANDIDATE_COLUMNS",
    "ENTITY_KINDS",
    "MENTION_KINDS",
    "Entity",
    "EntityKind",
    "Keywords",
    "MentionKind",
    "extract_candidates",
    "load_keywords",
    "write_candidates",
]

MentionKind = Literal["amount", "date", "party"]
EntityKind = Literal["party", "topic"]

#: Mention kinds and what they are.
MENTION_KINDS: Mapping[str, str] = MappingProxyType(
    {
        "amount": "a sum of money with a currency",
        "date": "a calendar expression, normalised to a date interval",
        "party": "a named actor from the keyword file",
    }
)
#: Entity kinds of the keyword file and what they do.
ENTITY_KINDS: Mapping[str, str] = MappingProxyType(
    {
        "party": "a named actor; each alias match is a `party` row",
        "topic": "a subject word; only tags the sentence's entities and groups",
    }
)
#: Columns of :func:`extract_candidates`' result, in order.
CANDIDATE_COLUMNS: tuple[str, ...] = (
    "doc",
    "start",
    "end",
    "sentence",
    "kind",
    "value",
    "normalized",
    "entities",
    "groups",
)

# ----------------------------------------------------------------------------------
# Keywords
# ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entity:
    """One keyword entity.

    Parameters
    ----------
    name
        Canonical name, as written in the ``normalized`` and ``entities`` columns.
    kind
        ``"party"`` (alias matches become ``party`` rows) or ``"topic"`` (only tags
        sentences).
    aliases
        Exact, case-sensitive surface forms matched as whole words.
    groups
        Universe groups that a sentence naming the entity concerns.
    """

    name: str
    kind: EntityKind
    aliases: tuple[str, ...]
    groups: tuple[str, ...]


@dataclass(frozen=True)
class Keywords:
    """Immutable mapping of canonical entity names to aliases and universe groups.

    Parameters
    ----------
    entities
        The entities, in file order. Names must be unique and an alias may belong
        to one entity only.

    Raises
    ------
    InputError
        If a name or an alias is repeated or empty.

    Examples
    --------
    >>> kw = Keywords((Entity("Toyota", "party", ("Toyota",), ("jp_autos",)),))
    >>> kw.groups["Toyota"]
    ('jp_autos',)
    """

    entities: tuple[Entity, ...]

    def __post_init__(self) -> None:
        names: set[str] = set()
        owner: dict[str, str] = {}
        for ent in self.entities:
            if not ent.name.strip():
                raise InputError("keyword entity with an empty name")
            if ent.name in names:
                raise InputError(f"keyword entity {ent.name!r} is defined twice")
            names.add(ent.name)
            if ent.kind not in ENTITY_KINDS:
                raise InputError(
                    f"entity {ent.name!r}: kind must be one of "
                    f"{sorted(ENTITY_KINDS)}, not {ent.kind!r}"
                )
            if not ent.aliases:
                raise InputError(f"entity {ent.name!r} has no aliases")
            for alias in ent.aliases:
                if not alias.strip():
                    raise InputError(f"entity {ent.name!r} has an empty alias")
                if alias in owner:
                    raise InputError(
                        f"alias {alias!r} belongs to both {owner[alias]!r} and "
                        f"{ent.name!r}"
                    )
                owner[alias] = ent.name

    @property
    def aliases(self) -> dict[str, tuple[str, ...]]:
        """Canonical name → aliases."""
        return {e.name: e.aliases for e in self.entities}

    @property
    def groups(self) -> dict[str, tuple[str, ...]]:
        """Canonical name → universe groups."""
        return {e.name: e.groups for e in self.entities}

    def groups_for(self, names: Iterable[str]) -> tuple[str, ...]:
        """Sorted union of the groups of the named entities.

        Parameters
        ----------
        names
            Canonical entity names; unknown names are ignored.

        Returns
        -------
        tuple of str
            Sorted, de-duplicated universe groups.
        """
        table = self.groups
        return tuple(sorted({g for n in names for g in table.get(n, ())}))


# Built-in copy of events/keywords.toml (an installed package cannot read the
# repository's events/ folder). tests/inputs/test_extract.py checks they parse the same.
_DEFAULT_KEYWORDS_TOML = """
[entities.Japan]
kind = "party"
aliases = ["Japan", "Japanese", "Tokyo"]
groups = ["yen"]

[entities."South Korea"]
kind = "party"
aliases = ["South Korea", "Korea", "Korean", "Koreans", "Seoul"]
groups = ["kr_batteries"]

[entities."North Korea"]
kind = "party"
aliases = ["North Korea", "North Korean"]
groups = []

[entities."United States"]
kind = "party"
aliases = [
    "United States", "US", "U.S.", "U. S.", "USA", "America", "American",
    "Americans", "Washington", "White House",
]
groups = []

[entities.EU]
kind = "party"
aliases = ["EU", "European Union", "Europe", "European", "Brussels"]
groups = []

[entities.China]
kind = "party"
aliases = ["China", "Chinese", "Beijing"]
groups = []

[entities.Taiwan]
kind = "party"
aliases = ["Taiwan", "Taiwanese"]
groups = []

[entities."Bank of Japan"]
kind = "party"
aliases = ["Bank of Japan", "BOJ", "BoJ"]
groups = ["yen"]

[entities."US Supreme Court"]
kind = "party"
aliases = ["Supreme Court"]
groups = []

[entities.Trump]
kind = "party"
aliases = ["Trump", "Donald Trump"]
groups = []

[entities.Biden]
kind = "party"
aliases = ["Biden", "Joe Biden"]
groups = []

[entities.Ishiba]
kind = "party"
aliases = ["Ishiba", "Shigeru Ishiba"]
groups = ["yen"]

[entities.Takaichi]
kind = "party"
aliases = ["Takaichi", "Sanae Takaichi", "高市早苗"]
groups = ["yen"]

[entities.Lutnick]
kind = "party"
aliases = ["Lutnick", "Howard Lutnick", "卢特尼克"]
groups = []

[entities.Akazawa]
kind = "party"
aliases = ["Akazawa", "Ryosei Akazawa"]
groups = ["yen"]

[entities."Kurt Tong"]
kind = "party"
aliases = ["Kurt Tong", "Tong"]
groups = []

[entities.Toyota]
kind = "party"
aliases = ["Toyota", "Toyotas", "Toyota Motor"]
groups = ["jp_autos"]

[entities.Honda]
kind = "party"
aliases = ["Honda", "Honda Motor"]
groups = ["jp_autos"]

[entities.Nissan]
kind = "party"
aliases = ["Nissan", "Nissan Motor"]
groups = ["jp_autos"]

[entities.Mazda]
kind = "party"
aliases = ["Mazda", "Mazda Motor"]
groups = ["jp_autos"]

[entities.Subaru]
kind = "party"
aliases = ["Subaru"]
groups = ["jp_autos"]

[entities."Mitsubishi Motors"]
kind = "party"
aliases = ["Mitsubishi Motors"]
groups = ["jp_autos"]

[entities.Takeda]
kind = "party"
aliases = ["Takeda", "Takeda Pharmaceutical"]
groups = ["jp_pharma"]

[entities.Astellas]
kind = "party"
aliases = ["Astellas", "Astellas Pharma"]
groups = ["jp_pharma"]

[entities."Daiichi Sankyo"]
kind = "party"
aliases = ["Daiichi Sankyo"]
groups = ["jp_pharma"]

[entities.Eisai]
kind = "party"
aliases = ["Eisai"]
groups = ["jp_pharma"]

[entities.Chugai]
kind = "party"
aliases = ["Chugai", "Chugai Pharmaceutical"]
groups = ["jp_pharma"]

[entities.Otsuka]
kind = "party"
aliases = ["Otsuka", "Otsuka Holdings"]
groups = ["jp_pharma"]

[entities."Samsung SDI"]
kind = "party"
aliases = ["Samsung SDI"]
groups = ["kr_batteries"]

[entities."LG Energy Solution"]
kind = "party"
aliases = ["LG Energy Solution", "LGES"]
groups = ["kr_batteries"]

[entities."SK Innovation"]
kind = "party"
aliases = ["SK Innovation", "SK On"]
groups = ["kr_batteries"]

[entities."LG Chem"]
kind = "party"
aliases = ["LG Chem"]
groups = ["kr_batteries"]

[entities.SoftBank]
kind = "party"
aliases = ["SoftBank", "SoftBank Group"]
groups = ["jp_us_investors"]

[entities.TSMC]
kind = "party"
aliases = ["TSMC"]
groups = []

[entities."Nippon Steel"]
kind = "party"
aliases = ["Nippon Steel"]
groups = ["steel"]

[entities."US Steel"]
kind = "party"
aliases = ["US Steel", "U.S. Steel", "United States Steel"]
groups = ["steel"]

[entities.Hitachi]
kind = "party"
aliases = ["Hitachi"]
groups = ["jp_us_investors"]

[entities."Mitsubishi Corp."]
kind = "party"
aliases = ["Mitsubishi Corp.", "Mitsubishi Corporation"]
groups = ["jp_us_investors"]

[entities."Mitsubishi Heavy"]
kind = "party"
aliases = ["Mitsubishi Heavy", "Mitsubishi Heavy Industries"]
groups = ["jp_us_investors"]

[entities.Hyundai]
kind = "party"
aliases = ["Hyundai", "Hyundai Motor"]
groups = ["kr_autos"]

[entities.Kia]
kind = "party"
aliases = ["Kia"]
groups = ["kr_autos"]

[entities.ADR]
kind = "topic"
aliases = ["ADR", "ADRs", "American depositary receipts"]
groups = ["us_adrs"]

[entities.yen]
kind = "topic"
aliases = ["yen", "JPY"]
groups = ["yen"]

[entities.currency]
kind = "topic"
aliases = ["currency", "currencies", "forex", "exchange rate", "exchange rates"]
groups = ["yen"]

[entities.autos]
kind = "topic"
aliases = ["automaker", "automakers", "automotive", "car", "cars"]
groups = ["jp_autos"]

[entities.pharma]
kind = "topic"
aliases = [
    "pharma", "pharmaceutical", "pharmaceuticals", "drug", "drugs", "drugmaker",
    "drugmakers",
]
groups = ["jp_pharma"]

[entities.TrumpRx]
kind = "topic"
aliases = ["TrumpRx", "TrumpRx.gov"]
groups = ["jp_pharma"]

[entities.battery]
kind = "topic"
aliases = ["battery", "batteries", "lithium", "Lithium"]
groups = ["kr_batteries"]
"""


def _str_list(value: object, what: str, origin: str | None) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{what} must be a list of strings", path=origin)
    return tuple(str(v) for v in value)


def _parse_keywords(text: str, origin: str | None) -> Keywords:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", path=origin) from exc
    extra = sorted(set(data) - {"entities"})
    if extra:
        raise InputError(f"unknown top-level keys {extra}", path=origin)
    table = data.get("entities")
    if not isinstance(table, dict) or not table:
        raise InputError("needs a non-empty [entities] table", path=origin)
    entities: list[Entity] = []
    for name, spec in table.items():
        if not isinstance(spec, dict):
            raise InputError(f"[entities.{name}] must be a table", path=origin)
        unknown = sorted(set(spec) - {"kind", "aliases", "groups"})
        if unknown:
            raise InputError(f"[entities.{name}]: unknown keys {unknown}", path=origin)
        kind = spec.get("kind", "party")
        if kind == "party" or kind == "topic":
            checked_kind: EntityKind = kind
        else:
            raise InputError(
                f"[entities.{name}]: kind must be one of {sorted(ENTITY_KINDS)}, "
                f"not {kind!r}",
                path=origin,
            )
        aliases = _str_list(spec.get("aliases"), f"[entities.{name}].aliases", origin)
        groups = _str_list(spec.get("groups", []), f"[entities.{name}].groups", origin)
        entities.append(Entity(str(name), checked_kind, aliases, groups))
    try:
        return Keywords(tuple(entities))
    except InputError as exc:
        raise InputError(str(exc), path=origin) from exc


def load_keywords(path: str | Path | None = None) -> Keywords:
    """Read an entity → universe-group keyword file.

    Parameters
    ----------
    path
        A TOML file laid out like ``events/keywords.toml``: one ``[entities.NAME]``
        table per entity with ``kind`` (``"party"`` or ``"topic"``, default
        ``"party"``), ``aliases`` (list of strings) and ``groups`` (list of universe
        groups). ``None`` gives the built-in default, identical to the
        ``events/keywords.toml`` shipped in the repository.

    Returns
    -------
    Keywords
        The parsed, validated keywords.

    Raises
    ------
    InputError
        If the file is missing, unreadable, not TOML, or has an invalid entry.

    Examples
    --------
    >>> kw = load_keywords()
    >>> kw.groups["Samsung SDI"]
    ('kr_batteries',)
    """
    if path is None:
        return _parse_keywords(_DEFAULT_KEYWORDS_TOML, None)
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read keyword file: {exc}", path=str(p)) from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"keyword file is not UTF-8: {exc}", path=str(p)) from exc
    return _parse_keywords(text, str(p))


# ----------------------------------------------------------------------------------
# Mentions
# ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    kind: MentionKind
    value: str
    normalized: str


@dataclass(frozen=True)
class _Amount:
    start: int
    end: int
    currency: str  # ISO code
    amount: Decimal


@dataclass(frozen=True)
class _DateSpec:
    start: int
    end: int
    form: str
    match: re.Match[str]


_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_APPROX = r"(?:(?i:around|about|approximately|approx\.|roughly|nearly|almost|some)\s+)"
_SCALE = (
    r"(?:\s?(?P<sw>(?i:trillion|billion|million|thousand))(?!\w)"
    r"|(?P<sa>tn|bn|mn|m|k)(?!\w))?"
)
_SCALES: Mapping[str, int] = MappingProxyType(
    {
        "thousand": 10**3,
        "k": 10**3,
        "million": 10**6,
        "mn": 10**6,
        "m": 10**6,
        "billion": 10**9,
        "bn": 10**9,
        "trillion": 10**12,
        "tn": 10**12,
    }
)
_PREFIX_CURRENCY: Mapping[str, str] = MappingProxyType(
    {
        "$": "USD",
        "US$": "USD",
        "USD": "USD",
        "¥": "JPY",
        "JPY": "JPY",
        "€": "EUR",
        "EUR": "EUR",
        "£": "GBP",
        "GBP": "GBP",
        "₩": "KRW",
        "KRW": "KRW",
    }
)
_AMOUNT_PREFIX = re.compile(
    rf"(?P<approx>{_APPROX})?"
    r"(?P<cur>US\s?\$|\$|USD|¥|JPY|€|EUR|£|GBP|₩|KRW)\s?"
    rf"(?P<num>{_NUM}){_SCALE}"
    r"(?P<tail>\s+(?i:(?:US\s+)?dollars?)(?!\w))?"
)
_AMOUNT_SUFFIX = re.compile(
    rf"(?P<approx>{_APPROX})?"
    rf"(?<![\w.,$€£¥₩])(?P<num>{_NUM}){_SCALE}\s?"
    r"(?P<cur>(?i:(?:US\s+)?dollars?)|USD|yen|JPY|(?i:euros?)|EUR|won|KRW)(?!\w)"
)
_SUFFIX_CURRENCY: Mapping[str, str] = MappingProxyType(
    {
        "dollar": "USD",
        "dollars": "USD",
        "usd": "USD",
        "yen": "JPY",
        "jpy": "JPY",
        "euro": "EUR",
        "euros": "EUR",
        "eur": "EUR",
        "won": "KRW",
        "krw": "KRW",
    }
)
_RATE = re.compile(
    rf"(?P<a>{_NUM})\s?yen\s+(?:to|per|against)\s+(?:the\s+|one\s+|a\s+|each\s+)?"
    r"(?:US\s+|U\.S\.\s+)?dollar(?!\w)"
    rf"|(?:\$\s?1|(?i:one\s+(?:US\s+)?dollar))\s*(?:=|equals|is\s+worth|buys)\s*"
    rf"¥?\s?(?P<b>{_NUM})(?:\s?yen)?"
    rf"|(?:USD/JPY|USDJPY|(?i:dollar-yen))\s+(?:at\s+|of\s+|rate\s+of\s+)?"
    rf"¥?(?P<c>{_NUM})"
)


def _to_decimal(num: str, scale: str | None) -> Decimal:
    value = Decimal(num.replace(",", ""))
    if scale:
        value *= _SCALES[scale.lower()]
    return value


def _fmt_number(value: Decimal) -> str:
    if value == value.to_integral_value():
        return format(value.quantize(Decimal(1)), "f")
    return format(value.normalize(), "f")


def _amount_candidates(text: str) -> list[_Amount]:
    found: list[_Amount] = []
    for m in _AMOUNT_PREFIX.finditer(text):
        cur = re.sub(r"\s", "", m.group("cur"))
        scale = m.group("sw") or m.group("sa")
        found.append(
            _Amount(
                m.start(), m.end(), _PREFIX_CURRENCY[cur], _to_decimal(m["num"], scale)
            )
        )
    for m in _AMOUNT_SUFFIX.finditer(text):
        cur_word = m.group("cur").lower().split()[-1]
        scale = m.group("sw") or m.group("sa")
        if not scale and re.fullmatch(_YEAR, m["num"]):
            continue  # "in 2016 won the vote", "2016 dollars": a year, not money
        found.append(
            _Amount(
                m.start(),
                m.end(),
                _SUFFIX_CURRENCY[cur_word],
                _to_decimal(m["num"], scale),
            )
        )
    return found


def _yen_rate(text: str) -> tuple[Decimal | None, list[tuple[int, int]]]:
    """First stated yen-per-dollar rate of the document and all rate-phrase spans."""
    rate: Decimal | None = None
    spans: list[tuple[int, int]] = []
    for m in _RATE.finditer(text):
        spans.append((m.start(), m.end()))
        num = m.group("a") or m.group("b") or m.group("c")
        if rate is None and num is not None:
            candidate = Decimal(num.replace(",", ""))
            if candidate > 0:
                rate = candidate
    return rate, spans


def _normalize_amount(amount: _Amount, rate: Decimal | None) -> str:
    if amount.currency == "USD":
        return _fmt_number(amount.amount)
    if amount.currency == "JPY" and rate is not None:
        return _fmt_number((amount.amount / rate).quantize(Decimal(1)))
    return f"{amount.currency} {_fmt_number(amount.amount)}"


_MONTHS: Mapping[str, int] = MappingProxyType(
    {
        "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6,
        "july": 7, "august": 8, "september": 9, "october": 10, "november": 11,
        "december": 12, "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7,
        "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
    }
)  # fmt: skip
_MON_FULL = (
    "January|February|March|April|May|June|July|August|September|October|"
    "November|December"
)
_MON = rf"(?:{_MON_FULL}|Sept|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_MON_ABBR_DOT = (
    r"(?:(?:(?<=Jan)|(?<=Feb)|(?<=Mar)|(?<=Apr)|(?<=Jun)|(?<=Jul)|(?<=Aug)"
    r"|(?<=Sep)|(?<=Sept)|(?<=Oct)|(?<=Nov)|(?<=Dec))\.)?"
)
_YEAR = r"(?:19|20)\d\d"
_PART = (
    r"(?P<part>(?i:(?:end|beginning|start|middle)\s+of)\s+"
    r"|(?i:early|late)[\s-]|(?i:mid)-?\s?)"
)
_DATE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("iso", re.compile(r"(?<![\w-])(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?![\w-])")),
    (
        "mdy",
        re.compile(
            rf"(?<!\w)(?P<mon>{_MON}){_MON_ABBR_DOT}\s+(?P<d>\d{{1,2}})"
            rf"(?:st|nd|rd|th)?,?\s+(?P<y>{_YEAR})(?!\w)"
        ),
    ),
    (
        "dmy",
        re.compile(
            rf"(?<![\w.,])(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<mon>{_MON})"
            rf"{_MON_ABBR_DOT},?\s+(?P<y>{_YEAR})(?!\w)"
        ),
    ),
    (
        "md",
        re.compile(
            rf"(?<!\w)(?P<mon>{_MON}){_MON_ABBR_DOT}\s+(?P<d>\d{{1,2}})"
            r"(?:st|nd|rd|th)?(?![\w,.]?\d)(?!\w)"
        ),
    ),
    (
        "my",
        re.compile(
            rf"(?:{_PART})?(?<!\w)(?P<mon>{_MON}){_MON_ABBR_DOT},?\s+"
            rf"(?P<y>{_YEAR})(?!\w)"
        ),
    ),
    (
        "y",
        re.compile(rf"(?:{_PART})?(?<![\w$€£¥₩.,/])(?P<y>{_YEAR})(?![\w%]|[.,]\d)"),
    ),
    (
        "decade",
        re.compile(r"(?<![\w$€£¥₩.,])[’']?(?P<c>1[89]|20)?(?P<d>\d)0[’']?s(?!\w)"),
    ),
    (
        "month",
        re.compile(
            rf"(?:{_PART})?(?<!\w)(?P<mon>January|February|March|April|June|July|"
            r"August|September|October|November|December)(?!\w)"
        ),
    ),
    (
        "relative",
        re.compile(
            r"(?<!\w)(?P<rel>(?i:(?:(?:earlier|later)\s+this|this|last|next)\s+"
            r"(?:week|month|quarter|year)|yesterday|tomorrow|monday|tuesday|"
            r"wednesday|thursday|friday|saturday|sunday))(?!\w)"
        ),
    ),
)
_PAREN_OPEN = re.compile(r"\s*\(\s*")
_PAREN_CLOSE = re.compile(r"\s*\)")
_RANGE_SEP = re.compile(r"\s*(?:to|through|until|till|–|—|-)\s*")
_BETWEEN_SEP = re.compile(r"\s+and\s+")
_BETWEEN_BEFORE = re.compile(r"(?i:between)\s+$")

_Interval = tuple[_dt.date, _dt.date]


def _month_interval(year: int, month: int, part: str | None) -> _Interval:
    last = calendar.monthrange(year, month)[1]
    lo, hi = 1, last
    if part:
        word = part.lower()
        if "early" in word or "beginning" in word or "start" in word:
            lo, hi = 1, 10
        elif "mid" in word:  # mid, mid-, middle of
            lo, hi = 10, 20
        elif "late" in word or "end" in word:
            lo, hi = 20, last
    return _dt.date(year, month, lo), _dt.date(year, month, hi)


def _year_interval(year: int, part: str | None) -> _Interval:
    lo, hi = 1, 12
    if part:
        word = part.lower()
        if "beginning" in word or "start" in word:
            lo, hi = 1, 1
        elif "early" in word:
            lo, hi = 1, 4
        elif "mid" in word:
            lo, hi = 5, 8
        elif "late" in word:
            lo, hi = 9, 12
        elif "end" in word:
            lo, hi = 12, 12
    return _dt.date(year, lo, 1), _dt.date(year, hi, calendar.monthrange(year, hi)[1])


def _explicit_year(spec: _DateSpec) -> int | None:
    if spec.form in {"iso", "mdy", "dmy", "my", "y"}:
        return int(spec.match.group("y"))
    return None


def _date_interval(spec: _DateSpec, ref_year: int | None) -> _Interval | None:
    """Interval of one date expression, or None when it cannot be resolved."""
    m = spec.match
    groups = m.groupdict()
    part = groups.get("part")
    try:
        if spec.form == "iso":
            day = _dt.date(int(m["y"]), int(m["m"]), int(m["d"]))
            return day, day
        if spec.form in {"mdy", "dmy"}:
            day = _dt.date(int(m["y"]), _MONTHS[m["mon"].lower()], int(m["d"]))
            return day, day
        if spec.form == "md":
            if ref_year is None:
                return None
            day = _dt.date(ref_year, _MONTHS[m["mon"].lower()], int(m["d"]))
            return day, day
    except ValueError:  # e.g. "February 30"
        return None
    if spec.form == "my":
        return _month_interval(int(m["y"]), _MONTHS[m["mon"].lower()], part)
    if spec.form == "y":
        return _year_interval(int(m["y"]), part)
    if spec.form == "decade":
        digit = int(m["d"])
        if m["c"]:
            start = int(m["c"]) * 100 + digit * 10
        else:
            start = (1900 if digit >= 3 else 2000) + digit * 10
        return _dt.date(start, 1, 1), _dt.date(start + 9, 12, 31)
    if spec.form == "month":
        if ref_year is None:
            return None
        return _month_interval(ref_year, _MONTHS[m["mon"].lower()], part)
    # relative
    if ref_year is None:
        return None
    words = m["rel"].lower().split()
    if words[-1] not in {"week", "month", "quarter", "year"}:
        return None  # yesterday, tomorrow, weekday names
    if words[-2] == "this":
        return _year_interval(ref_year, None)
    if words[-1] == "year":
        return _year_interval(ref_year + (1 if words[0] == "next" else -1), None)
    return None  # last/next week, month or quarter may cross the year


def _fmt_interval(interval: _Interval | None, value: str) -> str:
    if interval is None:
        return f"unresolved:{value}"
    return f"{interval[0].isoformat()}/{interval[1].isoformat()}"


def _select(spans: list[tuple[int, int, int, object]]) -> list[object]:
    """Leftmost-longest non-overlapping selection; ties by priority (3rd item)."""
    chosen: list[object] = []
    last_end = -1
    for start, end, _prio, item in sorted(spans, key=lambda s: (s[0], -s[1], s[2])):
        if start >= last_end:
            chosen.append(item)
            last_end = end
    return chosen


def _money_and_dates(text: str) -> list[_Mention]:
    rate, rate_spans = _yen_rate(text)

    def in_rate(start: int, end: int) -> bool:
        return any(start < r_end and r_start < end for r_start, r_end in rate_spans)

    cands: list[tuple[int, int, int, object]] = []
    for amt in _amount_candidates(text):
        if not in_rate(amt.start, amt.end):
            cands.append((amt.start, amt.end, 0, amt))
    for prio, (form, pattern) in enumerate(_DATE_PATTERNS, start=1):
        for m in pattern.finditer(text):
            if not in_rate(m.start(), m.end()):
                spec = _DateSpec(m.start(), m.end(), form, m)
                cands.append((m.start(), m.end(), prio, spec))
    chosen = _select(cands)

    amounts = [c for c in chosen if isinstance(c, _Amount)]
    dates = [c for c in chosen if isinstance(c, _DateSpec)]
    years = [y for y in (_explicit_year(d) for d in dates) if y is not None]
    ref_year = max(years) if years else None

    mentions: list[_Mention] = []
    # amounts: merge "X (approximately Y)" into one mention
    i = 0
    while i < len(amounts):
        first = amounts[i]
        end, norm_from = first.end, first
        if i + 1 < len(amounts):
            second = amounts[i + 1]
            gap = text[first.end : second.start]
            close = _PAREN_CLOSE.match(text, second.end)
            if _PAREN_OPEN.fullmatch(gap) and close:
                end = close.end()
                if first.currency != "USD" and second.currency == "USD":
                    norm_from = second
                i += 1
        mentions.append(
            _Mention(
                first.start,
                end,
                "amount",
                text[first.start : end],
                _normalize_amount(norm_from, rate),
            )
        )
        i += 1
    # dates: merge ranges
    i = 0
    while i < len(dates):
        d_first = dates[i]
        interval = _date_interval(d_first, ref_year)
        end = d_first.end
        if i + 1 < len(dates):
            d_second = dates[i + 1]
            gap = text[d_first.end : d_second.start]
            is_range = bool(_RANGE_SEP.fullmatch(gap)) or (
                bool(_BETWEEN_SEP.fullmatch(gap))
                and bool(
                    _BETWEEN_BEFORE.search(
                        text[max(0, d_first.start - 40) : d_first.start]
                    )
                )
            )
            if is_range:
                other = _date_interval(d_second, ref_year)
                end = d_second.end
                interval = (
                    (interval[0], other[1])
                    if interval is not None and other is not None
                    else None
                )
                i += 1
        value = text[d_first.start : end]
        mentions.append(
            _Mention(d_first.start, end, "date", value, _fmt_interval(interval, value))
        )
        i += 1
    return mentions


def _entity_pattern(keywords: Keywords) -> tuple[re.Pattern[str], dict[str, Entity]]:
    by_alias = {alias: ent for ent in keywords.entities for alias in ent.aliases}
    ordered = sorted(by_alias, key=lambda a: (-len(a), a))
    pattern = re.compile(
        r"(?<!\w)(?:" + "|".join(re.escape(a) for a in ordered) + r")(?!\w)"
    )
    return pattern, by_alias


_ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "dr", "st", "jr", "sr", "vs", "no", "inc", "corp", "co",
        "ltd", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
        "nov", "dec", "approx", "e.g", "i.e", "etc", "gov",
    }
)  # fmt: skip
_BOUNDARY = re.compile(r"[.!?][\"”’')\]]*(?=\s+[^\s])")


def _sentence_spans(
    text: str, mentions: Sequence[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Sentence spans (start, end) covering the text; never splitting a mention."""
    cuts: set[int] = set()
    pos = 0
    for line in text.split("\n"):
        cuts.add(pos + len(line))
        for m in _BOUNDARY.finditer(line):
            dot = m.start()
            token = re.search(r"[\w.]*$", line[:dot])
            word = token.group(0).lower() if token else ""
            if len(word) == 1 and word.isalpha():  # initials: "U. S.", "J. Smith"
                continue
            if word in _ABBREVIATIONS or "." in word:  # "U.S.", "e.g."
                continue
            nxt = line[m.end() :].lstrip()[:1]
            if nxt.islower():
                continue
            cuts.add(pos + m.end())
        pos += len(line) + 1
    inside: set[int] = set()
    ordered = sorted(cuts)
    for start, end in mentions:
        lo = bisect.bisect_right(ordered, start)
        hi = bisect.bisect_left(ordered, end)
        inside.update(ordered[lo:hi])
    cuts -= inside
    spans: list[tuple[int, int]] = []
    prev = 0
    for cut in sorted(cuts | {len(text)}):
        seg = text[prev:cut]
        stripped = seg.strip()
        if stripped:
            lead = len(seg) - len(seg.lstrip())
            spans.append((prev + lead, prev + lead + len(stripped)))
        prev = cut
    return spans


def _span_index(starts: Sequence[int], pos: int) -> int:
    """Index of the sentence span containing ``pos`` (spans sorted by start)."""
    return max(bisect.bisect_right(starts, pos) - 1, 0)


def _doc_rows(doc: str, text: str, keywords: Keywords) -> list[dict[str, object]]:
    money_dates = _money_and_dates(text)
    taken = sorted((m.start, m.end) for m in money_dates)  # non-overlapping
    taken_ends = [e for _, e in taken]
    pattern, by_alias = _entity_pattern(keywords)
    hits: list[tuple[int, int, Entity]] = []
    for m in pattern.finditer(text):
        k = bisect.bisect_left(taken_ends, m.start() + 1)  # first span ending after
        if k < len(taken) and taken[k][0] < m.end():
            continue
        hits.append((m.start(), m.end(), by_alias[m.group(0)]))
    mentions = list(money_dates)
    mentions += [
        _Mention(s, e, "party", text[s:e], ent.name)
        for s, e, ent in hits
        if ent.kind == "party"
    ]
    mentions.sort(key=lambda m: (m.start, m.kind, m.end, m.value))
    spans = _sentence_spans(text, [(m.start, m.end) for m in mentions])
    starts = [s for s, _ in spans]
    names_by_span: list[list[str]] = [[] for _ in spans]
    for h_start, _h_end, ent in hits:  # hits never cross a sentence end
        names = names_by_span[_span_index(starts, h_start)]
        if ent.name not in names:
            names.append(ent.name)
    rows: list[dict[str, object]] = []
    for mention in mentions:
        s_start, s_end = spans[_span_index(starts, mention.start)]
        names = names_by_span[_span_index(starts, mention.start)]
        rows.append(
            {
                "doc": doc,
                "start": mention.start,
                "end": mention.end,
                "sentence": text[s_start:s_end],
                "kind": mention.kind,
                "value": mention.value,
                "normalized": mention.normalized,
                "entities": ";".join(names),
                "groups": ";".join(keywords.groups_for(names)),
            }
        )
    return rows


def _input_files(paths: Sequence[str | Path] | str | Path) -> list[Path]:
    items: Sequence[str | Path] = (
        [paths] if isinstance(paths, str | Path) else list(paths)
    )
    files: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            files.extend(sorted(p.glob("*.txt"), key=lambda f: f.name))
        elif p.is_file():
            files.append(p)
        else:
            raise InputError("no such file or directory", path=str(p))
    unique: dict[Path, Path] = {}
    for f in files:
        unique.setdefault(f.resolve(), f)
    names: dict[str, Path] = {}
    for f in unique.values():
        if f.name in names:
            raise InputError(
                f"two input files share the name {f.name!r} "
                f"({names[f.name]} and {f}); `doc` would be ambiguous",
                path=str(f),
            )
        names[f.name] = f
    return sorted(unique.values(), key=lambda f: f.name)


def extract_candidates(
    paths: Sequence[str | Path], keywords: Keywords | None = None
) -> pd.DataFrame:
    """Extract money, date and party mentions from seed documents.

    Parameters
    ----------
    paths
        Files and/or directories. A directory contributes all its ``*.txt`` files
        (not recursive), sorted by name. The same file given twice is read once.
    keywords
        Entity keywords; ``None`` uses the built-in default (identical to
        ``events/keywords.toml``).

    Returns
    -------
    pandas.DataFrame
        One row per mention with the columns :data:`CANDIDATE_COLUMNS`, sorted by
        ``(doc, start, kind)``; see the module docstring for the normalisation
        rules.

    Raises
    ------
    InputError
        If a path does not exist, a file is not UTF-8, or two files share a name.

    Notes
    -----
    Matching is leftmost-longest: where an amount or date pattern overlaps another
    one, the match that starts first and then the longer match wins. Parties that
    overlap an amount or a date are dropped. Sentences end at line breaks and at
    ``.``/``!``/``?`` followed by a blank and a non-lower-case character, except
    after initials ("U. S."), dotted abbreviations ("U.S.") and a few listed
    abbreviations; a sentence never ends inside a mention.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.txt").write_text("Toyota pledged $1.5 billion in July 2025.")
    >>> df = extract_candidates([d])
    >>> df[["kind", "value", "normalized"]].values.tolist()
    [['party', 'Toyota', 'Toyota'], ['amount', '$1.5 billion', '1500000000'], \
['date', 'July 2025', '2025-07-01/2025-07-31']]
    """
    kw = load_keywords() if keywords is None else keywords
    rows: list[dict[str, object]] = []
    for f in _input_files(paths):
        try:
            with open(f, encoding="utf-8", newline="") as fh:
                text = fh.read()
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text: {exc}", path=str(f)) from exc
        except OSError as exc:
            raise InputError(f"cannot read: {exc}", path=str(f)) from exc
        rows.extend(_doc_rows(f.name, text, kw))  # files come sorted by name
    frame = pd.DataFrame(rows, columns=list(CANDIDATE_COLUMNS))
    frame["start"] = frame["start"].astype("int64")
    frame["end"] = frame["end"].astype("int64")
    return frame


def write_candidates(df: pd.DataFrame, path: str | Path) -> None:
    """Write candidates to CSV atomically and reproducibly.

    Parameters
    ----------
    df
        A frame as returned by :func:`extract_candidates` (extra columns are kept
        after the standard ones).
    path
        Destination CSV; parent folders are created.

    Raises
    ------
    InputError
        If standard columns are missing or the file cannot be written.

    Notes
    -----
    The CSV is UTF-8, ``\\n`` line endings, no index, fixed float format
    (``%.12g``), so repeated runs on the same input are byte-identical. It is first
    written to a temporary file in the destination folder and then moved into
    place with :func:`os.replace`, so readers never see a half-written file. A
    replaced file keeps its permission bits; a new one gets ``0o644``.
    """
    missing = [c for c in CANDIDATE_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"candidate frame lacks columns {missing}", path=str(path))
    columns = list(CANDIDATE_COLUMNS) + [
        str(c) for c in df.columns if c not in CANDIDATE_COLUMNS
    ]
    dest = Path(path)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent
        )
    except OSError as exc:
        raise InputError(f"cannot write: {exc}", path=str(dest)) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            df.to_csv(
                fh,
                columns=columns,
                index=False,
                lineterminator="\n",
                float_format="%.12g",
            )
        try:
            mode = stat.S_IMODE(dest.stat().st_mode)
        except FileNotFoundError:
            mode = 0o644
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, dest)
    except BaseException as exc:
        Path(tmp_name).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise InputError(f"cannot write: {exc}", path=str(dest)) from exc
        raise
