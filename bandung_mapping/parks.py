"""Park lists given as points with an official area.

Some cities publish their parks as a table: one row per park with a point
(latitude/longitude), the designated area and a type, but no outline. The Korean
national urban-park standard data (전국도시공원정보표준데이터) is one: columns
위도 (latitude), 경도 (longitude), 공원면적 (area, m²), 공원구분 (type), 관리번호
(management number) and 공원명 (name). Which column is which, how types map to
green-space kinds (``rth_jenis``) and which columns identify a duplicate come from
the city profile's ``[parks]`` section, never from code.

Such parks are *green points* (see ``docs/architecture.md``): the zone that contains
the point gets the whole area (:func:`parks_by_zone`), and for access each point is
treated as a disc of equal area (:func:`parks_as_discs`).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._log import get_logger
from ._numbers import parse_numbers
from ._validate import check_gdf, check_input_path
from .errors import DataQualityWarning, InputError, InputFileError
from .profiles import CityProfile, load_city
from .projection import STORAGE_CRS, check_metric

log = get_logger(__name__)

__all__ = ["parks_from_csv", "parks_as_discs", "assign_to_zones", "parks_by_zone", "PARK_COLUMNS"]

#: Roles of the park-list columns and the profile key naming each.
_ROLE_KEYS = {
    "id": "id_column",
    "name": "name_column",
    "kind": "kind_column",
    "lat": "lat_column",
    "lon": "lon_column",
    "area": "area_column",
}
_REQUIRED_ROLES = ("lat", "lon", "area")
_ENCODINGS = ("utf-8-sig", "cp949")

#: Columns of the GeoDataFrame returned by :func:`parks_from_csv`.
PARK_COLUMNS = ["park_id", "name", "park_type", "rth_jenis", "area_m2", "is_public", "source", "geometry"]



def _column_spec(profile: CityProfile, columns: Mapping[str, str] | None) -> dict[str, Any]:
    cfg = dict(profile.parks)
    spec = {role: cfg.get(key) for role, key in _ROLE_KEYS.items()}
    if columns:
        unknown = set(columns) - set(_ROLE_KEYS)
        if unknown:
            raise InputError(
                f"columns has unknown role(s) {sorted(unknown)}; expected some of {list(_ROLE_KEYS)}"
            )
        spec.update(columns)
    missing = [r for r in _REQUIRED_ROLES if not spec.get(r)]
    if missing:
        raise InputError(
            f"city profile {profile.id!r} has no [parks] column for {missing}; add "
            f"{[_ROLE_KEYS[r] for r in missing]} to its [parks] section or pass columns={{role: column}}"
        )
    dedup = cfg.get("dedup_on")
    if dedup is None:
        dedup = [spec[r] for r in ("id", "name") if spec.get(r)]
    else:  # a duplicate key named by a profile column follows that column's override
        role_of = {cfg.get(key): role for role, key in _ROLE_KEYS.items() if cfg.get(key)}
        dedup = [spec.get(role_of[c]) if c in role_of else c for c in dedup]
        dedup = [c for c in dedup if c]
    return {
        "columns": spec,
        "dedup_on": list(dedup),
        "kinds": dict(cfg.get("kinds", {})),
        "default_kind": str(cfg.get("default_kind", "taman")),
        "encodings": tuple(cfg.get("encodings", _ENCODINGS)),
        "number_format": cfg.get("number_format"),
    }


def _read_table(path: Path, encodings: tuple[str, ...]) -> tuple[pd.DataFrame, str]:
    errors = []
    for enc in encodings:
        try:
            return pd.read_csv(path, dtype=str, encoding=enc, keep_default_na=True), enc
        except UnicodeDecodeError as exc:
            errors.append(f"{enc}: {exc.reason} at byte {exc.start}")
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputFileError(f"park list {path.name} is not a readable CSV: {exc}") from exc
    raise InputFileError(f"park list {path.name} could not be decoded (tried {', '.join(errors)})")


def parks_from_csv(
    path: str | os.PathLike[str],
    *,
    city: str | os.PathLike[str] | CityProfile = "daegu",
    columns: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Read a park list (points with an official area) into a GeoDataFrame of points.

    The file is read as UTF-8 (with or without BOM) and, if that fails, as CP949
    (the usual encoding of Korean public-data downloads); the profile may set
    ``encodings``. Rows without valid coordinates or without an area (missing,
    not a number, negative) are dropped, counted and reported (log warning and :class:`DataQualityWarning`).
    Rows repeating the profile's ``dedup_on`` columns (for Korea: 관리번호 and
    공원명, the same park listed by two providers) are dropped after the first, and
    counted. Parks listed with area 0 are kept (they add nothing to areas). The
    counts are in ``result.attrs["excluded"]``.

    Parameters
    ----------
    path : path-like
        CSV file.
    city : str, path-like or CityProfile
        City profile whose ``[parks]`` section names the columns (``id_column``,
        ``name_column``, ``kind_column``, ``lat_column``, ``lon_column``,
        ``area_column``), the duplicate key ``dedup_on`` and the ``[parks.kinds]``
        table mapping the source's park type to an ``rth_jenis`` kind
        (``default_kind`` for types not listed).
    columns : mapping, optional
        Overrides for the column names, keyed by role: ``id``, ``name``, ``kind``,
        ``lat``, ``lon``, ``area``.

    Returns
    -------
    GeoDataFrame
        EPSG:4326 points, one row per park, columns ``park_id`` (the source's
        identifier, e.g. 관리번호), ``name``, ``park_type`` (the source's own type,
        e.g. 어린이공원), ``rth_jenis`` (kind from the profile, e.g.
        ``taman_bermain``), ``area_m2`` (official area), ``is_public`` (True),
        ``source`` (file name) and ``geometry``.

    Raises
    ------
    InputFileError
        File missing or undecodable.
    InputError
        A needed column is absent, or no row is usable.

    Examples
    --------
    >>> parks = parks_from_csv("urban_parks.csv", city="daegu")  # doctest: +SKIP
    >>> parks[["park_id", "park_type", "rth_jenis", "area_m2"]].head(1)  # doctest: +SKIP
    """
    p = check_input_path(path, what="park list CSV")
    profile = load_city(city)
    spec = _column_spec(profile, columns)
    cols = spec["columns"]
    df, encoding = _read_table(p, spec["encodings"])
    df.columns = [str(c).strip() for c in df.columns]
    wanted = [c for c in cols.values() if c] + list(spec["dedup_on"])
    missing = sorted({c for c in wanted if c not in df.columns})
    if missing:
        raise InputError(
            f"park list {p.name} lacks column(s) {missing} named in the [parks] section of city profile "
            f"{profile.id!r}; it has {list(df.columns)}"
        )
    n_read = len(df)
    lat = pd.to_numeric(df[cols["lat"]], errors="coerce")
    lon = pd.to_numeric(df[cols["lon"]], errors="coerce")
    area = parse_numbers(
        df[cols["area"]], column=cols["area"], where=f"park list {p.name}", style=spec["number_format"], text="nan"
    )  # an area that is no number is counted below as missing_area
    bad_xy = ~(lat.between(-90, 90) & lon.between(-180, 180)) | ((lat == 0) & (lon == 0))
    bad_area = ~(area >= 0) & ~bad_xy
    excluded = {
        "read": n_read,
        "missing_coordinates": int(bad_xy.sum()),
        "missing_area": int(bad_area.sum()),
    }
    keep = ~(bad_xy | bad_area)
    n_bad = int((~keep).sum())
    if n_bad:
        rows = [int(i) + 2 for i in df.index[~keep][:10]]  # +2: header line and 1-based lines
        msg = (
            f"park list {p.name}: dropped {n_bad} of {n_read} rows "
            f"({excluded['missing_coordinates']} without valid coordinates, "
            f"{excluded['missing_area']} without an area); first lines: {rows}"
        )
        log.warning(msg)
        warnings.warn(msg, DataQualityWarning, stacklevel=2)
    df = df.loc[keep]
    lat, lon, area = lat[keep], lon[keep], area[keep]
    if spec["dedup_on"]:
        dup = df.duplicated(subset=spec["dedup_on"], keep="first")
    else:
        dup = pd.Series(False, index=df.index)
    excluded["duplicate"] = int(dup.sum())
    if excluded["duplicate"]:
        log.info(
            "park list %s: dropped %d duplicate row(s) repeating %s",
            p.name, excluded["duplicate"], spec["dedup_on"],
        )
    df, lat, lon, area = df.loc[~dup], lat[~dup], lon[~dup], area[~dup]
    if len(df) == 0:
        raise InputError(f"park list {p.name} holds no usable row (read {n_read}); see the log for reasons")

    def _text(role: str) -> pd.Series:
        c = cols.get(role)
        if not c:
            return pd.Series("", index=df.index, dtype=object)
        return df[c].fillna("").astype(str).str.strip()

    park_type = _text("kind")
    kinds = spec["kinds"]
    rth_jenis = park_type.map(lambda t: kinds.get(t, spec["default_kind"]))
    park_id = _text("id")
    if not cols.get("id"):
        park_id = pd.Series([f"{p.stem}/{i}" for i in df.index], index=df.index, dtype=object)
    out = gpd.GeoDataFrame(
        {
            "park_id": park_id.to_numpy(),
            "name": _text("name").to_numpy(),
            "park_type": park_type.to_numpy(),
            "rth_jenis": rth_jenis.to_numpy(),
            "area_m2": area.to_numpy(dtype=float),
            "is_public": np.ones(len(df), dtype=bool),
            "source": p.name,
        },
        geometry=gpd.points_from_xy(lon.to_numpy(), lat.to_numpy()),
        crs=STORAGE_CRS,
    )
    excluded["kept"] = len(out)
    excluded["zero_area_kept"] = int((out["area_m2"] == 0).sum())
    if excluded["zero_area_kept"]:
        log.info(
            "park list %s: %d park(s) listed with area 0 kept (counted, add nothing to areas)",
            p.name, excluded["zero_area_kept"],
        )
    out.attrs["excluded"] = excluded
    out.attrs["encoding"] = encoding
    log.info(
        "park list %s (%s): kept %d of %d rows, %.3f km2 in total",
        p.name, encoding, len(out), n_read, out["area_m2"].sum() / 1e6,
    )
    return out


