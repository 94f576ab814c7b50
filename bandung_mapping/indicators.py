"""Per-zone green-space and building indicators, and their aggregation up the zone levels.

Every measure takes GeoDataFrames in a projected CRS (metres) and returns a DataFrame
indexed by ``zone_id``. Overlapping green polygons are dissolved first, so every square
metre counts once. Upper levels are aggregated from the lowest level by sums of areas and
people; percentages are recomputed from the sums, never averaged.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._log import get_logger
from ._validate import check_gdf
from .errors import CRSError, EmptyAreaError, InputError

__all__ = [
    "BASE_COLUMNS",
    "SUM_COLUMNS",
    "dissolved_area_m2",
    "zone_indicators",
    "aggregate_levels",
    "add_ratios",
]

log = get_logger(__name__)

#: Columns every zone table starts with.
BASE_COLUMNS = ["zone_id", "zone_name", "parent_id", "area_ha", "population"]

#: Additive columns: upper levels are the sums of these over their child zones.
SUM_COLUMNS = [
    "area_ha",
    "population",
    "rth_area_ha",
    "rth_public_ha",
    "rth_private_ha",
    "park_area_ha",
    "green_point_count",
    "green_point_no_area_count",
    "building_count",
    "building_footprint_ha",
    "building_floor_area_ha",
]


def _check_same_crs(*layers: gpd.GeoDataFrame | None) -> None:
    crss = {str(g.crs) for g in layers if g is not None and len(g)}
    if len(crss) > 1:
        raise CRSError(f"layers are in different CRSs {sorted(crss)}; reproject them to one metric CRS first")


def dissolved_area_m2(zones: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame) -> pd.Series:
    """Area (m²) of the union of ``polygons`` inside each zone; overlaps count once.

    Parameters
    ----------
    zones : GeoDataFrame
        Zones in a projected CRS.
    polygons : GeoDataFrame
        Polygons in the same CRS (may overlap one another and cross zone edges).

    Returns
    -------
    Series
        Aligned to ``zones.index``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> z = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs=32748)
    >>> p = gpd.GeoDataFrame(geometry=[box(5, 0, 15, 10), box(5, 0, 12, 10)], crs=32748)
    >>> dissolved_area_m2(z, p).tolist()
    [50.0, 50.0]
    """
    check_gdf(zones, name="zones", metric=True)
    check_gdf(polygons, name="polygons", metric=True)
    _check_same_crs(zones, polygons)
    if len(polygons) == 0:
        return pd.Series(0.0, index=zones.index)
    geoms = polygons.geometry.values
    geoms = geoms[shapely.get_type_id(geoms) >= 3]  # polygons and multipolygons only
    if len(geoms) == 0:
        return pd.Series(0.0, index=zones.index)
    # union per zone: only the polygons that touch it, so each union stays small
    tree = shapely.STRtree(geoms)
    zone_geoms = zones.geometry.values
    zi, pi = tree.query(zone_geoms, predicate="intersects")
    out = np.zeros(len(zones))
    if len(zi):
        order = np.argsort(zi, kind="stable")
        zi, pi = zi[order], pi[order]
        splits = np.flatnonzero(np.diff(zi)) + 1
        for z_idx, p_idx in zip(np.split(zi, splits), np.split(pi, splits)):
            k = z_idx[0]
            union = shapely.union_all(shapely.intersection(geoms[p_idx], zone_geoms[k]))
            out[k] = shapely.area(union)
    return pd.Series(out, index=zones.index)


def _points_in_zones(zones: gpd.GeoDataFrame, points: np.ndarray) -> np.ndarray:
    """Position (in ``zones``) of the zone containing each of the point geometries, -1 if none."""
    pos = np.full(len(points), -1)
    if len(points) == 0:
        return pos
    tree = shapely.STRtree(zones.geometry.values)
    pi, zi = tree.query(points, predicate="within")
    # a point on a shared edge lies within neither zone; fall back to "intersects"
    pos[pi] = zi
    missing = np.flatnonzero(pos < 0)
    if len(missing):
        pi2, zi2 = tree.query(points[missing], predicate="intersects")
        if len(pi2):
            first = pd.Series(zi2).groupby(pi2).min()
            pos[missing[first.index.to_numpy()]] = first.to_numpy()
    return pos


def zone_indicators(
    zones: gpd.GeoDataFrame,
    green_spaces: gpd.GeoDataFrame,
    *,
    green_points: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    park_kinds: list[str] | tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Green-space and building indicators for each zone of one level.

    Parameters
    ----------
    zones : GeoDataFrame
        Zones in a projected CRS with ``zone_id``, ``zone_name``, ``parent_id``, ``population``.
    green_spaces : GeoDataFrame or None
        Green polygons (same CRS) with ``is_public``; overlaps are dissolved per zone.
        None means no green-space input was given: the RTH columns are NaN (not
        measured), never 0.
    green_points : GeoDataFrame, optional
        Green features given as points. A point with ``area_m2`` (an official park list)
        adds that area to the zone that contains it; a point without area (a park mapped
        as an OSM node) is counted in ``green_point_no_area_count`` and adds no area.
    buildings : GeoDataFrame, optional
        Building footprints (same CRS) with ``footprint_m2`` and ``levels``; each building
        is assigned whole to the zone containing its representative point. None means no
        building input: the building columns are NaN.
    park_kinds : sequence of str, optional
        ``rth_jenis`` values that count as public parks in ``park_area_ha`` (the rules
        file's ``park = true`` kinds). Points with an official area (a park list) always
        count. None counts every public green polygon.

    Returns
    -------
    DataFrame
        Indexed by ``zone_id``; columns :data:`BASE_COLUMNS`, the sums in
        :data:`SUM_COLUMNS` and the ratios from :func:`add_ratios`.

    Examples
    --------
    >>> from bandung_mapping import sample
    >>> s = sample.load_sample()
    >>> t = zone_indicators(s.metric("kelurahan"), s.metric("green_spaces"),
    ...                     green_points=s.metric("green_points"), buildings=s.metric("buildings"))
    >>> len(t), round(float(t["rth_area_ha"].sum()), 2)
    (8, 20.0)
    """
    check_gdf(zones, name="zones", columns=["zone_id", "zone_name", "parent_id", "population"], metric=True,
              allow_empty=False)
    if green_spaces is not None:
        check_gdf(green_spaces, name="green_spaces", columns=["is_public"], metric=True)
    if green_points is not None:
        check_gdf(green_points, name="green_points", metric=True)
    if buildings is not None:
        check_gdf(buildings, name="buildings", metric=True)
    _check_same_crs(zones, green_spaces, green_points, buildings)
    if zones["zone_id"].duplicated().any():
        dup = zones.loc[zones["zone_id"].duplicated(), "zone_id"].tolist()[:5]
        raise InputError(f"zones have duplicate zone_id values, e.g. {dup}; expected one row per zone")

    zones = zones.reset_index(drop=True)
    area_m2 = zones.geometry.area.to_numpy()
    if (area_m2 <= 0).any():
        bad = zones.loc[area_m2 <= 0, "zone_id"].tolist()[:5]
        raise EmptyAreaError(f"zones with no area: {bad}; expected polygons")

    measured_green = green_spaces is not None or green_points is not None
    if green_spaces is None:
        green_spaces = gpd.GeoDataFrame({"is_public": []}, geometry=[], crs=zones.crs)
    is_public = green_spaces["is_public"].fillna(False).astype(bool).to_numpy() if len(green_spaces) else np.array([])
    rth_m2 = dissolved_area_m2(zones, green_spaces).to_numpy()
    public_m2 = (dissolved_area_m2(zones, green_spaces[is_public]).to_numpy() if len(green_spaces)
                 else np.zeros(len(zones)))
    private_m2 = rth_m2 - public_m2  # where public and private overlap, the land counts as public
    if park_kinds is None or not len(green_spaces):
        park_m2 = public_m2
    else:
        is_park = is_public & green_spaces.get("rth_jenis", pd.Series("", index=green_spaces.index)).isin(
            list(park_kinds)).to_numpy()
        park_m2 = dissolved_area_m2(zones, green_spaces[is_park]).to_numpy()

    point_area = np.zeros(len(zones))
    point_public_area = np.zeros(len(zones))
    point_count = np.zeros(len(zones))
    point_no_area = np.zeros(len(zones))
    points_outside = 0
    if green_points is not None and len(green_points):
        pos = _points_in_zones(zones, green_points.geometry.values)
        areas = pd.to_numeric(green_points.get("area_m2", pd.Series(np.nan, index=green_points.index)),
                              errors="coerce").to_numpy()
        pub = green_points.get("is_public", pd.Series(True, index=green_points.index))
        pub = pub.fillna(True).astype(bool).to_numpy()
        inside = pos >= 0
        has_area = np.isfinite(areas) & (areas > 0)
        np.add.at(point_count, pos[inside], 1)
        np.add.at(point_no_area, pos[inside & ~has_area], 1)
        np.add.at(point_area, pos[inside & has_area], areas[inside & has_area])
        np.add.at(point_public_area, pos[inside & has_area & pub], areas[inside & has_area & pub])
        points_outside = int((~inside).sum())
        if points_outside:
            log.info("%d green points lie outside every zone and are not counted", points_outside)

    b_count = np.zeros(len(zones))
    b_foot = np.zeros(len(zones))
    b_floor = np.zeros(len(zones))
    if buildings is not None and len(buildings):
        pos = _points_in_zones(zones, shapely.point_on_surface(buildings.geometry.values))
        foot = (buildings["footprint_m2"].to_numpy(dtype=float) if "footprint_m2" in buildings
                else buildings.geometry.area.to_numpy())
        levels = (pd.to_numeric(buildings["levels"], errors="coerce").fillna(1.0).to_numpy()
                  if "levels" in buildings else np.ones(len(buildings)))
        inside = pos >= 0
        np.add.at(b_count, pos[inside], 1)
        np.add.at(b_foot, pos[inside], foot[inside])
        np.add.at(b_floor, pos[inside], foot[inside] * levels[inside])

    out = pd.DataFrame(
        {
            "zone_id": zones["zone_id"].astype(str).to_numpy(),
            "zone_name": zones["zone_name"].astype(str).to_numpy(),
            "parent_id": zones["parent_id"].fillna("").astype(str).to_numpy(),
            "area_ha": area_m2 / 1e4,
            "population": pd.to_numeric(zones["population"], errors="coerce").to_numpy(dtype=float),
            "rth_area_ha": (rth_m2 + point_area) / 1e4,
            "rth_public_ha": (public_m2 + point_public_area) / 1e4,
            "rth_private_ha": (private_m2 + point_area - point_public_area) / 1e4,
            "park_area_ha": (park_m2 + point_public_area) / 1e4,
            "green_point_count": point_count,
            "green_point_no_area_count": point_no_area,
            "building_count": b_count,
            "building_footprint_ha": b_foot / 1e4,
            "building_floor_area_ha": b_floor / 1e4,
        }
    )
    if not measured_green:
        for c in ("rth_area_ha", "rth_public_ha", "rth_private_ha", "park_area_ha", "green_point_count",
                  "green_point_no_area_count"):
            out[c] = np.nan
    if buildings is None:
        for c in ("building_count", "building_footprint_ha", "building_floor_area_ha"):
            out[c] = np.nan
    out = add_ratios(out.set_index("zone_id", drop=False).rename_axis(None))
    out.attrs["excluded"] = {"green_point_outside_zones": points_outside} if points_outside else {}
    return out


