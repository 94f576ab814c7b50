"""Benchmarks of bandung-mapping against the plain geospatial stack, on the SYNTHETIC benchmark city.

Each stage runs in its own subprocess, once for bandung-mapping ("ours") and once for the
peer doing the same job with the usual libraries, so that the peak resident memory (RSS) of
each side is measured on its own. After the untimed setup, ``gc.collect()`` runs on both
sides, so the timed work does not pay for collecting the setup's objects. The data are
those of ``generate_city.py`` (synthetic, not real data); they are written first when missing.

Stages (ours | peer):

``load``
    ``load_study_area`` from the files (boundaries, population, OSM PBF, rasters; builds the
    walk network) | none
``ingest``
    ``osm.features_from_file`` (.osm.pbf) + ``classify.classify_green_spaces`` /
    ``classify_buildings`` | ``osmnx.features_from_xml`` (.osm)
``ingest_xml``
    the same from the .osm XML | ``osmnx.features_from_xml`` (.osm), the peer time of ``ingest``
``coverage``
    ``indicators.zone_indicators`` (kelurahan) | ``geopandas.overlay`` of buildings and green
    spaces with the zones, areas summed per zone
``zonal``
    ``zonal.raster_indicators`` for every level | ``rasterstats.zonal_stats`` of NDVI (mean)
    and of the green mask (share) for every level, NDVI computed with numpy
``access``
    ``access.distance_to_green`` for every building (entry points, buildings and entries
    snapped to the nearest edge, one Dijkstra pass on the CSR graph) | the same per-building
    distance the usual way: graph nodes projected and put in a ``cKDTree``, the green outlines'
    vertices snapped to their nearest nodes, ``networkx.multi_source_dijkstra_path_length``,
    every building's representative point snapped to its nearest node and that node's
    distance read (plus the snap distance)
``access_indicators``
    ``access.access_indicators`` (population placed on buildings, every access rule) | none
``map``
    ``maps.study_map`` + ``maps.save_map`` | ``GeoDataFrame.explore()`` of all buildings, saved
``report``
    ``load_study_area`` + ``pipeline.run_report`` (ingest, indicators for all levels, rasters,
    access, tables, map, report) | the naive stack: the sum of the peer stages above

Usage::

    python benchmarks/run.py [--data DIR] [--scale 0.1] [--skip-peers] [--stages a,b,c]

Prints one table and writes it as JSON to ``benchmarks/results/<date>-<git sha>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import pickle
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STAGES = ["load", "ingest", "ingest_xml", "coverage", "zonal", "access", "access_indicators", "map", "report"]
PEERS = {"ingest", "coverage", "zonal", "access", "map"}
NAIVE_STACK = ["ingest", "coverage", "zonal", "access", "map"]
CITY = "bandung"


# --------------------------------------------------------------------------- helpers
def _rss_mb() -> float:
    """Peak resident set size of this process, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _files(data: Path) -> dict[str, Path]:
    sys.path.insert(0, str(HERE))
    from generate_city import files_of

    return files_of(data)


def _load(data: Path, *, osm_key: str = "pbf") -> Any:
    from bandung_mapping.loading import load_study_area

    f = _files(data)
    return load_study_area(
        city=CITY, boundaries=f["boundaries"], osm=[f[osm_key]], population=f["population"],
        red=f["red"], nir=f["nir"], sensor="sentinel2", synthetic=True,
    )


def _prep_path(data: Path) -> Path:
    return data / "_prep" / "study.pkl"


def _study(data: Path) -> Any:
    with open(_prep_path(data), "rb") as fh:
        return pickle.load(fh)


def _metric(study: Any) -> dict[str, Any]:
    crs = study.metric_crs
    return {
        "zones": {lv: study.zones[lv].to_crs(crs) for lv in study.city.levels},
        "green": study.green_spaces.to_crs(crs),
        "points": study.green_points.to_crs(crs) if study.green_points is not None else None,
        "buildings": study.buildings.to_crs(crs),
    }


# --------------------------------------------------------------------------- stages
# Each stage is a pair of functions (setup, run): setup is not timed, run is.
def _ours_load(data: Path) -> tuple[Callable[[], Any], dict[str, Any]]:
    return (lambda: _load(data)), {}


