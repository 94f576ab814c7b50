"""Memory: classifying a wide OSM tag table (hundreds of keys, as Overpass exports have) copies no table.

A GeoPackage of 1,000,000 footprints read together with a 253-column OSM extract once peaked
at 10.7 GB because every rule copied the whole tag table; the full-size run is in
``benchmarks/bench_memory.py``. Here a smaller table of the same shape must classify within a
fraction of its own size of extra memory (tracemalloc sees numpy's and pandas' buffers).
"""

from __future__ import annotations

import tracemalloc

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from bandung_mapping import classify


def _wide_features(n: int = 20_000, extra_columns: int = 200) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(0)
    x = 107.6 + rng.uniform(0, 0.05, n)
    y = -6.9 + rng.uniform(0, 0.05, n)
    geoms = shapely.box(x, y, x + 0.0001, y + 0.0001)
    many = gpd.GeoDataFrame(
        {"osmid": [f"way/{i}" for i in range(n)], "building": np.full(n, "yes", dtype=object),
         "leisure": np.where(np.arange(n) % 50 == 0, "park", None).astype(object)},
        geometry=geoms, crs="EPSG:4326",
    )
    # a small extract with many keys, concatenated as osm.features_from_files does
    wide = {f"tag_{k}": [f"value {k}"] for k in range(extra_columns)}
    few = gpd.GeoDataFrame({"osmid": ["node/1"], **wide}, geometry=[shapely.Point(107.61, -6.91)], crs="EPSG:4326")
    tags = [c for c in many.columns if c != "geometry"], [c for c in few.columns if c != "geometry"]
    many[tags[0]], few[tags[1]] = many[tags[0]].astype(object), few[tags[1]].astype(object)  # as OSM readers give
    return gpd.GeoDataFrame(pd.concat([many, few], ignore_index=True), geometry="geometry", crs="EPSG:4326")


def test_classification_does_not_copy_the_tag_table():
    features = _wide_features()
    table_bytes = int(features.memory_usage(deep=False).sum())
    tracemalloc.start()
    try:
        green, _points, _report = classify.classify_green_spaces(features, metric_crs="EPSG:32748")
        buildings = classify.classify_buildings(features, metric_crs="EPSG:32748")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(buildings) == len(features) - 1 and len(green) == (len(features) - 1) // 50
    assert peak < 0.5 * table_bytes, f"peak {peak / 1e6:.1f} MB for a {table_bytes / 1e6:.1f} MB tag table"
