"""Many study areas and satellite dates in one go, on Dask (``bandung-mapping batch``).

A batch is a small TOML file: output root, defaults, and one ``[[area]]`` table per study
area. Each area (or each date of an area, when ``dates`` is given) is one task: it loads the
study area with :func:`bandung_mapping.loading.load_study_area` and writes a full report
with :func:`bandung_mapping.pipeline.run_report` into ``<out>/<task name>``. Tasks run on a
:class:`dask.distributed.LocalCluster` of worker processes (one thread each) or on an
existing Dask scheduler; ``serial=True`` runs them one after another in this process. The
outputs of a task are the same however it is run.

A task that fails (a broken input, say) does not stop the others: its error is kept in the
result, :attr:`BatchResult.ok` is False and :meth:`BatchResult.summary` names it.

Example config (see ``docs/batch.md``)::

    out = "runs"

    [defaults]
    city = "bandung"
    lang = "id"

    [[area]]
    name = "sample-a"
    sample = true

    [[area]]
    name = "bandung"
    boundaries = "data/kelurahan.geojson"
    osm = ["data/parks.geojson"]
    population = "data/penduduk.csv"
    year = 2022
    dates = ["2024-08-21"]
    red = "s2/{date}/B04.tif"
    nir = "s2/{date}/B08.tif"
"""

from __future__ import annotations

import math
import os
import re
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ._log import get_logger
from .errors import InputError, ProfileError
from .profiles import check_keys, read_toml

__all__ = ["BatchTask", "BatchResult", "read_batch_config", "batch_tasks", "run_task", "run_batch"]

log = get_logger(__name__)

#: Keys passed to :func:`bandung_mapping.loading.load_study_area` (paths among them are
#: resolved against the config file's folder).
LOAD_KEYS = frozenset({
    "city", "boundaries", "place", "osm", "parks", "population", "year", "period", "rth_rules", "network",
    "red", "nir", "scl", "landcover", "landcover_kind", "sentinel2", "sensor", "boa_offset", "synthetic",
})
PATH_KEYS = frozenset({"boundaries", "osm", "parks", "population", "rth_rules", "network", "red", "nir", "scl",
                       "landcover", "sentinel2"})
#: Keys passed to :func:`bandung_mapping.pipeline.run_report`.
REPORT_KEYS = frozenset({"lang", "self_contained", "per_zone_level"})
#: Keys of the batch itself, per area.
TASK_KEYS = frozenset({"sample", "dates"})
DEFAULT_KEYS = LOAD_KEYS | REPORT_KEYS | TASK_KEYS
AREA_KEYS = DEFAULT_KEYS | {"name"}
TOP_KEYS = frozenset({"out", "defaults", "area"})
DATE_KEYS = ("red", "nir", "scl", "landcover", "sentinel2")

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class BatchTask:
    """One unit of work: one study area (at one date), written to ``out_dir``.

    Attributes
    ----------
    name : str
        Task name: the area's name, or ``<name>_<date>`` for an area with dates.
    out_dir : Path
        Report folder of the task (``<out>/<name>``).
    load : dict
        Keyword arguments of :func:`~bandung_mapping.loading.load_study_area`.
    report : dict
        Keyword arguments of :func:`~bandung_mapping.pipeline.run_report`.
    sample_dir : Path or None
        Where the built-in sample is written first (``sample = true`` areas).
    date : str or None
        The satellite date of the task.
    """

    name: str
    out_dir: Path
    load: dict[str, Any]
    report: dict[str, Any] = field(default_factory=dict)
    sample_dir: Path | None = None
    date: str | None = None