def _ours_ingest(data: Path, key: str = "pbf") -> tuple[Callable[[], Any], dict[str, Any]]:
    from bandung_mapping import classify, osm
    from bandung_mapping.profiles import load_city, load_rth_rules

    profile = load_city(CITY)
    rules = load_rth_rules(profile.rth_rules)
    path = _files(data)[key]

    def run() -> dict[str, int]:
        feats = osm.features_from_file(path)
        green, points, _ = classify.classify_green_spaces(feats, rules=rules, metric_crs=profile.metric_crs)
        buildings = classify.classify_buildings(feats, metric_crs=profile.metric_crs)
        return {"features": len(feats), "green_spaces": len(green), "buildings": len(buildings)}

    return run, {}


def _peer_ingest(data: Path) -> tuple[Callable[[], Any], dict[str, Any]]:
    import osmnx as ox

    path = _files(data)["osm"]

    def run() -> dict[str, int]:
        feats = ox.features_from_xml(path)
        return {"features": len(feats)}

    return run, {}


def _ours_coverage(data: Path) -> tuple[Callable[[], Any], dict[str, Any]]:
    from bandung_mapping.indicators import zone_indicators

    study = _study(data)
    m = _metric(study)
    low = study.city.levels[0]
    return (lambda: zone_indicators(m["zones"][low], m["green"], green_points=m["points"],
                                    buildings=m["buildings"])), {}


def _peer_coverage(data: Path) -> tuple[Callable[[], Any], dict[str, Any]]:
    import geopandas as gpd

    study = _study(data)
    m = _metric(study)
    zones = m["zones"][study.city.levels[0]][["zone_id", "geometry"]]
    buildings = m["buildings"][["geometry"]]
    green = m["green"][["is_public", "geometry"]]

    def run() -> Any:
        b = gpd.overlay(buildings, zones, how="intersection", keep_geom_type=True)
        b_area = b.geometry.area.groupby(b["zone_id"]).sum()
        g = gpd.overlay(green, zones, how="intersection", keep_geom_type=True)
        g = g.dissolve(by="zone_id")  # overlaps count once
        return {"building_footprint_m2": float(b_area.sum()), "rth_area_m2": float(g.geometry.area.sum())}

    return run, {}


def _ours_zonal(data: Path) -> tuple[Callable[[], Any], dict[str, Any]]:
    from bandung_mapping import zonal

    study = _study(data)
    return (lambda: {lv: zonal.raster_indicators(study.zones[lv], study.rasters) for lv in study.city.levels}), {}


def _peer_zonal(data: Path) -> tuple[Callable[[], Any], dict[str, Any]]:
    import numpy as np
    import rasterio
    from rasterstats import zonal_stats

    study = _study(data)
    f = _files(data)

    def run() -> Any:
        with rasterio.open(f["red"]) as r, rasterio.open(f["nir"]) as n:
            red = (r.read(1).astype("float64") - 1000) / 10000
            nir = (n.read(1).astype("float64") - 1000) / 10000
            affine, crs = r.transform, r.crs
        with np.errstate(invalid="ignore", divide="ignore"):
            ndvi = (nir - red) / (nir + red)
        green = (ndvi >= 0.3).astype("float64")
        out = {}
        for lv in study.city.levels:
            zones = study.zones[lv].to_crs(crs)
            a = zonal_stats(zones, ndvi, affine=affine, stats=["mean", "count"], nodata=np.nan)
            b = zonal_stats(zones, green, affine=affine, stats=["mean"], nodata=-1)
            out[lv] = [(x["mean"], y["mean"]) for x, y in zip(a, b)]
        return out

    return run, {}


def _ours_access(data: Path) -> tuple[Callable[[], Any], dict[str, Any]]:
    from bandung_mapping.access import distance_to_green

    study = _study(data)
    m = _metric(study)
    return (lambda: distance_to_green(m["buildings"], m["green"], network=study.network)), {}