def parks_as_discs(parks_metric: gpd.GeoDataFrame, *, quad_segs: int = 16) -> gpd.GeoDataFrame:
    """Return each park point as a disc of the park's official area (an approximation).

    A park given only as a point and an area has no outline. For distance and access
    measures it is replaced by a regular polygon (``4 * quad_segs`` sides, close to a
    circle) centred on the point, whose area equals ``area_m2`` exactly: the radius is
    ``sqrt(A / (n/2 · sin(2π/n)))`` for ``n`` sides, about ``sqrt(A/π)``. Real parks
    are rarely round and the point is not always their centre (often the entrance or
    the address), so distances to long, thin or off-centre parks are approximate:
    people near the real edge may be counted as farther away, and vice versa.

    Parameters
    ----------
    parks_metric : GeoDataFrame
        Points in a projected CRS (metres) with ``area_m2`` >= 0, e.g. the result of
        :func:`parks_from_csv` reprojected with :func:`bandung_mapping.projection.to_metric`.
    quad_segs : int
        Segments per quarter circle (default 16, i.e. 64 sides).

    Returns
    -------
    GeoDataFrame
        A copy with polygon geometries (same index and columns) and a new column
        ``disc_radius_m``. A park of area 0 gets an empty polygon.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> pts = gpd.GeoDataFrame({"area_m2": [10_000.0]}, geometry=[shapely.Point(0, 0)], crs="EPSG:5186")
    >>> round(float(parks_as_discs(pts).area.iloc[0]), 6)
    10000.0
    """
    check_gdf(parks_metric, name="parks_metric", columns=["area_m2"], metric=True, geom_types=["Point"])
    if not isinstance(quad_segs, int) or quad_segs < 2:
        raise InputError(f"quad_segs must be an integer >= 2, got {quad_segs!r}")
    area = pd.to_numeric(parks_metric["area_m2"], errors="coerce")
    bad = ~(area >= 0)
    if bad.any():
        raise InputError(
            f"parks_metric has {int(bad.sum())} point(s) without an area_m2 (missing or negative); a disc "
            "needs an area. Select parks with parks[parks['area_m2'] >= 0] first."
        )
    n = 4 * quad_segs  # sides of the polygon shapely.buffer draws
    radius = np.sqrt(area.to_numpy(dtype=float) / (n / 2 * np.sin(2 * np.pi / n)))
    out = parks_metric.copy()
    out["disc_radius_m"] = radius
    discs = shapely.buffer(parks_metric.geometry.values, radius, quad_segs=quad_segs)
    out = out.set_geometry(gpd.GeoSeries(discs, index=out.index, crs=parks_metric.crs))
    return out


