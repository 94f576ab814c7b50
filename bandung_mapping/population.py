"""Population tables: read them with the city profile's column mapping and join them to zones.

The city profile's ``[population]`` section names the columns:

``name_column``, ``alt_name_columns``, ``parent_name_column``, ``code_column``
    zone name (other spellings), parent zone name, official code;
``parent_code_column``
    optional: official code of the parent zone (e.g. the kecamatan of a kelurahan row);
``code_label``
    optional: who issues the codes (e.g. ``"Kemendagri"``), for notes;
``value_column``
    the count of people; rows of the same zone (e.g. one per sex) are summed;
``year_column``, ``period_column``
    optional: year and period (semester) of each row, for tables with several dates;
``code_separator``
    optional: several codes in one cell (e.g. ``"2771025000;2771025300"``);
``value_column_pattern``
    optional: dated value columns, e.g. ``"population_{year}-{period}"`` (see ``_codes``);
``successor_codes``
    optional: table of code newer than the boundaries -> code of the zone containing it.

When the boundary file has names but no codes, :func:`adopt_codes` gives the matched zones
the official codes of the table's rows (an explicit step after :func:`join_population`).
"""

from __future__ import annotations

import csv
import difflib
import os
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ._codes import period_column, period_columns
from ._log import get_logger
from ._numbers import parse_numbers
from ._validate import check_gdf, check_input_path
from .errors import EmptyAreaError, InputError, InputFileError, JoinError
from .profiles import CityProfile, check_keys, load_city

log = get_logger(__name__)

__all__ = ["read_population", "join_population", "adopt_codes", "normalise_name"]

_POP_KEYS = {
    "name_column",
    "alt_name_columns",
    "parent_name_column",
    "code_column",
    "parent_code_column",
    "code_label",
    "value_column",
    "number_format",
    "year_column",
    "period_column",
    "code_separator",
    "encoding",
    "value_column_pattern",
    "successor_codes",
}
FUZZY_CUTOFF = 0.75



def _zone_levels(
    zones: Mapping[str, gpd.GeoDataFrame] | gpd.GeoDataFrame, prof: CityProfile
) -> tuple[bool, dict[str, gpd.GeoDataFrame], list[str]]:
    """Check the ``zones`` argument: (given as one GeoDataFrame?, level -> zones, levels lowest first)."""
    single = isinstance(zones, gpd.GeoDataFrame)
    if single:
        levels_in = {prof.lowest_level: zones}
    elif isinstance(zones, Mapping) and zones:
        levels_in = dict(zones)
    else:
        raise InputError("zones must be a dict of level -> GeoDataFrame or a GeoDataFrame")
    order = [lev for lev in prof.levels if lev in levels_in] or list(levels_in)
    for lev in order:
        check_gdf(levels_in[lev], name=f"zones[{lev!r}]", columns=["zone_id", "zone_name", "parent_id"])
    return single, levels_in, order


def normalise_name(name: object) -> str:
    """Upper-case name without accents, spaces or punctuation, for matching.

    Examples
    --------
    >>> normalise_name("Mekar Jaya"), normalise_name("MEKARJAYA"), normalise_name("Husein Sastranegara")
    ('MEKARJAYA', 'MEKARJAYA', 'HUSEINSASTRANEGARA')
    """
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return ""
    s = unicodedata.normalize("NFKD", str(name))
    s = unicodedata.normalize("NFC", "".join(ch for ch in s if not unicodedata.combining(ch)))
    return re.sub(r"[\W_]+", "", s.upper())


def _norm_code(code: object) -> str:
    if code is None or (isinstance(code, float) and np.isnan(code)):
        return ""
    if isinstance(code, float) and code.is_integer():
        code = int(code)
    return re.sub(r"[^0-9A-Za-z]+", "", str(code)).upper()


