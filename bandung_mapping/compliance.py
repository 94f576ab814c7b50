"""Standards as data: validate standards files and flag which rules each zone meets.

A standard is one TOML file in ``profiles/standards/<id>.toml`` (or any path), loaded with
:func:`bandung_mapping.profiles.load_standard`. Its parts:

``id``, ``name`` (a table of language -> text, or a string), ``citation``, ``url``,
``country`` (ISO code or ``"INT"``), ``legal_level`` (the zone level at which the rule is
legally binding, e.g. ``"kota"``, or ``"top"`` for the city level whatever its name; every
other level is labelled *diagnostic*; ``""`` means diagnostic everywhere), ``notes``;

``[[checks]]``
    ``id``, ``indicator`` (a zone-table column), ``op`` (``>=``, ``>``, ``<=``, ``<``),
    ``threshold``, ``unit``, optional ``description`` and ``legal_level`` (overrides the
    standard's). Each gives a flag column ``ok__<standard id>__<check id>`` (nullable bool:
    missing when the indicator is missing or NaN).
``[[access]]``
    ``id``, ``column``, ``radius_m``, ``min_area_m2``, ``green`` (``"all"``/``"public"``),
    optional ``description``: access indicators computed by
    :func:`bandung_mapping.access.access_indicators`.
``[[per_capita]]``
    ``id``, ``indicator`` (``rth_per_capita_m2`` or ``park_area_per_capita_m2``),
    ``target_m2``, ``column`` (deficit ``max(0, target - value)``), optional
    ``description``, ``legal_level``. Also gives ``ok__<standard id>__<id>``.
``[[area_gap]]``
    ``id``, ``area_column`` (hectares, e.g. ``rth_area_ha``), ``target_pct`` (of
    ``area_ha``), ``column`` (gap ``max(0, target_pct/100 × area_ha − area_column)`` in ha),
    optional ``description``, ``legal_level``.
``[[hierarchy]]``
    Provision by population unit (Permen PU 05/PRT/M/2008): ``id``, ``name``,
    ``population``, ``m2_per_capita``, ``min_area_m2``, optional ``radius_m``,
    ``location``, ``description``. Read by :func:`hierarchy_table` and by the siting of
    new parks (minimum area per level).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._log import get_logger
from .errors import InputError, ProfileError
from .profiles import check_keys

__all__ = [
    "OPS",
    "validate_standard",
    "compliance_indicators",
    "rule_status",
    "hierarchy_table",
    "flag_column",
    "result_column",
    "measurability",
    "completeness_indicators",
    "RESULTS",
]

log = get_logger(__name__)

OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}

_TOP_KEYS = {
    "id", "name", "citation", "url", "country", "legal_level", "notes",
    "checks", "access", "per_capita", "area_gap", "hierarchy", "_source",
}
_TOP_REQUIRED = {"id", "name", "citation", "country", "legal_level"}
_SECTIONS: dict[str, tuple[set[str], set[str]]] = {
    "checks": ({"id", "indicator", "op", "threshold", "unit", "description", "legal_level"},
               {"id", "indicator", "op", "threshold", "unit"}),
    "access": ({"id", "column", "radius_m", "min_area_m2", "green", "description"},
               {"id", "column", "radius_m", "min_area_m2", "green"}),
    "per_capita": ({"id", "indicator", "target_m2", "column", "description", "legal_level"},
                   {"id", "indicator", "target_m2", "column"}),
    "area_gap": ({"id", "area_column", "target_pct", "column", "description", "legal_level"},
                 {"id", "area_column", "target_pct", "column"}),
    "hierarchy": ({"id", "name", "population", "m2_per_capita", "min_area_m2", "radius_m", "location",
                   "description"},
                  {"id", "name", "population", "m2_per_capita", "min_area_m2"}),
}
#: Keys that hold numbers, in whichever section they stand; all but ``threshold`` are >= 0.
_NUMBERS = {"threshold", "radius_m", "min_area_m2", "target_m2", "target_pct", "population", "m2_per_capita"}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def validate_standard(data: Mapping[str, Any], *, where: str = "standard") -> None:
    """Check a standard read from TOML; raise :class:`ProfileError` naming every problem.

    Parameters
    ----------
    data : dict
        The parsed TOML.
    where : str
        How to name the source in messages, e.g. ``"standard who_2016.toml"``.

    Examples
    --------
    >>> bad = {"id": "x", "name": "X", "citation": "c", "country": "INT", "legal_level": "",
    ...        "access": [{"id": "a", "column": "c", "radius": 300, "min_area_m2": 0, "green": "all"}]}
    >>> try:
    ...     validate_standard(bad, where="standard x.toml")
    ... except ProfileError as exc:
    ...     for part in str(exc).split(". Allowed")[0].split("; "):
    ...         print(part)
    standard x.toml, access[0] ('a'): unknown key 'radius' (did you mean 'radius_m'?)
    missing required key 'radius_m'
    """
    if not isinstance(data, Mapping):
        raise ProfileError(f"{where}: expected a table of keys, got {type(data).__name__}")
    check_keys(dict(data), _TOP_KEYS, where=where, required=_TOP_REQUIRED)
    problems: list[str] = []
    if not isinstance(data["id"], str) or not data["id"]:
        problems.append("'id' must be a non-empty string")
    name = data["name"]
    if isinstance(name, Mapping):
        if not name or not all(isinstance(v, str) for v in name.values()):
            problems.append("'name' must be a string or a table of language = text")
    elif not isinstance(name, str):
        problems.append("'name' must be a string or a table of language = text")
    for key in ("citation", "country", "legal_level", "url", "notes"):
        if key in data and not isinstance(data[key], str):
            problems.append(f"{key!r} must be a string")
    for section, (allowed, required) in _SECTIONS.items():
        items = data.get(section, [])
        if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
            problems.append(f"{section!r} must be an array of tables ([[{section}]])")
            continue
        seen: set[str] = set()
        for k, item in enumerate(items):
            label = f"{where}, {section}[{k}] ({item.get('id', '?')!r})"
            check_keys(dict(item), allowed, where=label, required=required)
            if item["id"] in seen:
                problems.append(f"{section} id {item['id']!r} is repeated")
            seen.add(item["id"])
            for key, value in item.items():
                if key in _NUMBERS:
                    if not _is_number(value):
                        problems.append(f"{section}[{k}].{key} must be a number, got {value!r}")
                    elif value < 0 and key != "threshold":
                        problems.append(f"{section}[{k}].{key} must be >= 0, got {value!r}")
            if section == "checks" and item["op"] not in OPS:
                problems.append(f"checks[{k}].op must be one of {sorted(OPS)}, got {item['op']!r}")
            if section == "access":
                if item["green"] not in ("all", "public"):
                    problems.append(f"access[{k}].green must be 'all' or 'public', got {item['green']!r}")
                if _is_number(item["radius_m"]) and item["radius_m"] <= 0:
                    problems.append(f"access[{k}].radius_m must be > 0")
            if section == "area_gap" and not str(item["area_column"]).endswith("_ha"):
                problems.append(f"area_gap[{k}].area_column must be in hectares (name ending in _ha)")
    if problems:
        raise ProfileError(f"{where}: " + "; ".join(problems))


def flag_column(standard_id: str, check_id: str) -> str:
    """Name of the flag column of a check: ``ok__<standard id>__<check id>``."""
    return f"ok__{standard_id}__{check_id}"


def result_column(flag: str) -> str:
    """Name of the result column beside flag ``ok__<std>__<check>``: ``result__<std>__<check>``."""
    return "result__" + flag[len("ok__"):] if flag.startswith("ok__") else f"result__{flag}"


#: Values of the ``result__`` columns: met, not met, not measurable by this run's inputs
#: (the reason is in ``attrs["measurability"]`` and run.json), or no data for this zone.
RESULTS = ("met", "not_met", "not_measurable", "no_data")


def measurability(
    green_roles: Iterable[str],
    raster_roles: Iterable[str] = (),
    *,
    rules: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, str]]:
    """Which indicators the inputs of a run cannot measure, or measure only as a lower bound.

    Parameters
    ----------
    green_roles : iterable of str
        Input roles that gave green spaces (``"osm"``, ``"parks"``, ``"inventory"``).
    raster_roles : iterable of str
        Raster inputs given: ``"red_nir"``, ``"scl"``, ``"landcover"``.
    rules : mapping, optional
        The rules; default ``profiles/measurability.toml``.

    Returns
    -------
    dict
        ``indicator -> {"status": "not_measurable" | "lower_bound", "reason": key}`` for the
        indicators concerned; the others are measured as they are.

    Examples
    --------
    >>> measurability(["osm"])["rth_private_pct"]
    {'status': 'not_measurable', 'reason': 'private_green_unmapped'}
    >>> measurability(["osm"])["rth_pct"]["status"]
    'lower_bound'
    >>> "rth_pct" in measurability(["osm", "inventory"])
    False
    """
    if rules is None:
        from .profiles import PROFILE_DIR, read_toml

        rules = read_toml(PROFILE_DIR / "measurability.toml")
    kinds = dict(rules.get("green_sources", {}))
    sources = {str(kinds.get(r, r)) for r in green_roles}
    rasters = set(raster_roles)
    out: dict[str, dict[str, str]] = {}
    for indicator, rule in dict(rules.get("indicators", {})).items():
        reason = str(rule.get("reason", "not_measurable"))
        needs = set(rule.get("needs_any", []) or [])
        if needs and not needs & rasters:
            out[indicator] = {"status": "not_measurable", "reason": reason}
        elif sources and sources <= set(rule.get("not_measurable_from", []) or []):
            out[indicator] = {"status": "not_measurable", "reason": reason}
        elif sources and sources <= set(rule.get("lower_bound_from", []) or []):
            out[indicator] = {"status": "lower_bound", "reason": reason}
    return out


def _result(flag: pd.arrays.BooleanArray, value: pd.Series, op: str, known: Mapping[str, str] | None
            ) -> tuple[pd.arrays.BooleanArray, np.ndarray]:
    """The flag and the result text of one check, given what the run can measure of its indicator."""
    result = np.where(value.isna().to_numpy(), "no_data",
                      np.where(np.asarray(flag.fillna(False), dtype=bool), "met", "not_met")).astype(object)
    if known is None:
        return flag, result
    flag = flag.copy()
    if known["status"] == "lower_bound" and op in (">=", ">"):
        unknown = result == "not_met"  # a lower bound below the line says nothing
    else:  # not measurable by this run's inputs, whether a value stands there or not
        unknown = np.ones(len(result), dtype=bool)
    flag[unknown] = pd.NA
    result[unknown] = "not_measurable"
    return flag, result


def rule_status(standard: Mapping[str, Any], level: str, *, city_levels: Sequence[str],
                legal_level: str | None = None) -> str:
    """``"legal"`` when ``level`` is the standard's binding level, else ``"diagnostic"``.

    ``legal_level`` ``"top"`` names the last of ``city_levels``; ``""`` or a level the city
    does not have makes the rule diagnostic everywhere.
    """
    target = standard.get("legal_level", "") if legal_level is None else legal_level
    if target == "top" and city_levels:
        target = city_levels[-1]
    return "legal" if target and target == level else "diagnostic"


def hierarchy_table(standard: Mapping[str, Any]) -> pd.DataFrame:
    """Return the ``[[hierarchy]]`` entries of a standard as a DataFrame indexed by ``id``."""
    rows = list(standard.get("hierarchy", []) or [])
    cols = ["name", "population", "m2_per_capita", "min_area_m2", "radius_m", "location"]
    if not rows:
        return pd.DataFrame(columns=cols, index=pd.Index([], name="id"))
    return pd.DataFrame(rows).set_index("id").reindex(columns=cols)


def _numeric(table: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(table[column], errors="coerce").astype(float)


def _flag(met: pd.Series, value: pd.Series) -> pd.arrays.BooleanArray:
    """``met`` as nullable booleans, missing where ``value`` is."""
    ok = pd.array(met, dtype="boolean")
    ok[value.isna().to_numpy()] = pd.NA
    return ok


def compliance_indicators(
    table: pd.DataFrame,
    level: str,
    standards: Iterable[Mapping[str, Any]],
    *,
    city_levels: Sequence[str],
    measurable: Mapping[str, Mapping[str, str]] | None = None,
) -> pd.DataFrame:
    """Add gaps, deficits and ``ok__`` flags of every standard to one level's zone table.

    Parameters
    ----------
    table : DataFrame
        One row per zone with the base indicators (``area_ha``, ``rth_area_ha``,
        ``rth_pct``, ``rth_per_capita_m2``, ...) and, for access rules, the columns of
        :func:`bandung_mapping.access.access_indicators` joined on ``zone_id``.
    level : str
        The level of ``table`` (one of ``city_levels``).
    standards : iterable of dict
        Loaded standards (see :func:`bandung_mapping.profiles.load_standard`).
    city_levels : sequence of str
        The city's levels, lowest first (to resolve ``legal_level = "top"``).
    measurable : mapping, optional
        What the run cannot measure (see :func:`measurability`): a check of a
        ``not_measurable`` indicator, or of a ``lower_bound`` one that the bound does not
        already meet, gets a missing flag and result ``"not_measurable"``, never "not met";
        gaps and deficits computed from such an indicator are NaN.

    Returns
    -------
    DataFrame
        A copy of ``table`` with, per standard: ``[[area_gap]]`` columns (ha, e.g.
        ``rth_gap_to_30pct_ha``), ``[[per_capita]]`` deficit columns (m², e.g.
        ``rth_per_capita_deficit_m2``), flags ``ok__<standard>__<check>`` (nullable bool)
        and ``status__<standard>`` (``legal`` or ``diagnostic`` at this level), and beside
        each flag ``result__<standard>__<check>``: one of :data:`RESULTS`.
        ``attrs["rule_status"]`` maps each flag and gap column to that status,
        ``attrs["measurability"]`` maps each not-measurable flag to its reason and
        ``attrs["notes"]`` says which indicators were missing.

    Examples
    --------
    >>> import pandas as pd
    >>> from bandung_mapping.profiles import load_standard
    >>> t = pd.DataFrame({"area_ha": [100.0], "rth_area_ha": [12.0], "rth_public_ha": [5.0],
    ...                   "rth_pct": [12.0], "rth_public_pct": [5.0], "rth_private_pct": [7.0]},
    ...                  index=pd.Index(["k1"], name="zone_id"))
    >>> out = compliance_indicators(t, "kota", [load_standard("uu_26_2007")],
    ...                             city_levels=["kelurahan", "kecamatan", "kota"])
    >>> out[["rth_gap_to_30pct_ha", "rth_public_gap_to_20pct_ha"]].iloc[0].tolist()
    [18.0, 15.0]
    >>> bool(out["ok__uu_26_2007__rth_30pct"].iloc[0]), out["status__uu_26_2007"].iloc[0]
    (False, 'legal')
    """
    if not isinstance(table, pd.DataFrame):
        raise InputError(f"table must be a DataFrame, got {type(table).__name__}")
    city_levels = list(city_levels)
    if level not in city_levels:
        raise InputError(f"level {level!r} is not one of the city's levels {city_levels}")
    out = table.copy()
    measurable = dict(measurable or {})
    unmeasured: dict[str, str] = {}
    status: dict[str, str] = {}
    notes: list[str] = []
    defined: dict[str, tuple[str, tuple[Any, ...]]] = {}

    def _claim(column: str, owner: str, spec: tuple[Any, ...]) -> bool:
        """True the first time ``column`` is defined; later definitions must repeat ``spec``."""
        if column in defined:
            first_owner, first_spec = defined[column]
            if first_spec != spec:
                raise ProfileError(f"column {column!r} is defined differently by {first_owner} and {owner}")
            return False
        defined[column] = (owner, spec)
        return True

    for std in standards:
        sid = str(std["id"])
        std_status = rule_status(std, level, city_levels=city_levels)
        legal = std.get("legal_level", "")
        if legal and legal != "top" and legal not in city_levels:
            notes.append(f"{sid}: legal level {legal!r} is not a level of this city; labelled diagnostic")
        out[f"status__{sid}"] = std_status

        for gap in std.get("area_gap", []) or []:
            col = str(gap["column"])
            if not _claim(col, sid, ("area_gap", gap["area_column"], float(gap["target_pct"]))):
                continue
            status[col] = rule_status(std, level, city_levels=city_levels, legal_level=gap.get("legal_level"))
            if "area_ha" in out and gap["area_column"] in out:
                need = float(gap["target_pct"]) / 100.0 * _numeric(out, "area_ha")
                gap_ha = (need - _numeric(out, gap["area_column"])).clip(lower=0.0)
                known = measurable.get(str(gap["area_column"]))
                if known is not None:  # from a lower bound only a gap of zero is known
                    gap_ha = gap_ha.where((gap_ha == 0) & (known["status"] == "lower_bound"))
                    unmeasured[col] = known["reason"]
                out[col] = gap_ha
            else:
                out[col] = np.nan
                notes.append(f"{sid}:{gap['id']}: needs area_ha and {gap['area_column']}; {col} is NaN")

        for pc in std.get("per_capita", []) or []:
            col = str(pc["column"])
            flag = flag_column(sid, str(pc["id"]))
            st = rule_status(std, level, city_levels=city_levels, legal_level=pc.get("legal_level"))
            status[flag] = st
            target = float(pc["target_m2"])
            present = pc["indicator"] in out
            known = measurable.get(str(pc["indicator"]))
            if present:
                value = _numeric(out, pc["indicator"])
                out[flag], out[result_column(flag)] = _result(_flag(value >= target, value), value, ">=", known)
            else:
                out[flag] = pd.array([pd.NA] * len(out), dtype="boolean")
                out[result_column(flag)] = "not_measurable" if known else "no_data"
                notes.append(
                    f"{sid}:{pc['id']}: indicator {pc['indicator']} is missing; flag and {col} are NA"
                )
            if known is not None:
                unmeasured[flag] = known["reason"]
            if _claim(col, sid, ("per_capita", pc["indicator"], target)):
                deficit = (target - value).clip(lower=0.0) if present else pd.Series(np.nan, index=out.index)
                if known is not None:
                    deficit = deficit.where((deficit == 0) & (known["status"] == "lower_bound"))
                    unmeasured[col] = known["reason"]
                out[col] = deficit
                status[col] = st

        for check in std.get("checks", []) or []:
            flag = flag_column(sid, str(check["id"]))
            status[flag] = rule_status(std, level, city_levels=city_levels,
                                       legal_level=check.get("legal_level"))
            ind = str(check["indicator"])
            known = measurable.get(ind)
            if known is not None:
                unmeasured[flag] = known["reason"]
            if ind not in out:
                out[flag] = pd.array([pd.NA] * len(out), dtype="boolean")
                out[result_column(flag)] = "not_measurable" if known else "no_data"
                hint = f" ({known['reason']})" if known else (" (needs a tree-cover raster)" if ind.startswith("tree")
                                                               else "")
                notes.append(f"{sid}:{check['id']}: indicator {ind} is not available{hint}; {flag} is NA")
                continue
            value = _numeric(out, ind)
            met = _flag(OPS[check["op"]](value, float(check["threshold"])), value)
            out[flag], out[result_column(flag)] = _result(met, value, str(check["op"]), known)
    out.attrs["rule_status"] = status
    out.attrs["measurability"] = unmeasured
    out.attrs["notes"] = notes
    for note in notes:
        log.info("%s level: %s", level, note)
    return out


def completeness_indicators(table: pd.DataFrame, *, rules: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Add completeness columns: how much of what a satellite sees the mapped inputs hold, per zone.

    ``green_mapped_vs_satellite_pct`` = RTH area / (satellite green cover share x zone area) x 100
    (needs ``rth_area_ha``, ``green_cover_pct``, ``area_ha``); ``building_mapped_vs_builtup_pct``
    = building footprint / built-up land x 100 (needs a built-up column from land cover);
    ``network_people_pct`` = share of people whose distance was measured on the walk network.
    Each gets a ``<name>_flag``: ``"incomplete"`` below the threshold of ``[completeness]`` in
    ``profiles/measurability.toml``, ``"ok"`` at or above it, missing when it cannot be checked.

    Examples
    --------
    >>> t = pd.DataFrame({"area_ha": [100.0, 100.0], "rth_area_ha": [2.0, 15.0], "green_cover_pct": [20.0, 20.0]})
    >>> completeness_indicators(t)[["green_mapped_vs_satellite_pct", "green_input_flag"]].values.tolist()
    [[10.0, 'incomplete'], [75.0, 'ok']]
    """
    if rules is None:
        from .profiles import PROFILE_DIR, read_toml

        rules = read_toml(PROFILE_DIR / "measurability.toml").get("completeness", {})
    out = table.copy()

    def put(name: str, flag: str, ratio: pd.Series, minimum: float) -> None:
        out[name] = ratio
        out[flag] = pd.Series(np.where(ratio.isna(), None, np.where(ratio < minimum, "incomplete", "ok")),
                              index=out.index, dtype=object)

    if {"rth_area_ha", "green_cover_pct", "area_ha"} <= set(out.columns):
        seen = _numeric(out, "green_cover_pct") / 100.0 * _numeric(out, "area_ha")
        ratio = 100.0 * _numeric(out, "rth_area_ha") / seen.where(seen > 0)
        put("green_mapped_vs_satellite_pct", "green_input_flag", ratio, float(rules.get("min_green_vs_satellite_pct",
                                                                                         50.0)))
    builtup = next((c for c in rules.get("builtup_columns", []) if c in out.columns), None)
    if builtup is not None and {"building_footprint_ha", "area_ha"} <= set(out.columns):
        land = _numeric(out, builtup) / 100.0 * _numeric(out, "area_ha")
        ratio = 100.0 * _numeric(out, "building_footprint_ha") / land.where(land > 0)
        put("building_mapped_vs_builtup_pct", "building_input_flag", ratio,
            float(rules.get("min_buildings_vs_builtup_pct", 50.0)))
    network = next((c for c in rules.get("network_columns", []) if c in out.columns), None)
    if network is not None:
        put("network_people_pct", "network_input_flag", _numeric(out, network),
            float(rules.get("min_network_people_pct", 90.0)))
    return out