def assign_to_zones(
    points: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, *, metric_crs: object | None = None
) -> pd.Series:
    """Zone containing each point: a Series of ``zone_id`` aligned to ``points.index``.

    Points outside every zone get ``None`` and are counted in the log (never dropped
    silently). A point exactly on a border shared by two zones goes to the first
    zone in ``zones`` order, so its area is counted once.

    Parameters
    ----------
    points : GeoDataFrame
        Points (e.g. parks).
    zones : GeoDataFrame
        Polygons with ``zone_id``.
    metric_crs : CRS-like, optional
        CRS in which the point-in-polygon test is done (e.g. the city's metric CRS);
        default the zones' CRS.

    Returns
    -------
    Series of object
        ``zone_id`` or ``None``, named ``zone_id``.
    """
    check_gdf(points, name="points", geom_types=["Point"])
    check_gdf(zones, name="zones", columns=["zone_id"], geom_types=["Polygon", "MultiPolygon"])
    if points.crs is None or zones.crs is None:
        raise InputError("points and zones need a CRS (e.g. EPSG:4326) for point-in-polygon")
    target = metric_crs if metric_crs is not None else zones.crs
    pts = points.to_crs(target)
    zn = zones.to_crs(target).reset_index(drop=True)
    left, right = zn.sindex.query(pts.geometry.values, predicate="intersects")
    result = pd.Series([None] * len(pts), index=points.index, dtype=object, name="zone_id")
    if len(left):
        pairs = pd.DataFrame({"pt": left, "zone": right}).sort_values(["pt", "zone"]).drop_duplicates("pt")
        result.iloc[pairs["pt"].to_numpy()] = zn["zone_id"].astype(str).to_numpy()[pairs["zone"].to_numpy()]
    n_out = int(result.isna().sum())
    if n_out:
        log.warning("%d of %d point(s) fall outside every zone", n_out, len(result))
    return result