def read_population(
    path: str | os.PathLike[str],
    *,
    city: str | os.PathLike[str] | CityProfile = "bandung",
    year: int | None = None,
    period: int | str | None = None,
) -> pd.DataFrame:
    """Read a population table, one row per zone of the lowest level.

    Parameters
    ----------
    path : str or path-like
        CSV (or .xlsx) in the layout named by the city profile's ``[population]`` section
        (Bandung: the Disdukcapil / Open Data Kota Bandung layout, one row per kelurahan x
        sex x semester).
    city : str, path or CityProfile
        City profile; default ``"bandung"``.
    year : int, optional
        Year to read; default the latest year in the table.
    period : int or str, optional
        Period (semester) within the year; default the latest period of that year, or
        period 1 when ``year`` is given without ``period`` and period 1 exists.

    Returns
    -------
    DataFrame
        Columns ``code``, ``name``, ``parent_name``, ``population`` (people, all rows of a
        zone summed, e.g. both sexes), ``alt_name`` (another spelling, or NaN) and
        ``parent_code`` (the parent zone's code when the profile names a
        ``parent_code_column``, else NaN). ``attrs`` holds ``year``, ``period`` and ``source``.

    Raises
    ------
    InputFileError
        Missing or unreadable file.
    InputError
        Columns named by the profile are missing, or the year/period is not in the table.
    """
    prof = load_city(city)
    cfg = dict(prof.population)
    check_keys(
        cfg, _POP_KEYS, where=f"city profile {prof.id} [population]", required={"name_column", "value_column"}
    )
    p = check_input_path(path, what="population table")
    df = _read_table(p, encoding=cfg.get("encoding"))
    needed = [
        cfg[k]
        for k in (
            "name_column",
            "parent_name_column",
            "code_column",
            "parent_code_column",
            "year_column",
            "period_column",
        )
        if cfg.get(k)
    ]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise InputError(
            f"{p.name}: column(s) {missing} named by city profile {prof.id!r} [population] are missing; "
            f"the table has {list(df.columns)}"
        )
    if len(df) == 0:
        raise EmptyAreaError(f"{p.name} has no rows")
    ycol, pcol = cfg.get("year_column"), cfg.get("period_column")
    chosen_year: Any = None
    chosen_period: Any = None
    if ycol:
        years = pd.to_numeric(df[ycol], errors="coerce")
        available = sorted(int(y) for y in years.dropna().unique())
        if year is None:
            chosen_year = available[-1]
        elif int(year) in available:
            chosen_year = int(year)
        else:
            raise InputError(f"{p.name}: year {year} not in the table; it has {available}")
        df = df.loc[years == chosen_year]
    elif year is not None and not cfg.get("value_column_pattern"):
        log.warning("%s has no year column; year=%s ignored", p.name, year)
    if pcol:
        periods = df[pcol].astype(str).str.strip()
        available_p = sorted(periods.unique(), key=lambda v: (len(v), v))
        if period is None:
            if year is not None and "1" in available_p:
                chosen_period = "1"
                if len(available_p) > 1:
                    log.info(
                        "%s: year %s has periods %s; using period 1 (pass period= to choose)",
                        p.name,
                        chosen_year,
                        available_p,
                    )
            else:
                chosen_period = available_p[-1]
        elif str(period).strip() in available_p:
            chosen_period = str(period).strip()
        else:
            raise InputError(f"{p.name}: period {period!r} not in year {chosen_year}; it has {available_p}")
        df = df.loc[periods == chosen_period]
    elif period is not None and not cfg.get("value_column_pattern"):
        log.warning("%s has no period column; period=%s ignored", p.name, period)

    value_col = cfg["value_column"]
    pattern = cfg.get("value_column_pattern")
    if pattern and not ycol and (year is not None or period is not None or value_col not in df.columns):
        value_col = period_column(df.columns, pattern=str(pattern), year=year, period=period)
        chosen_year, chosen_period = period_columns([value_col], pattern=str(pattern))[value_col]
        chosen_period = chosen_period or None
    if value_col not in df.columns:
        raise InputError(f"{p.name}: value column {value_col!r} not in the table; it has {list(df.columns)}")
    df, dropped = _drop_duplicate_rows(df, value_col=value_col, source=p.name)
    value = parse_numbers(df[value_col], column=value_col, where=p.name, style=cfg.get("number_format"))
    if value.isna().any():
        rows = [str(i + 2) for i in df.index[value.isna().to_numpy()][:10]]
        raise InputError(
            f"{p.name}: {int(value.isna().sum())} rows have no number in {value_col!r} (file lines {', '.join(rows)})"
        )
    if (value < 0).any():
        neg = df.loc[value < 0, cfg["name_column"]].astype(str).tolist()[:10]
        raise InputError(f"{p.name}: negative population in {value_col!r} for {neg}; expected counts of people >= 0")
    alt_cols = [c for c in cfg.get("alt_name_columns", []) if c in df.columns]

    def code_text(column: str | None) -> Any:
        if not column:
            return np.nan
        return df[column].map(lambda v: np.nan if pd.isna(v) or not str(v).strip() else str(v).strip())

    table = pd.DataFrame(
        {
            "code": code_text(cfg.get("code_column")),
            "name": df[cfg["name_column"]].astype(str).str.strip(),
            "parent_name": df[cfg["parent_name_column"]].astype(str).str.strip()
            if cfg.get("parent_name_column")
            else np.nan,
            "alt_name": df[alt_cols[0]].astype(str).str.strip() if alt_cols else np.nan,
            "population": value.astype(float),
            "parent_code": code_text(cfg.get("parent_code_column")),
        }
    )
    keys = ["code", "name", "parent_name", "parent_code"]
    out = (
        table.groupby(keys, dropna=False, sort=False)
        .agg(population=("population", "sum"), alt_name=("alt_name", "first"))
        .reset_index()[["code", "name", "parent_name", "population", "alt_name", "parent_code"]]
    )
    out.attrs.update(
        {
            "year": chosen_year,
            "period": chosen_period,
            "source": p.name,
            "value_column": value_col,
            "code_separator": cfg.get("code_separator"),
            "successor_codes": {str(k): str(v) for k, v in dict(cfg.get("successor_codes", {})).items()},
            "code_column": cfg.get("code_column"),
            "parent_code_column": cfg.get("parent_code_column"),
            "code_label": cfg.get("code_label"),
            "duplicate_rows_dropped": dropped,
        }
    )
    log.info(
        "read population of %d zones (%s%s) from %s: %s people",
        len(out),
        f"year {chosen_year}" if chosen_year is not None else "",
        f", period {chosen_period}" if chosen_period is not None else "",
        p.name,
        f"{out['population'].sum():,.0f}",
    )
    return out