def add_ratios(table: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``table`` with the ratio columns recomputed from its sums.

    ``rth_pct``, ``rth_public_pct``, ``rth_private_pct``, ``building_coverage_pct`` (of zone
    area, 0-100), ``rth_per_capita_m2``, ``park_area_per_capita_m2`` (NaN without population)
    and ``population_density_per_km2``.
    """
    t = table.copy()
    area = t["area_ha"].replace(0, np.nan)
    pop = t["population"].where(t["population"] > 0)
    t["rth_pct"] = 100 * t["rth_area_ha"] / area
    t["rth_public_pct"] = 100 * t["rth_public_ha"] / area
    t["rth_private_pct"] = 100 * t["rth_private_ha"] / area
    t["rth_per_capita_m2"] = t["rth_area_ha"] * 1e4 / pop
    t["park_area_per_capita_m2"] = t["park_area_ha"] * 1e4 / pop
    t["building_coverage_pct"] = 100 * t["building_footprint_ha"] / area
    t["population_density_per_km2"] = t["population"] / (area / 100)
    for c in ("building_count", "green_point_count", "green_point_no_area_count"):
        if c in t:
            t[c] = t[c].astype("Int64") if t[c].isna().any() else t[c].astype("int64")
    return t


def aggregate_levels(
    lowest: pd.DataFrame,
    zones: Mapping[str, gpd.GeoDataFrame],
    levels: list[str] | tuple[str, ...],
) -> dict[str, pd.DataFrame]:
    """Aggregate a lowest-level table up every level by sums; ratios are recomputed.

    Parameters
    ----------
    lowest : DataFrame
        Output of :func:`zone_indicators` for ``levels[0]``.
    zones : mapping of level -> GeoDataFrame
        Zones of every level (``zone_id``, ``zone_name``, ``parent_id``, ``geometry``).
        An upper zone's ``area_ha`` is the sum of its children's (so kelurahan add up exactly).
    levels : sequence of str
        Level names, lowest first.

    Returns
    -------
    dict of level -> DataFrame
    """
    missing = [lv for lv in levels if lv not in zones]
    if missing:
        raise InputError(f"zones lack level(s) {missing}; expected all of {list(levels)}")
    if not isinstance(lowest, pd.DataFrame):
        raise InputError(f"lowest must be a DataFrame from zone_indicators, got {type(lowest).__name__}")
    lacking = [c for c in ("zone_id", "parent_id", "area_ha", "population") if c not in lowest.columns]
    if lacking:
        raise InputError(f"lowest lacks column(s) {lacking}; expected the output of zone_indicators")
    out = {levels[0]: lowest}
    child = lowest
    for level in levels[1:]:
        upper = zones[level]
        ids = set(upper["zone_id"].astype(str))
        orphans = sorted(set(child["parent_id"]) - ids)
        if orphans:
            raise InputError(f"{level}: child zones name parent_id(s) {orphans[:5]} that are not {level} zone_ids")
        sum_cols = [c for c in SUM_COLUMNS if c in child]
        sums = child.groupby("parent_id")[sum_cols].sum(min_count=1)
        # a column not measured at all stays NaN (min_count); a partly missing one stays a sum
        # population: the sum is unknown if any child lacks it
        pop_known = child.groupby("parent_id")["population"].apply(lambda s: s.notna().all())
        sums.loc[~pop_known.reindex(sums.index).fillna(False), "population"] = np.nan
        meta = upper[["zone_id", "zone_name", "parent_id"]].astype(str).set_index("zone_id", drop=False)
        t = meta.join(sums, how="left")
        measured = {c: child[c].notna().any() for c in sum_cols}
        for c in sums.columns:
            if c != "population" and measured[c]:
                t[c] = t[c].fillna(0.0)
        t = add_ratios(t.rename_axis(None))
        out[level] = t
        child = t
    return out