def parks_by_zone(
    parks: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, *, metric_crs: object | None = None
) -> pd.DataFrame:
    """Park count, official park area and park area per person for each zone.

    Each park's whole ``area_m2`` goes to the zone containing its point (the only
    choice when outlines are unknown; a park straddling a border is counted in one
    zone). Parks outside every zone are counted in ``result.attrs["parks_outside"]``
    and ``result.attrs["park_area_outside_m2"]``.

    Parameters
    ----------
    parks : GeoDataFrame
        Points with ``area_m2`` (see :func:`parks_from_csv`).
    zones : GeoDataFrame
        Polygons with ``zone_id`` and, optionally, ``population``.
    metric_crs : CRS-like, optional
        CRS of the point-in-polygon test; must be projected (e.g. ``"EPSG:5186"``).

    Returns
    -------
    DataFrame
        Indexed by ``zone_id`` (every zone, in ``zones`` order), columns ``park_count``,
        ``park_area_m2`` and, when ``zones`` has ``population``,
        ``park_area_per_capita_m2`` (NaN where the population is unknown or zero).
    """
    check_gdf(parks, name="parks", columns=["area_m2"], geom_types=["Point"])
    check_gdf(zones, name="zones", columns=["zone_id"], allow_empty=False)
    if metric_crs is not None:
        check_metric(gpd.GeoSeries([], crs=metric_crs), name="metric_crs")
    zone_of = assign_to_zones(parks, zones, metric_crs=metric_crs)
    area = pd.to_numeric(parks["area_m2"], errors="coerce")
    inside = zone_of.notna()
    ids = zones["zone_id"].astype(str)
    out = pd.DataFrame(index=pd.Index(ids.to_numpy(), name="zone_id"))
    out["park_count"] = zone_of[inside].value_counts().reindex(out.index, fill_value=0).astype(int)
    out["park_area_m2"] = area[inside].groupby(zone_of[inside]).sum().reindex(out.index, fill_value=0.0)
    if "population" in zones.columns:
        pop = pd.to_numeric(zones["population"], errors="coerce").to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            per = out["park_area_m2"].to_numpy() / np.where(pop > 0, pop, np.nan)
        out["park_area_per_capita_m2"] = per
    out.attrs["parks_outside"] = int((~inside).sum())
    out.attrs["park_area_outside_m2"] = float(area[~inside].sum())
    return out