def _peer_access(data: Path) -> tuple[Callable[[], Any], dict[str, Any]]:
    """What a user of the peer stack does to get a distance per building (all of it timed).

    1. project the graph's nodes to the metric CRS and index them (scipy ``cKDTree``);
    2. sources: the nearest node of every vertex of the green spaces' outlines;
    3. ``networkx.multi_source_dijkstra_path_length`` over the undirected view, weight ``length``;
    4. every building's representative point to its nearest node (the ``osmnx.distance.nearest_nodes``
       step, done with the same tree), distance = that node's distance + the snap distance.
    """
    import networkx as nx
    import numpy as np
    import pyproj
    import shapely
    from scipy.spatial import cKDTree

    study = _study(data)
    m = _metric(study)
    graph = study.network
    info: dict[str, Any] = {}

    def run() -> Any:
        t0 = time.perf_counter()
        nodes = list(graph.nodes)
        lon = np.array([graph.nodes[n]["x"] for n in nodes])
        lat = np.array([graph.nodes[n]["y"] for n in nodes])
        x, y = pyproj.Transformer.from_crs(4326, study.metric_crs, always_xy=True).transform(lon, lat)
        tree = cKDTree(np.c_[x, y])
        t1 = time.perf_counter()
        outline = shapely.get_coordinates(m["green"].geometry.boundary.values)
        _, src = tree.query(outline)
        sources = {nodes[i] for i in np.unique(src)}
        t2 = time.perf_counter()
        dist = nx.multi_source_dijkstra_path_length(graph.to_undirected(as_view=True), sources, weight="length")
        t3 = time.perf_counter()
        pts = shapely.get_coordinates(m["buildings"].geometry.representative_point().values)
        snap, idx = tree.query(pts)
        node_d = np.array([dist.get(n, np.inf) for n in nodes])
        out = node_d[idx] + snap
        t4 = time.perf_counter()
        info["steps_s"] = {"node_index": round(t1 - t0, 3), "green_sources": round(t2 - t1, 3),
                           "dijkstra": round(t3 - t2, 3), "buildings_to_nodes": round(t4 - t3, 3)}
        return out

    return run, info


def _ours_access_indicators(data: Path) -> tuple[Callable[[], Any], dict[str, Any]]:
    from bandung_mapping.access import access_indicators
    from bandung_mapping.profiles import load_standard

    study = _study(data)
    m = _metric(study)
    standards = [load_standard(s) for s in study.city.standards]
    levels = list(study.city.levels)
    return (lambda: access_indicators(m["zones"], m["green"], m["points"], m["buildings"], study.network,
                                      standards, levels=levels)), {}


def _ours_map(data: Path) -> tuple[Callable[[], Any], dict[str, Any]]:
    import geopandas as gpd

    from bandung_mapping import maps
    from bandung_mapping.pipeline import measure

    study = _study(data)
    meas = measure(study, progress=False)
    geo = {}
    for lv in study.city.levels:
        g = study.zones[lv][["zone_id", "geometry"]].copy()
        g["zone_id"] = g["zone_id"].astype(str)
        geo[lv] = gpd.GeoDataFrame(meas.tables[lv].reset_index(drop=True).merge(g, on="zone_id", how="left"),
                                   geometry="geometry", crs="EPSG:4326")
    out = data / "_prep" / "map_ours.html"
    info: dict[str, Any] = {}

    def run() -> Any:
        fmap = maps.study_map(geo, meas.green_spaces, buildings=study.buildings, access_gaps=meas.access_gaps,
                              candidate_sites=meas.candidate_sites, lang="id", city=study.city, synthetic=True)
        maps.save_map(fmap, out, self_contained=True)
        info["file_mb"] = round(out.stat().st_size / 1e6, 1)

    return run, info


def _peer_map(data: Path) -> tuple[Callable[[], Any], dict[str, Any]]:
    study = _study(data)
    out = data / "_prep" / "map_peer.html"
    info: dict[str, Any] = {}
    buildings = study.buildings[["building", "geometry"]]

    def run() -> Any:
        buildings.explore().save(str(out))
        info["file_mb"] = round(out.stat().st_size / 1e6, 1)

    return run, info


def _ours_report(data: Path) -> tuple[Callable[[], Any], dict[str, Any]]:
    from bandung_mapping.pipeline import run_report

    out = data / "_prep" / "report"
    info: dict[str, Any] = {}

    def run() -> Any:
        if out.exists():
            shutil.rmtree(out)
        study = _load(data)
        result = run_report(study, out, progress=False)
        info["steps_s"] = result.run_info.get("timings_s", {})
        info["map_mb"] = round((out / "map.html").stat().st_size / 1e6, 1)

    return run, info


OURS: dict[str, Callable[[Path], tuple[Callable[[], Any], dict[str, Any]]]] = {
    "load": _ours_load,
    "ingest": _ours_ingest,
    "ingest_xml": lambda d: _ours_ingest(d, "osm"),
    "coverage": _ours_coverage,
    "zonal": _ours_zonal,
    "access": _ours_access,
    "access_indicators": _ours_access_indicators,
    "map": _ours_map,
    "report": _ours_report,
}
PEER = {"ingest": _peer_ingest, "coverage": _peer_coverage, "zonal": _peer_zonal, "access": _peer_access,
        "map": _peer_map}


