"""The ``report`` job: measure a StudyArea and write every output, atomically."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ._log import get_logger, progress_enabled
from .errors import InputError
from .indicators import aggregate_levels, zone_indicators
from .outputs import StagedOutput, write_csv, write_geopackage, write_json, write_xlsx, write_zone_tables
from .projection import STORAGE_CRS, to_storage
from .study_area import StudyArea

__all__ = ["ReportResult", "measure", "Measures", "run_report"]

log = get_logger(__name__)


@dataclass
class Measures:
    """Everything measured on a StudyArea, before anything is written."""

    tables: dict[str, pd.DataFrame]
    green_spaces: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame | None = None
    access_gaps: gpd.GeoDataFrame | None = None
    candidate_sites: gpd.GeoDataFrame | None = None
    standards: list[dict[str, Any]] = field(default_factory=list)
    methods: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)
    excluded: dict[str, int] = field(default_factory=dict)

    def with_geometry(self, study: StudyArea) -> dict[str, gpd.GeoDataFrame]:
        """Zone tables joined to their zone polygons (EPSG:4326), ready for maps and GeoPackage.

        Examples
        --------
        >>> from bandung_mapping import sample
        >>> s = sample.load_sample()
        >>> geo = measure(s).with_geometry(s)
        >>> geo["kelurahan"].crs.to_epsg(), len(geo["kelurahan"])
        (4326, 8)
        """
        out = {}
        for lv, table in self.tables.items():
            geo = to_storage(study.zones[lv][["zone_id", "geometry"]])
            geo["zone_id"] = geo["zone_id"].astype(str)
            t = table.reset_index(drop=True)
            out[lv] = gpd.GeoDataFrame(t.merge(geo, on="zone_id", how="left"), geometry="geometry",
                                       crs=STORAGE_CRS)
        return out


@dataclass
class ReportResult:
    """What :func:`run_report` wrote and measured."""

    out_dir: Path
    files: list[Path]
    measures: Measures
    run_info: dict[str, Any]


_MEASURE_STEPS = ["indicators", "rasters", "access", "distances", "compliance", "siting"]


class _Steps:
    """Progress display (tqdm on a terminal) and timings of the named steps."""

    def __init__(self, names: list[str], show: bool | None):
        self.timings: dict[str, float] = {}
        self.bar = None
        if show if show is not None else progress_enabled():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=len(names), unit="step", leave=False)

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        if self.bar is not None:
            self.bar.set_description(name)
        t0 = time.perf_counter()
        try:
            return fn()
        finally:
            self.timings[name] = round(time.perf_counter() - t0, 3)
            if self.bar is not None:
                self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _join(table: pd.DataFrame, extra: pd.DataFrame | None) -> pd.DataFrame:
    if extra is None or len(extra.columns) == 0:
        return table
    extra = extra.copy()
    extra.index = extra.index.astype(str)
    cols = [c for c in extra.columns if c not in ("zone_id", "zone_name", "parent_id", "area_ha", "population")]
    return table.drop(columns=[c for c in cols if c in table.columns]).join(extra[cols], how="left")


def _with_point_discs(green: gpd.GeoDataFrame, study: StudyArea) -> gpd.GeoDataFrame:
    """Green polygons plus the green points that have an area, drawn as discs of that area (as access sees them)."""
    pts = study.green_points
    if pts is None or not len(pts) or "area_m2" not in pts:
        return green
    area = pd.to_numeric(pts["area_m2"], errors="coerce")
    pts = pts[area > 0]
    if not len(pts):
        return green
    metric = pts.to_crs(study.metric_crs)
    radius = np.sqrt(pd.to_numeric(metric["area_m2"]).to_numpy(float) / np.pi)
    discs = metric.set_geometry(metric.geometry.buffer(radius, quad_segs=8)).to_crs(green.crs or "EPSG:4326")
    keep = [c for c in discs.columns if c in green.columns or c in ("name", "rth_jenis", "is_public", "area_m2")]
    return gpd.GeoDataFrame(pd.concat([green, discs[keep]], ignore_index=True), geometry="geometry",
                            crs=green.crs or "EPSG:4326")


def _population_match_columns(table: pd.DataFrame, matches: list[dict[str, Any]]) -> pd.DataFrame:
    """The lowest table with how each zone got its population: method, row name and code, disagreement."""
    m = pd.DataFrame(matches).drop_duplicates("zone_id").set_index("zone_id")
    ids = table["zone_id"].astype(str)
    out = table.copy()
    for col, src in (("population_match", "method"), ("population_row_name", "table_name"),
                     ("population_row_code", "table_code"), ("population_disagreement", "disagreement")):
        out[col] = ids.map(m[src]).astype(object).where(ids.isin(m.index), None).to_numpy()
    return out


def _check_study(study: object, where: str) -> None:
    if not isinstance(study, StudyArea):
        raise InputError(
            f"{where} needs a StudyArea (from load_study_area or sample.load_sample), got {type(study).__name__}"
        )


def measure(study: StudyArea, *, progress: bool | None = None, steps: _Steps | None = None) -> Measures:
    """Compute every indicator of ``study`` for all zone levels.

    Returns
    -------
    Measures
        Zone tables per level (lowest first), the green spaces with per-feature measures,
        access gaps, candidate sites, the standards applied and the methods used.

    Examples
    --------
    >>> from bandung_mapping import sample
    >>> m = measure(sample.load_sample())
    >>> list(m.tables)
    ['kelurahan', 'kecamatan', 'kota']
    """
    own_steps = steps is None
    _check_study(study, "measure")
    steps = steps or _Steps(_MEASURE_STEPS, progress)
    levels = list(study.city.levels)
    crs = study.metric_crs
    zones_m = {lv: study.metric(lv) for lv in levels}
    green_m = study.metric("green_spaces")
    points_m = study.metric("green_points")
    buildings_m = study.metric("buildings")
    methods: dict[str, Any] = {}
    notes: list[str] = []

    roles = {i["role"] for i in study.inputs} | {"osm" for i in study.inputs if str(i["path"]).startswith("osm:")}
    green_given = bool(roles & {"osm", "parks"}) or len(study.green_spaces) > 0 or (
        study.green_points is not None and len(study.green_points) > 0)
    if not green_given:
        notes.append("no green-space input (OSM or park list): RTH columns are not measured (empty)")
    if buildings_m is None:
        notes.append("no building input: building columns are not measured (empty)")
    from .classify import park_kinds as _park_kinds
    from .profiles import load_rth_rules

    park_kinds = study.park_kinds
    if park_kinds is None:
        park_kinds = tuple(_park_kinds(load_rth_rules(study.rth_rules_source or study.city.rth_rules)))
    excluded: dict[str, int] = {}

    def base() -> dict[str, pd.DataFrame]:
        low = zone_indicators(
            zones_m[levels[0]], green_m if green_given else None,
            green_points=points_m if green_given else None, buildings=buildings_m, park_kinds=park_kinds,
        )
        excluded.update(low.attrs.get("excluded", {}))
        return aggregate_levels(low, zones_m, levels)

    tables = steps.run("indicators", base)
    matches = ((study.qa or {}).get("population") or {}).get("zone_matches")
    if matches:
        tables[levels[0]] = _population_match_columns(tables[levels[0]], matches)
    green_out = study.green_spaces.copy()

    if study.rasters.any:
        from . import zonal

        def rasters() -> None:
            for lv in levels:
                rt = zonal.raster_indicators(study.zones[lv], study.rasters, metric_crs=crs)
                methods.setdefault("raster_settings", dict(rt.attrs))
                tables[lv] = _join(tables[lv], rt)
            if len(green_out):
                green_out["ndvi_mean"] = zonal.green_space_ndvi(study.green_spaces, study.rasters)

        steps.run("rasters", rasters)
        methods["raster"] = {"sensor": study.rasters.sensor, "date": study.rasters.date}

    from . import access as _access
    from . import compliance as _compliance
    from .profiles import load_standard

    standards = [load_standard(s) for s in study.city.standards]
    access_result = steps.run(
        "access",
        lambda: _access.access_indicators(
            zones_m, green_m, points_m, buildings_m, study.network, standards, levels=levels,
        ),
    )
    for lv in levels:
        tables[lv] = _join(tables[lv], access_result.tables.get(lv))
    methods["distance"] = access_result.distance_method
    methods["population"] = access_result.population_method
    notes += list(access_result.notes)

    def building_distances() -> gpd.GeoDataFrame | None:
        if buildings_m is None or len(buildings_m) == 0:
            return study.buildings
        parts = [green_m] if green_given and len(green_m) else []
        if green_given and points_m is not None and "area_m2" in points_m:
            with_area = points_m[pd.to_numeric(points_m["area_m2"], errors="coerce") > 0]
            if len(with_area):
                parts.append(with_area)
        out = study.buildings.copy()
        if not parts:
            return out
        greens = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=crs)
        d = _access.green_distances(buildings_m, greens, network=study.network, metric_crs=crs)
        out["dist_to_green_m"] = d["dist_to_green_m"].to_numpy()
        out["dist_to_green_euclid_m"] = d["dist_to_green_euclid_m"].to_numpy()
        return out

    buildings_out = steps.run("distances", building_distances)

    green_roles = sorted(roles & {"osm", "parks", "inventory"}) if green_given else []
    raster_roles = [name for name, given in (("red_nir", study.rasters.red and study.rasters.nir),
                                             ("scl", study.rasters.scl), ("landcover", study.rasters.landcover))
                    if given]
    measurable = _compliance.measurability(green_roles, raster_roles)
    methods["measurability"] = measurable

    def comply() -> None:
        for lv in levels:
            tables[lv] = _compliance.compliance_indicators(tables[lv], lv, standards, city_levels=levels,
                                                           measurable=measurable)
            tables[lv] = _compliance.completeness_indicators(tables[lv])

    steps.run("compliance", comply)

    def site() -> gpd.GeoDataFrame | None:
        if study.candidates is None or len(study.candidates) == 0:
            notes.append("candidate sites: no candidate land given (vacant OSM landuse, --candidates)")
            return None
        from . import siting as _siting

        spec = next((sp for sp in access_result.specs if sp["column"] == "pop_within_300m_green_0_5ha_pct"),
                    access_result.specs[0] if access_result.specs else None)
        if spec is None:
            return None
        low = tables[levels[0]]
        zones_low = zones_m[levels[0]][["zone_id", "geometry"]].merge(
            low[["zone_id", "population", "rth_area_ha"]].reset_index(drop=True), on="zone_id", how="left")
        pts = access_result.population_points
        dist_col = f"dist__{spec['column']}"
        served = pts[dist_col] if dist_col in pts else pts.get(f"served__{spec['column']}")
        return _siting.candidate_sites(
            study.metric("candidates"), zones_low, pts, served,
            min_area_m2=max(float(spec["min_area_m2"]), 1.0), radius_m=float(spec["radius_m"]),
            exclude_metric=green_m, buildings_metric=buildings_m, tile_m=100,
        )

    candidates = steps.run("siting", site)

    if own_steps:
        steps.close()
    return Measures(
        tables=tables,
        green_spaces=green_out,
        buildings=buildings_out,
        access_gaps=access_result.access_gaps,
        candidate_sites=candidates,
        standards=standards,
        methods=methods,
        notes=notes,
        timings_s=dict(steps.timings),
        excluded=excluded,
    )


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("bandung-mapping", "geopandas", "shapely", "pyproj", "pyogrio", "rasterio", "osmnx", "folium",
                "exactextract", "numpy", "pandas", "scipy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def run_report(
    study: StudyArea,
    out_dir: str | os.PathLike[str],
    *,
    lang: str | None = None,
    self_contained: bool = True,
    per_zone_level: str | None = None,
    progress: bool | None = None,
    command: list[str] | None = None,
    pdf: bool = False,
) -> ReportResult:
    """Measure ``study`` and write every output into ``out_dir``.

    Writes ``indicators_<level>.csv`` (lowest level first), ``indicators_<level>.parquet``
    (GeoParquet), ``indicators.gpkg`` (a layer per level plus ``green_spaces``,
    ``buildings``, ``access_gaps``, ``candidate_sites``), ``indicators.xlsx``, ``map.html``,
    ``report.html`` and ``run.json``. All files are staged and moved in only when every step
    succeeded, so a failed run leaves ``out_dir`` as it was.

    Parameters
    ----------
    study : StudyArea
    out_dir : path
        Output folder (created if missing).
    lang : str, optional
        Label language (``"id"``, ``"en"``, ...); default the city's.
    self_contained : bool, default True
        Inline Leaflet and every script so ``map.html`` opens offline.
    per_zone_level : str, optional
        Also write one report per zone of this level (e.g. ``"kecamatan"``) and an index page.
    progress : bool, optional
        Show a progress bar (default: only on a terminal).
    pdf : bool, default False
        Also write ``report.pdf`` (needs WeasyPrint: ``pip install weasyprint``).
    """
    from . import maps as _maps
    from . import report as _report
    from .sample import SYNTHETIC_NOTICE

    _check_study(study, "run_report")
    started = _dt.datetime.now(_dt.timezone.utc)
    t0 = time.perf_counter()
    lang = lang or study.city.default_language
    levels = list(study.city.levels)
    steps = _Steps([*_MEASURE_STEPS, "tables", "map", "report"], progress)
    with StagedOutput(out_dir) as staged:
        m = measure(study, progress=progress, steps=steps)
        geo_tables = m.with_geometry(study)

        def tables() -> None:
            write_zone_tables(m.tables, staged.stage, levels=levels)
            for lv in levels:
                g = geo_tables[lv]
                g.to_parquet(staged.path(f"indicators_{lv}.parquet"))
            layers: dict[str, gpd.GeoDataFrame | None] = dict(geo_tables)
            layers["green_spaces"] = m.green_spaces
            if study.green_points is not None and len(study.green_points):
                layers["green_points"] = study.green_points
            layers["buildings"] = m.buildings
            layers["access_gaps"] = m.access_gaps
            layers["candidate_sites"] = m.candidate_sites
            write_geopackage(layers, staged.path("indicators.gpkg"))
            sheets = {lv: m.tables[lv] for lv in levels}
            sheets["definitions"] = _definitions(m, lang)
            write_xlsx(sheets, staged.path("indicators.xlsx"))
            if m.candidate_sites is not None:
                cs = m.candidate_sites.drop(columns="geometry", errors="ignore")
                write_csv(cs, staged.path("candidate_sites.csv"))

        steps.run("tables", tables)

        def map_() -> None:
            raster_path = None
            rs = study.rasters
            if rs.red and rs.nir:
                from .raster import write_ndvi

                raster_path = write_ndvi(
                    rs.red, rs.nir, staged.path("ndvi.tif"), sensor=rs.sensor, boa_offset=rs.boa_offset,
                    mask=rs.scl, area=study.zones[levels[-1]],
                )
            fmap = _maps.study_map(
                geo_tables, _with_point_discs(m.green_spaces, study), buildings=m.buildings,
                access_gaps=m.access_gaps,
                candidate_sites=m.candidate_sites, raster=raster_path, raster_kind="ndvi", lang=lang,
                city=study.city, synthetic=study.synthetic, sources=_sources(study),
            )
            _maps.save_map(fmap, staged.path("map.html"), self_contained=self_contained)

        steps.run("map", map_)

        versions = _versions()
        run_info: dict[str, Any] = {
            "tool": "bandung-mapping",
            "version": versions.get("bandung-mapping", ""),
            "created": started.isoformat(timespec="seconds"),
            "command": command or [],
            "city": {
                "id": study.city.id, "name": study.city.name, "country": study.city.country,
                "levels": levels, "metric_crs": study.city.metric_crs, "standards": list(study.city.standards),
            },
            "synthetic": study.synthetic,
            "notice": SYNTHETIC_NOTICE if study.synthetic else "",
            "inputs": study.inputs,
            "rth_rules": _profile_ref(study.rth_rules_source),
            "standards": [{"id": s.get("id"), "source": _profile_ref(s.get("_source")),
                           "citation": s.get("citation")} for s in m.standards],
            "satellite_date": study.rasters.date or "",
            "osm_date": _osm_date(study),
            "rasters": {"given": bool(study.rasters.any), "sensor": study.rasters.sensor,
                        "date": study.rasters.date},
            "excluded": {**study.excluded, **m.excluded},
            "qa": study.qa,
            "counts": {
                **{f"zones_{lv}": int(len(study.zones[lv])) for lv in levels},
                "green_spaces": int(len(study.green_spaces)),
                "green_points": int(len(study.green_points)) if study.green_points is not None else 0,
                "buildings": int(len(study.buildings)) if study.buildings is not None else 0,
            },
            "methods": {**m.methods, "parks_as_points": bool(len(study.green_points) and
                                                              "area_m2" in study.green_points and
                                                              study.green_points["area_m2"].notna().any())},
            "notes": study.notes + m.notes,
            "versions": versions,
        }

        def report_() -> None:
            _report.write_report(
                geo_tables, staged.path("report.html"), city=study.city, lang=lang, synthetic=study.synthetic,
                run_info=run_info, standards=m.standards, green_spaces=m.green_spaces, pdf=pdf,
            )
            if per_zone_level:
                _report.write_batch_reports(
                    geo_tables, staged.path("per_" + per_zone_level), by_level=per_zone_level, city=study.city,
                    lang=lang, synthetic=study.synthetic, run_info=run_info, standards=m.standards,
                )

        steps.run("report", report_)
        steps.close()
        run_info["timings_s"] = {**steps.timings, "total": round(time.perf_counter() - t0, 3)}
        run_info["outputs"] = sorted(str(p.relative_to(staged.stage)) for p in staged.stage.rglob("*") if p.is_file())
        run_info["outputs"].append("run.json")
        write_json(staged.path("run.json"), run_info)
        files = staged.commit(replaces=_earlier_outputs(Path(out_dir), levels))
    log.info("wrote %d files to %s", len(files), out_dir)
    return ReportResult(out_dir=Path(out_dir), files=files, measures=m, run_info=run_info)


def _earlier_outputs(out_dir: Path, levels: list[str]) -> list[str]:
    """Files an earlier report wrote into ``out_dir``: the ``outputs`` of its ``run.json``.

    Only a ``run.json`` written by this tool counts; a folder without one (or a file it does
    not list) holds the user's own files, which a new run never removes, whatever their name.
    """
    import json

    try:
        info = json.loads((out_dir / "run.json").read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return []
    if not isinstance(info, dict) or info.get("tool") != "bandung-mapping" or not isinstance(info.get("outputs"), list):
        return []
    names = [n for n in info["outputs"] if isinstance(n, str) and n]
    return [n for n in dict.fromkeys(names) if ".." not in Path(n).parts and not Path(n).is_absolute()]


def _osm_date(study: StudyArea) -> str:
    """Date of the OSM data where the file name says it (``..._2025-06-16.geojson``)."""
    import re

    for i in study.inputs:
        if i["role"] == "osm":
            found = re.search(r"(\d{4}-\d{2}-\d{2})", Path(i["path"]).name)
            if found:
                return found.group(1)
    return ""


def _sources(study: StudyArea) -> list[str]:
    """Credits for every kind of input used."""
    out = []
    if study.synthetic:
        out.append("synthetic sample data (bandung-mapping)")
    if study.rasters.any:
        date = f" {study.rasters.date}" if study.rasters.date else ""
        if study.rasters.sensor == "landsat":
            out.append(f"Landsat{date}: USGS, public domain")
        else:
            out.append(f"Contains modified Copernicus Sentinel data{date}")
    return out


def _profile_ref(source: object) -> str:
    """``bundled:<kind>/<name>`` for a bundled profile, else the path as given."""
    from .profiles import PROFILE_DIR

    if not source:
        return ""
    p = Path(str(source))
    try:
        return "bundled:" + p.resolve().relative_to(PROFILE_DIR.resolve()).with_suffix("").as_posix()
    except ValueError:
        return str(source)


def _definitions(m: Measures, lang: str) -> pd.DataFrame:
    """The definitions sheet: every column, its unit and source."""
    from .columns import column_definitions

    cols: list[str] = []
    for t in m.tables.values():
        cols += [c for c in t.columns if c not in cols]
    return column_definitions(cols, standards=m.standards, lang=lang)