# Columns that number the rows of a table (each row its own value): not part of what makes two rows the same.
_ROW_NUMBER_COLUMNS = {"id", "no", "nomor", "no.", "fid", "objectid"}


def _drop_duplicate_rows(df: pd.DataFrame, *, value_col: str, source: str) -> tuple[pd.DataFrame, int]:
    """``df`` without exact duplicate rows (counted), or :class:`InputError` for rows that differ only in value.

    Row-number columns (``id``, ``no``, ...) are left out of the comparison.
    """
    keys = [c for c in df.columns if str(c).strip().lower() not in _ROW_NUMBER_COLUMNS]
    exact = df.duplicated(subset=keys, keep="first")
    dropped = int(exact.sum())
    if dropped:
        log.warning("%s: %d exact duplicate row(s) dropped", source, dropped)
        df = df.loc[~exact]
    others = [c for c in keys if c != value_col]
    clash = df.duplicated(subset=others, keep=False)
    if clash.any():
        lines = [str(i + 2) for i in df.index[clash.to_numpy()][:10]]
        raise InputError(
            f"{source}: {int(clash.sum())} rows describe the same zone, year and group with different values in "
            f"{value_col!r} (file lines {', '.join(lines)}); expected one row per zone and group"
        )
    return df, dropped


def _read_table(p: Path, *, encoding: str | None) -> pd.DataFrame:
    try:
        if p.suffix.lower() in (".xlsx", ".xls"):
            return pd.read_excel(p, dtype=object)
        encodings = [encoding] if encoding else ["utf-8-sig", "cp949", "latin-1"]
        last: Exception | None = None
        for enc in encodings:
            try:
                return pd.read_csv(p, dtype=object, encoding=enc, sep=None, engine="python")
            except UnicodeDecodeError as exc:
                last = exc
        raise InputFileError(f"cannot decode {p} with encodings {encodings}") from last
    except InputFileError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError, csv.Error) as exc:
        raise InputFileError(f"cannot read population table {p} ({exc}); expected a CSV or XLSX") from exc