@dataclass
class BatchResult:
    """What :func:`run_batch` did: one small dict per task, in config order.

    Each task dict has ``name``, ``ok`` (bool), ``error`` (``""`` or ``"ErrorType: message"``),
    ``out_dir``, ``files`` (paths relative to ``out_dir``), ``kota`` (the city-level row of
    the indicator table: column -> value), ``seconds`` and ``date``.
    """

    out_dir: Path
    tasks: list[dict[str, Any]]
    runner: str
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every task succeeded."""
        return all(t["ok"] for t in self.tasks)

    @property
    def failed(self) -> list[dict[str, Any]]:
        """The tasks that failed."""
        return [t for t in self.tasks if not t["ok"]]

    def to_frame(self) -> pd.DataFrame:
        """One row per task: ``name``, ``ok``, ``error``, ``seconds``, ``date`` and the city-level values."""
        rows = []
        for t in self.tasks:
            row = {"name": t["name"], "ok": t["ok"], "error": t["error"], "date": t.get("date") or "",
                   "seconds": t.get("seconds")}
            row.update({k: v for k, v in (t.get("kota") or {}).items() if k not in row})
            rows.append(row)
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """Human summary: counts, then one line per task (failed ones with their error)."""
        n_fail = len(self.failed)
        head = (f"batch: {len(self.tasks)} task(s), {len(self.tasks) - n_fail} ok, {n_fail} failed "
                f"({self.runner}, {self.seconds:.1f} s); outputs in {self.out_dir}")
        lines = [head]
        width = max([len(t["name"]) for t in self.tasks] + [4])
        for t in self.tasks:
            if t["ok"]:
                k = t.get("kota") or {}
                parts = [f"{len(t.get('files', []))} files"]
                for col, fmt in (("rth_pct", "RTH {:.2f} %"), ("rth_area_ha", "{:,.1f} ha"),
                                 ("population", "pop {:,.0f}")):
                    v = k.get(col)
                    if isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v)):
                        parts.append(fmt.format(v))
                lines.append(f"  ok      {t['name']:<{width}}  {t.get('seconds', 0):6.1f} s  " + ", ".join(parts))
            else:
                lines.append(f"  FAILED  {t['name']:<{width}}  {t['error']}")
        if n_fail:
            lines.append(f"{n_fail} task(s) failed: " + ", ".join(t["name"] for t in self.failed))
        return "\n".join(lines)


# --------------------------------------------------------------------------- config
def read_batch_config(config: str | os.PathLike[str] | Mapping[str, Any]) -> tuple[dict[str, Any], Path]:
    """Read and check a batch config; return it with the folder its relative paths start from.

    Parameters
    ----------
    config : path or mapping
        A batch TOML file, or the same content as a dict (relative paths then start from
        the current folder).

    Raises
    ------
    ProfileError
        Invalid TOML, an unknown key (named, with the closest allowed one), an area without
        a name or without inputs, duplicate or unusable names, a ``{date}`` template without
        ``dates`` or ``dates`` without a template.
    """
    if isinstance(config, Mapping):
        data, base, where = dict(config), Path.cwd(), "batch config"
    else:
        path = Path(config)
        data, base, where = read_toml(path), path.resolve().parent, f"batch config {path.name}"
    check_keys(data, TOP_KEYS, where=where, required={"area"})
    defaults = data.get("defaults", {})
    if not isinstance(defaults, Mapping):
        raise ProfileError(f"{where}: [defaults] must be a table")
    check_keys(dict(defaults), DEFAULT_KEYS, where=f"{where} [defaults]")
    areas = data["area"]
    if not isinstance(areas, list) or not areas or not all(isinstance(a, Mapping) for a in areas):
        raise ProfileError(f"{where}: expected one or more [[area]] tables")
    seen: set[str] = set()
    for k, area in enumerate(areas, start=1):
        check_keys(dict(area), AREA_KEYS, where=f"{where} [[area]] #{k}", required={"name"})
        name = str(area["name"])
        if not _NAME_RE.match(name):
            raise ProfileError(f"{where} [[area]] #{k}: name {name!r} must be letters, digits, '.', '_' or '-' "
                               "(it becomes a folder name)")
        if name in seen:
            raise ProfileError(f"{where}: area name {name!r} is used twice")
        seen.add(name)
        merged = {**defaults, **area}
        if not merged.get("sample") and not merged.get("boundaries") and not merged.get("place"):
            raise ProfileError(f"{where} [[area]] {name!r}: give boundaries, place or sample = true")
        dates = merged.get("dates")
        templated = [key for key in DATE_KEYS if "{date}" in str(merged.get(key) or "")]
        if dates is not None:
            if not isinstance(dates, list) or not dates or not all(isinstance(d, (str, int)) for d in dates):
                raise ProfileError(f"{where} [[area]] {name!r}: dates must be a non-empty list of strings")
            if not templated:
                raise ProfileError(f"{where} [[area]] {name!r}: dates given but none of {list(DATE_KEYS)} "
                                   "contains '{date}'")
        elif templated:
            raise ProfileError(f"{where} [[area]] {name!r}: {templated} contain '{{date}}' but no dates are given")
    return data, base


def _resolve(value: Any, base: Path) -> Any:
    if isinstance(value, (list, tuple)):
        return [_resolve(v, base) for v in value]
    s = str(value)
    band = ""
    if ":" in s and s.rsplit(":", 1)[1].isdigit():  # PATH:BAND
        s, band = s.rsplit(":", 1)
        band = ":" + band
    p = Path(s).expanduser()
    return str(p if p.is_absolute() else base / p) + band


def batch_tasks(config: str | os.PathLike[str] | Mapping[str, Any], *,
                out: str | os.PathLike[str] | None = None) -> tuple[list[BatchTask], Path]:
    """Expand a batch config into tasks (one per area, or per area and date).

    Returns
    -------
    (list of BatchTask, Path)
        The tasks in config order and the output root (``out``, else the config's ``out``
        relative to its folder, else ``<config folder>/runs``).
    """
    data, base = read_batch_config(config)
    if out is not None:
        root = Path(out).resolve()
    else:
        root = Path(_resolve(data.get("out", "runs"), base))
    defaults = dict(data.get("defaults", {}))
    tasks: list[BatchTask] = []
    for area in data["area"]:
        merged = {**defaults, **dict(area)}
        name = str(merged.pop("name"))
        sample = bool(merged.pop("sample", False))
        dates = merged.pop("dates", None)
        report = {k: merged.pop(k) for k in list(merged) if k in REPORT_KEYS}
        load = {k: (_resolve(v, base) if k in PATH_KEYS else v) for k, v in merged.items()}
        if "osm" in load and isinstance(load["osm"], str):
            load["osm"] = [load["osm"]]
        sample_dir = root / name / "inputs" if sample else None
        if sample:
            load.setdefault("city", "sample")
            load.setdefault("synthetic", True)
        for date in dates or [None]:
            tname = name if date is None else f"{name}_{date}"
            kw = dict(load)
            if date is not None:
                for key in DATE_KEYS:
                    if key in kw and kw[key] is not None:
                        kw[key] = str(kw[key]).replace("{date}", str(date))
                kw["raster_date"] = str(date)
            tasks.append(BatchTask(name=tname, out_dir=root / tname, load=kw, report=report,
                                   sample_dir=sample_dir, date=None if date is None else str(date)))
    names = [t.name for t in tasks]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ProfileError(f"batch config: task names {dup} are not unique (area name + date)")
    return tasks, root


# --------------------------------------------------------------------------- one task
def _plain(value: Any) -> Any:
    """A JSON-friendly scalar (numpy types to Python, NaN kept as float)."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return str(value)