def _child(stage: str, side: str, data: Path, out: Path) -> int:
    """Run one side of one stage in this process and write its measures as JSON."""
    import logging

    logging.basicConfig(level=logging.WARNING)
    setup = (OURS if side == "ours" else PEER)[stage]
    run, info = setup(data)
    # settle the garbage collector's debt from the setup (unpickling the study makes ~2 million
    # objects): otherwise whichever stage first allocates pays for one full sweep of them, by chance
    gc.collect()
    rss_before = _rss_mb()
    t0 = time.perf_counter()
    run()
    seconds = time.perf_counter() - t0
    out.write_text(json.dumps({"stage": stage, "side": side, "seconds": round(seconds, 3),
                               "peak_rss_mb": round(_rss_mb(), 1), "setup_rss_mb": round(rss_before, 1),
                               "info": info}), encoding="utf-8")
    return 0


def _prep(data: Path) -> None:
    """Load the study area once (from the PBF) and pickle it for the stages that start from it."""
    study = _load(data)
    p = _prep_path(data)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(study, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, p)


# --------------------------------------------------------------------------- driver
def _spawn(args: list[str], timeout: float) -> tuple[int, str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    try:
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args], capture_output=True,
                              text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return -1, f"timed out after {timeout:.0f} s"
    return proc.returncode, (proc.stderr or "")[-2000:]


def _measure(stage: str, side: str, data: Path, timeout: float) -> dict[str, Any]:
    out = data / "_prep" / f"{stage}-{side}.json"
    if out.exists():
        out.unlink()
    t0 = time.perf_counter()
    code, err = _spawn(["--child", stage, "--side", side, "--data", str(data), "--json", str(out)], timeout)
    wall = time.perf_counter() - t0
    if code != 0 or not out.exists():
        last = [ln for ln in err.strip().splitlines() if ln.strip()]
        return {"stage": stage, "side": side, "error": last[-1] if last else f"exit code {code}",
                "wall_s": round(wall, 1)}
    res = json.loads(out.read_text(encoding="utf-8"))
    res["wall_s"] = round(wall, 1)
    return res


def _git_sha() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "nogit"


def _fmt_s(v: float | None) -> str:
    return "-" if v is None else f"{v:,.2f}"


