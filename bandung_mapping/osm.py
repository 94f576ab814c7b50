"""OpenStreetMap features: from files (.osm, .osm.pbf, GeoJSON/GeoPackage exports) or online.

Every entry point returns the same table, a GeoDataFrame in EPSG:4326 with one row
per OSM element:

``osmid``
    ``"node/5"``, ``"way/123"`` or ``"relation/7"`` (or the source's own id).
``element``
    ``"node"``, ``"way"`` or ``"relation"``.
tag columns
    every OSM tag found, as strings; a tag that is absent or empty is NaN.
``source``
    the file name, or ``"overpass"`` for online downloads.
``geometry``
    Point (tagged node), LineString (open way, or closed way that is not an area, e.g.
    ``highway=*``), Polygon / MultiPolygon (area ways and multipolygon relations, holes kept).

Readers: ``.osm`` XML (plain, ``.gz``, ``.bz2``) and ``.osm.pbf`` are read with pyosmium
(``osmium``, the binding of libosmium) and its area assembler: osmnx cannot read PBF and
parses XML in Python (about four times slower), and pyrosm loads every layer into memory at
once. Coordinates are kept to 1e-7 degrees, as in OSM itself. GeoJSON / GeoPackage exports
(Overpass turbo, QGIS QuickOSM) are read with pyogrio. See ``docs/data_sources.md``.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from ._log import get_logger
from ._overpass import call_osmnx
from ._validate import check_input_path
from .errors import EmptyAreaError, InputError, InputFileError
from .projection import STORAGE_CRS, check_coordinates

log = get_logger(__name__)

__all__ = [
    "FEATURE_FORMATS",
    "default_tags",
    "features_from_file",
    "features_from_files",
    "features_from_place",
    "features_from_polygon",
    "features_from_bbox",
]

FEATURE_FORMATS = (
    ".osm, .osm.gz, .osm.bz2, .xml (OSM XML); .osm.pbf / .pbf (OSM PBF); "
    ".geojson, .json, .gpkg (Overpass turbo or QGIS exports with an '@id', 'id', 'full_id' "
    "or 'osm_type'+'osm_id' column)"
)
_ELEMENTS = ("node", "way", "relation")
_SHORT = {"n": "node", "w": "way", "r": "relation"}
# Columns of OSM exports that are metadata, not tags.
_META_COLUMNS = {
    "@id",
    "id",
    "full_id",
    "osm_id",
    "osm_type",
    "@relations",
    "@geometry",
    "@timestamp",
    "@version",
    "@changeset",
    "@user",
    "@uid",
    "timestamp",
    "version",
    "changeset",
    "user",
    "uid",
    "nodes",
    "ways",
    "members",
    "fid",
}


# --------------------------------------------------------------------------------------
# the one worker: normalise any table of OSM elements to the common schema
# --------------------------------------------------------------------------------------
def _normalise(
    gdf: gpd.GeoDataFrame,
    *,
    osmid: Sequence[str],
    element: Sequence[str],
    source: str,
    polygon: BaseGeometry | None,
) -> gpd.GeoDataFrame:
    """Return the common schema: osmid, element, tag columns (str, NaN if empty), source, geometry."""
    geom = gdf.geometry.values
    if gdf.crs is None:
        raise InputFileError(f"{source}: the features have no CRS; expected EPSG:4326 (OSM data)")
    tags = gdf.drop(columns=[gdf.geometry.name, *[c for c in gdf.columns if c in _META_COLUMNS]])
    tags = tags.loc[:, [c for c in tags.columns if not str(c).startswith("@")]]
    out: dict[str, Any] = {"osmid": pd.array(list(osmid), dtype=object), "element": list(element)}
    for col in tags.columns:
        values = _tag_strings(tags[col])
        if col == "type":  # 'type=multipolygon' is structure, not a feature tag (libosmium drops it too)
            values = values.where(values != "multipolygon")
        if values.notna().any():
            out[str(col)] = values
    out["source"] = source
    result = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geom, crs=gdf.crs).values, crs=gdf.crs)
    if not result.crs.equals(STORAGE_CRS):
        result = result.to_crs(STORAGE_CRS)
    if result.has_z.any():
        result["geometry"] = shapely.force_2d(result.geometry.values)
    if polygon is not None:
        # the polygon prepared and first: GEOS indexes its outline once (``GeoSeries.intersects``
        # tests each feature against the unprepared polygon); a copy is prepared, not the caller's
        prepared = shapely.from_wkb(shapely.to_wkb(polygon))
        shapely.prepare(prepared)
        keep = pd.Series(shapely.intersects(prepared, result.geometry.values), index=result.index)
        log.info("kept %d of %d features intersecting the polygon", int(keep.sum()), len(result))
        result = result.loc[keep]
    rank = result["element"].map({"node": 0, "way": 1, "relation": 2}).fillna(3)
    num = pd.to_numeric(result["osmid"].str.rsplit("/", n=1).str[-1], errors="coerce")
    order = np.lexsort((num.fillna(-1).to_numpy(), rank.to_numpy()))
    return result.iloc[order].reset_index(drop=True)


def _tag_strings(col: pd.Series) -> pd.Series:
    """Tags as strings; None, NaN and empty/blank strings become NaN."""
    if pd.api.types.is_datetime64_any_dtype(col):
        col = col.map(lambda v: v.isoformat() if pd.notna(v) else np.nan)
    elif pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        col = col.map(lambda v: np.nan if pd.isna(v) else (str(int(v)) if float(v).is_integer() else str(v)))
    col = col.astype(object)
    missing = col.isna()
    text = col.where(missing, col.astype(str).str.strip())
    return text.where(~missing & (text != ""), np.nan).astype(object)


def _empty(source: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"osmid": pd.Series(dtype=object), "element": pd.Series(dtype=object), "source": source},
        geometry=gpd.GeoSeries([], crs=STORAGE_CRS),
        crs=STORAGE_CRS,
    )


def _as_polygon(polygon: object) -> BaseGeometry | None:
    """Accept a shapely polygon, a GeoSeries/GeoDataFrame (reprojected to 4326) or None."""
    if polygon is None:
        return None
    if isinstance(polygon, (gpd.GeoSeries, gpd.GeoDataFrame)):
        if polygon.crs is None:
            raise InputError("polygon has no CRS; expected EPSG:4326 or any CRS set with .set_crs()")
        return shapely.union_all(polygon.to_crs(STORAGE_CRS).geometry.values)
    if isinstance(polygon, BaseGeometry) and polygon.geom_type in ("Polygon", "MultiPolygon"):
        return polygon
    raise InputError(
        "polygon must be a shapely Polygon/MultiPolygon in EPSG:4326 or a GeoSeries, "
        f"got {type(polygon).__name__}"
    )


# --------------------------------------------------------------------------------------
# readers
# --------------------------------------------------------------------------------------
def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".osm.pbf", ".pbf")):
        return "pbf"
    if name.endswith((".osm", ".osm.gz", ".osm.bz2", ".xml", ".xml.gz", ".xml.bz2")):
        return "xml"
    if name.endswith((".geojson", ".json", ".gpkg", ".geojsonl", ".geojsons")):
        return "vector"
    return "unknown"


# Tags that make a closed way an area, from the Overpass turbo polygon features
# (https://wiki.openstreetmap.org/wiki/Overpass_turbo/Polygon_Features) as osmnx 2.1 lists them
# in ``osmnx.features._POLYGON_FEATURES`` (osmnx, MIT License, Copyright (c) 2016-2026 Geoff
# Boeing); copied so that reading a PBF file does not import osmnx.
_POLYGON_FEATURES: dict[str, tuple[str, frozenset[str]]] = {
    "aeroway": ("blocklist", frozenset({"taxiway"})),
    "amenity": ("all", frozenset()),
    "area": ("all", frozenset()),
    "area:highway": ("all", frozenset()),
    "barrier": ("passlist", frozenset({"city_wall", "ditch", "hedge", "retaining_wall", "spikes"})),
    "boundary": ("all", frozenset()),
    "building": ("all", frozenset()),
    "building:part": ("all", frozenset()),
    "craft": ("all", frozenset()),
    "golf": ("all", frozenset()),
    "highway": ("passlist", frozenset({"elevator", "escape", "rest_area", "services"})),
    "historic": ("all", frozenset()),
    "indoor": ("all", frozenset()),
    "landuse": ("all", frozenset()),
    "leisure": ("all", frozenset()),
    "man_made": ("blocklist", frozenset({"cutline", "embankment", "pipeline"})),
    "military": ("all", frozenset()),
    "natural": ("blocklist", frozenset({"arete", "cliff", "coastline", "ridge", "tree_row"})),
    "office": ("all", frozenset()),
    "place": ("all", frozenset()),
    "power": ("passlist", frozenset({"generator", "plant", "substation", "transformer"})),
    "public_transport": ("all", frozenset()),
    "railway": ("passlist", frozenset({"platform", "roundhouse", "station", "turntable"})),
    "ruins": ("all", frozenset()),
    "shop": ("all", frozenset()),
    "tourism": ("all", frozenset()),
    "waterway": ("passlist", frozenset({"boatyard", "dam", "dock", "riverbank"})),
}


def _closed_way_is_area(tags: Mapping[str, str]) -> bool:
    """Whether a closed way is an area, by the rules osmnx uses (Overpass turbo's polygon features)."""
    return _is_area(frozenset((k, tags[k]) for k in tags.keys() & _POLYGON_FEATURES.keys()))


@functools.lru_cache(maxsize=4096)
def _is_area(tags: frozenset[tuple[str, str]]) -> bool:
    """:func:`_closed_way_is_area` of the tags that decide it (few distinct sets: memoised)."""
    if ("area", "no") in tags:
        return False
    for key, value in tags:
        rule, values = _POLYGON_FEATURES[key]
        if rule == "all" or (rule == "passlist" and value in values) or (rule == "blocklist" and value not in values):
            return True
    return False


# relation types whose members libosmium's area assembler builds into (multi)polygons
_AREA_RELATION_TYPES = frozenset({"multipolygon", "boundary"})
# the value libosmium gives the header option 'sorting' of a PBF file that declares the
# 'Sort.Type_then_ID' feature (nodes, then ways, then relations, each by ascending id)
_SORTED_HEADER = "Type_then_ID"


class _UnsortedInput(Exception):
    """Internal: an element came out of id order (nodes, ways, relations, each by ascending id)."""


def _count(excluded: dict[str, int], reason: str, n: int = 1) -> None:
    """Add ``n`` to ``excluded[reason]``."""
    excluded[reason] = excluded.get(reason, 0) + int(n)


def _read_errors() -> tuple[type[Exception], ...]:
    """What libosmium raises on a truncated or malformed file.

    I/O, XML and PBF errors are RuntimeError, bad ids ValueError, bad coordinates
    InvalidLocationError.
    """
    import osmium

    return (RuntimeError, ValueError, osmium.InvalidLocationError)


def _pbf_declares_sorted(path: Path) -> bool:
    """Whether a PBF file's header declares it sorted (``Sort.Type_then_ID``); False if unreadable."""
    import osmium

    try:
        reader = osmium.io.Reader(str(path), osmium.osm.NOTHING)
        try:
            return reader.header().get("sorting") == _SORTED_HEADER
        finally:
            reader.close()
    except _read_errors():
        return False  # the real read raises the typed error with the reason


def _has_elements(path: Path) -> bool:
    """Whether an OSM file holds at least one node, way or relation (stops at the first)."""
    import osmium

    return any(True for _ in osmium.FileProcessor(str(path)))


def _sort_to_pbf(path: Path, folder: Path, source: str) -> Path:
    """Write the elements of ``path`` to ``folder/sorted.osm.pbf``, sorted and deduplicated.

    libosmium's node-location index and area assembler need nodes, then ways, then relations,
    each by ascending id, which OSM XML from Overpass or JOSM does not guarantee. The elements
    are read into libosmium buffers (about the size of the same data as PBF, a fraction of the
    XML) and written sorted; duplicates (same type, id and version) are kept once.

    Raises
    ------
    InputFileError
        The file cannot be parsed, or holds no element.
    """
    import osmium

    merger = osmium.MergeInputReader()
    try:
        size = merger.add_file(str(path))
    except _read_errors() as exc:
        raise InputFileError(
            f"cannot read {path} as OSM data ({exc}); expected complete OSM XML or PBF: {FEATURE_FORMATS}"
        ) from exc
    if not size:
        raise InputFileError(
            f"{path} holds no OSM element; expected OSM data with at least one node, way or relation"
        )
    out = folder / "sorted.osm.pbf"
    writer = osmium.WriteHandler(str(out))
    try:
        merger.apply(writer, simplify=True)
    finally:
        writer.close()
    log.debug("%s: sorted %d bytes of OSM elements into %s", source, size, out)
    return out


def _read_pbf(path: Path, source: str, polygon: BaseGeometry | None) -> gpd.GeoDataFrame:
    """Read ``.osm`` XML or ``.osm.pbf`` with libosmium, sorting the elements first if needed.

    OSM XML is always sorted first (Overpass may write relations before nodes, and ids out
    of order); a PBF file is read as it is when its header declares it sorted, or while its
    elements come in order, and else sorted and read again.

    Returns
    -------
    geopandas.GeoDataFrame
        The common schema; ``attrs["excluded"]`` counts the elements left out by reason
        (``non_area_relation``: relations other than multipolygon/boundary, e.g. routes;
        ``broken_geometry``: ways or relations whose geometry could not be built).

    Raises
    ------
    InputFileError
        The file is empty (0 bytes or no element), truncated or corrupt.
    """
    import tempfile

    if path.stat().st_size == 0:
        raise InputFileError(
            f"{path} is empty (0 bytes); expected OSM XML or PBF with at least one node, way or relation"
        )
    with tempfile.TemporaryDirectory(prefix="bm-osm-") as tmp:
        if _kind(path) == "xml":
            return _read_sorted(_sort_to_pbf(path, Path(tmp), source), path, source, polygon, check=False)
        try:
            return _read_sorted(path, path, source, polygon, check=not _pbf_declares_sorted(path))
        except _UnsortedInput as exc:
            log.info("%s: elements are not sorted by type and id (%s); sorting them first", source, exc)
            return _read_sorted(_sort_to_pbf(path, Path(tmp), source), path, source, polygon, check=False)


def _read_sorted(
    read: Path, path: Path, source: str, polygon: BaseGeometry | None, *, check: bool
) -> gpd.GeoDataFrame:
    """Read ``read`` (``path`` itself, or its sorted copy) into the common schema.

    With ``check``, :class:`_UnsortedInput` is raised at the first element seen out of
    order, when libosmium finds one, or when a way lacks node locations (untagged nodes are
    not seen here: they may come after the ways).
    """
    import osmium

    wkb = osmium.geom.WKBFactory()
    rows: list[dict[str, str]] = []
    geoms: list[bytes] = []
    ids: list[str] = []
    elements: list[str] = []
    area_ways: dict[int, bytes] = {}
    broken = (RuntimeError, osmium.InvalidLocationError)
    closed_ways: set[int] = set()
    excluded: dict[str, int] = {}
    other_types: dict[str, int] = {}
    last, last_name = (-1, False, 0), ""
    seen = 0
    try:
        # untagged nodes and ways are dropped in libosmium, after their locations and rings are stored
        untagged = osmium.filter.EmptyTagFilter().enable_for(osmium.osm.NODE | osmium.osm.WAY)
        processor = osmium.FileProcessor(str(read)).with_locations().with_areas().with_filter(untagged)
        for obj in processor:
            seen += 1
            if obj.is_area():
                if obj.from_way():
                    try:
                        area_ways[obj.orig_id()] = wkb.create_multipolygon(obj)
                    except broken:
                        pass
                    continue
                # libosmium assembles multipolygon and boundary relations; it drops their 'type' tag
                tags = {t.k: t.v for t in obj.tags}
                try:
                    geoms.append(wkb.create_multipolygon(obj))
                except broken as exc:  # broken ring, missing member
                    log.warning("%s: skipped relation/%d: %s", source, obj.orig_id(), exc)
                    _count(excluded, "broken_geometry")
                    continue
                rows.append(tags)
                ids.append(f"relation/{obj.orig_id()}")
                elements.append("relation")
                continue
            if check:
                # libosmium's order: by type, then negative ids (new in JOSM) before positive, by |id|
                key = (0 if obj.is_node() else 1 if obj.is_way() else 2, obj.id > 0, abs(obj.id))
                if key < last:
                    raise _UnsortedInput(f"{obj.type_str()}{obj.id} after {last_name}")
                last, last_name = key, f"{obj.type_str()}{obj.id}"
            if obj.is_relation():
                # multipolygon/boundary relations come back as areas (above); the others
                # (route, site, restriction, ...) have no area and are left out, counted
                rel_type = obj.tags.get("type") or "(none)"
                if rel_type not in _AREA_RELATION_TYPES:
                    _count(excluded, "non_area_relation")
                    other_types[rel_type] = other_types.get(rel_type, 0) + 1
                continue
            if len(obj.tags) == 0:
                continue
            tags = {t.k: t.v for t in obj.tags}
            if obj.is_node():
                if not obj.location.valid():
                    continue
                geoms.append(wkb.create_point(obj))
                ids.append(f"node/{obj.id}")
                elements.append("node")
                rows.append(tags)
            elif obj.is_way():
                if len(obj.nodes) < 2:
                    continue
                try:
                    geoms.append(wkb.create_linestring(obj))
                except broken as exc:  # missing node locations (clipped extract)
                    if check:  # or nodes after the ways, in a PBF file not declared sorted
                        raise _UnsortedInput(f"way/{obj.id} has nodes without a location") from exc
                    log.warning("%s: skipped way/%d: %s", source, obj.id, exc)
                    _count(excluded, "broken_geometry")
                    continue
                if obj.is_closed() and _closed_way_is_area(tags):
                    closed_ways.add(len(rows))
                ids.append(f"way/{obj.id}")
                elements.append("way")
                rows.append(tags)
    except _read_errors() as exc:
        if check and "out of order" in str(exc):  # libosmium's own check ('Way IDs out of order')
            raise _UnsortedInput(str(exc)) from exc
        raise InputFileError(
            f"cannot read {path} as OSM data ({exc}); expected complete OSM XML or PBF: {FEATURE_FORMATS}"
        ) from exc
    if not seen and not _has_elements(read):
        raise InputFileError(
            f"{path} holds no OSM element; expected OSM data with at least one node, way or relation"
        )
    if other_types:
        log.info(
            "%s: left out %d relations that are not areas (type: %s)",
            source,
            excluded["non_area_relation"],
            ", ".join(f"{k}={v}" for k, v in sorted(other_types.items())),
        )
    # closed ways that are areas take the polygon the area assembler built
    refused = []
    for pos in closed_ways:
        built = area_ways.get(int(ids[pos].split("/")[1]))
        if built is None:
            refused.append(pos)
        else:
            geoms[pos] = built
    shapes = shapely.from_wkb(geoms) if geoms else np.array([], dtype=object)
    for pos in refused:
        if shapely.get_num_coordinates(shapes[pos]) >= 4:
            # the assembler refused the ring (e.g. self-intersecting): keep it as a polygon,
            # to be repaired and counted by the classifier
            shapes[pos] = shapely.Polygon(shapely.get_coordinates(shapes[pos]))
    # one-part MultiPolygons become Polygons (as osmnx returns them)
    single = (shapely.get_type_id(shapes) == 6) & (shapely.get_num_geometries(shapes) == 1)
    if single.any():
        shapes[single] = shapely.get_geometry(shapes[single], 0)
    if not rows:
        out = _empty(source)
    else:
        raw = gpd.GeoDataFrame(pd.DataFrame.from_records(rows), geometry=list(shapes), crs=STORAGE_CRS)
        out = _normalise(raw, osmid=ids, element=elements, source=source, polygon=polygon)
    out.attrs["excluded"] = excluded
    return out


_ID_RE = re.compile(r"^\s*(node|way|relation|n|w|r)\s*/?\s*(-?\d+)\s*$", re.IGNORECASE)


def _parse_id(value: object, osm_type: object = None) -> tuple[str, str] | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    if text.endswith(".0"):
        text = text[:-2]
    m = _ID_RE.match(text)
    if m:
        element = m.group(1).lower()
        element = _SHORT.get(element, element)
        return element, f"{element}/{m.group(2)}"
    if osm_type is not None and str(osm_type).strip().lower() in (*_ELEMENTS, *_SHORT):
        element = str(osm_type).strip().lower()
        element = _SHORT.get(element, element)
        return element, f"{element}/{text}"
    return None


def _read_vector(
    path: Path, source: str, polygon: BaseGeometry | None, layer: str | None
) -> gpd.GeoDataFrame:
    import pyogrio

    try:
        raw = gpd.read_file(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError, OSError) as exc:
        raise InputFileError(f"cannot read {path} ({exc}); expected {FEATURE_FORMATS}") from exc
    if len(raw) == 0:
        return _empty(source)
    if raw.crs is None:
        raise InputFileError(f"{path} has no CRS; expected EPSG:4326 as OSM exports use")
    check_coordinates(raw, name=f"OSM features {Path(path).name}")
    cols = set(raw.columns)
    parsed: list[tuple[str, str] | None]
    if "@id" in cols:
        parsed = [_parse_id(v) for v in raw["@id"]]
    elif "id" in cols and any(_parse_id(v) for v in raw["id"].head(50)):
        parsed = [_parse_id(v) for v in raw["id"]]
    elif "full_id" in cols:
        parsed = [_parse_id(v) for v in raw["full_id"]]
    elif {"osm_id", "osm_type"} <= cols:
        parsed = [_parse_id(i, t) for i, t in zip(raw["osm_id"], raw["osm_type"], strict=False)]
    else:
        raise InputFileError(
            f"{path} has no OSM id column; expected '@id' or 'id' (like 'way/123'), 'full_id' (like 'w123') "
            f"or 'osm_type' + 'osm_id'. It has {sorted(map(str, cols))[:30]}"
        )
    ids, element = [], []
    for k, p in enumerate(parsed):
        if p is None:
            element.append("unknown")
            ids.append(f"{source}/{k}")
        else:
            element.append(p[0])
            ids.append(p[1])
    n_bad = element.count("unknown")
    if n_bad:
        log.warning("%s: %d features without a readable OSM id were given ids like %r", source, n_bad, ids[0])
    return _normalise(raw, osmid=ids, element=element, source=source, polygon=polygon)


# --------------------------------------------------------------------------------------
# public entry points
# --------------------------------------------------------------------------------------
def features_from_file(
    path: str | os.PathLike[str],
    *,
    polygon: object = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read OSM features from a file.

    Parameters
    ----------
    path : str or path-like
        ``.osm`` XML (plain, ``.gz`` or ``.bz2``), ``.osm.pbf``, or a GeoJSON / GeoPackage
        export of OSM data with an ``@id`` / ``id`` column like ``"way/123"`` (Overpass
        turbo), ``full_id`` like ``"w123"`` or ``osm_type`` + ``osm_id`` (QGIS QuickOSM).
    polygon : shapely Polygon/MultiPolygon (EPSG:4326), GeoSeries or GeoDataFrame, optional
        Keep only features that intersect it (they are not clipped).
    layer : str, optional
        Layer of a GeoPackage.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326; columns ``osmid``, ``element``, one column per tag (str, NaN where absent
        or empty), ``source`` (the file name) and ``geometry``. ``attrs["excluded"]`` counts
        the OSM elements left out, by reason: ``non_area_relation`` (relations other than
        multipolygon/boundary, e.g. ``type=route``) and ``broken_geometry`` (ways or
        relations whose geometry cannot be built); empty for GeoJSON / GeoPackage.

    Raises
    ------
    InputFileError
        The file is missing, empty (0 bytes, or no OSM element), truncated, corrupt or of
        an unknown format.

    Notes
    -----
    libosmium needs the elements sorted (nodes, then ways, then relations, each by
    ascending id). OSM XML, which Overpass may write with relations first and ids out of
    order, is therefore always sorted into a temporary PBF file first (its elements are
    held in memory meanwhile, at about their PBF size); a PBF file is sorted the same way
    only if its elements turn out to be out of order.

    Examples
    --------
    >>> from bandung_mapping import sample, osm
    >>> folder = sample.write_sample(tmp_folder)  # doctest: +SKIP
    >>> osm.features_from_file(folder / "sample.osm").element.unique()  # doctest: +SKIP
    array(['node', 'way', 'relation'], dtype=object)
    """
    p = check_input_path(path, what="OSM file")
    if p.is_dir():
        raise InputFileError(f"{p} is a folder; expected an OSM file: {FEATURE_FORMATS}")
    poly = _as_polygon(polygon)
    kind = _kind(p)
    if kind == "unknown":
        raise InputFileError(f"unknown OSM file format: {p}; expected {FEATURE_FORMATS}")
    if kind in ("xml", "pbf"):
        # libosmium reads OSM XML (plain, .gz, .bz2) and PBF alike, and builds
        # multipolygons with its area assembler: about four times faster than parsing the XML
        # in Python (osmnx.features_from_xml), with the same elements and tags.
        gdf = _read_pbf(p, p.name, poly)
    else:
        gdf = _read_vector(p, p.name, poly, layer)
        gdf.attrs["excluded"] = {}
    counts = gdf["element"].value_counts().to_dict() if len(gdf) else {}
    log.info("read %d OSM features from %s (%s)", len(gdf), p.name, counts)
    return gdf


def features_from_files(
    paths: Iterable[str | os.PathLike[str]],
    *,
    polygon: object = None,
) -> gpd.GeoDataFrame:
    """Read several OSM files and drop duplicate elements (same ``osmid``; first file wins).

    The number of duplicates dropped is logged and stored in ``result.attrs["duplicates"]``;
    ``result.attrs["excluded"]`` sums the files' counts of elements left out, by reason
    (see :func:`features_from_file`).
    """
    paths = list(paths)
    if not paths:
        raise InputError("paths is empty; expected at least one OSM file")
    frames = [features_from_file(p, polygon=polygon) for p in paths]
    excluded: dict[str, int] = {}
    for frame in frames:
        for reason, n in frame.attrs.get("excluded", {}).items():
            _count(excluded, reason, n)
    frames = [f for f in frames if len(f)]
    if not frames:
        out = _empty(",".join(Path(p).name for p in paths))
        out.attrs["duplicates"] = 0
        out.attrs["excluded"] = excluded
        return out
    both = pd.concat(frames, ignore_index=True)
    dup = both["osmid"].duplicated(keep="first")
    n = int(dup.sum())
    if n:
        log.info("dropped %d duplicate OSM features (same osmid in several files)", n)
    kept = both.loc[~dup].reset_index(drop=True) if n else both  # no copy of a wide table when nothing drops
    out = gpd.GeoDataFrame(kept, geometry="geometry", crs=STORAGE_CRS)
    out.attrs["duplicates"] = n
    out.attrs["excluded"] = excluded
    return out


def default_tags(rules: object = None) -> dict[str, bool | list[str]]:
    """Tags to download: the union of what the RTH rules and building classification need.

    Parameters
    ----------
    rules : dict or str, optional
        Loaded RTH rules or the name/path of a rules file; default the bundled ``indonesia``.
    """
    from .classify import rules_tags

    return rules_tags(rules)


def _from_osmnx(fn_name: str, arg: object, *, tags: Mapping[str, Any] | None, what: str) -> gpd.GeoDataFrame:
    import osmnx as ox

    query_tags = dict(tags) if tags is not None else default_tags()
    if not query_tags:
        raise InputError("tags is empty; expected a dict like {'leisure': True}")
    raw = call_osmnx(getattr(ox, fn_name), arg, tags=query_tags, what=what)
    element = [str(e) for e in raw.index.get_level_values(0)]
    ids = [f"{e}/{i}" for e, i in zip(element, raw.index.get_level_values(1), strict=False)]
    gdf = _normalise(raw.reset_index(drop=True), osmid=ids, element=element, source="overpass", polygon=None)
    log.info("downloaded %d OSM features (%s)", len(gdf), what)
    return gdf


def features_from_polygon(polygon: object, *, tags: Mapping[str, Any] | None = None) -> gpd.GeoDataFrame:
    """Download OSM features inside ``polygon`` (EPSG:4326) from Overpass, through the disk cache.

    The response is cached in :data:`bandung_mapping.settings.cache_folder`; a second identical
    call makes no network request. With :data:`bandung_mapping.settings.offline` only the cache
    is used.

    Raises
    ------
    NetworkDownloadError
        No network (or offline mode) and no cached response; the message names the cache
        folder and the offline alternative (``--osm FILE``).
    """
    poly = _as_polygon(polygon)
    if poly is None or poly.is_empty:
        raise EmptyAreaError("polygon is empty; expected the area to download")
    return _from_osmnx("features_from_polygon", poly, tags=tags, what="OSM features in polygon")


def features_from_place(
    query: str | Mapping[str, str], *, tags: Mapping[str, Any] | None = None
) -> gpd.GeoDataFrame:
    """Download OSM features inside a place geocoded by Nominatim (e.g. ``"Kota Bandung, Indonesia"``).

    See :func:`features_from_polygon` for caching and offline behaviour.
    """
    if not query:
        raise InputError("query is empty; expected a place name such as 'Kota Bandung, Indonesia'")
    return _from_osmnx("features_from_place", query, tags=tags, what=f"OSM features for place {query!r}")


def features_from_bbox(
    bbox_wsen: Sequence[float], *, tags: Mapping[str, Any] | None = None
) -> gpd.GeoDataFrame:
    """Download OSM features in a bounding box given as (west, south, east, north) in degrees.

    See :func:`features_from_polygon` for caching and offline behaviour.
    """
    try:
        w, s, e, n = (float(v) for v in bbox_wsen)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"bbox_wsen must be four numbers (west, south, east, north), got {bbox_wsen!r}"
        ) from exc
    if not (w < e and s < n and -180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= 90 and -90 <= n <= 90):
        raise InputError(
            f"bbox_wsen must be (west, south, east, north) in degrees with west<east, south<north; "
            f"got {bbox_wsen!r}"
        )
    return features_from_polygon(shapely.box(w, s, e, n), tags=tags)