def _failed(task: BatchTask, error: str) -> dict[str, Any]:
    """The result dict of ``task`` before it succeeds (or when it failed with ``error``)."""
    return {"name": task.name, "ok": False, "error": error, "out_dir": str(task.out_dir), "files": [], "kota": {},
            "seconds": 0.0, "date": task.date}


def run_task(task: BatchTask) -> dict[str, Any]:
    """Run one task (load, measure, write) and return its small result dict; never raises.

    The sample is written first for ``sample = true`` areas; the sample's files fill in the
    inputs the area does not give itself.
    """
    from .loading import load_study_area
    from .pipeline import run_report

    t0 = time.perf_counter()
    result = _failed(task, "")
    try:
        load = dict(task.load)
        if task.sample_dir is not None:
            from .sample import sample_inputs

            for k, v in sample_inputs(task.sample_dir).items():
                load.setdefault(k, v)
        study = load_study_area(**load)
        rep = run_report(study, task.out_dir, progress=False, command=["bandung-mapping", "batch", task.name],
                         **task.report)
        top = study.city.levels[-1]
        table = rep.measures.tables[top]
        row = table.iloc[0].to_dict() if len(table) else {}
        result["kota"] = {str(k): _plain(v) for k, v in row.items()}
        result["files"] = sorted(str(Path(p).relative_to(task.out_dir)) for p in rep.files)
        result["ok"] = True
    except Exception as exc:  # noqa: BLE001 - one broken area must not stop the batch
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc(limit=-3)
        log.warning("batch task %s failed: %s", task.name, result["error"])
    result["seconds"] = round(time.perf_counter() - t0, 3)
    return result


