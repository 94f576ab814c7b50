"""Profiles as data: cities, RTH tag rules and standards.

Profiles are TOML files. Bundled ones live in ``bandung_mapping/profiles/``:
``cities/<id>.toml``, ``rth_rules/<id>.toml`` and ``standards/<id>.toml``.
A user adds a city or a rule by writing a file and passing its path wherever a
profile name is accepted. Unknown keys are refused with an error naming the key,
so a typo never passes silently.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ProfileError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "CityProfile",
    "load_city",
    "load_rth_rules",
    "load_standard",
    "list_profiles",
    "read_toml",
    "check_keys",
]

PROFILE_DIR = Path(__file__).parent / "profiles"


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a TOML file, turning syntax errors into :class:`ProfileError`."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError as exc:
        raise ProfileError(f"profile file not found: {p}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"profile {p.name} is not valid TOML: {exc}") from exc


def check_keys(
    data: dict[str, Any], allowed: AbstractSet[str], *, where: str, required: AbstractSet[str] = frozenset()
) -> None:
    """Refuse unknown keys (naming the closest allowed one) and missing required keys."""
    problems = []
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"unknown key {key!r}{hint}")
    for key in sorted(required - set(data)):
        problems.append(f"missing required key {key!r}")
    if problems:
        raise ProfileError(f"{where}: " + "; ".join(problems) + f". Allowed keys: {sorted(allowed)}")


_KIND_NAMES = {"cities": "city", "rth_rules": "RTH rules", "standards": "standard"}


def _resolve(kind: str, name_or_path: str | os.PathLike[str]) -> Path:
    label = _KIND_NAMES.get(kind, kind)
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.is_file():
        if not p.exists():
            raise ProfileError(f"{label} profile file not found: {p}")
        return p
    bundled = PROFILE_DIR / kind / f"{name_or_path}.toml"
    if not bundled.exists():
        raise ProfileError(
            f"unknown {label} profile {str(name_or_path)!r}; bundled ones are {list_profiles(kind)}, "
            "or pass the path of a .toml file"
        )
    return bundled


def list_profiles(kind: str) -> list[str]:
    """Names of the bundled profiles of ``kind`` (``cities``, ``rth_rules``, ``standards``)."""
    return sorted(p.stem for p in (PROFILE_DIR / kind).glob("*.toml"))


@dataclass(frozen=True)
class CityProfile:
    """What the code needs to know about a city; read from ``profiles/cities/*.toml``."""

    id: str
    name: str
    country: str
    metric_crs: str
    levels: tuple[str, ...]
    languages: tuple[str, ...]
    default_language: str
    standards: tuple[str, ...]
    rth_rules: str
    level_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    boundaries: dict[str, Any] = field(default_factory=dict)
    population: dict[str, Any] = field(default_factory=dict)
    parks: dict[str, Any] = field(default_factory=dict)
    #: ``[[sources]]``: ``role``, optional ``match`` (text in the input file's name), ``name``,
    #: ``licence``: how a report names and credits the inputs of that role.
    sources: tuple[dict[str, Any], ...] = ()
    source: str = ""

    @property
    def lowest_level(self) -> str:
        """The lowest (most detailed) zone level, e.g. ``kelurahan``."""
        return self.levels[0]

    @property
    def top_level(self) -> str:
        """The city level, e.g. ``kota``."""
        return self.levels[-1]

    def label(self, level: str, lang: str | None = None) -> str:
        """Human label of a level in ``lang`` (falls back to the level name)."""
        lang = lang or self.default_language
        return self.level_labels.get(lang, {}).get(level, level)


_CITY_KEYS = {
    "id", "name", "country", "metric_crs", "levels", "languages", "default_language",
    "standards", "rth_rules", "level_labels", "boundaries", "population", "parks", "sources",
}
_CITY_REQUIRED = {"id", "name", "metric_crs", "levels"}


def load_city(name_or_path: str | os.PathLike[str] | CityProfile = "bandung") -> CityProfile:
    """Load a city profile by bundled name (``"bandung"``, ``"daegu"``) or from a .toml path.

    A :class:`CityProfile` is returned as it is, so every function taking ``city=`` accepts
    a name, a path or a loaded profile.

    Examples
    --------
    >>> load_city("bandung").levels
    ('kelurahan', 'kecamatan', 'kota')
    """
    if isinstance(name_or_path, CityProfile):
        return name_or_path
    path = _resolve("cities", name_or_path)
    data = read_toml(path)
    check_keys(data, _CITY_KEYS, where=f"city profile {path.name}", required=_CITY_REQUIRED)
    import pyproj

    try:
        crs = pyproj.CRS.from_user_input(data["metric_crs"])
    except pyproj.exceptions.CRSError as exc:
        raise ProfileError(f"city profile {path.name}: metric_crs {data['metric_crs']!r} is not a CRS") from exc
    if not crs.is_projected:
        raise ProfileError(f"city profile {path.name}: metric_crs must be projected (metres), got {data['metric_crs']}")
    levels = tuple(data["levels"])
    if len(levels) < 2:
        raise ProfileError(f"city profile {path.name}: levels needs at least two names (lowest first, city last)")
    return CityProfile(
        id=str(data["id"]),
        name=str(data["name"]),
        country=str(data.get("country", "")),
        metric_crs=str(data["metric_crs"]),
        levels=levels,
        languages=tuple(data.get("languages", ["en"])),
        default_language=str(data.get("default_language", "en")),
        standards=tuple(data.get("standards", [])),
        rth_rules=str(data.get("rth_rules", "indonesia")),
        level_labels=dict(data.get("level_labels", {})),
        boundaries=dict(data.get("boundaries", {})),
        population=dict(data.get("population", {})),
        parks=dict(data.get("parks", {})),
        sources=tuple(dict(x) for x in data.get("sources", []) if isinstance(x, dict)),
        source=str(path),
    )


def load_rth_rules(name_or_path: str | os.PathLike[str] = "indonesia") -> dict[str, Any]:
    """Load an RTH tag-rules file (see ``profiles/rth_rules/indonesia.toml``)."""
    path = _resolve("rth_rules", name_or_path)
    data = read_toml(path)
    from .classify import validate_rules

    validate_rules(data, where=f"RTH rules {path.name}")
    data["_source"] = str(path)
    return data


def load_standard(name_or_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load one standard (thresholds, radii, per-capita values, legal source) by name or path."""
    path = _resolve("standards", name_or_path)
    data = read_toml(path)
    from .compliance import validate_standard

    validate_standard(data, where=f"standard {path.name}")
    data["_source"] = str(path)
    return data
