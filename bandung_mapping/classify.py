"""Classify OSM features: green open space (RTH kind, public/private) and buildings (use, floors).

The rules are data (``profiles/rth_rules/*.toml``, structure documented at the top of
``indonesia.toml``); this module only interprets them. Nothing is dissolved here: one row
per source feature, so that every hectare can be traced back to the feature it came from.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from ._log import get_logger
from ._validate import check_gdf, repair_geometries
from .errors import CRSError, InputError, ProfileError
from .profiles import check_keys
from .projection import STORAGE_CRS

log = get_logger(__name__)

__all__ = [
    "GreenSpaces",
    "validate_rules",
    "rules_tags",
    "classify_kinds",
    "classify_green_spaces",
    "classify_buildings",
    "parse_levels",
]

_TOP_KEYS = {
    "name",
    "description",
    "tag_columns",
    "proximity",
    "kinds",
    "rules",
    "private_if",
    "building_use",
    "_source",
}
_KIND_KEYS = {"label_id", "label_en", "public", "park", "description"}
_CONDITION_KEYS = {"tags", "require", "exclude", "inside", "note"}
_RULE_KEYS = _CONDITION_KEYS | {"kind", "public"}
_NEAR_RE = re.compile(r"^near_(?P<cls>[A-Za-z0-9_]+)_m$")
_POLYGONAL = ("Polygon", "MultiPolygon")
_POINTS = ("Point", "MultiPoint")


# --------------------------------------------------------------------------------------
# rules: validation and loading
# --------------------------------------------------------------------------------------
def _check_tag_table(table: object, *, where: str) -> None:
    if not isinstance(table, Mapping) or not table:
        raise ProfileError(f"{where}: expected a non-empty table of tag = [values], got {table!r}")
    for key, values in table.items():
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise ProfileError(f"{where}: tag {key!r} must map to a list of strings, got {values!r}")


def _check_condition(rule: Mapping[str, Any], allowed: set[str], *, where: str, proximity: set[str]) -> None:
    near = {k for k in rule if _NEAR_RE.match(k)}
    check_keys(
        {k: v for k, v in rule.items() if k not in near},
        allowed,
        where=where,
        required={"tags"} if "kind" in allowed else set(),
    )
    for key in ("tags", "require", "exclude", "inside"):
        if key in rule:
            _check_tag_table(rule[key], where=f"{where} {key}")
    for key in near:
        cls = _NEAR_RE.match(key).group("cls")  # type: ignore[union-attr]
        if cls not in proximity:
            raise ProfileError(
                f"{where}: unknown key {key!r}: no [proximity.{cls}] table; "
                f"known classes: {sorted(proximity)} (use near_<class>_m)"
            )
        value = rule[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ProfileError(f"{where}: {key} must be a distance in metres >= 0, got {value!r}")


def validate_rules(data: Mapping[str, Any], *, where: str = "RTH rules") -> None:
    """Check an RTH rules table and raise :class:`ProfileError` naming any unknown key.

    Parameters
    ----------
    data : dict
        The parsed TOML (see ``profiles/rth_rules/indonesia.toml`` for the structure).
    where : str
        Name used in messages, e.g. the file name.

    Raises
    ------
    ProfileError
        Unknown or missing keys, a rule naming an unknown kind, a malformed tag table.
    """
    if not isinstance(data, Mapping):
        raise ProfileError(f"{where}: expected a table, got {type(data).__name__}")
    check_keys(dict(data), _TOP_KEYS, where=where, required={"kinds", "rules"})
    kinds = data["kinds"]
    if not isinstance(kinds, Mapping) or not kinds:
        raise ProfileError(f"{where}: [kinds] must hold at least one kind table")
    for kid, kind in kinds.items():
        if not isinstance(kind, Mapping):
            raise ProfileError(f"{where}: [kinds.{kid}] must be a table")
        check_keys(dict(kind), _KIND_KEYS, where=f"{where} [kinds.{kid}]", required={"public"})
        if not isinstance(kind["public"], bool):
            raise ProfileError(f"{where} [kinds.{kid}]: public must be true or false, got {kind['public']!r}")
        if not isinstance(kind.get("park", False), bool):
            raise ProfileError(f"{where} [kinds.{kid}]: park must be true or false, got {kind['park']!r}")
    proximity = data.get("proximity", {})
    if not isinstance(proximity, Mapping):
        raise ProfileError(f"{where}: [proximity] must be a table of classes")
    for cls, table in proximity.items():
        _check_tag_table(table, where=f"{where} [proximity.{cls}]")
    rules = data["rules"]
    if not isinstance(rules, list) or not rules:
        raise ProfileError(f"{where}: [[rules]] must hold at least one rule")
    for i, rule in enumerate(rules, 1):
        w = f"{where} rule {i} ({rule.get('kind', '?') if isinstance(rule, Mapping) else '?'})"
        if not isinstance(rule, Mapping):
            raise ProfileError(f"{w}: must be a table")
        _check_condition(rule, _RULE_KEYS, where=w, proximity=set(proximity))
        if "kind" not in rule:
            raise ProfileError(f"{w}: missing required key 'kind'")
        if rule["kind"] not in kinds:
            raise ProfileError(f"{w}: kind {rule['kind']!r} is not defined; defined kinds: {sorted(kinds)}")
        if "public" in rule and not isinstance(rule["public"], bool):
            raise ProfileError(f"{w}: public must be true or false")
    for i, cond in enumerate(data.get("private_if", []), 1):
        w = f"{where} private_if {i}"
        if not isinstance(cond, Mapping):
            raise ProfileError(f"{w}: must be a table")
        _check_condition(cond, _CONDITION_KEYS, where=w, proximity=set(proximity))
        if not any(k in cond for k in ("tags", "require", "inside")):
            raise ProfileError(f"{w}: needs at least one of 'tags', 'require', 'inside'")
    for use, table in data.get("building_use", {}).items():
        _check_tag_table(table, where=f"{where} [building_use.{use}]")
    cols = data.get("tag_columns", [])
    if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
        raise ProfileError(f"{where}: tag_columns must be a list of tag names")


def _load(rules: object) -> dict[str, Any]:
    from .profiles import load_rth_rules

    if rules is None:
        return load_rth_rules("indonesia")
    if isinstance(rules, (str, os.PathLike)):
        return load_rth_rules(rules)
    if isinstance(rules, Mapping):
        validate_rules(rules, where="RTH rules")
        return dict(rules)
    raise InputError(f"rules must be None, a rules name/path or a dict, got {type(rules).__name__}")


def rules_tags(rules: object = None) -> dict[str, bool | list[str]]:
    """Return the OSM tags needed to apply ``rules`` (green kinds, proximity classes, buildings).

    The result is an osmnx ``tags`` dict: tag -> True (any value) or a list of values.
    """
    data = _load(rules)
    merged: dict[str, set[str]] = {}

    def add(table: Mapping[str, Any]) -> None:
        for key, values in table.items():
            merged.setdefault(key, set()).update([values] if isinstance(values, str) else values)

    for rule in data["rules"]:
        add(rule["tags"])
        if "inside" in rule:
            add(rule["inside"])
    for table in data.get("proximity", {}).values():
        add(table)
    for cond in data.get("private_if", []):
        if "inside" in cond:
            add(cond["inside"])
    out: dict[str, bool | list[str]] = {k: (True if "*" in v else sorted(v)) for k, v in merged.items()}
    out["building"] = True
    return out


# --------------------------------------------------------------------------------------
# tag matching
# --------------------------------------------------------------------------------------
def _value_match(df: pd.DataFrame, key: str, values: Any, rows: np.ndarray | None = None) -> np.ndarray:
    """Whether column ``key`` holds one of ``values`` (``"*"``: any value), at ``rows`` (positions) or all rows."""
    n = len(df) if rows is None else len(rows)
    if key not in df.columns:
        return np.zeros(n, dtype=bool)
    values = [values] if isinstance(values, str) else list(values)
    col = df[key] if rows is None else df[key].iloc[rows]  # one column: a wide tag table is never copied
    if "*" in values:
        return col.notna().to_numpy()
    return col.isin(values).to_numpy()


def _any(df: pd.DataFrame, table: Mapping[str, Any], rows: np.ndarray | None = None) -> np.ndarray:
    out = np.zeros(len(df) if rows is None else len(rows), dtype=bool)
    for key, values in table.items():
        out |= _value_match(df, key, values, rows)
    return out


def _all(df: pd.DataFrame, table: Mapping[str, Any], rows: np.ndarray | None = None) -> np.ndarray:
    out = np.ones(len(df) if rows is None else len(rows), dtype=bool)
    for key, values in table.items():
        out &= _value_match(df, key, values, rows)
    return out


class _Space:
    """Geometry helpers for spatial rule conditions, in metres, built lazily."""

    def __init__(self, features: gpd.GeoDataFrame, metric_crs: pyproj.CRS) -> None:
        self.features = features
        self.metric = features.geometry.to_crs(metric_crs).values
        self._cache: dict[str, tuple[np.ndarray, shapely.STRtree]] = {}

    def _tree(self, key: str, mask: np.ndarray, polygons_only: bool) -> tuple[np.ndarray, shapely.STRtree]:
        if key not in self._cache:
            if polygons_only:
                mask = mask & np.isin(shapely.get_type_id(self.metric), (3, 6))
            idx = np.flatnonzero(mask)
            self._cache[key] = (idx, shapely.STRtree(self.metric[idx]))
        return self._cache[key]

    def near(self, cand: np.ndarray, cls: str, table: Mapping[str, Any], distance: float) -> np.ndarray:
        """Boolean over ``cand`` (positions): within ``distance`` m of a feature of class ``cls``."""
        idx, tree = self._tree(f"near:{cls}", _any(self.features, table), polygons_only=False)
        out = np.zeros(len(cand), dtype=bool)
        if len(idx) == 0 or len(cand) == 0:
            return out
        pairs = tree.query(self.metric[cand], predicate="dwithin", distance=float(distance))
        not_self = cand[pairs[0]] != idx[pairs[1]]
        out[np.unique(pairs[0][not_self])] = True
        return out

    def inside(self, cand: np.ndarray, table: Mapping[str, Any]) -> np.ndarray:
        """Boolean over ``cand``: the representative point lies inside a polygon with these tags."""
        key = "inside:" + repr(sorted((k, tuple(v)) for k, v in table.items()))
        idx, tree = self._tree(key, _any(self.features, table), polygons_only=True)
        out = np.zeros(len(cand), dtype=bool)
        if len(idx) == 0 or len(cand) == 0:
            return out
        points = shapely.point_on_surface(self.metric[cand])
        pairs = tree.query(points, predicate="within")
        not_self = cand[pairs[0]] != idx[pairs[1]]
        out[np.unique(pairs[0][not_self])] = True
        return out


def _condition(
    df: pd.DataFrame, cand: np.ndarray, cond: Mapping[str, Any], space: _Space, proximity: Mapping[str, Any]
) -> np.ndarray:
    """Which candidates (positions) satisfy ``cond``."""
    ok = np.ones(len(cand), dtype=bool)
    if "tags" in cond:
        ok &= _any(df, cond["tags"], cand)
    if "require" in cond:
        ok &= _all(df, cond["require"], cand)
    if "exclude" in cond:
        ok &= ~_any(df, cond["exclude"], cand)
    if "inside" in cond and ok.any():
        pos = np.flatnonzero(ok)
        ok[pos] = space.inside(cand[pos], cond["inside"])
    for key, dist in cond.items():
        m = _NEAR_RE.match(key)
        if m and ok.any():
            cls = m.group("cls")
            pos = np.flatnonzero(ok)
            ok[pos] = space.near(cand[pos], cls, proximity[cls], dist)
    return ok


def classify_kinds(
    features: gpd.GeoDataFrame,
    *,
    rules: object = None,
    metric_crs: object,
) -> pd.DataFrame:
    """RTH kind and public/private decision of each feature, aligned to ``features.index``.

    Parameters
    ----------
    features : GeoDataFrame
        OSM features as returned by :func:`bandung_mapping.osm.features_from_file` (any CRS set).
    rules : dict, str or path, optional
        Loaded rules, a bundled rules name or a .toml path; default ``"indonesia"``.
    metric_crs : CRS-like
        Projected CRS in metres for the distance and containment conditions.

    Returns
    -------
    DataFrame
        Columns ``rth_jenis`` (str, NaN when no rule matched), ``is_public`` (bool, NaN when
        no rule matched) and ``rule`` (1-based number of the rule that matched, 0 if none).
    """
    _check_features(features)
    data = _load(rules)
    crs = _metric(metric_crs)
    # the tag columns are read one at a time from the features themselves (no copy of a wide table)
    df = features.reset_index(drop=True)
    n = len(features)
    kind = np.full(n, None, dtype=object)
    public = np.full(n, None, dtype=object)
    rule_no = np.zeros(n, dtype=int)
    space = _Space(df, crs)
    proximity = data.get("proximity", {})
    kinds = data["kinds"]
    for i, rule in enumerate(data["rules"], 1):
        open_pos = np.flatnonzero(rule_no == 0)
        if len(open_pos) == 0:
            break
        # cheap tag test first, then the spatial conditions on the few candidates left
        cand = open_pos[_any(df, rule["tags"], open_pos)]
        if len(cand) == 0:
            continue
        hit = cand[_condition(df, cand, rule, space, proximity)]
        kind[hit] = rule["kind"]
        public[hit] = bool(rule.get("public", kinds[rule["kind"]]["public"]))
        rule_no[hit] = i
    green = np.flatnonzero(rule_no > 0)
    for cond in data.get("private_if", []):
        if len(green) == 0:
            break
        hit = green[_condition(df, green, cond, space, proximity)]
        public[hit] = False
    return pd.DataFrame({"rth_jenis": kind, "is_public": public, "rule": rule_no}, index=features.index)


def _metric(metric_crs: object) -> pyproj.CRS:
    if metric_crs is None:
        raise CRSError("metric_crs is required: a projected CRS in metres (e.g. 'EPSG:32748' for Bandung)")
    try:
        crs = pyproj.CRS.from_user_input(metric_crs)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(f"metric_crs {metric_crs!r} is not a CRS") from exc
    if not crs.is_projected:
        raise CRSError(f"metric_crs must be projected (metres), got geographic {crs.to_string()}")
    return crs


# --------------------------------------------------------------------------------------
# green spaces
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GreenSpaces:
    """Result of :func:`classify_green_spaces`; unpacks as ``(polygons, points, report)``."""

    polygons: gpd.GeoDataFrame
    points: gpd.GeoDataFrame
    report: dict[str, Any] = field(default_factory=dict)

    def __iter__(self):  # noqa: D105
        return iter((self.polygons, self.points, self.report))


def _study_polygon(study_area: object) -> shapely.Geometry | None:
    if study_area is None:
        return None
    if isinstance(study_area, (gpd.GeoSeries, gpd.GeoDataFrame)):
        if study_area.crs is None:
            raise CRSError("study_area has no CRS; expected EPSG:4326 (set it with .set_crs())")
        geom = shapely.union_all(study_area.to_crs(STORAGE_CRS).geometry.values)
    elif isinstance(study_area, shapely.Geometry):
        geom = study_area
    else:
        raise InputError(
            f"study_area must be a Polygon/MultiPolygon in EPSG:4326 or a GeoSeries/GeoDataFrame, "
            f"got {type(study_area).__name__}"
        )
    if geom.is_empty or geom.geom_type not in _POLYGONAL:
        raise InputError(f"study_area must be a non-empty polygon, got {geom.geom_type}")
    return shapely.make_valid(geom) if not geom.is_valid else geom


def _check_features(features: object) -> None:
    check_gdf(features, name="features")
    if features.crs is None:  # type: ignore[union-attr]
        raise CRSError("features have no CRS; expected EPSG:4326 as OSM features are")


def _count(excluded: dict[str, int], reason: str, n: int) -> None:
    """Add ``n`` features left out for ``reason`` (reasons with none are not listed)."""
    if n:
        excluded[reason] = excluded.get(reason, 0) + int(n)


def _repair_polygons(gdf: gpd.GeoDataFrame, *, name: str) -> tuple[gpd.GeoDataFrame, int, int]:
    """Repair invalid polygons, keep their polygonal part and drop those left empty.

    Returns the polygons kept, the number repaired and the number dropped as empty.
    """
    gdf, n_fixed = repair_geometries(gdf, name=name)
    if not n_fixed:
        return gdf, 0, 0
    gdf = gdf.set_geometry([_polygonal_part(g) for g in gdf.geometry.values], crs=STORAGE_CRS)
    empty = gdf.geometry.is_empty.to_numpy()
    return gdf.loc[~empty], n_fixed, int(empty.sum())


def _polygonal_part(g: shapely.Geometry) -> shapely.Geometry:
    if g is None or g.is_empty:
        return shapely.Polygon()
    if g.geom_type in _POLYGONAL:
        return g
    parts = [p for p in shapely.get_parts(g) if p.geom_type in _POLYGONAL]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def classify_green_spaces(
    features: gpd.GeoDataFrame,
    *,
    rules: object = None,
    study_area: object = None,
    metric_crs: object,
) -> GreenSpaces:
    """Select green open space (RTH) from OSM features and classify it by the rules.

    Parameters
    ----------
    features : GeoDataFrame
        OSM features (:mod:`bandung_mapping.osm` schema), EPSG:4326.
    rules : dict, str or path, optional
        RTH rules (default the bundled ``"indonesia"``).
    study_area : Polygon, GeoSeries or GeoDataFrame, optional
        Features outside it are dropped, those crossing it are clipped to it.
    metric_crs : CRS-like
        Projected CRS in which ``area_m2`` and rule distances are computed.

    Returns
    -------
    GreenSpaces
        Unpacks as ``(green_spaces, green_points, report)``:

        * ``green_spaces``: polygons, one row per source feature (not dissolved), columns
          ``osmid``, ``rth_jenis``, ``is_public``, ``area_m2``, the rules' ``tag_columns``
          (NaN where absent), ``source``, ``geometry`` (EPSG:4326).
        * ``green_points``: green features mapped as nodes, same columns, ``area_m2`` NaN.
        * ``report``: counts: ``input_features``, ``green_polygons``, ``green_points``,
          ``by_kind`` (polygons), ``clipped``, and ``excluded`` by reason (``not_green``,
          ``point_no_area``, ``line``, ``outside_study_area``, ``repaired_invalid``,
          ``empty_geometry``).

    Examples
    --------
    >>> spaces, points, report = classify_green_spaces(features, metric_crs="EPSG:32748")  # doctest: +SKIP
    """
    _check_features(features)
    crs = _metric(metric_crs)
    data = _load(rules)
    feats = features.to_crs(STORAGE_CRS) if not features.crs.equals(STORAGE_CRS) else features
    feats = feats.reset_index(drop=True)
    excluded: dict[str, int] = {}

    def count(reason: str, n: int) -> None:
        _count(excluded, reason, n)

    kinds = (
        classify_kinds(feats, rules=data, metric_crs=crs)
        if len(feats)
        else pd.DataFrame({"rth_jenis": [], "is_public": [], "rule": []})
    )
    green_mask = (kinds["rule"] > 0).to_numpy()
    count("not_green", int((~green_mask).sum()))
    green = feats.loc[green_mask].copy()
    green["rth_jenis"] = kinds.loc[green_mask, "rth_jenis"].astype(object).to_numpy()
    green["is_public"] = kinds.loc[green_mask, "is_public"].astype(bool).to_numpy()

    gtype = green.geom_type.to_numpy() if len(green) else np.array([], dtype=object)
    missing = green.geometry.isna().to_numpy() | green.geometry.is_empty.to_numpy()
    count("empty_geometry", int(missing.sum()))
    is_point = np.isin(gtype, _POINTS) & ~missing
    is_poly = np.isin(gtype, _POLYGONAL) & ~missing
    is_line = ~is_point & ~is_poly & ~missing
    count("line", int(is_line.sum()))
    if is_line.any():
        log.info(
            "excluded %d green features mapped as lines (no area): %s",
            int(is_line.sum()),
            ", ".join(green.loc[is_line, "osmid"].head(5)),
        )
    polys = green.loc[is_poly]
    points = green.loc[is_point]

    polys, n_fixed, n_empty = _repair_polygons(polys, name="green spaces")
    count("repaired_invalid", n_fixed)
    count("empty_geometry", n_empty)

    n_clipped = 0
    area_poly = _study_polygon(study_area)
    if area_poly is not None:
        shapely.prepare(area_poly)
        inter = shapely.intersects(area_poly, polys.geometry.values)
        count("outside_study_area", int((~inter).sum()))
        polys = polys.loc[inter]
        covered = shapely.contains(area_poly, polys.geometry.values)
        if (~covered).any():
            clipped = [
                _polygonal_part(shapely.intersection(g, area_poly)) for g in polys.geometry.values[~covered]
            ]
            geoms = polys.geometry.values.copy()
            geoms[~covered] = clipped
            polys = polys.set_geometry(list(geoms), crs=STORAGE_CRS)
            n_clipped = int((~covered).sum())
            empty = polys.geometry.is_empty.to_numpy()
            count("outside_study_area", int(empty.sum()))
            polys = polys.loc[~empty]
        pin = shapely.intersects(area_poly, points.geometry.values)
        count("outside_study_area", int((~pin).sum()))
        points = points.loc[pin]
    count("point_no_area", len(points))

    tag_cols = [c for c in data.get("tag_columns", []) if c not in ("rth_jenis", "is_public", "area_m2")]

    def shape(gdf: gpd.GeoDataFrame, area: pd.Series | float) -> gpd.GeoDataFrame:
        out = pd.DataFrame(
            {
                "osmid": gdf["osmid"].astype(object).to_numpy()
                if "osmid" in gdf
                else [str(i) for i in gdf.index],
                "rth_jenis": gdf["rth_jenis"].to_numpy(),
                "is_public": gdf["is_public"].astype(bool).to_numpy(),
                "area_m2": np.asarray(area, dtype=float)
                if not np.isscalar(area)
                else np.full(len(gdf), area),
            }
        )
        for c in tag_cols:
            out[c] = gdf[c].to_numpy() if c in gdf.columns else np.full(len(gdf), np.nan, dtype=object)
        out["source"] = gdf["source"].to_numpy() if "source" in gdf.columns else ""
        return gpd.GeoDataFrame(out, geometry=list(gdf.geometry.values), crs=STORAGE_CRS)

    polys_out = shape(polys, polys.geometry.to_crs(crs).area.to_numpy() if len(polys) else [])
    points_out = shape(points, math.nan)
    report = {
        "rules": data.get("_source", data.get("name", "")),
        "input_features": int(len(feats)),
        "green_polygons": int(len(polys_out)),
        "green_points": int(len(points_out)),
        "by_kind": {str(k): int(v) for k, v in polys_out["rth_jenis"].value_counts().sort_index().items()},
        "area_m2_by_kind": {
            str(k): float(v) for k, v in polys_out.groupby("rth_jenis")["area_m2"].sum().sort_index().items()
        },
        "clipped": n_clipped,
        "excluded": excluded,
    }
    log.info(
        "kept %d green polygons and %d green points of %d features; excluded %s",
        len(polys_out),
        len(points_out),
        len(feats),
        excluded,
    )
    return GreenSpaces(polys_out, points_out, report)


# --------------------------------------------------------------------------------------
# buildings
# --------------------------------------------------------------------------------------
_NUM_RE = re.compile(r"-?\d+(?:[.,]\d+)?")


def parse_levels(value: object) -> float:
    """Read the number in an OSM ``building:levels`` or ``height`` value (``"3"``, ``"12 m"``, ``"3;4"``).

    Takes the largest number when several are given; NaN when none can be read.

    Examples
    --------
    >>> parse_levels("3;4"), parse_levels("12 m"), parse_levels("2,5"), parse_levels("tinggi")
    (4.0, 12.0, 2.5, nan)
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    if isinstance(value, (int, float)):
        return float(value)
    nums = [float(x.replace(",", ".")) for x in _NUM_RE.findall(str(value))]
    nums = [x for x in nums if x >= 0]
    return max(nums) if nums else math.nan


