"""Input checks shared by the public functions (plumbing, not public API)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import shapely

from ._log import get_logger
from .errors import EmptyAreaError, GeometryError, InputError, InputFileError
from .projection import check_metric

log = get_logger(__name__)


def check_gdf(
    gdf: object,
    *,
    name: str,
    columns: Iterable[str] = (),
    metric: bool = False,
    geom_types: Iterable[str] | None = None,
    allow_empty: bool = True,
) -> gpd.GeoDataFrame:
    """Check that ``gdf`` is a GeoDataFrame with the given columns and CRS kind."""
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"{name} must be a geopandas.GeoDataFrame, got {type(gdf).__name__}")
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        raise InputError(f"{name} lacks column(s) {missing}; it has {list(gdf.columns)}")
    if not allow_empty and len(gdf) == 0:
        raise EmptyAreaError(f"{name} is empty; expected at least one feature")
    if metric:
        check_metric(gdf, name=name)
    if geom_types is not None and len(gdf):
        allowed = set(geom_types)
        found = set(gdf.geom_type.dropna().unique())
        bad = found - allowed
        if bad:
            raise GeometryError(f"{name} holds {sorted(bad)} geometries; expected only {sorted(allowed)}")
    return gdf


def repair_geometries(gdf: gpd.GeoDataFrame, *, name: str) -> tuple[gpd.GeoDataFrame, int]:
    """Return a copy with invalid geometries repaired by ``make_valid`` and their count.

    Collections produced by the repair keep only their polygonal parts when the
    original was polygonal.
    """
    gdf = gdf.copy()
    geoms = gdf.geometry.values
    invalid = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    n = int(invalid.sum())
    if n:
        fixed = shapely.make_valid(geoms[invalid])
        polygonal = shapely.get_type_id(geoms[invalid]) >= 3
        out = []
        for g, poly in zip(fixed, polygonal):
            if poly and g.geom_type == "GeometryCollection":
                parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
                g = shapely.union_all(parts) if parts else shapely.Polygon()
            out.append(g)
        gdf.loc[invalid, gdf.geometry.name] = out
        log.info("repaired %d invalid geometries in %s", n, name)
    return gdf, n


def check_input_path(path: str | os.PathLike[str], *, what: str) -> Path:
    """Return ``path`` as a Path, raising :class:`InputFileError` if it does not exist."""
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{what} not found: {p} (expected an existing file)")
    return p


def check_choice(value: object, *, name: str, choices: Iterable[object]) -> None:
    """Raise :class:`InputError` unless ``value`` is one of ``choices``."""
    choices = list(choices)
    if value not in choices:
        raise InputError(f"{name} must be one of {choices}, got {value!r}")