def join_population(
    zones: Mapping[str, gpd.GeoDataFrame] | gpd.GeoDataFrame,
    table: pd.DataFrame,
    *,
    city: str | os.PathLike[str] | CityProfile = "bandung",
    fuzzy_cutoff: float = FUZZY_CUTOFF,
    match_leftover: bool = True,
) -> tuple[dict[str, gpd.GeoDataFrame] | gpd.GeoDataFrame, dict[str, Any]]:
    """Fill ``population`` of the lowest zones from ``table`` and sum it up the levels.

    Rows are matched to zones, each row used at most once, in this order:

    1. by code, where the zone id is an official code found in the table's ``code``
       (ignoring dots and spaces, e.g. ``32.73.01.1002`` = ``3273011002``);
    2. by normalised name (case, spaces, punctuation ignored; ``alt_name`` tried too)
       within the same parent zone;
    3. by normalised name alone, when it is unique on both sides;
    4. by the closest spelling (difflib ratio >= ``fuzzy_cutoff``) within the same parent
       (e.g. CIMENCRANG / CIMINCRANG); every such match is reported;
    5. with ``match_leftover``, when exactly one zone and one row are left unmatched in the
       same parent, they are paired (a table that names the wrong kelurahan, as the Bandung
       2022 table does for 32.73.23.1004 in Rancasari); reported and logged as a warning.

    When codes are comparable (some rows matched by code), a row whose codes match no zone
    is another unit and is never paired in steps 4-5.

    Zones left unmatched keep NaN population and are listed; no zone is dropped.

    Parameters
    ----------
    zones : dict of level -> GeoDataFrame, or GeoDataFrame
        From :func:`bandung_mapping.boundaries.zones_from_file`, or its lowest level only.
    table : DataFrame
        From :func:`read_population`.
    city : str, path or CityProfile
        City profile (levels).
    fuzzy_cutoff : float
        Minimum similarity (0-1) of a spelling match.
    match_leftover : bool
        Pair the single zone and single row left unmatched within a parent (step 5).

    Returns
    -------
    (zones, report)
        New zone GeoDataFrames (same type as given) with ``population`` filled; upper levels
        are sums of the lowest level (NaN children are left out, and listed in the report).
        ``report`` holds ``matched``, ``by_method``, ``fuzzy_matches``, ``leftover_matches``,
        ``notes`` (sentences for run.json), ``unmatched_zones``,
        ``unmatched_rows``, ``table_total``, ``joined_total``, and ``zone_codes``: for each
        matched lowest zone id, the ``code`` and ``parent_code`` of its (first) table row
        (None when the row has none) and the match ``method`` (used by :func:`adopt_codes`).
        ``zone_matches`` lists, for every lowest zone, the ``method``, the row's
        ``table_name`` and ``table_code``, and ``disagreement``: ``""`` (name and code agree),
        ``"name_differs"`` (e.g. a code match whose row is spelt otherwise, or a spelling or
        leftover match), ``"code_differs"`` (the zone's official code is not among the row's),
        ``"name_and_code_differ"`` or ``"unmatched"``; ``disagreements`` counts the zones
        that matched but disagree.

    Raises
    ------
    JoinError
        No zone could be matched at all.
    """
    prof = load_city(city)
    if not isinstance(table, pd.DataFrame) or not {"name", "population"} <= set(table.columns):
        raise InputError("table must be a DataFrame with columns name, population (from read_population)")
    if not 0 < fuzzy_cutoff <= 1:
        raise InputError(f"fuzzy_cutoff must be in (0, 1], got {fuzzy_cutoff}")
    single, levels_in, order = _zone_levels(zones, prof)
    lowest = levels_in[order[0]]
    parent_names: dict[str, str] = {}
    if len(order) > 1:
        up = levels_in[order[1]]
        parent_names = dict(zip(up["zone_id"].astype(str), up["zone_name"].astype(str), strict=True))

    t = table.reset_index(drop=True)
    sep = table.attrs.get("code_separator")
    n = len(t)
    used = np.zeros(n, dtype=bool)
    successors = {
        _norm_code(k): _norm_code(v) for k, v in dict(table.attrs.get("successor_codes") or {}).items()
    }
    t_codes = [
        {successors.get(c, c) for c in (_norm_code(c) for c in (str(v).split(sep) if sep else [v]))} - {""}
        if pd.notna(v)
        else set()
        for v in (t["code"] if "code" in t.columns else [np.nan] * n)
    ]
    t_names = [normalise_name(v) for v in t["name"]]
    t_alt = [normalise_name(v) for v in (t["alt_name"] if "alt_name" in t.columns else [""] * n)]
    t_parent = [normalise_name(v) for v in (t["parent_name"] if "parent_name" in t.columns else [""] * n)]

    z = lowest.reset_index(drop=True)
    z_ids = z["zone_id"].astype(str).tolist()
    z_names = [normalise_name(v) for v in z["zone_name"]]
    z_parent = [normalise_name(parent_names.get(str(pid), "")) for pid in z["parent_id"]]
    match = np.full(len(z), -1, dtype=int)
    method = np.full(len(z), "", dtype=object)

    # 1. codes: a row belongs to the one zone whose code it lists; a zone may get several rows
    extra: dict[int, list[int]] = {}
    ambiguous: list[dict[str, Any]] = []
    zone_by_code: dict[str, int] = {}
    for k, zid in enumerate(z_ids):
        zone_by_code.setdefault(_norm_code(zid), k)
    for i, codes in enumerate(t_codes):
        hits = sorted({zone_by_code[c] for c in codes if c in zone_by_code})
        if len(hits) > 1:
            ambiguous.append({"name": str(t["name"][i]), "zones": [z_ids[k] for k in hits]})
            continue
        if hits:
            k = hits[0]
            if match[k] < 0:
                match[k], method[k] = i, "code"
            else:
                extra.setdefault(k, []).append(i)
            used[i] = True

    def by_name(k: int, *, within_parent: bool) -> int | None:
        hits = [
            i
            for i in range(n)
            if not used[i]
            and z_names[k]
            and z_names[k] in (t_names[i], t_alt[i])
            and (not within_parent or (z_parent[k] and t_parent[i] == z_parent[k]))
        ]
        return hits[0] if len(hits) == 1 or (within_parent and hits) else None

    for k in range(len(z)):
        if match[k] < 0:
            i = by_name(k, within_parent=True)
            if i is not None:
                match[k], method[k], used[i] = i, "name", True
    name_count_z = pd.Series(z_names).value_counts()
    for k in range(len(z)):
        if match[k] < 0 and name_count_z.get(z_names[k], 0) == 1:
            i = by_name(k, within_parent=False)
            if i is not None:
                match[k], method[k], used[i] = i, "name_only", True
    # rows whose codes are comparable with the zone ids but matched none are other units:
    # never pair them by spelling or as leftovers
    codes_comparable = bool((method == "code").any())
    foreign = [codes_comparable and bool(t_codes[i]) for i in range(n)]
    fuzzy: list[dict[str, Any]] = []
    candidates = []
    for k in range(len(z)):
        if match[k] >= 0:
            continue
        for i in range(n):
            if used[i] or foreign[i] or (z_parent[k] and t_parent[i] != z_parent[k]):
                continue
            score = max(
                difflib.SequenceMatcher(None, z_names[k], t_names[i]).ratio(),
                difflib.SequenceMatcher(None, z_names[k], t_alt[i]).ratio() if t_alt[i] else 0.0,
            )
            if score >= fuzzy_cutoff:
                candidates.append((score, k, i))
    for score, k, i in sorted(candidates, key=lambda c: (-c[0], c[1], c[2])):
        if match[k] >= 0 or used[i]:
            continue
        match[k], method[k], used[i] = i, "fuzzy", True
        fuzzy.append(
            {
                "zone_id": z_ids[k],
                "zone_name": str(z["zone_name"][k]),
                "table_name": str(t["name"][i]),
                "parent": parent_names.get(str(z["parent_id"][k]), ""),
                "score": round(float(score), 3),
            }
        )
    leftover: list[dict[str, Any]] = []
    if match_leftover:
        left_z = pd.Series([z_parent[k] for k in range(len(z)) if match[k] < 0])
        left_t = pd.Series([t_parent[i] for i in range(n) if not used[i] and not foreign[i]])
        for parent in sorted(set(left_z) & set(left_t)):
            if not parent or (left_z == parent).sum() != 1 or (left_t == parent).sum() != 1:
                continue
            k = next(k for k in range(len(z)) if match[k] < 0 and z_parent[k] == parent)
            i = next(i for i in range(n) if not used[i] and not foreign[i] and t_parent[i] == parent)
            match[k], method[k], used[i] = i, "leftover", True
            leftover.append(
                {
                    "zone_id": z_ids[k],
                    "zone_name": str(z["zone_name"][k]),
                    "table_name": str(t["name"][i]),
                    "table_code": str(t["code"][i]) if "code" in t else "",
                    "parent": parent_names.get(str(z["parent_id"][k]), ""),
                }
            )
            log.warning(
                "%s (%s) matched to table row %s, the only row left in the same parent: the names differ, "
                "check the table",
                z["zone_name"][k],
                leftover[-1]["parent"],
                t["name"][i],
            )
    if (match < 0).all():
        raise JoinError(
            "no zone matched the population table: zone names like "
            f"{z['zone_name'].head(3).tolist()} vs table names like {t['name'].head(3).tolist()}; "
            "check the city profile's [population] columns"
        )
    values = t["population"].to_numpy(dtype=float)
    pop = np.where(match >= 0, values[np.maximum(match, 0)], np.nan)
    for k, rows in extra.items():
        pop[k] += values[rows].sum()
    out_lowest = lowest.copy()
    out_lowest["population"] = pop
    result = {order[0]: out_lowest}
    child = out_lowest
    missing_parents: dict[str, list[str]] = {}
    for lev in order[1:]:
        g = levels_in[lev].copy()
        sums = child.groupby(child["parent_id"].astype(str))["population"].sum(min_count=1)
        incomplete = child.loc[child["population"].isna(), "parent_id"].astype(str).unique().tolist()
        if incomplete:
            missing_parents[lev] = incomplete
        g["population"] = g["zone_id"].astype(str).map(sums).astype(float).to_numpy()
        result[lev] = g
        child = g
    unmatched_rows = t.loc[
        ~used, [c for c in ("code", "name", "parent_name", "population") if c in t.columns]
    ]
    def cell(column: str, i: int) -> str | None:
        if column not in t.columns or pd.isna(t[column][i]):
            return None
        return str(t[column][i])

    zone_codes = {
        z_ids[k]: {
            "code": cell("code", int(match[k])),
            "parent_code": cell("parent_code", int(match[k])),
            "method": str(method[k]),
        }
        for k in np.flatnonzero(match >= 0)
    }
    def disagreement(k: int) -> str:
        """Whether zone ``k`` and the row it took disagree on name or on code."""
        i = int(match[k])
        if i < 0:
            return "unmatched"
        names_agree = z_names[k] in (t_names[i], t_alt[i])
        zone_code = _norm_code(z_ids[k])
        code_given = bool(t_codes[i]) and zone_code and z_ids[k] not in no_code_ids
        codes_agree = not code_given or zone_code in t_codes[i]
        if not names_agree and not codes_agree:
            return "name_and_code_differ"
        return "" if names_agree and codes_agree else ("name_differs" if not names_agree else "code_differs")

    no_code_ids = set(lowest.attrs.get("ids_without_code") or [])
    zone_matches = [
        {
            "zone_id": z_ids[k],
            "zone_name": str(z["zone_name"][k]),
            "method": str(method[k]) or "unmatched",
            "table_name": cell("name", int(match[k])) if match[k] >= 0 else None,
            "table_code": cell("code", int(match[k])) if match[k] >= 0 else None,
            "disagreement": disagreement(k),
        }
        for k in range(len(z))
    ]
    report = {
        "zone_matches": zone_matches,
        "disagreements": sum(1 for m in zone_matches if m["disagreement"] not in ("", "unmatched")),
        "matched": int((match >= 0).sum()),
        "zones": int(len(z)),
        "by_method": {
            m: int((method == m).sum()) for m in ("code", "name", "name_only", "fuzzy", "leftover")
        },
        "fuzzy_matches": fuzzy,
        "leftover_matches": leftover,
        "ambiguous_rows": ambiguous,
        "unmatched_zones": [
            {
                "zone_id": z_ids[k],
                "zone_name": str(z["zone_name"][k]),
                "parent": parent_names.get(str(z["parent_id"][k]), ""),
            }
            for k in np.flatnonzero(match < 0)
        ],
        "unmatched_rows": unmatched_rows.to_dict(orient="records"),
        "parents_with_unmatched_children": missing_parents,
        "table_total": float(t["population"].sum()),
        "joined_total": float(np.nansum(pop)),
        "year": table.attrs.get("year"),
        "period": table.attrs.get("period"),
        "zone_codes": zone_codes,
        "code_separator": sep,
    }
    notes = [
        f"population: spelling match {f['zone_name']} ({f['parent']}) = {f['table_name']}" for f in fuzzy
    ]
    notes += [
        f"population: {m['zone_name']} ({m['parent']}) took the only row left in its parent, "
        f"{m['table_name']} {m['table_code']}; the names differ"
        for m in leftover
    ]
    # rows that matched no zone are in report["unmatched_rows"] (named in the run's data-quality findings)
    report["notes"] = notes
    log.info(
        "joined population to %d of %d %s zones (%s); %d fuzzy, %d zones and %d table rows unmatched",
        report["matched"],
        len(z),
        order[0],
        report["by_method"],
        len(fuzzy),
        len(report["unmatched_zones"]),
        len(report["unmatched_rows"]),
    )
    for f in fuzzy:
        log.info(
            "spelling match: %s (%s) = %s (score %.2f)",
            f["zone_name"],
            f["parent"],
            f["table_name"],
            f["score"],
        )
    if single:
        return result[order[0]], report
    return {lev: result[lev] for lev in levels_in if lev in result}, report


