"""Peak memory of ``report`` on 1,000,000 building footprints inside a real boundary file.

Writes a GeoPackage of 1,000,000 squares of 8 m x 8 m at random places inside the zones
(seeded), then runs ``bandung-mapping report`` in a child process on it, with any further
``--osm`` extracts, population table and rasters given, and prints the peak resident memory,
the wall time and the city's building count (which must equal the footprints read).

    python benchmarks/bench_memory.py BOUNDARIES [--osm EXTRA.geojson] [--population P.csv --year 2022]
        [--scl SCL.jp2] [--n 1000000] [--work DIR]

Measured on the 2-core / 24 GB machine: Bandung's 151 kelurahan, 1,000,000 footprints, the
OSM parks extract (253 tag columns), the 2022 population and the SCL raster: 3.7 GB peak,
about 2.5 min (10.7 GB before classification stopped copying the tag table per rule).
"""

from __future__ import annotations

import argparse
import csv
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely


def footprints(boundaries: Path, n: int, out: Path, seed: int = 1) -> Path:
    zones = gpd.read_file(boundaries)
    metric = zones.estimate_utm_crs()
    city = zones.to_crs(metric).union_all()
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = city.bounds
    xs, ys = np.empty(0), np.empty(0)
    while len(xs) < n:
        px, py = rng.uniform(x0, x1, 2 * n), rng.uniform(y0, y1, 2 * n)
        keep = shapely.contains_xy(city, px, py)
        xs, ys = np.r_[xs, px[keep]], np.r_[ys, py[keep]]
    xs, ys = xs[:n], ys[:n]
    gdf = gpd.GeoDataFrame(
        {"@id": [f"way/{i + 1}" for i in range(n)], "building": np.full(n, "yes", dtype=object)},
        geometry=shapely.box(xs - 4, ys - 4, xs + 4, ys + 4), crs=metric,
    ).to_crs("EPSG:4326")
    gdf.to_file(out, engine="pyogrio")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("boundaries", type=Path)
    ap.add_argument("--osm", action="append", default=[])
    ap.add_argument("--population")
    ap.add_argument("--year")
    ap.add_argument("--scl")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--work", type=Path)
    a = ap.parse_args()
    work = a.work or Path(tempfile.mkdtemp(prefix="bm-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    gpkg = work / f"buildings_{a.n}.gpkg"
    if not gpkg.exists():
        footprints(a.boundaries, a.n, gpkg)
    cmd = [sys.executable, "-m", "bandung_mapping.cli", "--quiet", "report", "--boundaries", str(a.boundaries),
           "--osm", str(gpkg), "--out", str(work / "out")]
    for extra in a.osm:
        cmd += ["--osm", extra]
    for flag in ("population", "year", "scl"):
        if getattr(a, flag):
            cmd += [f"--{flag}", str(getattr(a, flag))]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    with open(work / "out" / "indicators_kota.csv", encoding="utf-8") as f:
        count = int(float(next(csv.DictReader(f))["building_count"]))
    print(f"{a.n:,} footprints: peak {peak_mb:,.0f} MB, {seconds:.0f} s, city building_count {count:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
