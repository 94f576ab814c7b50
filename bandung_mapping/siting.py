"""Candidate sites for new green space, ranked by the people they would newly serve.

Candidates are unbuilt, non-water land: OSM ``landuse=grass/brownfield/vacant/greenfield``
polygons that are not already RTH (:func:`candidates_from_osm`), classes of a land-cover
layer such as the RBI *tutupan lahan* (:func:`candidates_from_landcover`), or parcels a
user supplies. :func:`candidate_sites` removes buildings and existing green space from
them, keeps parts of at least the minimum park area, and picks sites greedily: each pick is
the site that brings the most not-yet-served people within ``radius_m`` (straight line from
the site's outline), and those people are then counted as served.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from ._log import get_logger
from ._validate import check_gdf, repair_geometries
from .errors import CRSError, InputError
from .projection import to_metric

__all__ = [
    "LANDCOVER_CANDIDATE_CLASSES",
    "OSM_CANDIDATE_LANDUSE",
    "candidates_from_landcover",
    "candidates_from_osm",
    "prepare_candidates",
    "candidate_sites",
]

log = get_logger(__name__)

#: RBI land-cover classes (``REMARK``) that are unbuilt, non-water land.
LANDCOVER_CANDIDATE_CLASSES: tuple[str, ...] = ("Tanah Kosong/Gundul", "Semak Belukar", "Tegalan/Ladang")
#: OSM ``landuse`` values taken as candidate land.
OSM_CANDIDATE_LANDUSE: tuple[str, ...] = ("grass", "brownfield", "vacant", "greenfield")

_POLY = ["Polygon", "MultiPolygon"]


def _polygonal(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    geoms = shapely.force_2d(gdf.geometry.values)
    out = gdf.copy()
    out[gdf.geometry.name] = geoms
    out, _ = repair_geometries(out, name="candidates")
    out = out[out.geom_type.isin(_POLY)]
    return out.explode(index_parts=False)


def candidates_from_landcover(
    landcover: gpd.GeoDataFrame,
    metric_crs: Any,
    *,
    classes: Iterable[str] = LANDCOVER_CANDIDATE_CLASSES,
    class_column: str = "REMARK",
) -> gpd.GeoDataFrame:
    """Candidate land from a land-cover polygon layer (Z dropped, invalid shapes repaired).

    Parameters
    ----------
    landcover : GeoDataFrame
        Land-cover polygons (e.g. RBI ``TUTUPAN_LAHAN`` with ``REMARK``) in any CRS.
    metric_crs : CRS-like
        Projected CRS of the result.
    classes : iterable of str
        Classes to keep (default :data:`LANDCOVER_CANDIDATE_CLASSES`).
    class_column : str
        Column holding the class name.

    Returns
    -------
    GeoDataFrame
        Single-part polygons in ``metric_crs`` with ``source`` (``landcover:<class>``).
    """
    check_gdf(landcover, name="landcover", columns=[class_column])
    keep = landcover[landcover[class_column].astype(str).isin(set(classes))]
    if len(keep) == 0:
        log.warning("no land-cover polygon of classes %s", list(classes))
    keep = _polygonal(to_metric(keep, metric_crs, name="landcover"))
    return gpd.GeoDataFrame(
        {"source": "landcover:" + keep[class_column].astype(str)}, geometry=keep.geometry.values,
        crs=keep.crs,
    ).reset_index(drop=True)


def candidates_from_osm(
    features: gpd.GeoDataFrame,
    metric_crs: Any,
    *,
    landuse: Iterable[str] = OSM_CANDIDATE_LANDUSE,
) -> gpd.GeoDataFrame:
    """Candidate land from OSM polygons tagged ``landuse`` in ``landuse``.

    Existing RTH is removed later, in :func:`prepare_candidates` (pass the green spaces
    as ``exclude_metric``), so a grass polygon already counted as RTH is not proposed.

    Returns
    -------
    GeoDataFrame
        Single-part polygons in ``metric_crs`` with ``source`` (``osm:landuse=<value>``).
    """
    check_gdf(features, name="features", columns=["landuse"])
    keep = features[features["landuse"].astype(str).isin(set(landuse)) & features.geom_type.isin(_POLY)]
    keep = _polygonal(to_metric(keep, metric_crs, name="features"))
    return gpd.GeoDataFrame(
        {"source": "osm:landuse=" + keep["landuse"].astype(str)}, geometry=keep.geometry.values, crs=keep.crs
    ).reset_index(drop=True)


def prepare_candidates(
    candidates_metric: gpd.GeoDataFrame,
    *,
    buildings_metric: gpd.GeoDataFrame | None = None,
    exclude_metric: gpd.GeoDataFrame | None = None,
    min_area_m2: float = 0.0,
    tile_m: float | None = None,
) -> gpd.GeoDataFrame:
    """Subtract buildings and excluded land (existing RTH, water) and keep large-enough parts.

    Parameters
    ----------
    candidates_metric : GeoDataFrame
        Candidate polygons in a metric CRS (``source`` kept when present).
    buildings_metric, exclude_metric : GeoDataFrame, optional
        Polygons removed from the candidates.
    min_area_m2 : float
        Smallest part kept.
    tile_m : float, optional
        Cut candidates into square tiles of this size first (large vacant tracts then yield
        park-sized sites).

    Returns
    -------
    GeoDataFrame
        Single-part polygons with ``source`` and ``area_m2``.
    """
    check_gdf(candidates_metric, name="candidates_metric", metric=True, geom_types=_POLY)
    crs = candidates_metric.crs
    source = (candidates_metric["source"].astype(str).to_numpy() if "source" in candidates_metric
              else np.full(len(candidates_metric), "parcels", dtype=object))
    geoms = shapely.force_2d(candidates_metric.geometry.values)
    geoms = np.where(shapely.is_valid(geoms), geoms, shapely.make_valid(geoms))
    for layer, name in ((buildings_metric, "buildings_metric"), (exclude_metric, "exclude_metric")):
        if layer is None or len(layer) == 0:
            continue
        check_gdf(layer, name=name, metric=True)
        if layer.crs != crs:
            raise CRSError(f"{name} must be in the candidates' CRS ({crs.to_string()})")
        others = shapely.make_valid(shapely.force_2d(layer.geometry.values))
        tree = shapely.STRtree(others)
        c_i, o_i = tree.query(geoms, predicate="intersects")
        if len(c_i):
            for c in np.unique(c_i):
                geoms[c] = shapely.difference(geoms[c], shapely.union_all(others[o_i[c_i == c]]))
    if tile_m:
        x0, y0, x1, y1 = shapely.total_bounds(geoms)
        xs, ys = np.arange(x0, x1, tile_m), np.arange(y0, y1, tile_m)
        gx, gy = np.meshgrid(xs, ys)
        tiles = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + tile_m, gy.ravel() + tile_m)
        c_i, t_i = shapely.STRtree(tiles).query(geoms, predicate="intersects")
        geoms = shapely.intersection(geoms[c_i], tiles[t_i])
        source = source[c_i]
    parts, idx = shapely.get_parts(geoms, return_index=True)
    poly = shapely.get_type_id(parts) == 3
    parts, idx = parts[poly], idx[poly]
    area = shapely.area(parts)
    keep = area >= max(min_area_m2, 1e-6)
    out = gpd.GeoDataFrame(
        {"source": source[idx[keep]], "area_m2": area[keep]}, geometry=parts[keep], crs=crs
    )
    log.info("kept %d candidate parts of at least %g m2", len(out), min_area_m2)
    return out.reset_index(drop=True)


def _served_mask(served: Any, n: int, radius_m: float) -> np.ndarray:
    arr = np.asarray(served.to_numpy() if isinstance(served, (pd.Series, pd.Index)) else served)
    if arr.shape != (n,):
        raise InputError(f"served must have one value per population point ({n}), got shape {arr.shape}")
    if arr.dtype == bool:
        return arr
    if np.issubdtype(arr.dtype, np.number):
        return np.nan_to_num(arr.astype(float), nan=np.inf) <= radius_m
    raise InputError("served must be booleans (served or not) or distances in metres")


def candidate_sites(
    candidates_metric: gpd.GeoDataFrame,
    zones_lowest_metric: gpd.GeoDataFrame,
    population_points: gpd.GeoDataFrame,
    served: Any,
    *,
    min_area_m2: float,
    radius_m: float,
    top_n: int = 20,
    buildings_metric: gpd.GeoDataFrame | None = None,
    exclude_metric: gpd.GeoDataFrame | None = None,
    tile_m: float | None = None,
) -> gpd.GeoDataFrame:
    """Rank candidate sites by newly served population, greedily.

    Parameters
    ----------
    candidates_metric : GeoDataFrame
        Candidate polygons (see :func:`candidates_from_landcover`,
        :func:`candidates_from_osm`, or user parcels) in the metric CRS.
    zones_lowest_metric : GeoDataFrame
        Lowest-level zones with ``zone_id``, ``population`` and ``rth_area_ha`` (``area_ha``
        is taken from the geometry when absent; without ``rth_area_ha`` the before/after
        columns are NaN).
    population_points : GeoDataFrame
        Points with ``pop`` (from :func:`bandung_mapping.access.place_population`).
    served : array-like of bool, or of float
        Per population point: already served (bool), or the current distance to the
        nearest qualifying green space in metres (served when ``<= radius_m``).
    min_area_m2 : float
        Minimum area of a site (e.g. 250 m² for a taman RT, 5,000 m² for WHO).
    radius_m : float
        Service radius of a new site (straight line from its outline).
    top_n : int
        Largest number of sites returned; the ranking stops early when no site adds people.
    buildings_metric, exclude_metric : GeoDataFrame, optional
        Removed from candidates (buildings; existing RTH and water).
    tile_m : float, optional
        See :func:`prepare_candidates`.

    Returns
    -------
    GeoDataFrame
        EPSG:4326, one row per picked site: ``rank``, ``zone_id``, ``area_m2``,
        ``new_pop_served``, ``rth_pct_before``, ``rth_pct_after``,
        ``rth_per_capita_m2_before``, ``rth_per_capita_m2_after`` (the change this site
        alone makes to its zone), ``source``, ``geometry``.
    """
    check_gdf(zones_lowest_metric, name="zones_lowest_metric", columns=["zone_id", "population"], metric=True,
              geom_types=_POLY, allow_empty=False)
    check_gdf(population_points, name="population_points", columns=["pop"], metric=True)
    if min_area_m2 < 0 or radius_m <= 0:
        raise InputError("min_area_m2 must be >= 0 and radius_m > 0")
    if not isinstance(top_n, (int, np.integer)) or top_n < 1:
        raise InputError(f"top_n must be a positive integer, got {top_n!r}")
    crs = zones_lowest_metric.crs
    if population_points.crs != crs or candidates_metric.crs != crs:
        raise CRSError("candidates, zones and population points must share one metric CRS")
    cols = ["rank", "zone_id", "area_m2", "new_pop_served", "rth_pct_before", "rth_pct_after",
            "rth_per_capita_m2_before", "rth_per_capita_m2_after", "source"]
    served_mask = _served_mask(served, len(population_points), radius_m)
    sites = prepare_candidates(candidates_metric, buildings_metric=buildings_metric,
                               exclude_metric=exclude_metric, min_area_m2=min_area_m2, tile_m=tile_m)
    if len(sites) == 0:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs="EPSG:4326")

    weight = np.where(served_mask, 0.0, pd.to_numeric(population_points["pop"], errors="coerce")
                      .fillna(0.0).to_numpy(dtype=float))
    ppts = population_points.geometry.values
    p_i, s_i = shapely.STRtree(sites.geometry.values).query(ppts, predicate="dwithin", distance=radius_m)
    cover = sp.csr_matrix((np.ones(len(p_i)), (s_i, p_i)), shape=(len(sites), len(ppts)))
    picks: list[int] = []
    gains: list[float] = []
    remaining = weight.copy()
    for _ in range(int(top_n)):
        gain = cover @ remaining  # a picked site's people are all served: it gains 0 and is not picked again
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break
        picks.append(j)
        gains.append(float(gain[j]))
        remaining[cover[j].indices] = 0.0
    if not picks:
        log.info("no candidate site brings an unserved person within %g m", radius_m)
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs="EPSG:4326")

    chosen = sites.iloc[picks].reset_index(drop=True)
    zones = zones_lowest_metric.reset_index(drop=True)
    rep = shapely.point_on_surface(chosen.geometry.values)
    r_i, z_i = shapely.STRtree(zones.geometry.values).query(rep, predicate="within")
    zone_pos = np.full(len(chosen), -1)
    zone_pos[r_i] = z_i
    has_zone = zone_pos >= 0
    zp = np.where(has_zone, zone_pos, 0)
    area_ha = (pd.to_numeric(zones["area_ha"], errors="coerce").to_numpy(dtype=float) if "area_ha" in zones
               else shapely.area(zones.geometry.values) / 1e4)
    rth_ha = (pd.to_numeric(zones["rth_area_ha"], errors="coerce").to_numpy(dtype=float)
              if "rth_area_ha" in zones else np.full(len(zones), np.nan))
    pop = pd.to_numeric(zones["population"], errors="coerce").to_numpy(dtype=float)
    add_ha = chosen["area_m2"].to_numpy() / 1e4
    before_pct = np.where(has_zone, 100.0 * rth_ha[zp] / area_ha[zp], np.nan)
    after_pct = np.where(has_zone, 100.0 * (rth_ha[zp] + add_ha) / area_ha[zp], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        pop_z = np.where(has_zone & (pop[zp] > 0), pop[zp], np.nan)
        before_pc = rth_ha[zp] * 1e4 / pop_z
        after_pc = (rth_ha[zp] * 1e4 + chosen["area_m2"].to_numpy()) / pop_z
    out = gpd.GeoDataFrame(
        {
            "rank": np.arange(1, len(chosen) + 1),
            "zone_id": np.where(has_zone, zones["zone_id"].to_numpy()[zp], None),
            "area_m2": chosen["area_m2"].to_numpy(),
            "new_pop_served": gains,
            "rth_pct_before": before_pct,
            "rth_pct_after": after_pct,
            "rth_per_capita_m2_before": before_pc,
            "rth_per_capita_m2_after": after_pc,
            "source": chosen["source"].to_numpy(),
        },
        geometry=chosen.geometry.values, crs=crs,
    ).to_crs("EPSG:4326")
    log.info("picked %d sites serving %.0f more people within %g m", len(out), sum(gains), radius_m)
    return out