def _looks_like_code(zone_id: str) -> bool:
    """Whether an id looks like an official code: has a digit, no ``/`` and no lower-case letter."""
    return any(ch.isdigit() for ch in zone_id) and "/" not in zone_id and zone_id == zone_id.upper()


def _ids_without_code(gdf: gpd.GeoDataFrame) -> set[str]:
    ids = gdf["zone_id"].astype(str)
    listed = gdf.attrs.get("ids_without_code")
    if listed is not None:
        return set(ids) & {str(v) for v in listed}
    return {i for i in ids if not _looks_like_code(i)}


def _unique_ids(ids: list[str], proposed: dict[str, str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Drop proposed new ids that would clash (ignoring dots and spaces) with another zone's id.

    Returns the proposals kept and, for each clashing code, the old ids that would have shared it.
    """
    kept = dict(proposed)
    clashes: dict[str, list[str]] = {}
    while True:
        groups: dict[str, list[str]] = {}
        for old in ids:
            new = kept.get(old, old)
            groups.setdefault(_norm_code(new) or new, []).append(old)
        bad = [m for m in groups.values() if len(m) > 1 and any(o in kept for o in m)]
        if not bad:
            return kept, clashes
        for members in bad:
            code = next(kept[o] for o in members if o in kept)
            clashes.setdefault(code, [])
            clashes[code] += [o for o in members if o not in clashes[code]]
            for o in members:
                kept.pop(o, None)


def adopt_codes(
    zones: Mapping[str, gpd.GeoDataFrame] | gpd.GeoDataFrame,
    report: Mapping[str, Any],
    *,
    city: str | os.PathLike[str] | CityProfile = "bandung",
) -> tuple[dict[str, gpd.GeoDataFrame] | gpd.GeoDataFrame, list[str]]:
    """Give zones that have no official code the codes of the population rows they matched.

    A boundary file with names but no codes gives name-based ids (``"coblong/dago"``); a
    population table often carries the official codes. After :func:`join_population`:

    * each lowest zone whose id is not a code and that matched a table row takes the row's
      ``code`` as ``zone_id`` (a row listing several codes is not used);
    * each zone of the next level up whose id is not a code takes the ``parent_code`` of its
      matched children when they all name the same one; when they disagree it keeps its id
      and a note says why;
    * ``parent_id`` of the lowest level follows its parent's new id.

    Unmatched zones keep their ids; the top level (the city) keeps the city id; zones whose
    ids already are codes are never changed. When two zones would take the same code (dots
    and spaces ignored), or a code another zone already has, they keep their ids and a note
    names them, so ``zone_id`` stays unique.

    Which ids are not codes comes from ``attrs["ids_without_code"]`` set by
    :func:`bandung_mapping.boundaries.zones_from_file`; without it, an id counts as a code
    when it has a digit, no ``/`` and no lower-case letter.

    Parameters
    ----------
    zones : dict of level -> GeoDataFrame, or GeoDataFrame
        From :func:`join_population` (or its lowest level only).
    report : dict
        The report of the same :func:`join_population` call (its ``zone_codes``).
    city : str, path or CityProfile
        City profile (levels; ``[population]`` ``code_label`` and column names for the notes).

    Returns
    -------
    (zones, notes)
        New zone GeoDataFrames (same type as given; population and geometry unchanged) and
        sentences for run.json (none when no id changes and nothing needs saying).

    Raises
    ------
    InputError
        ``report`` is not a :func:`join_population` report, or zone ids of a level are not
        unique.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> from bandung_mapping import boundaries
    >>> gdf = gpd.GeoDataFrame({"nama_kelurahan": ["Dago"], "nama_kecamatan": ["Coblong"]},
    ...                        geometry=[shapely.box(107.6, -6.9, 107.61, -6.89)], crs=4326)
    >>> zones = boundaries.zones_from_gdf(gdf, city="bandung")
    >>> table = pd.DataFrame({"code": ["32.73.02.1001"], "name": ["DAGO"], "parent_name": ["COBLONG"],
    ...                       "population": [100.0], "parent_code": ["32.73.02"]})
    >>> zones, report = join_population(zones, table, city="bandung")
    >>> zones, notes = adopt_codes(zones, report, city="bandung")
    >>> zones["kelurahan"][["zone_id", "parent_id"]].values.tolist(), zones["kecamatan"]["zone_id"].tolist()
    ([['32.73.02.1001', '32.73.02']], ['32.73.02'])
    """
    prof = load_city(city)
    if not isinstance(report, Mapping) or not isinstance(report.get("zone_codes"), Mapping):
        raise InputError("report must be the report of join_population (with its zone_codes)")
    single, levels_in, order = _zone_levels(zones, prof)
    for lev in order:
        dup = levels_in[lev]["zone_id"].astype(str).duplicated()
        if dup.any():
            raise InputError(
                f"zones[{lev!r}] zone ids must be unique; repeated: "
                f"{levels_in[lev]['zone_id'][dup].astype(str).unique().tolist()[:5]}"
            )
    codes: Mapping[str, Mapping[str, Any]] = report["zone_codes"]
    sep = report.get("code_separator")
    cfg = dict(prof.population)
    label = f"{cfg['code_label']} " if cfg.get("code_label") else ""
    notes: list[str] = []

    def single_code(value: object) -> str | None:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return None
        text = str(value).strip()
        return text if text and not (sep and sep in text) else None

    # lowest level: the matched row's code
    low = order[0]
    lz = levels_in[low]
    l_ids = lz["zone_id"].astype(str).tolist()
    l_names = dict(zip(l_ids, lz["zone_name"].astype(str), strict=True))
    l_without = _ids_without_code(lz)
    proposed: dict[str, str] = {}
    unmatched: list[str] = []
    no_code: list[str] = []
    for zid in l_ids:
        if zid not in l_without:
            continue
        info = codes.get(zid)
        if info is None:
            unmatched.append(zid)
            continue
        code = single_code(info.get("code"))
        if code is None:
            no_code.append(zid)
        else:
            proposed[zid] = code
    new_low, low_clashes = _unique_ids(l_ids, proposed)

    # the level above: the parent code shared by all matched children
    up = order[1] if len(order) > 1 and order[1] != prof.levels[-1] else None
    new_up: dict[str, str] = {}
    up_clashes: dict[str, list[str]] = {}
    disagree: dict[str, dict[str, list[str]]] = {}
    up_no_code: list[str] = []
    u_names: dict[str, str] = {}
    if up is not None:
        uz = levels_in[up]
        u_ids = uz["zone_id"].astype(str).tolist()
        u_names = dict(zip(u_ids, uz["zone_name"].astype(str), strict=True))
        u_without = _ids_without_code(uz)
        by_parent: dict[str, dict[str, list[str]]] = {}
        for zid, pid in zip(l_ids, lz["parent_id"].astype(str), strict=True):
            pcode = single_code((codes.get(zid) or {}).get("parent_code"))
            if pcode is not None:
                by_parent.setdefault(pid, {}).setdefault(pcode, []).append(zid)
        proposed_up: dict[str, str] = {}
        for uid in u_ids:
            if uid not in u_without:
                continue
            found = by_parent.get(uid, {})
            if len(found) == 1:
                proposed_up[uid] = next(iter(found))
            elif len(found) > 1:
                disagree[uid] = found
            else:
                up_no_code.append(uid)
        new_up, up_clashes = _unique_ids(u_ids, proposed_up)

    out: dict[str, gpd.GeoDataFrame] = {}
    for lev in order:
        g = levels_in[lev].copy()
        ids = g["zone_id"].astype(str)
        if lev == low:
            g["zone_id"] = ids.map(lambda i: new_low.get(i, i))
            g["parent_id"] = g["parent_id"].astype(str).map(lambda i: new_up.get(i, i))
            changed = new_low
        elif lev == up:
            g["zone_id"] = ids.map(lambda i: new_up.get(i, i))
            changed = new_up
        else:
            changed = {}
        if "ids_without_code" in g.attrs:
            g.attrs["ids_without_code"] = sorted(set(g.attrs["ids_without_code"]) - set(changed))
        g.attrs["renamed_ids"] = dict(changed)  # old id -> official code, for reports made before
        out[lev] = g

    columns = ", ".join(str(c) for c in (cfg.get("code_column"), cfg.get("parent_code_column")) if c)
    source = f"the population table ({columns})" if columns else "the population table"
    if new_low or new_up:
        parts = [f"{len(new_low)} {low}"] + ([f"{len(new_up)} {up}"] if up is not None else [])
        notes.append(f"zone ids: {' and '.join(parts)} take {label}codes from {source}")
        if unmatched:
            notes.append(
                f"zone ids: {len(unmatched)} {low} not matched to the population table keep their own ids: "
                f"{unmatched[:10]}"
            )
        if no_code:
            notes.append(
                f"zone ids: {len(no_code)} {low} matched table rows without a single code and keep their "
                f"own ids: {no_code[:10]}"
            )
        if up is not None and up_no_code:
            why = (
                "no matched child gives a parent code"
                if cfg.get("parent_code_column")
                else "the city profile's [population] names no parent_code_column"
            )
            notes.append(f"zone ids: {len(up_no_code)} {up} keep their own ids: {why}")
    for uid, found in disagree.items():
        detail = "; ".join(f"{code} for {', '.join(l_names[c] for c in kids)}" for code, kids in found.items())
        notes.append(
            f"zone ids: {up} {u_names[uid]} keeps its id {uid}: its {low} rows name different parent codes "
            f"({detail})"
        )
    for lev, clashes, names in ((low, low_clashes, l_names), (up, up_clashes, u_names)):
        for code, olds in clashes.items():
            notes.append(
                f"zone ids: {lev} {', '.join(f'{names[o]} ({o})' for o in olds)} would share code {code}; "
                "they keep their own ids"
            )
    log.info(
        "zone ids: %d %s%s took codes from the population table; %d unmatched, %d parents disagree, "
        "%d clashes kept their ids",
        len(new_low),
        low,
        f" and {len(new_up)} {up}" if up is not None else "",
        len(unmatched),
        len(disagree),
        sum(len(v) for v in low_clashes.values()) + sum(len(v) for v in up_clashes.values()),
    )
    if single:
        return out[low], notes
    return {lev: out[lev] for lev in levels_in if lev in out}, notes