# --------------------------------------------------------------------------- the batch
def _write_summary(result: BatchResult) -> None:
    from .outputs import write_csv, write_json

    result.out_dir.mkdir(parents=True, exist_ok=True)
    write_json(result.out_dir / "batch.json", {
        "ok": result.ok, "runner": result.runner, "seconds": round(result.seconds, 3),
        "tasks": [{k: v for k, v in t.items() if k != "traceback"} for t in result.tasks],
    })
    frame = result.to_frame()
    write_csv(frame, result.out_dir / "batch.csv")


def _run_dask(tasks: list[BatchTask], scheduler: str | None, workers: int) -> tuple[list[dict[str, Any]], str]:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise ImportError("batch runs need dask.distributed: pip install 'dask[distributed]'") from exc

    cluster = None
    if scheduler:
        client = Client(scheduler)
        runner = f"Dask scheduler {scheduler}"
    else:
        cluster = LocalCluster(n_workers=workers, processes=True, threads_per_worker=1, dashboard_address=None)
        client = Client(cluster)
        runner = f"LocalCluster, {workers} worker process(es)"
    results: dict[str, dict[str, Any]] = {}
    try:
        futures = client.map(run_task, tasks, key=[f"bandung-mapping-{t.name}-{os.getpid()}-{time.time_ns()}"
                                                   for t in tasks], pure=False, retries=0)
        by_key = {f.key: t for f, t in zip(futures, tasks)}
        for fut in as_completed(futures):
            task = by_key[fut.key]
            try:
                results[task.name] = fut.result()
            except Exception as exc:  # noqa: BLE001 - a worker died (memory, crash): report, go on
                results[task.name] = _failed(task, f"{type(exc).__name__}: {exc}")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return [results[t.name] for t in tasks], runner


def run_batch(
    config: str | os.PathLike[str] | Mapping[str, Any],
    *,
    out: str | os.PathLike[str] | None = None,
    scheduler: str | None = None,
    workers: int = 2,
    serial: bool = False,
) -> BatchResult:
    """Run every study area (and date) of a batch config, each as a task, and collect the results.

    Parameters
    ----------
    config : path or mapping
        Batch TOML file (see ``docs/batch.md``), or its content as a dict.
    out : path, optional
        Output root; default the config's ``out`` (relative to the config file).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``); default a new
        ``LocalCluster`` of ``workers`` processes with one thread each.
    workers : int, default 2
        Worker processes of the LocalCluster.
    serial : bool, default False
        Run the tasks one after another in this process, without Dask.

    Returns
    -------
    BatchResult
        ``ok`` is False when any task failed; ``summary()`` names each failed task and its
        error. ``<out>/batch.json`` and ``<out>/batch.csv`` record the same.

    Examples
    --------
    >>> result = run_batch({"area": [{"name": "sample-a", "sample": True}]}, out=tmp, serial=True)  # doctest: +SKIP
    >>> result.ok, [t["name"] for t in result.tasks]  # doctest: +SKIP
    (True, ['sample-a'])
    """
    if serial and scheduler:
        raise InputError("serial=True runs without Dask; do not give a scheduler as well")
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise InputError(f"workers must be a positive integer, got {workers!r}")
    tasks, root = batch_tasks(config, out=out)
    root.mkdir(parents=True, exist_ok=True)
    log.info("batch: %d task(s) into %s", len(tasks), root)
    t0 = time.perf_counter()
    if serial:
        results = [run_task(t) for t in tasks]
        runner = "serial"
    else:
        results, runner = _run_dask(tasks, scheduler, workers)
    result = BatchResult(out_dir=root, tasks=results, runner=runner, seconds=time.perf_counter() - t0)
    _write_summary(result)
    for t in result.failed:
        log.warning("batch task %s failed: %s", t["name"], t["error"])
    return result