_BUILDING_COLUMNS = frozenset({"osmid", "building", "building:levels", "height", "name", "amenity", "source"})


def classify_buildings(
    features: gpd.GeoDataFrame,
    *,
    metric_crs: object,
    rules: object = None,
    storey_height_m: float = 3.0,
) -> gpd.GeoDataFrame:
    """Return building footprints with floors and use, one row per OSM building polygon.

    Parameters
    ----------
    features : GeoDataFrame
        OSM features (:mod:`bandung_mapping.osm` schema).
    metric_crs : CRS-like
        Projected CRS for ``footprint_m2``.
    rules : dict, str or path, optional
        Rules whose ``[building_use]`` tables map tags to a use (default ``"indonesia"``).
    storey_height_m : float
        Storey height used to turn ``height`` into floors when ``building:levels`` is absent.

    Returns
    -------
    GeoDataFrame
        EPSG:4326; ``osmid``, ``building``, ``building:levels``, ``height``, ``levels`` (float:
        ``building:levels``, else ``height / storey_height_m`` rounded, at least 1, else 1),
        ``use`` (a ``[building_use]`` class or ``"other"``), ``name``, ``amenity``,
        ``footprint_m2``, ``source``, ``geometry``. Duplicate osmids are dropped; counts of
        what was left out are in ``result.attrs["excluded"]``.
    """
    _check_features(features)
    crs = _metric(metric_crs)
    if storey_height_m <= 0:
        raise InputError(f"storey_height_m must be > 0, got {storey_height_m}")
    data = _load(rules)
    # only the columns read below: a wide tag table (hundreds of keys) is not copied with the rows
    use_keys = {str(k) for table in data.get("building_use", {}).values() for k in table}
    wanted = _BUILDING_COLUMNS | use_keys | {features.geometry.name}
    feats = features[[c for c in features.columns if c in wanted]].reset_index(drop=True)
    excluded: dict[str, int] = {}
    if "building" not in feats.columns:
        bmask = np.zeros(len(feats), dtype=bool)
    else:
        bmask = (feats["building"].notna() & (feats["building"] != "no")).to_numpy()
    b = feats.loc[bmask].to_crs(STORAGE_CRS)
    poly = b.geom_type.isin(_POLYGONAL).to_numpy()
    _count(excluded, "not_polygon", int((~poly).sum()))
    b = b.loc[poly]
    if "osmid" in b.columns:
        dup = b["osmid"].duplicated().to_numpy()
        _count(excluded, "duplicate", int(dup.sum()))
        b = b.loc[~dup]
    b, n_fixed, n_empty = _repair_polygons(b, name="buildings")
    _count(excluded, "repaired_invalid", n_fixed)
    _count(excluded, "empty_geometry", n_empty)

    def col(name: str) -> pd.Series:
        return b[name].astype(object) if name in b.columns else pd.Series(np.nan, index=b.index, dtype=object)

    lv = col("building:levels").map(parse_levels).astype(float)
    ht = col("height").map(parse_levels).astype(float)
    from_height = np.maximum(1.0, np.round(ht / storey_height_m))
    levels = lv.where(lv > 0, from_height.where(ht.notna(), 1.0)).fillna(1.0)

    use = pd.Series("other", index=b.index, dtype=object)
    assigned = np.zeros(len(b), dtype=bool)
    frame = pd.DataFrame(b.drop(columns=b.geometry.name))
    for name, table in data.get("building_use", {}).items():
        hit = _any(frame, table) & ~assigned
        use[hit] = name
        assigned |= hit

    out = pd.DataFrame(
        {
            "osmid": col("osmid").to_numpy(),
            "building": col("building").to_numpy(),
            "building:levels": col("building:levels").to_numpy(),
            "height": col("height").to_numpy(),
            "levels": levels.to_numpy(dtype=float),
            "use": use.to_numpy(),
            "name": col("name").to_numpy(),
            "amenity": col("amenity").to_numpy(),
            "footprint_m2": b.geometry.to_crs(crs).area.to_numpy() if len(b) else np.array([], dtype=float),
            "source": col("source").to_numpy(),
        }
    )
    result = gpd.GeoDataFrame(out, geometry=list(b.geometry.values), crs=STORAGE_CRS)
    result.attrs["excluded"] = excluded
    log.info("kept %d building polygons; left out %s", len(result), excluded)
    return result


def park_kinds(rules: Mapping[str, Any]) -> list[str]:
    """The RTH kinds that count as public parks (``park = true`` in the rules file).

    Examples
    --------
    >>> from bandung_mapping import load_rth_rules
    >>> park_kinds(load_rth_rules("indonesia"))
    ['taman_kota', 'taman_bermain']
    """
    return [kid for kid, kind in dict(rules.get("kinds", {})).items() if kind.get("park", False)]
