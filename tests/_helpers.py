"""A tiny study shared by the map, report and browser tests, small enough to check by hand.

Four kelurahan (2 x 2 cells of 0.01 degree in central Bandung) in two kecamatan in one
kota. Names include a script tag, so every page built from them also tests escaping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

EVIL_ZONE = "<script>window.__pwned=1</script>"
EVIL_PARK = "<img src=x onerror=alert(1)>"

# RTH area, share and area per person of the tiny zones; the kecamatan and kota values are
# those of the kelurahan below them (per person: 10 ha / 3,000 people = 33.3 m², ...).
RTH_COLUMNS: dict[str, dict[str, list[float]]] = {
    "kelurahan": {
        "rth_area_ha": [0.0, 10.0, 20.0, 30.0],
        "rth_pct": [0.0, 10.0, 20.0, 30.0],
        "rth_per_capita_m2": [0.0, 50.0, np.nan, 75.0],
    },
    "kecamatan": {"rth_area_ha": [10.0, 50.0], "rth_pct": [5.0, 25.0], "rth_per_capita_m2": [33.3, 71.4]},
    "kota": {"rth_area_ha": [60.0], "rth_pct": [15.0], "rth_per_capita_m2": [60.0]},
}


def tiny_zones(
    columns: Mapping[str, Mapping[str, Sequence[Any]]] | None = None, *, geometry: bool = True
) -> dict[str, pd.DataFrame]:
    """Zone tables of the tiny study, a new copy on every call.

    Parameters
    ----------
    columns : dict of level -> dict of column -> values, optional
        Indicator columns added after the fixed ones (``zone_id``, ``zone_name``,
        ``parent_id``, ``area_ha``, ``population``); default :data:`RTH_COLUMNS`.
    geometry : bool
        GeoDataFrames in EPSG:4326 (kecamatan and kota are unions of their cells) when
        True, plain DataFrames otherwise.

    Returns
    -------
    dict of level -> DataFrame
        ``kelurahan`` K1-K4 (K1 named :data:`EVIL_ZONE`), ``kecamatan`` C1-C2, ``kota`` B.
    """
    cells = [
        shapely.box(107.60 + 0.01 * i, -6.90 + 0.01 * j, 107.61 + 0.01 * i, -6.89 + 0.01 * j)
        for j in range(2)
        for i in range(2)
    ]
    fixed = {
        "kelurahan": {
            "zone_id": ["K1", "K2", "K3", "K4"],
            "zone_name": [EVIL_ZONE, "Cihapit", "Sukaluyu", "Tamansari"],
            "parent_id": ["C1", "C1", "C2", "C2"],
            "area_ha": [100.0, 100.0, 100.0, 100.0],
            "population": [1000.0, 2000.0, 3000.0, 4000.0],
        },
        "kecamatan": {
            "zone_id": ["C1", "C2"],
            "zone_name": ["Coblong", "Sumur Bandung"],
            "parent_id": ["B", "B"],
            "area_ha": [200.0, 200.0],
            "population": [3000.0, 7000.0],
        },
        "kota": {
            "zone_id": ["B"],
            "zone_name": ["Kota Bandung"],
            "parent_id": [""],
            "area_ha": [400.0],
            "population": [10000.0],
        },
    }
    geoms = {
        "kelurahan": cells,
        "kecamatan": [shapely.union_all(cells[:2]), shapely.union_all(cells[2:])],
        "kota": [shapely.union_all(cells)],
    }
    columns = RTH_COLUMNS if columns is None else columns
    tables: dict[str, pd.DataFrame] = {}
    for level, data in fixed.items():
        data = {**data, **{k: list(v) for k, v in columns.get(level, {}).items()}}
        tables[level] = (
            gpd.GeoDataFrame(data, geometry=geoms[level], crs="EPSG:4326") if geometry else pd.DataFrame(data)
        )
    return tables
