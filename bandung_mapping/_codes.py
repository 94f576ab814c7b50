"""Administrative-code helpers for tables keyed by official codes (plumbing, not public API).

Some statistics tables give one row per unit with *several* codes in one cell (a
Korean 행정동 row lists its own MOIS code and the codes of its branch offices, joined
by ``";"``), name the value column by its date (``population_2026-08``), or hold units
created after the boundary file was released (a dong split in two). These helpers
handle such tables generically; what is specific to a city (separator, column
pattern, which new code lies inside which old unit) comes from the city profile's
``[population]`` section:

``code_separator``
    Separator between codes in one cell (e.g. ``";"``).
``value_column_pattern``
    Name pattern of dated value columns, with ``{year}`` and ``{period}`` placeholders
    (e.g. ``"population_{year}-{period}"``).
``successor_codes``
    Table mapping a code absent from the boundary file to the code of the zone that
    contains it (e.g. a dong split off after the boundaries were drawn).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from ._log import get_logger
from .errors import InputError, JoinError

log = get_logger(__name__)

__all__ = ["split_codes", "period_column", "period_columns", "join_on_codes", "join_with_profile"]


def split_codes(values: pd.Series, *, sep: str | None = ";") -> pd.Series:
    """Return one row per code: ``values`` split on ``sep``, index repeated, blanks dropped.

    Codes are kept as strings; a trailing ``".0"`` left by a float column is removed.

    Examples
    --------
    >>> split_codes(pd.Series(["11;12", "13"])).tolist()
    ['11', '12', '13']
    """
    if not isinstance(values, pd.Series):
        raise InputError(f"codes must be a pandas Series, got {type(values).__name__}")
    s = values.astype("string").str.strip()
    if sep:
        s = s.str.split(sep).explode()
    s = s.astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    return s[s.notna() & (s != "")].astype(object)


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    if "{year}" not in pattern:
        raise InputError(
            f"value_column_pattern {pattern!r} must contain '{{year}}' (and optionally '{{period}}')"
        )
    parts = re.split(r"(\{year\}|\{period\})", pattern)
    regex = ""
    for part in parts:
        if part == "{year}":
            regex += r"(?P<year>\d{4})"
        elif part == "{period}":
            regex += r"(?P<period>\d{1,2})"
        else:
            regex += re.escape(part)
    return re.compile(f"^{regex}$")


def period_columns(columns: Iterable[str], *, pattern: str) -> dict[str, tuple[int, int]]:
    """Columns whose name matches ``pattern``, mapped to their ``(year, period)``, oldest first.

    Examples
    --------
    >>> cols = ["x", "population_2026-08", "population_2026-07"]
    >>> period_columns(cols, pattern="population_{year}-{period}")
    {'population_2026-07': (2026, 7), 'population_2026-08': (2026, 8)}
    """
    rx = _pattern_regex(pattern)
    found = {}
    for col in columns:
        m = rx.match(str(col))
        if m:
            found[str(col)] = (int(m.group("year")), int(m.groupdict().get("period") or 0))
    return dict(sorted(found.items(), key=lambda kv: kv[1]))


def period_column(
    columns: Iterable[str], *, pattern: str, year: int | None = None, period: int | None = None
) -> str:
    """Name of the value column for ``year`` and ``period`` (the latest one when both are None).

    Parameters
    ----------
    columns : iterable of str
        Column names of the table.
    pattern : str
        Name pattern with ``{year}`` and optionally ``{period}`` (month, semester ...),
        e.g. ``"population_{year}-{period}"``.
    year, period : int, optional
        Wanted date. With only ``year``, the latest period of that year is used.

    Raises
    ------
    InputError
        When no column matches, naming the columns that do.

    Examples
    --------
    >>> cols = ["population_2026-07", "population_2026-08", "male_2026-08"]
    >>> period_column(cols, pattern="population_{year}-{period}")
    'population_2026-08'
    >>> period_column(cols, pattern="population_{year}-{period}", year=2026, period=7)
    'population_2026-07'
    """
    found = period_columns(columns, pattern=pattern)
    if not found:
        raise InputError(f"no column named like {pattern!r}; the table has {list(columns)}")
    candidates = {
        c: yp
        for c, yp in found.items()
        if (year is None or yp[0] == int(year)) and (period is None or yp[1] == int(period))
    }
    if not candidates:
        raise InputError(
            f"no column for year={year} period={period} (pattern {pattern!r}); available: {list(found)}"
        )
    return list(candidates)[-1]


def join_on_codes(
    zone_codes: pd.Series,
    table: pd.DataFrame,
    *,
    code_column: str,
    value_column: str,
    sep: str | None = ";",
    successor_codes: Mapping[str, str] | None = None,
) -> tuple[pd.Series, pd.DataFrame]:
    """Sum ``table[value_column]`` onto zones whose code is one of a row's codes.

    A table row may list several codes (``sep``-joined); it belongs to the one zone
    whose code is among them, after ``successor_codes`` has replaced codes that are
    newer than the boundaries by the code of the zone that contains them. Several rows
    may fall in one zone (their values are added).

    Parameters
    ----------
    zone_codes : Series of str
        Code of each zone (e.g. ``zones["zone_id"]``); the result is aligned to its index.
    table : DataFrame
        Statistics table.
    code_column, value_column : str
        Columns of ``table`` holding the code(s) and the numeric value.
    sep : str or None
        Separator between codes in one cell.
    successor_codes : mapping of str to str, optional
        ``{new code: code of the zone that contains it}``.

    Returns
    -------
    values : Series of float
        Sum per zone, aligned to ``zone_codes.index``; NaN where no row matched.
    unmatched : DataFrame
        The rows of ``table`` that matched no zone (reported, never silently dropped).

    Raises
    ------
    JoinError
        When a row matches two or more zones (its value cannot be split) or zone codes repeat.

    Examples
    --------
    >>> zones = pd.Series(["A", "B"], index=[10, 20])
    >>> t = pd.DataFrame({"codes": ["A;A2", "B", "C", "B9"], "pop": [5, 7, 1, 2]})
    >>> v, un = join_on_codes(zones, t, code_column="codes", value_column="pop", successor_codes={"B9": "B"})
    >>> v.tolist(), un["codes"].tolist()
    ([5.0, 9.0], ['C'])
    """
    for col in (code_column, value_column):
        if col not in table.columns:
            raise InputError(f"table lacks column {col!r}; it has {list(table.columns)}")
    zc = zone_codes.astype("string").str.strip()
    if zc.duplicated().any():
        dup = sorted(set(zc[zc.duplicated()].dropna()))[:5]
        raise JoinError(f"zone codes must be unique; repeated: {dup}")
    values = pd.to_numeric(table[value_column], errors="coerce")
    long = split_codes(table[code_column], sep=sep)
    if successor_codes:
        long = long.map(lambda c: str(successor_codes.get(c, c)))
    code_to_zone = pd.Series(zc.index, index=zc.values)
    hits = long[long.isin(code_to_zone.index)]
    zones_per_row = hits.groupby(level=0).apply(lambda s: sorted(set(s)))
    multi = zones_per_row[zones_per_row.map(len) > 1]
    if len(multi):
        row = multi.index[0]
        raise JoinError(
            f"{len(multi)} table row(s) match several zones (e.g. row {row}: codes {multi.iloc[0]}); "
            "a row's value cannot be split between zones"
        )
    row_zone = zones_per_row.map(lambda codes: code_to_zone[codes[0]])
    summed = values.loc[row_zone.index].groupby(row_zone.values).sum(min_count=1)
    out = pd.Series(np.nan, index=zone_codes.index, dtype=float, name=value_column)
    out.loc[summed.index] = summed.to_numpy(dtype=float)
    unmatched = table.loc[~table.index.isin(row_zone.index)]
    log.info(
        "joined %d of %d table rows to %d of %d zones by code; %d row(s) matched no zone",
        len(row_zone), len(table), int(out.notna().sum()), len(out), len(unmatched),
    )
    return out, unmatched


def join_with_profile(
    zone_codes: pd.Series,
    table: pd.DataFrame,
    *,
    population: Mapping[str, object],
    year: int | None = None,
    period: int | None = None,
) -> tuple[pd.Series, pd.DataFrame, str]:
    """Join a wide, multi-code population table to zones as a city profile's ``[population]`` says.

    Uses ``code_column``, ``code_separator``, ``value_column_pattern`` (when ``year`` or
    ``period`` is given, or ``value_column`` is absent), ``value_column`` and
    ``successor_codes``. Unmatched rows are logged, grouped by ``parent_name_column``.

    Returns
    -------
    values : Series of float
        Population per zone aligned to ``zone_codes.index`` (NaN where unmatched).
    unmatched : DataFrame
        Table rows outside every zone.
    column : str
        The value column used (e.g. ``population_2026-08``).
    """
    cfg = dict(population)
    code_column = cfg.get("code_column")
    if not code_column:
        raise InputError("the city profile's [population] section has no code_column to join by")
    pattern = cfg.get("value_column_pattern")
    column = cfg.get("value_column")
    if pattern and (year is not None or period is not None or column not in table.columns):
        column = period_column(table.columns, pattern=str(pattern), year=year, period=period)
    elif year is not None or period is not None:
        raise InputError("year/period asked for, but the profile's [population] has no value_column_pattern")
    if not column or column not in table.columns:
        raise InputError(f"population value column {column!r} not in the table; it has {list(table.columns)}")
    successors = {str(k): str(v) for k, v in dict(cfg.get("successor_codes", {})).items()}
    values, unmatched = join_on_codes(
        zone_codes, table, code_column=str(code_column), value_column=str(column),
        sep=cfg.get("code_separator"), successor_codes=successors,
    )
    if len(unmatched):
        parent = cfg.get("parent_name_column")
        people = pd.to_numeric(unmatched[column], errors="coerce")
        if parent and parent in unmatched.columns:
            groups = people.groupby(unmatched[parent]).agg(["size", "sum"])
            detail = ", ".join(
                f"{k}: {int(r['size'])} rows, {r['sum']:,.0f} people" for k, r in groups.iterrows()
            )
        else:
            detail = f"{len(unmatched)} rows, {people.sum():,.0f} people"
        log.warning("population rows outside the boundaries (not in any zone): %s", detail)
    return values, unmatched, str(column)
