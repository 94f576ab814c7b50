"""Administrative zones (kelurahan / kecamatan / kota, or any city's levels) from files or OSM.

Every entry point returns ``dict[level, GeoDataFrame]`` ordered lowest level first, as the
city profile's ``levels``. Each GeoDataFrame is in EPSG:4326 with columns ``zone_id``,
``zone_name``, ``parent_id``, ``population`` (NaN here; see
:func:`bandung_mapping.population.join_population`) and ``geometry``.

City specifics come from the city profile's ``[boundaries]`` section:

``name_columns.<level>`` / ``code_columns.<level>``
    candidate columns, tried in order (first present wins);
``name_word.<level>``
    keep only this whitespace-separated word of the name (e.g. ``-1``: the last word of
    ``"대구광역시 중구 삼덕동"``);
``osm_admin_levels.<level>``
    OSM ``admin_level`` of each level for :func:`zones_from_place`.

A zone's id is its official code when the file has one; otherwise a slug of its name under
its parent's id (``"coblong/dago"``), or an OSM id for :func:`zones_from_place`. Each level's
``attrs["ids_without_code"]`` lists the ids that are not official codes, so that
:func:`bandung_mapping.population.adopt_codes` can replace them with the codes of a
population table.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from ._log import get_logger
from ._validate import check_gdf, check_input_path, repair_geometries
from .errors import CRSError, EmptyAreaError, InputError, InputFileError, ProfileError
from .profiles import CityProfile, check_keys, load_city
from .projection import STORAGE_CRS, check_coordinates, to_metric

log = get_logger(__name__)

__all__ = ["zones_from_file", "zones_from_gdf", "zones_from_place", "boundary_qa", "slug"]

_BOUNDARY_KEYS = {"name_columns", "code_columns", "name_word", "osm_admin_levels"}
#: Keys that are lists, not per-level tables: the columns naming the city a zone belongs to,
#: and the names (or codes) of this city in them.
_CITY_KEYS = {"city_columns", "city_names"}
ZONE_COLUMNS = ["zone_id", "zone_name", "parent_id", "population", "geometry"]


def slug(text: object) -> str:
    """Return a stable lower-case id: accents removed, runs of non-alphanumerics turned into ``-``.

    Letters of other scripts (Hangul, ...) are kept.

    Examples
    --------
    >>> slug("Bandung Kulon"), slug(" Sukajadi  (Kel.) "), slug("삼덕동")
    ('bandung-kulon', 'sukajadi-kel', '삼덕동')
    """
    s = unicodedata.normalize("NFKD", str(text))
    s = unicodedata.normalize("NFC", "".join(ch for ch in s if not unicodedata.combining(ch)))
    s = re.sub(r"[^\w]+", "-", s.lower()).strip("-_")
    return s or "zone"



def _boundary_profile(city: CityProfile) -> dict[str, Any]:
    b = dict(city.boundaries)
    check_keys(b, _BOUNDARY_KEYS | _CITY_KEYS, where=f"city profile {city.id} [boundaries]")
    for key in sorted(_CITY_KEYS):
        if key in b and not (isinstance(b[key], list) and all(isinstance(v, str) for v in b[key])):
            raise ProfileError(f"city profile {city.id} [boundaries] {key} must be a list of text")
    if bool(b.get("city_columns")) != bool(b.get("city_names")):
        raise ProfileError(f"city profile {city.id} [boundaries] city_columns and city_names go together")
    for key in sorted(_BOUNDARY_KEYS):
        table = b.get(key, {})
        if not isinstance(table, Mapping):
            raise ProfileError(f"city profile {city.id} [boundaries] {key} must be a table of level = value")
        bad = set(table) - set(city.levels)
        if bad:
            raise ProfileError(
                f"city profile {city.id} [boundaries] {key} names unknown level(s) {sorted(bad)}; "
                f"levels are {list(city.levels)}"
            )
    return b


def _as_list(v: object) -> list[str]:
    if v is None:
        return []
    return [v] if isinstance(v, str) else list(v)  # type: ignore[arg-type]


def _code_text(v: object) -> str | float:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return np.nan
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    s = str(v).strip()
    return s if s else np.nan


def _name_text(v: object, word: int | None) -> str | float:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return np.nan
    s = " ".join(str(v).split())
    if word is not None and s:
        parts = s.split(" ")
        try:
            s = parts[int(word)]
        except IndexError:
            s = parts[-1]
    return s if s else np.nan


def _pick(columns: Sequence[str], candidates: Sequence[str]) -> str | None:
    lower = {c.lower(): c for c in columns}
    for cand in candidates:
        if cand in columns:
            return cand
        if cand.lower() in lower:
            return lower[cand.lower()]
    return None


def zones_from_file(
    path: str | os.PathLike[str],
    *,
    city: str | os.PathLike[str] | CityProfile = "bandung",
    level: str | None = None,
    name_columns: Mapping[str, str] | str | None = None,
    code_columns: Mapping[str, str] | str | None = None,
    layer: str | int | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """Read administrative zones from a vector file and build every level of the city.

    Parameters
    ----------
    path : str or path-like
        GeoJSON, GeoPackage, Shapefile ... (anything pyogrio reads) of the lowest available
        level, e.g. kelurahan polygons with kelurahan and kecamatan name columns.
    city : str, path or CityProfile
        City profile (levels, candidate column names); default ``"bandung"``.
    level : str, optional
        Level of the file's polygons; default: the lowest level whose name column is found.
    name_columns, code_columns : dict level -> column, or str, optional
        Columns to use instead of the profile's candidates (a str applies to ``level``).
    layer : str or int, optional
        Layer of a multi-layer file.

    Returns
    -------
    dict of level -> GeoDataFrame
        From ``level`` up to the city level, lowest first (kelurahan, kecamatan, kota).
        Upper levels are dissolved from the file's polygons. ``result[level].attrs["qa"]``
        holds :func:`boundary_qa` of the file's level; ``attrs["ids_without_code"]`` of each
        level lists the ids built from names because the file has no code for them.

    Raises
    ------
    InputFileError
        Missing or unreadable file.
    EmptyAreaError
        The file holds no polygon.
    CRSError
        The file has no CRS.
    InputError
        No name column found (the message lists the file's columns and the candidates tried).
    """
    p = check_input_path(path, what="boundary file")
    try:
        raw = gpd.read_file(p, layer=layer)
    except Exception as exc:  # pyogrio raises several types for unreadable data
        raise InputFileError(
            f"cannot read boundary file {p} ({type(exc).__name__}: {exc}); expected a vector file "
            "(GeoJSON, GeoPackage, Shapefile) of zone polygons"
        ) from exc
    return zones_from_gdf(
        raw, city=city, level=level, name_columns=name_columns, code_columns=code_columns, source=p.name
    )


#: A zone whose centre lies farther than this (and than four times the distance within which
#: three quarters of the zones lie) from the median centre of the file's zones is taken for a
#: zone of another place (a stray row, a wrong code) and left out with a warning.
FAR_ZONE_KM = 50.0


def _drop_far_zones(gdf: gpd.GeoDataFrame, *, source: str) -> tuple[gpd.GeoDataFrame, int]:
    """``gdf`` without the minority of zones lying over :data:`FAR_ZONE_KM` from the others, and their count."""
    if len(gdf) < 3:
        return gdf, 0
    try:
        pts = shapely.point_on_surface(gdf.to_crs(STORAGE_CRS).geometry.values)
    except Exception:  # a CRS that cannot be transformed is named by check_coordinates
        return gdf, 0
    lon, lat = shapely.get_x(pts), shapely.get_y(pts)
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
        return gdf, 0
    lon0, lat0 = float(np.median(lon)), float(np.median(lat))
    geod = pyproj.Geod(ellps="WGS84")
    _, _, dist_m = geod.inv(np.full(len(lon), lon0), np.full(len(lat), lat0), lon, lat)
    # far from the rest: beyond FAR_ZONE_KM and beyond four times the spread of most zones
    limit = max(FAR_ZONE_KM * 1000, 4 * float(np.percentile(dist_m, 75)))
    far = dist_m > limit
    if not far.any() or far.sum() * 2 >= len(gdf):
        return gdf, 0
    log.warning(
        "%s: %d zone(s) lie over %.0f km from the other zones and are left out: %s",
        source, int(far.sum()), FAR_ZONE_KM, gdf.index[far].tolist()[:10],
    )
    return gdf.loc[~far], int(far.sum())


def _city_key(value: object) -> str:
    """Text of a city name or code for comparison: NFKC, case-folded, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", str(value)).casefold().split())


def _drop_other_city_zones(
    gdf: gpd.GeoDataFrame, bprof: Mapping[str, Any], *, city: str, source: str
) -> tuple[gpd.GeoDataFrame, int, list[str]]:
    """``gdf`` without the zones whose city column names another city, their count and those names.

    The first of the profile's ``[boundaries] city_columns`` present in ``gdf`` is compared with
    ``city_names`` (NFKC, case-folded). A missing value is kept (the file says nothing). If no
    zone at all names this city, the file is of another place: :class:`InputError`.
    """
    names = {_city_key(v) for v in _as_list(bprof.get("city_names"))}
    col = _pick([str(c) for c in gdf.columns], _as_list(bprof.get("city_columns")))
    if not names or col is None:
        return gdf, 0, []
    values = gdf[col]
    given = values.notna() & (values.astype(str).str.strip() != "")
    ours = values.map(lambda v: _city_key(v) in names).astype(bool)
    other = given & ~ours
    if not other.any():
        return gdf, 0, []
    seen = sorted({str(v) for v in values[other]})
    if not ours.any():
        raise InputError(
            f"{source}: no zone belongs to {city}: its column {col!r} names {seen[:5]}; expected one of "
            f"{_as_list(bprof.get('city_names'))} (give the boundaries of {city}, or choose its city profile)"
        )
    log.warning("%s: %d zone(s) whose %s names another place (%s) are left out",
                source, int(other.sum()), col, ", ".join(seen[:5]))
    return gdf.loc[~other], int(other.sum()), seen


def zones_from_gdf(
    gdf: gpd.GeoDataFrame,
    *,
    city: str | os.PathLike[str] | CityProfile = "bandung",
    level: str | None = None,
    name_columns: Mapping[str, str] | str | None = None,
    code_columns: Mapping[str, str] | str | None = None,
    source: str = "zones",
) -> dict[str, gpd.GeoDataFrame]:
    """Build every zone level from a GeoDataFrame of polygons (see :func:`zones_from_file`)."""
    check_gdf(gdf, name=source)
    prof = load_city(city)
    bprof = _boundary_profile(prof)
    if len(gdf) == 0:
        raise EmptyAreaError(f"{source} holds no features; expected zone polygons")
    if gdf.crs is None:
        raise CRSError(f"{source} has no CRS; expected one (e.g. EPSG:4326). Set it, or fix the file's .prj")
    gdf = gdf.loc[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    gdf, n_other, other_cities = _drop_other_city_zones(gdf, bprof, city=prof.name, source=source)
    gdf, n_far = _drop_far_zones(gdf, source=source)
    check_coordinates(gdf, name=source, region_crs=prof.metric_crs)
    gdf = gdf.loc[gdf.geom_type.isin(["Polygon", "MultiPolygon"])]
    if len(gdf) == 0:
        raise EmptyAreaError(f"{source} holds no polygons; expected zone polygons")
    levels = list(prof.levels)
    if level is not None and level not in levels:
        raise InputError(f"level must be one of {levels}, got {level!r}")
    cols = [str(c) for c in gdf.columns if c != gdf.geometry.name]

    def user(table: Mapping[str, str] | str | None, lev: str | None) -> dict[str, str]:
        if table is None:
            return {}
        if isinstance(table, str):
            if lev is None:
                raise InputError("a single column name needs level=...; or pass a dict level -> column")
            return {lev: table}
        return dict(table)

    u_names, u_codes = user(name_columns, level), user(code_columns, level)
    for lev, c in {**u_names, **u_codes}.items():
        if lev not in levels:
            raise InputError(f"column given for unknown level {lev!r}; levels are {levels}")
        if c not in cols:
            raise InputError(f"column {c!r} given for {lev} is not in {source}; it has {cols}")

    name_col: dict[str, str | None] = {}
    code_col: dict[str, str | None] = {}
    tried: dict[str, list[str]] = {}
    for lev in levels[:-1]:
        cands = [u_names[lev]] if lev in u_names else _as_list(bprof.get("name_columns", {}).get(lev))
        tried[lev] = cands
        name_col[lev] = _pick(cols, cands)
        ccands = [u_codes[lev]] if lev in u_codes else _as_list(bprof.get("code_columns", {}).get(lev))
        code_col[lev] = _pick(cols, ccands)
    if level is None:
        found = [lev for lev in levels[:-1] if name_col[lev]]
        if not found:
            raise InputError(
                f"{source}: no zone name column found. It has columns {cols}; tried "
                + "; ".join(f"{lev}: {c}" for lev, c in tried.items())
                + ". Name the column with name_columns={'<level>': '<column>'} (CLI: --name-column)."
            )
        level = found[0]
    start = levels.index(level)
    if level == levels[-1]:
        chain: list[str] = []
    else:
        chain = levels[start:-1]
        missing = [lev for lev in chain if not name_col[lev]]
        if missing:
            raise InputError(
                f"{source}: no name column for level(s) {missing} (needed to build the levels above "
                f"{level}). It has columns {cols}; tried "
                + "; ".join(f"{lev}: {tried[lev]}" for lev in missing)
            )

    gdf = gdf.to_crs(STORAGE_CRS)
    geoms = shapely.force_2d(gdf.geometry.values)
    work = gpd.GeoDataFrame(geometry=list(geoms), crs=STORAGE_CRS, index=range(len(gdf)))
    work, n_fixed = repair_geometries(work, name=source)
    words = bprof.get("name_word", {})

    # names, codes and ids of each level, from the top of the chain down
    names: dict[str, pd.Series] = {}
    ids: dict[str, pd.Series] = {}
    no_code: dict[str, set[str]] = {}
    for depth, lev in enumerate(reversed(chain)):
        nm = pd.Series(
            [_name_text(v, words.get(lev)) for v in gdf[name_col[lev]]], index=work.index, dtype=object
        )
        if nm.isna().any():
            raise InputError(
                f"{source}: {int(nm.isna().sum())} features have no {lev} name in column {name_col[lev]!r}"
            )
        names[lev] = nm
        cc = code_col[lev]
        code = (
            pd.Series([_code_text(v) for v in gdf[cc]], index=work.index, dtype=object)
            if cc
            else pd.Series(np.nan, index=work.index, dtype=object)
        )
        above = levels[levels.index(lev) + 1]
        if depth == 0:
            fallback = nm.map(slug)
        else:
            fallback = ids[above] + "/" + nm.map(slug)
        ids[lev] = code.where(code.notna(), fallback).astype(str)
        no_code[lev] = set(ids[lev][code.isna()])

    out: dict[str, gpd.GeoDataFrame] = {}
    for lev in chain:
        above = levels[levels.index(lev) + 1]
        parent = ids[above] if above in ids else pd.Series(prof.id, index=work.index)
        table = pd.DataFrame({"zone_id": ids[lev], "zone_name": names[lev], "parent_id": parent})
        dup_parent = table.groupby("zone_id")["parent_id"].nunique()
        if (dup_parent > 1).any():
            bad = dup_parent[dup_parent > 1].index.tolist()[:5]
            raise InputError(
                f"{source}: {lev} zone(s) {bad} lie in several parents; check the name/code columns"
            )
        names_per_id = table.assign(_n=table["zone_name"].astype(str).str.strip().str.upper()).groupby("zone_id")["_n"]
        dup_name = names_per_id.nunique()
        if (dup_name > 1).any():
            bad_ids = dup_name[dup_name > 1].index.tolist()
            shown = {z: sorted(set(table.loc[table["zone_id"] == z, "zone_name"].astype(str)))[:3] for z in bad_ids[:5]}
            raise InputError(
                f"{source}: {len(bad_ids)} {lev} code(s) are shared by zones of different names {shown}; "
                "expected one code per zone (polygons of one zone may share its code and name)"
            )
        n_rows = len(table)
        grouped = (
            gpd.GeoDataFrame(table, geometry=work.geometry.values, crs=STORAGE_CRS)
            .dissolve(by="zone_id", aggfunc="first", sort=False)
            .reset_index()
        )
        if lev == level and len(grouped) < n_rows:
            log.info(
                "%s: merged %d polygons sharing a %s id into %d zones", source, n_rows, lev, len(grouped)
            )
        out[lev] = _finish(grouped)
        out[lev].attrs["ids_without_code"] = sorted(no_code[lev])
    out[levels[-1]] = _city_zone(prof, shapely.union_all(work.geometry.values))
    out = {lev: out[lev] for lev in levels[start:]}
    qa = boundary_qa(out[level], metric_crs=prof.metric_crs)
    qa["repaired_invalid"] = n_fixed
    qa["zones_far_from_the_rest"] = n_far
    qa["zones_of_another_city"] = n_other
    qa["other_city_names"] = other_cities[:5]
    out[level].attrs["qa"] = qa
    log.info(
        "read %s zones from %s: %s; overlaps %.0f m2, gaps %.0f m2, repaired %d",
        level,
        source,
        {lev: len(g) for lev, g in out.items()},
        qa["overlap_area_m2"],
        qa["gap_area_m2"],
        n_fixed,
    )
    return out


def _finish(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    geoms = [_polygonal(g) for g in gdf.geometry.values]
    out = gpd.GeoDataFrame(
        {
            "zone_id": gdf["zone_id"].astype(str).to_numpy(),
            "zone_name": gdf["zone_name"].astype(str).to_numpy(),
            "parent_id": gdf["parent_id"].astype(str).to_numpy(),
            "population": np.full(len(gdf), np.nan),
        },
        geometry=geoms,
        crs=STORAGE_CRS,
    )
    return out


def _city_zone(prof: CityProfile, geometry: shapely.Geometry) -> gpd.GeoDataFrame:
    """The one zone of the city level (id and name from the profile, no parent)."""
    out = _finish(
        gpd.GeoDataFrame(
            {"zone_id": [prof.id], "zone_name": [prof.name], "parent_id": [""]}, geometry=[geometry], crs=STORAGE_CRS
        )
    )
    out.attrs["ids_without_code"] = []
    return out


def _polygonal(g: shapely.Geometry) -> shapely.Geometry:
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def boundary_qa(zones: gpd.GeoDataFrame, *, metric_crs: object) -> dict[str, Any]:
    """Measure validity, overlaps and gaps of a zone layer.

    Parameters
    ----------
    zones : GeoDataFrame
        Zone polygons (any CRS set).
    metric_crs : CRS-like
        Projected CRS in metres for the areas.

    Returns
    -------
    dict
        ``n_zones``, ``n_invalid``, ``area_m2`` (sum of zones), ``union_area_m2``,
        ``n_overlapping_pairs``, ``overlap_area_m2`` (sum of pairwise intersections),
        ``n_gaps`` and ``gap_area_m2`` (holes in the union of the zones that are smaller than
        the smallest zone, i.e. slivers between neighbours rather than enclaves).
    """
    check_gdf(zones, name="zones", allow_empty=False)
    geoms = to_metric(zones, metric_crs, name="zones").geometry.values
    n_invalid = int((~shapely.is_valid(geoms)).sum())
    geoms = np.array([g if g.is_valid else _polygonal(shapely.make_valid(g)) for g in geoms], dtype=object)
    areas = shapely.area(geoms)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    inter = shapely.area(shapely.intersection(geoms[left], geoms[right])) if len(left) else np.array([])
    overlapping = inter > 1e-6
    union = shapely.union_all(geoms)
    min_zone = float(areas[areas > 0].min()) if (areas > 0).any() else 0.0
    holes = []
    for poly in shapely.get_parts(union):
        if poly.geom_type != "Polygon":
            continue
        for ring in poly.interiors:
            a = shapely.Polygon(ring).area
            if a < min_zone:
                holes.append(a)
    return {
        "n_zones": int(len(geoms)),
        "n_invalid": n_invalid,
        "area_m2": float(areas.sum()),
        "union_area_m2": float(union.area),
        "n_overlapping_pairs": int(overlapping.sum()),
        "overlap_area_m2": float(inter[overlapping].sum()) if len(inter) else 0.0,
        "n_gaps": len(holes),
        "gap_area_m2": float(sum(holes)),
    }


def zones_from_place(
    query: str,
    *,
    city: str | os.PathLike[str] | CityProfile = "bandung",
) -> dict[str, gpd.GeoDataFrame]:
    """Zones of every level from OpenStreetMap administrative boundaries (needs network or cache).

    The place is geocoded by Nominatim; boundary relations inside it are read at the
    ``admin_level`` of each level given in the profile's ``[boundaries] osm_admin_levels``
    (Indonesia: kota 5, kecamatan 6, kelurahan 7). Zone ids are the OSM ids
    (``relation/123``) unless a ``ref`` tag gives an official code. Parents are found by
    position (the zone's representative point in the parent polygon).

    Raises
    ------
    NetworkDownloadError
        No network (or offline mode) and no cached response.
    ProfileError
        The profile has no ``osm_admin_levels``.
    """
    import osmnx as ox

    from ._overpass import call_osmnx
    from .osm import features_from_polygon

    prof = load_city(city)
    bprof = _boundary_profile(prof)
    admin = bprof.get("osm_admin_levels", {})
    if not admin or any(lev not in admin for lev in prof.levels):
        raise ProfileError(
            f"city profile {prof.id}: [boundaries] osm_admin_levels must give the OSM admin_level of "
            f"every level {list(prof.levels)}"
        )
    place = call_osmnx(ox.geocode_to_gdf, query, what=f"geocoding {query!r}")
    poly = shapely.union_all(place.to_crs(STORAGE_CRS).geometry.values)
    feats = features_from_polygon(
        poly, tags={"boundary": "administrative", "admin_level": [str(admin[lev]) for lev in prof.levels]}
    )
    feats = feats.loc[feats.geom_type.isin(["Polygon", "MultiPolygon"])]
    shapely.prepare(poly)
    inside = shapely.contains(poly.buffer(1e-4), shapely.point_on_surface(feats.geometry.values))
    feats = feats.loc[inside]
    out: dict[str, gpd.GeoDataFrame] = {}
    for lev in reversed(prof.levels):
        sel = feats.loc[feats.get("admin_level", pd.Series(dtype=object)) == str(admin[lev])]
        if lev == prof.levels[-1]:
            out[lev] = _city_zone(prof, shapely.union_all(sel.geometry.values) if len(sel) else poly)
            continue
        if len(sel) == 0:
            raise EmptyAreaError(f"no OSM boundaries with admin_level={admin[lev]} ({lev}) in {query!r}")
        ref = sel["ref"] if "ref" in sel.columns else pd.Series(np.nan, index=sel.index)
        zid = ref.where(ref.notna(), sel["osmid"]).astype(str)
        above = prof.levels[prof.levels.index(lev) + 1]
        parents = out[above]
        tree = shapely.STRtree(parents.geometry.values)
        pts = shapely.point_on_surface(sel.geometry.values)
        pairs = tree.query(pts, predicate="within")
        parent = np.full(len(sel), parents["zone_id"].iloc[0] if len(parents) == 1 else "", dtype=object)
        parent[pairs[0]] = parents["zone_id"].to_numpy()[pairs[1]]
        name = sel["name"] if "name" in sel.columns else zid
        out[lev] = _finish(
            gpd.GeoDataFrame(
                {"zone_id": zid.to_numpy(), "zone_name": name.fillna(zid).to_numpy(), "parent_id": parent},
                geometry=list(sel.geometry.values),
                crs=STORAGE_CRS,
            )
        )
        out[lev].attrs["ids_without_code"] = sorted(set(zid[ref.isna()]))
    return {lev: out[lev] for lev in prof.levels}