def _table(rows: list[dict[str, Any]]) -> str:
    head = ["stage", "ours_s", "peer_s", "peer/ours", "ours_rss_mb", "peer_rss_mb", "notes"]
    lines = [head]
    for r in rows:
        ratio = r.get("ratio")
        lines.append([
            r["stage"], r.get("ours_err") or _fmt_s(r.get("ours_s")), r.get("peer_err") or _fmt_s(r.get("peer_s")),
            "-" if ratio is None else f"{ratio:.1f}x", _fmt_s(r.get("ours_rss_mb")), _fmt_s(r.get("peer_rss_mb")),
            r.get("notes", ""),
        ])
    widths = [max(len(str(x[i])) for x in lines) for i in range(len(head))]
    out = []
    for k, ln in enumerate(lines):
        out.append("  ".join(str(c).ljust(w) if i in (0, 6) else str(c).rjust(w) for i, (c, w) in
                             enumerate(zip(ln, widths))).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _ensure_data(data: Path, scale: float) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from generate_city import files_of, generate_city

    f = files_of(data)
    if f["summary"].exists():
        summary = json.loads(f["summary"].read_text(encoding="utf-8"))
        if abs(summary.get("scale", -1) - scale) < 1e-9 and all(f[k].exists() for k in
                                                                ("osm", "pbf", "boundaries", "population", "red")):
            return summary
    print(f"writing the synthetic benchmark city (scale {scale}) to {data} ...", file=sys.stderr)
    if (data / "_prep").exists():
        shutil.rmtree(data / "_prep")
    return generate_city(data, scale=scale)


def main(argv: list[str] | None = None) -> int:
    """Command line of the benchmarks."""
    p = argparse.ArgumentParser(description="Benchmark bandung-mapping against the plain stack (synthetic city).")
    p.add_argument("--data", type=Path, help="data folder (default benchmarks/data, or benchmarks/data/scale-S)")
    p.add_argument("--scale", type=float, default=1.0, help="area factor of the generated city (0.1: quick run)")
    p.add_argument("--skip-peers", action="store_true", help="measure only bandung-mapping")
    p.add_argument("--stages", help=f"comma-separated subset of {','.join(STAGES)}")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds allowed for one side of one stage")
    p.add_argument("--results", type=Path, default=HERE / "results", help="folder of the JSON results")
    p.add_argument("--fresh", action="store_true", help="rebuild the pickled study area")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--side", help=argparse.SUPPRESS)
    p.add_argument("--json", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.data is None:
        args.data = HERE / "data" if args.scale == 1.0 else HERE / "data" / f"scale-{args.scale:g}"
    data = args.data.resolve()
    if args.child == "_prep":
        _prep(data)
        return 0
    if args.child:
        return _child(args.child, args.side, data, args.json)

    stages = STAGES if not args.stages else [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        p.error(f"unknown stage(s) {unknown}; choose from {STAGES}")
    summary = _ensure_data(data, args.scale)
    (data / "_prep").mkdir(exist_ok=True)
    if args.fresh or not _prep_path(data).exists():
        print("loading the study area once for the stages ...", file=sys.stderr)
        code, err = _spawn(["--child", "_prep", "--data", str(data)], args.timeout)
        if code != 0:
            print(f"could not load the benchmark city:\n{err}", file=sys.stderr)
            return 1

    rows: list[dict[str, Any]] = []
    raw: list[dict[str, Any]] = []
    peer_cache: dict[str, dict[str, Any]] = {}
    for stage in stages:
        print(f"  {stage} ...", file=sys.stderr, flush=True)
        ours = _measure(stage, "ours", data, args.timeout)
        raw.append(ours)
        row: dict[str, Any] = {"stage": stage, "ours_s": ours.get("seconds"), "ours_rss_mb": ours.get("peak_rss_mb"),
                               "ours_err": ("error: " + ours["error"]) if "error" in ours else None}
        notes = []
        peer_stage = "ingest" if stage == "ingest_xml" else stage
        if not args.skip_peers and peer_stage in PEERS:
            if peer_stage not in peer_cache:
                peer_cache[peer_stage] = _measure(peer_stage, "peer", data, args.timeout)
                raw.append(peer_cache[peer_stage])
            peer = peer_cache[peer_stage]
            row["peer_s"] = peer.get("seconds")
            row["peer_rss_mb"] = peer.get("peak_rss_mb")
            row["peer_err"] = ("error: " + peer["error"]) if "error" in peer else None
            if peer.get("info", {}).get("file_mb") is not None:
                notes.append(f"peer html {peer['info']['file_mb']} MB")
            if stage != "report" and peer.get("info", {}).get("steps_s"):
                notes.append("peer steps " + " ".join(f"{k}={v}" for k, v in peer["info"]["steps_s"].items()))
        if ours.get("info", {}).get("file_mb") is not None:
            notes.insert(0, f"ours html {ours['info']['file_mb']} MB")
        if stage == "report" and not args.skip_peers:
            parts = [peer_cache.get(s) for s in NAIVE_STACK]
            if all(pp is not None and pp.get("seconds") is not None for pp in parts):
                row["peer_s"] = round(sum(pp["seconds"] for pp in parts), 3)  # type: ignore[index]
                row["peer_rss_mb"] = max(pp["peak_rss_mb"] for pp in parts)  # type: ignore[index]
                notes.append("peer = sum of the naive-stack stages")
            else:
                notes.append("peer = naive stack: run all of " + ",".join(NAIVE_STACK) + " to get it")
            steps = ours.get("info", {}).get("steps_s")
            if steps:
                notes.append("steps " + " ".join(f"{k}={v}" for k, v in steps.items()))
        if row.get("ours_s") and row.get("peer_s"):
            row["ratio"] = round(row["peer_s"] / row["ours_s"], 2)
        row["notes"] = "; ".join(notes)
        rows.append(row)

    table = _table(rows)
    head = (f"bandung-mapping benchmarks, SYNTHETIC city: {summary['kelurahan']} kelurahan, "
            f"{summary['buildings']:,} buildings, {summary['green_polygons']:,} green polygons, "
            f"{summary['street_nodes']:,} street nodes, raster {summary['raster_shape'][1]}x"
            f"{summary['raster_shape'][0]} px (scale {summary['scale']:g}); peer/ours > 1 means we are faster")
    print(head)
    print(table)
    sha = _git_sha()
    args.results.mkdir(parents=True, exist_ok=True)
    result = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "git": sha,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "city": {k: v for k, v in summary.items() if k not in ("files", "timings")},
        "rows": rows,
        "raw": raw,
    }
    path = args.results / f"{dt.date.today().isoformat()}-{sha}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1), encoding="utf-8")
    os.replace(tmp, path)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
