"""Labels of maps and reports in Bahasa Indonesia, English and Korean.

Labels are data: ``profiles/labels.toml`` holds, per language, the names and units of
indicator columns, zone levels, RTH kinds and interface text. A missing translation
falls back to English, then Indonesian, then the key itself, so a new indicator column
still gets a readable label. Zone level names come first from the city profile
(:meth:`bandung_mapping.profiles.CityProfile.label`).

Numbers are written the way each language writes them: ``1.234,5`` in Indonesian,
``1,234.5`` in English and Korean.

Examples
--------
>>> indicator_label("rth_pct", "en")
'Green open space (% of area)'
>>> indicator_unit("rth_per_capita_m2", "id")
'm²/jiwa'
>>> format_number(1234.5, "id", decimals=1)
'1.234,5'
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import InputError, ProfileError
from .profiles import CityProfile, read_toml

__all__ = [
    "LANGUAGES",
    "check_lang",
    "text",
    "indicator_label",
    "indicator_unit",
    "indicator_title",
    "level_label",
    "rth_jenis_label",
    "format_number",
    "labels",
]

LANGUAGES: tuple[str, ...] = ("id", "en", "ko")
_FALLBACK: tuple[str, ...] = ("en", "id")
LABELS_PATH = Path(__file__).parent / "profiles" / "labels.toml"


@lru_cache(maxsize=1)
def labels() -> dict[str, Any]:
    """Return the label tables read from ``profiles/labels.toml`` (cached)."""
    data = read_toml(LABELS_PATH)
    for section in ("indicators", "levels", "rth_jenis", "ui"):
        if not isinstance(data.get(section), dict):
            raise ProfileError(f"labels file {LABELS_PATH.name} lacks the [{section}] table")
    return data


def check_lang(lang: object) -> str:
    """Return ``lang`` if it is a supported language code, else raise :class:`InputError`."""
    if lang not in LANGUAGES:
        raise InputError(f"lang must be one of {list(LANGUAGES)}, got {lang!r}")
    return str(lang)


def _pick(entry: Any, lang: str, default: str) -> str:
    if isinstance(entry, str):
        return entry
    if not isinstance(entry, dict):
        return default
    for code in (lang, *_FALLBACK):
        if code in entry:
            return str(entry[code])
    return default


def text(key: str, lang: str = "id", **fields: Any) -> str:
    """Interface text ``key`` in ``lang``, with ``{name}`` fields filled from ``fields``.

    Examples
    --------
    >>> text("map_title", "en", city="Kota Bandung")
    'Green open space map: Kota Bandung'
    """
    check_lang(lang)
    template = _pick(labels()["ui"].get(key), lang, key)
    return template.format(**fields) if fields else template


def indicator_label(column: str, lang: str = "id") -> str:
    """Human name of indicator ``column`` (compliance flags ``ok__std__check`` included)."""
    check_lang(lang)
    entry = labels()["indicators"].get(column)
    if entry is not None:
        return _pick(entry.get("label"), lang, column)
    if column.startswith("ok__"):
        parts = column.split("__")
        return " / ".join(p.replace("_", " ") for p in parts[1:])
    return column.replace("_", " ")


def indicator_unit(column: str, lang: str = "id") -> str:
    """Return the unit of indicator ``column`` in ``lang`` (``""`` when unitless or unknown)."""
    check_lang(lang)
    entry = labels()["indicators"].get(column)
    if entry is not None:
        return _pick(entry.get("unit"), lang, "")
    for suffix, unit in (("_pct", "%"), ("_m2", "m²"), ("_ha", "ha"), ("_m", "m"), ("_km2", "km²")):
        if column.endswith(suffix):
            return unit
    return ""


def indicator_title(column: str, lang: str = "id") -> str:
    """Label with its unit in brackets, e.g. ``'Green space per person [m² per person]'``."""
    unit = indicator_unit(column, lang)
    label = indicator_label(column, lang)
    return f"{label} [{unit}]" if unit else label


def level_label(level: str, lang: str = "id", *, city: CityProfile | None = None) -> str:
    """Name of zone level ``level`` in ``lang``, from the city profile when it has one.

    Examples
    --------
    >>> from bandung_mapping.profiles import load_city
    >>> level_label("gu", "ko", city=load_city("daegu"))
    '구·군'
    """
    check_lang(lang)
    if city is not None:
        found = city.level_labels.get(lang, {}).get(level)
        if found:
            return str(found)
    entry = labels()["levels"].get(level)
    if entry is not None:
        return _pick(entry, lang, level)
    if city is not None:
        return city.label(level)
    return level


def rth_jenis_label(kind: str, lang: str = "id") -> str:
    """Human name of RTH kind ``kind`` (an unknown kind is shown with spaces for underscores)."""
    check_lang(lang)
    entry = labels()["rth_jenis"].get(str(kind))
    if entry is not None:
        return _pick(entry, lang, str(kind))
    return str(kind).replace("_", " ")


def format_number(value: Any, lang: str = "id", *, decimals: int = 1) -> str:
    """Write ``value`` with the thousands and decimal marks of ``lang``; ``"–"`` for missing.

    Examples
    --------
    >>> format_number(2566701, "id", decimals=0)
    '2.566.701'
    >>> format_number(12.345, "en", decimals=2)
    '12.35'
    >>> format_number(float("nan"), "en")
    '–'
    """
    check_lang(lang)
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "–"
    if math.isnan(x) or math.isinf(x):
        return "–"
    s = f"{x:,.{decimals}f}"
    if lang == "id":
        s = s.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return s
