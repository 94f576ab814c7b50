"""Atomic writers for tables, layers and the run record.

Nothing is ever half-written: each file goes to a temporary name in the same folder and is
renamed into place when complete; a whole run is staged in a hidden folder beside the
output folder and moved in only when every step succeeded (:class:`StagedOutput`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ._log import get_logger
from .errors import OutputError

__all__ = [
    "atomic_write",
    "atomic_path",
    "check_output_dir",
    "StagedOutput",
    "write_csv",
    "write_zone_tables",
    "write_geopackage",
    "write_xlsx",
    "write_json",
]

log = get_logger(__name__)


def check_output_dir(out_dir: str | os.PathLike[str]) -> Path:
    """Create ``out_dir`` if needed and check it is a writable folder, else raise :class:`OutputError`."""
    p = Path(out_dir)
    if p.exists() and not p.is_dir():
        raise OutputError(f"output path {p} exists and is not a folder; expected a folder to write into")
    try:
        p.mkdir(parents=True, exist_ok=True)
        probe = p / f".write-test-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or exc
        raise OutputError(f"cannot write into output folder {p}: {reason}; expected a writable folder") from exc
    return p


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds.

    The temporary name keeps the suffix of ``path`` (``.a.1f2e3d4c.tmp.tif`` for ``a.tif``),
    so writers that pick the format from the extension (GDAL, pandas) see the right one.
    The folder of ``path`` must exist, else :class:`OutputError` is raised.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("hello")
    >>> target.read_text()
    'hello'
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise OutputError(f"output folder does not exist: {target.parent}; expected an existing folder")
    tmp = target.with_name(f".{target.stem}.{uuid.uuid4().hex[:8]}.tmp{target.suffix}")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write(path: str | os.PathLike[str], writer: Callable[[Path], Any]) -> Path:
    """Call ``writer(tmp_path)`` and move the result to ``path`` atomically."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return None if np.isnan(o) else float(o)
    if isinstance(o, (np.bool_,)):
        return bool(o)
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, (set, tuple)):
        return list(o)
    return str(o)


def write_json(path: str | os.PathLike[str], data: Mapping[str, Any]) -> Path:
    """Write ``data`` as indented UTF-8 JSON, atomically."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=_json_default)
    return atomic_write(path, lambda p: p.write_text(text + "\n", encoding="utf-8"))


class StagedOutput:
    """Stage a run's files in a hidden folder, then move them into ``out_dir`` on success.

    Use as a context manager: on an exception the staging folder is removed and ``out_dir``
    keeps exactly what it had before (no partial files).
    """

    def __init__(self, out_dir: str | os.PathLike[str]):
        self.out_dir = check_output_dir(out_dir)
        self.stage = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.out_dir))
        self.written: list[str] = []

    def path(self, name: str) -> Path:
        """Path of output ``name`` inside the staging folder."""
        p = self.stage / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def commit(self, *, replaces: list[str] | None = None) -> list[Path]:
        """Move every staged file into the output folder (each move is a rename).

        Parameters
        ----------
        replaces : list of str, optional
            Relative paths of files an earlier run wrote (its ``run.json`` ``outputs``) or
            that this kind of run may write. Those that this run did not write are removed,
            so the folder never mixes outputs of two runs. Other files are left alone.
        """
        staged = {f.relative_to(self.stage).as_posix() for f in self.stage.rglob("*") if f.is_file()}
        for rel in replaces or []:
            old = self.out_dir / rel
            if rel not in staged and old.is_file() and self.out_dir in old.resolve().parents:
                old.unlink()
                log.info("removed %s left by an earlier run", rel)
        moved = []
        for f in sorted(self.stage.rglob("*")):
            if f.is_file():
                rel = f.relative_to(self.stage)
                dest = self.out_dir / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(f, dest)
                moved.append(dest)
        shutil.rmtree(self.stage, ignore_errors=True)
        return moved

    def abort(self) -> None:
        """Remove the staging folder and everything in it."""
        shutil.rmtree(self.stage, ignore_errors=True)

    def __enter__(self) -> StagedOutput:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.abort()


def _for_file(df: pd.DataFrame) -> pd.DataFrame:
    """Copy with object columns made writable (lists/dicts as text) and bools kept."""
    out = df.copy()
    for c in out.columns:
        if c == "geometry":
            continue
        if out[c].dtype == object:
            out[c] = out[c].map(lambda v: v if v is None or isinstance(v, (str, int, float, bool)) else str(v))
    return out


# Text that a spreadsheet program would read as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(value: Any) -> Any:
    """A string that starts like a formula, with a leading apostrophe (shown as text); others as they are."""
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA_START) else value


def spreadsheet_text(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` whose text cells cannot be read as formulas by a spreadsheet program.

    Text (not numbers) that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
    gets a leading apostrophe, the convention spreadsheet programs show as text.

    Examples
    --------
    >>> spreadsheet_text(pd.DataFrame({"name": ["=1+1", "Taman"], "x": [-1, 2]}))["name"].tolist()
    ["'=1+1", 'Taman']
    """
    out = df.copy()
    for c in out.columns:
        if c != "geometry" and (out[c].dtype == object or pd.api.types.is_string_dtype(out[c].dtype)):
            out[c] = out[c].map(_text_cell)
    return out


def write_csv(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``df`` as UTF-8 CSV without its index, atomically, text cells made safe (:func:`spreadsheet_text`)."""
    safe = spreadsheet_text(_for_file(df))
    return atomic_write(path, lambda t: safe.to_csv(t, index=False, encoding="utf-8"))


def write_zone_tables(tables: Mapping[str, pd.DataFrame], folder: Path, *, levels: list[str]) -> list[Path]:
    """Write ``indicators_<level>.csv`` for each level (lowest first)."""
    return [write_csv(tables[level].reset_index(drop=True), folder / f"indicators_{level}.csv") for level in levels]


def write_geopackage(layers: Mapping[str, gpd.GeoDataFrame | None], path: Path) -> Path:
    """Write several layers into one GeoPackage atomically (empty layers are written empty)."""

    def writer(tmp: Path) -> None:
        for name, gdf in layers.items():
            if gdf is None:
                continue
            g = _for_file(gdf.reset_index(drop=True))
            if not isinstance(g, gpd.GeoDataFrame):
                g = gpd.GeoDataFrame(g)
            g.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio")

    return atomic_write(path, writer)


def _formulas_as_text(sheet: Any) -> None:
    """Store every cell that openpyxl took for a formula (text starting with ``=``) as text."""
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"


def write_xlsx(sheets: Mapping[str, pd.DataFrame], path: Path) -> Path:
    """Write one sheet per table (sheet names cut to Excel's 31 characters)."""

    def writer(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
            for name, df in sheets.items():
                d = _for_file(df.reset_index(drop=True))
                if "geometry" in d:
                    d = d.drop(columns="geometry")
                d.to_excel(xl, sheet_name=name[:31], index=False)
                _formulas_as_text(xl.sheets[name[:31]])

    return atomic_write(path, writer)
