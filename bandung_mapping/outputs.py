"""Atomic writers for tables, layers and the run record.

Nothing is ever half-written: each file goes to a temporary name in the same folder and is
renamed into place when complete; a whole run is staged in a hidden folder beside the
output folder and moved in only when every step succeeded (:class:`StagedOutput`).
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ._log import get_logger
from .errors import BandungMappingError, OutputError

__all__ = [
    "atomic_write",
    "atomic_path",
    "check_output_dir",
    "output_error",
    "StagedOutput",
    "STAGING_PREFIX",
    "write_csv",
    "write_zone_tables",
    "write_geopackage",
    "write_xlsx",
    "write_json",
]

log = get_logger(__name__)


_REASONS = {
    errno.ENOSPC: "no space left on device (disk full)",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOENT: "no such file or folder, and it cannot be created there",
    errno.ENOTDIR: "a part of the path is not a folder",
}


def output_error(exc: OSError, path: str | os.PathLike[str] | None = None, *, what: str = "") -> OutputError:
    """An :class:`OutputError` with a one-line message for ``exc`` raised while writing ``path``.

    ``what`` names the target (``"into output folder"``); the message ends with a hint.

    Examples
    --------
    >>> str(output_error(OSError(errno.ENOSPC, "No space left on device"), "out/map.html"))
    'cannot write out/map.html: no space left on device (disk full); free some space or write elsewhere'
    """
    if isinstance(exc, OutputError):
        return exc
    where = path if path is not None else (exc.filename or "the output")
    reason = _REASONS.get(exc.errno) or exc.strerror or str(exc) or type(exc).__name__
    hint = ("free some space or write elsewhere" if exc.errno in (errno.ENOSPC, errno.EDQUOT)
            else "expected a writable folder")
    target = f"{what} {where}" if what else str(where)
    return OutputError(f"cannot write {target}: {reason}; {hint}".replace("\n", " "))


def check_output_dir(out_dir: str | os.PathLike[str], *, create: bool = True) -> Path:
    """Check ``out_dir`` is a writable folder (created if missing and ``create``), else raise :class:`OutputError`."""
    p = Path(out_dir)
    if p.exists() and not p.is_dir():
        raise OutputError(f"output path {p} exists and is not a folder; expected a folder to write into")
    if not create and not p.is_dir():
        raise OutputError(f"output folder does not exist: {p}; expected an existing folder")
    try:
        p.mkdir(parents=True, exist_ok=True)
        probe = p / f".write-test-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise output_error(exc, p, what="into output folder") from exc
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
    except OutputError:
        raise
    except OSError as exc:
        # Disk full, no permission, read-only file system ...: a typed error naming the file.
        # Errors of this package (e.g. an unreadable input, InputFileError) pass unchanged.
        if isinstance(exc, BandungMappingError):
            raise
        other = exc.filename is not None and Path(os.fsdecode(exc.filename)).resolve().parent != target.parent.resolve()
        if other and exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
            raise  # an error of another file (an input read while writing) is not a write error
        raise output_error(exc, target) from exc
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:  # pragma: no cover - folder gone or not writable
            pass


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


#: Name prefix of the hidden staging folders of :class:`StagedOutput`.
STAGING_PREFIX = ".staging-"
# ``.staging-<host>-<pid>-<random>``; ``.staging-<random>`` is the name of older versions.
_STAGING_NAME = re.compile(r"^\.staging-(?:(?P<host>[A-Za-z0-9_]{1,12})-(?P<pid>\d{1,10})-)?[A-Za-z0-9_]{8}$")
#: A staging folder not known to be in use is removed by the next run once it is this old (seconds).
STALE_AFTER_S = 24 * 3600.0


def _host_tag() -> str:
    return (re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname()) or "host")[:12]


def _pid_running(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else (or cannot tell: keep it)
    return True


def _inside(path: Path, root: Path) -> bool:
    """True if ``path`` (resolved) lies inside ``root`` (resolved), not ``root`` itself."""
    try:
        return path.resolve() != root and path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # pragma: no cover - symlink loop
        return False


class StagedOutput:
    """Stage a run's files in a hidden folder, then move them into ``out_dir`` on success.

    Use as a context manager: on an exception (including Ctrl-C) the staging folder is removed
    and ``out_dir`` keeps exactly what it had before (no partial files). Staging folders that a
    killed run left behind (its process no longer runs, or older than :data:`STALE_AFTER_S`)
    are removed when the next run starts.
    """

    def __init__(self, out_dir: str | os.PathLike[str]):
        self.out_dir = check_output_dir(out_dir)
        self._root = self.out_dir.resolve()
        self.stage = Path("")
        self.remove_stale_stages()
        prefix = f"{STAGING_PREFIX}{_host_tag()}-{os.getpid()}-"
        try:
            self.stage = Path(tempfile.mkdtemp(prefix=prefix, dir=self.out_dir))
        except OSError as exc:
            raise output_error(exc, self.out_dir) from exc
        self.written: list[str] = []

    def remove_stale_stages(self, *, now: float | None = None) -> list[Path]:
        """Remove staging folders of earlier runs that are no longer in use; return them.

        Only folders named like this class's staging folders are touched (never symlinks,
        never the current run's own): those of a process of this host that no longer runs,
        and any older than :data:`STALE_AFTER_S`.
        """
        now = time.time() if now is None else now
        host = _host_tag()
        removed = []
        try:
            entries = list(self.out_dir.iterdir())
        except OSError:  # pragma: no cover - checked writable just before
            return removed
        for d in entries:
            m = _STAGING_NAME.match(d.name)
            if not m or d.is_symlink() or not d.is_dir() or d == self.stage:
                continue
            try:
                age = now - d.stat().st_mtime
            except OSError:
                continue
            dead = m["pid"] is not None and m["host"] == host and not _pid_running(int(m["pid"]))
            if dead or age > STALE_AFTER_S:
                shutil.rmtree(d, ignore_errors=True)
                if not d.exists():
                    removed.append(d)
                    log.info("removed %s left by an interrupted run", d.name)
        return removed

    def path(self, name: str) -> Path:
        """Path of output ``name`` inside the staging folder."""
        p = self.stage / name
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise output_error(exc, p.parent) from exc
        return p

    def commit(self, *, replaces: list[str] | None = None) -> list[Path]:
        """Move every staged file into the output folder (each move is a rename).

        Parameters
        ----------
        replaces : list of str, optional
            Relative paths of files an earlier run of the tool wrote (its ``run.json``
            ``outputs``). Those that this run did not write are removed, so the folder never
            mixes outputs of two runs. Every other file (a user's own, even of the same name
            as an output) is left alone; entries that are absolute, contain ``..`` or lead
            outside the output folder (through a symlink) are ignored.
        """
        staged = {f.relative_to(self.stage).as_posix() for f in self.stage.rglob("*") if f.is_file()}
        for rel in replaces or []:
            if not isinstance(rel, str) or not rel or rel in staged:
                continue
            pure = Path(rel)
            if pure.is_absolute() or pure.drive or ".." in pure.parts or pure.parts[:1] == (self.stage.name,):
                continue
            if _STAGING_NAME.match(pure.parts[0]):
                continue
            old = self.out_dir / pure
            if old.is_symlink() or not old.is_file() or not _inside(old, self._root):
                continue
            try:
                old.unlink()
            except OSError as exc:
                raise output_error(exc, old) from exc
            log.info("removed %s left by an earlier run", rel)
            self._remove_empty_parents(old.parent)
        moved = []
        try:
            for f in sorted(self.stage.rglob("*")):
                if f.is_file():
                    rel_path = f.relative_to(self.stage)
                    dest = self.out_dir / rel_path
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(f, dest)
                    moved.append(dest)
        except OSError as exc:
            raise output_error(exc, self.out_dir) from exc
        shutil.rmtree(self.stage, ignore_errors=True)
        return moved

    def _remove_empty_parents(self, folder: Path) -> None:
        """Remove ``folder`` and its parents up to the output folder while they are empty."""
        while folder.resolve() != self._root and _inside(folder, self._root):
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    def abort(self) -> None:
        """Remove the staging folder and everything in it."""
        if self.stage.name.startswith(STAGING_PREFIX):
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
