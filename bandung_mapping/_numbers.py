"""Numbers read from tables as people write them: ``2.530.448`` and ``1976,4`` as well as ``2,530,448.5``.

Indonesian tables write thousands with dots and decimals with a comma (``id`` style), English
and Korean ones the other way round (``en`` style). A column's style is taken from the city
profile or the caller when given, else found from its own values: a value that can be read in
only one style (``1.234.567``, ``1976,4``, ``1,234.5``) decides for the whole column. A value
that reads differently in the two styles (``2.530`` is 2530 or 2.53) with nothing in its column
to decide is an error that names the column and the rows, never a guess; so are a column with
values of both styles and text that is no number.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .errors import InputError

__all__ = ["NUMBER_STYLES", "parse_numbers"]

#: Known number styles: thousands and decimal separators.
NUMBER_STYLES = {"id": (".", ","), "en": (",", ".")}

_INT = re.compile(r"[+-]?\d+")
_ONE_GROUP = {  # one separator with exactly three digits after it: thousands in one style, decimals in the other
    ".": re.compile(r"[+-]?[1-9]\d{0,2}\.\d{3}"),  # 0.123 is a decimal in any style
    ",": re.compile(r"[+-]?[1-9]\d{0,2},\d{3}"),
}
# Values readable in one style only, with the style they prove.
_ONLY = [
    (re.compile(r"[+-]?\d{1,3}(\.\d{3})+,\d*"), "id"),
    (re.compile(r"[+-]?\d{1,3}(,\d{3})+\.\d*"), "en"),
    (re.compile(r"[+-]?\d{1,3}(\.\d{3}){2,}"), "id"),
    (re.compile(r"[+-]?\d{1,3}(,\d{3}){2,}"), "en"),
    (re.compile(r"[+-]?\d*,\d+"), "id"),
    (re.compile(r"[+-]?\d*\.\d+"), "en"),
]
_SPACES = re.compile(r"[\s\u00a0\u202f']")


def _kind(text: str) -> str:
    """``"int"``, ``"id"``, ``"en"``, ``"ambiguous"`` or ``"bad"`` for one value's text."""
    if _INT.fullmatch(text):
        return "int"
    if _ONE_GROUP["."].fullmatch(text) or _ONE_GROUP[","].fullmatch(text):
        return "ambiguous"
    for pattern, style in _ONLY:
        if pattern.fullmatch(text):
            return style
    return "bad"


def _rows(index: Sequence[object], limit: int = 10) -> str:
    shown = [str(i) for i in list(index)[:limit]]
    more = f" and {len(index) - limit} more" if len(index) > limit else ""
    return ", ".join(shown) + more


def parse_numbers(
    values: pd.Series,
    *,
    column: str,
    where: str,
    style: str | None = None,
    header_lines: int = 1,
    text: str = "raise",
) -> pd.Series:
    """``values`` as floats, each text read with the column's number style.

    Parameters
    ----------
    values : Series
        Numbers or their text (empty cells become NaN).
    column : str
        Column name, for messages.
    where : str
        Where the column comes from (e.g. the file name), for messages.
    style : {"id", "en"}, optional
        Number style; default: found from the values.
    text : {"raise", "nan"}, default "raise"
        What text that is no number gives: an error, or NaN (for callers that count and
        drop such rows themselves).
    header_lines : int, default 1
        Lines above the first data row: messages name file lines (index label + this + 1)
        when the index holds row numbers of the file as read, else positions.

    Returns
    -------
    Series
        Floats, same index.

    Raises
    ------
    InputError
        Text that is no number, values of both styles, or values that read differently in
        the two styles with nothing to decide; the message names the column and the rows
        (as file lines, see ``header_lines``).

    Examples
    --------
    >>> parse_numbers(pd.Series(["2.530.448", "1.200"]), column="n", where="t.csv").tolist()
    [2530448.0, 1200.0]
    >>> parse_numbers(pd.Series(["1976,4", "12"]), column="luas", where="t.csv").tolist()
    [1976.4, 12.0]
    >>> parse_numbers(pd.Series(["2,530.5", "7"]), column="n", where="t.csv").tolist()
    [2530.5, 7.0]
    """
    if style is not None and style not in NUMBER_STYLES:
        raise InputError(f"number style {style!r} for {column!r} is not known; expected one of {sorted(NUMBER_STYLES)}")
    out = pd.Series(np.nan, index=values.index, dtype=float)
    if pd.api.types.is_integer_dtype(values.index.dtype):
        row_no = pd.Series(values.index.to_numpy() + header_lines + 1, index=values.index)
    else:
        row_no = pd.Series(np.arange(1, len(values) + 1) + header_lines, index=values.index)
    texts: dict[object, str] = {}
    for i, v in values.items():
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            continue
        if isinstance(v, (bool, np.bool_)):
            texts[i] = str(v)
        elif isinstance(v, (int, float, np.integer, np.floating)):
            out[i] = float(v)
            continue
        else:
            t = _SPACES.sub("", str(v))
            if t:
                texts[i] = t
    kinds = pd.Series({i: _kind(t) for i, t in texts.items()}, dtype=object)
    if len(kinds):
        bad = kinds.index[kinds == "bad"]
        if len(bad) and text == "nan":
            for i in bad:
                del texts[i]
            kinds = kinds.drop(bad)
        elif len(bad):
            examples = ", ".join(repr(str(values[i])) for i in list(bad)[:3])
            raise InputError(
                f"{where}: column {column!r} has text that is no number in file line(s) {_rows(row_no[bad].tolist())} "
                f"(e.g. {examples}); expected numbers such as 2530448, 2.530.448 or 1976,4"
            )
        proven = set(kinds[kinds.isin(["id", "en"])])
        if style is None:
            if len(proven) > 1:
                ids = row_no[kinds.index[kinds == "id"]].tolist()
                ens = row_no[kinds.index[kinds == "en"]].tolist()
                raise InputError(
                    f"{where}: column {column!r} mixes number styles: 1.234,5 (Indonesian) in file line(s) "
                    f"{_rows(ids)} and 1,234.5 (English) in file line(s) {_rows(ens)}; expected one style per column"
                )
            if proven:
                style = proven.pop()
            elif (kinds == "ambiguous").any():
                amb = kinds.index[kinds == "ambiguous"]
                examples = ", ".join(repr(texts[i]) for i in list(amb)[:3])
                raise InputError(
                    f"{where}: column {column!r} is ambiguous in file line(s) {_rows(row_no[amb].tolist())} (e.g. "
                    f"{examples}: thousands or decimals?); set the city profile's number_format to 'id' "
                    "(1.234,5) or 'en' (1,234.5)"
                )
        elif proven - {style}:
            wrong = kinds.index[kinds.isin(list(proven - {style}))]
            raise InputError(
                f"{where}: column {column!r} has values not in the {style!r} number style in file line(s) "
                f"{_rows(row_no[wrong].tolist())} (e.g. {texts[wrong[0]]!r})"
            )
        thousands, decimal = NUMBER_STYLES[style or "en"]
        for i, t in texts.items():
            out[i] = float(t.replace(thousands, "").replace(decimal, "."))
    return out
