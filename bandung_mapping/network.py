"""Walk network: from OSM files, osmnx GraphML or street lines, to a compact CSR graph.

Graphs are osmnx-style :class:`networkx.MultiDiGraph` objects in EPSG:4326: nodes carry
``x``/``y`` (longitude/latitude), edges carry ``length`` (metres), ``highway`` and, where
known, ``osmid`` and ``geometry``; the graph attribute ``crs`` is ``"EPSG:4326"``. Walking
ignores one-way restrictions, so every street is present in both directions.

Distances are computed on :class:`CSGraph`, a symmetric ``scipy.sparse.csr_matrix`` of edge
lengths in metres plus node coordinates in the metric CRS (see :func:`to_csgraph`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, NamedTuple

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely

from ._log import get_logger
from ._validate import check_gdf, check_input_path
from .errors import BandungMappingError, CRSError, EmptyAreaError, InputError, InputFileError

__all__ = [
    "EXCLUDED_HIGHWAY",
    "CSGraph",
    "walkable_mask",
    "walk_network_from_file",
    "walk_network_from_osm",
    "walk_network_from_lines",
    "filter_walkable",
    "to_csgraph",
    "csgraph_from_arrays",
]

log = get_logger(__name__)

#: ``highway`` values nobody walks on (following osmnx's ``walk`` filter, which keeps trunk
#: roads: in Indonesian cities many trunk roads are lined with houses and pavements).
EXCLUDED_HIGHWAY: frozenset[str] = frozenset(
    {
        "motorway", "motorway_link", "construction", "proposed", "planned", "raceway",
        "bus_guideway", "abandoned", "razed", "platform", "no", "cycleway", "escape",
    }
)
_NO_ACCESS = frozenset({"no", "private"})
_FOOT_OK = frozenset({"yes", "designated", "permissive", "official"})


def _first(value: Any) -> Any:
    """First element of a list-valued tag (osmnx merges tags of simplified edges into lists)."""
    if isinstance(value, (list, tuple)):
        return value[0] if value else None
    return value


def _values(value: Any) -> list[str]:
    if isinstance(value, (list, tuple, set)):
        return [str(v) for v in value if v is not None and v == v]
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return [str(value)]


def _walkable(tags: dict[str, Any], excluded: frozenset[str]) -> bool:
    highway = _values(tags.get("highway"))
    if not highway or all(h in excluded for h in highway):
        return False
    foot = set(_values(tags.get("foot")))
    if foot & {"no"} and not foot & _FOOT_OK:
        return False
    access = set(_values(tags.get("access")))
    if access and access <= _NO_ACCESS and not foot & _FOOT_OK:
        return False
    if set(_values(tags.get("area"))) == {"yes"}:
        return False
    return True


def walkable_mask(
    features: pd.DataFrame, *, exclude_highway: Iterable[str] = EXCLUDED_HIGHWAY
) -> pd.Series:
    """Whether each OSM way is walkable, from its ``highway``, ``access``, ``foot`` and ``area`` tags.

    A way is walkable when it has a ``highway`` tag not in ``exclude_highway``, is not
    ``access=no/private`` (unless ``foot=yes/designated/permissive``), not ``foot=no`` and
    not ``area=yes``.

    Parameters
    ----------
    features : DataFrame
        OSM ways with tag columns (as returned by ``osmnx.features_from_xml``).
    exclude_highway : iterable of str
        ``highway`` values to drop.

    Returns
    -------
    Series of bool aligned to ``features``' index, named ``walkable``.
    """
    if not isinstance(features, pd.DataFrame):
        raise InputError(f"features must be a DataFrame of OSM ways, got {type(features).__name__}")
    if "highway" not in features.columns:
        raise InputError("features lacks a 'highway' column; expected OSM ways with highway tags")
    excluded = frozenset(exclude_highway)
    cols = [c for c in ("highway", "access", "foot", "area") if c in features.columns]
    values = [
        _walkable(dict(zip(cols, row, strict=True)), excluded)
        for row in features[cols].itertuples(index=False)
    ]
    return pd.Series(values, index=features.index, name="walkable", dtype=bool)


def filter_walkable(
    graph: nx.MultiDiGraph, *, exclude_highway: Iterable[str] = EXCLUDED_HIGHWAY
) -> nx.MultiDiGraph:
    """Return a copy of ``graph`` with only walkable edges (both directions) and no isolated nodes.

    Edges without a ``highway`` attribute are dropped; ``access``/``foot``/``area`` are
    applied as in :func:`walkable_mask`. Every kept edge also gets its reverse, so one-way
    streets can be walked both ways.
    """
    if not isinstance(graph, nx.MultiDiGraph):
        raise InputError(f"graph must be a networkx.MultiDiGraph, got {type(graph).__name__}")
    excluded = frozenset(exclude_highway)
    out = nx.MultiDiGraph()
    out.graph.update({k: v for k, v in graph.graph.items() if k != "csgraph"})  # the cache is of graph's edges
    kept = 0
    for u, v, data in graph.edges(data=True):
        if not _walkable(data, excluded):
            continue
        kept += 1
        for a, b in ((u, v), (v, u)):
            if not out.has_edge(a, b) or all(
                d.get("length") != data.get("length") for d in out.get_edge_data(a, b).values()
            ):
                out.add_edge(a, b, **data)
    for n in out.nodes:
        out.nodes[n].update(graph.nodes[n])
    log.info("kept %d of %d edges as walkable", kept, graph.number_of_edges())
    return out


def walk_network_from_file(
    path: str | os.PathLike[str], *, exclude_highway: Iterable[str] = EXCLUDED_HIGHWAY
) -> nx.MultiDiGraph:
    """Read a walk network from ``.graphml`` (osmnx), ``.osm``/``.xml`` (OSM XML) or a line file.

    Parameters
    ----------
    path : path-like
        ``.graphml`` is read with ``osmnx.load_graphml``; ``.osm``, ``.xml``, ``.osm.bz2``
        with ``osmnx.graph_from_xml`` (which keeps every way, so highway values are filtered
        here); any other vector file (GeoJSON, GPKG, ...) is read as street lines with
        ``highway`` tags and noded by :func:`walk_network_from_lines`.
    exclude_highway : iterable of str
        ``highway`` values to drop (default :data:`EXCLUDED_HIGHWAY`).

    Returns
    -------
    networkx.MultiDiGraph
        osmnx-style graph in EPSG:4326 with walkable edges in both directions.
    """
    p = check_input_path(path, what="walk network file")
    name = p.name.lower()
    import osmnx as ox

    try:
        if name.endswith(".graphml"):
            graph = ox.load_graphml(p)
        elif name.endswith((".osm", ".xml", ".osm.bz2", ".xml.bz2")):
            graph = ox.graph_from_xml(p, bidirectional=True, simplify=True, retain_all=True)
        else:
            lines = gpd.read_file(p)
            return walk_network_from_osm(lines, exclude_highway=exclude_highway)
    except BandungMappingError:
        raise
    except Exception as exc:  # graphml, XML and vector readers each raise their own error types
        raise InputFileError(
            f"cannot read walk network {p.name} ({type(exc).__name__}: {exc}); expected a .graphml, an OSM "
            ".osm/.xml file or a vector file of OSM highway lines"
        ) from exc
    crs = graph.graph.get("crs", "EPSG:4326")
    if pyproj.CRS.from_user_input(crs) != pyproj.CRS.from_epsg(4326):
        graph = ox.project_graph(graph, to_crs="EPSG:4326")
    out = filter_walkable(graph, exclude_highway=exclude_highway)
    if out.number_of_edges() == 0:
        raise EmptyAreaError(f"walk network {p.name} holds no walkable street")
    out.graph["crs"] = "EPSG:4326"
    out.graph["source"] = p.name
    return out


def walk_network_from_osm(
    features: gpd.GeoDataFrame, *, exclude_highway: Iterable[str] = EXCLUDED_HIGHWAY
) -> nx.MultiDiGraph:
    """Build a walk network from OSM ways (e.g. ``osmnx.features_from_xml``), keeping walkable ones.

    Parameters
    ----------
    features : GeoDataFrame
        OSM features with a ``highway`` column; non-line geometries are ignored.
    exclude_highway : iterable of str
        ``highway`` values to drop.

    Returns
    -------
    networkx.MultiDiGraph
        See :func:`walk_network_from_lines`.
    """
    check_gdf(features, name="features", columns=["highway"])
    lines = features[features.geom_type.isin(["LineString", "MultiLineString"])]
    lines = lines[walkable_mask(lines, exclude_highway=exclude_highway)]
    log.info("kept %d of %d OSM features as walkable ways", len(lines), len(features))
    return walk_network_from_lines(lines)


def walk_network_from_lines(lines: gpd.GeoDataFrame) -> nx.MultiDiGraph:
    """Build a walk graph from street lines, noding at endpoints and at vertices shared by lines.

    Lines that cross without a shared vertex (bridges, tunnels) are not joined, as in OSM.
    Each line is split at its nodes into edges whose ``length`` is measured in metres (in
    the line layer's CRS if projected, else its UTM zone). Tag columns ``highway``,
    ``osmid``, ``name`` are copied to the edges when present.

    The graph attribute ``csgraph`` holds the :class:`CSGraph` of the network in that
    metric CRS (a cache that :func:`to_csgraph` returns for the same CRS).

    Parameters
    ----------
    lines : GeoDataFrame
        LineString/MultiLineString features with a CRS. No walkability filter is applied
        (use :func:`walk_network_from_osm` for raw OSM ways).

    Returns
    -------
    networkx.MultiDiGraph
        osmnx-style graph in EPSG:4326, every edge in both directions, integer node ids.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> streets = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (100, 0), (200, 0)]),
    ...                                      shapely.LineString([(100, 0), (100, 100)])],
    ...                            crs="EPSG:32748")
    >>> g = walk_network_from_lines(streets)
    >>> g.number_of_nodes(), g.number_of_edges()
    (4, 6)
    """
    check_gdf(lines, name="lines", geom_types=["LineString", "MultiLineString"], allow_empty=False)
    if lines.crs is None:
        raise CRSError("lines has no CRS; set one (e.g. EPSG:4326) with .set_crs()")
    lines = lines[~lines.geometry.is_empty & lines.geometry.notna()].explode(index_parts=False)
    metric_crs = lines.crs if lines.crs.is_projected else lines.estimate_utm_crs()
    metric = lines if lines.crs.is_projected else lines.to_crs(metric_crs)
    geographic = lines.to_crs("EPSG:4326")
    ndigits = 3 if lines.crs.is_projected else 8

    # every vertex of every line, in line order
    coords, line_of = shapely.get_coordinates(lines.geometry.values, return_index=True)
    metric_xy = shapely.get_coordinates(metric.geometry.values)
    geo_xy = shapely.get_coordinates(geographic.geometry.values)
    n_lines = len(lines)
    per_line = np.bincount(line_of, minlength=n_lines)
    start = np.cumsum(per_line) - per_line

    # vertices are the same node when their rounded coordinates are equal (-0.0 is 0.0)
    key_xy = np.round(coords, ndigits) + 0.0
    order = np.lexsort((key_xy[:, 1], key_xy[:, 0]))
    new = np.ones(len(order), dtype=bool)
    new[1:] = (key_xy[order[1:], 0] != key_xy[order[:-1], 0]) | (key_xy[order[1:], 1] != key_xy[order[:-1], 1])
    key = np.empty(len(order), dtype=np.int64)
    key[order] = np.cumsum(new) - 1
    shared = np.bincount(key)[key] > 1

    # split points: the ends of each line and its vertices shared with a line (or itself)
    position = np.arange(len(coords)) - start[line_of]
    last = per_line[line_of] - 1
    split = (position == 0) | (position == last) | shared
    split &= per_line[line_of] >= 2
    split_at = np.flatnonzero(split)
    pair = line_of[split_at[1:]] == line_of[split_at[:-1]]
    seg_i, seg_j = split_at[:-1][pair], split_at[1:][pair]

    # node ids in order of first appearance along the lines
    first_seen = np.unique(key[split_at], return_index=True)[1]
    node_vertex = split_at[np.sort(first_seen)]
    node_of_key = np.full(key.max() + 1 if len(key) else 0, -1, dtype=np.int64)
    node_of_key[key[node_vertex]] = np.arange(len(node_vertex))
    u, v = node_of_key[key[seg_i]], node_of_key[key[seg_j]]

    # edge lengths in metres: the sum of the steps of each piece of line, summed row by row for
    # pieces of equal step count (numpy sums each row as it sums that piece on its own)
    step = np.hypot(*np.diff(metric_xy, axis=0).T) if len(metric_xy) > 1 else np.empty(0)
    n_steps = seg_j - seg_i
    length = np.empty(len(seg_i))
    for m in np.unique(n_steps):
        rows = np.flatnonzero(n_steps == m)
        length[rows] = step[seg_i[rows, None] + np.arange(m)].sum(axis=1)
    keep = ~((u == v) & (length == 0))
    seg_i, seg_j, u, v, length = seg_i[keep], seg_j[keep], u[keep], v[keep], length[keep]

    # edge geometries (EPSG:4326), forwards and backwards
    n_pts = seg_j - seg_i + 1
    offset = np.arange(n_pts.sum()) - np.repeat(np.cumsum(n_pts) - n_pts, n_pts)
    piece = np.repeat(np.arange(len(seg_i)), n_pts)
    forward = shapely.linestrings(geo_xy[np.repeat(seg_i, n_pts) + offset], indices=piece)
    backward = shapely.linestrings(geo_xy[np.repeat(seg_j, n_pts) - offset], indices=piece)

    tag_cols = [c for c in ("highway", "osmid", "name") if c in lines.columns]
    line_tags = [
        {k: _first(val) for k, val in zip(tag_cols, row, strict=True) if val is not None and val == val}
        for row in (lines[tag_cols].itertuples(index=False, name=None) if tag_cols else [()] * n_lines)
    ]
    lon, lat = geo_xy[node_vertex, 0], geo_xy[node_vertex, 1]
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    graph.add_nodes_from((i, {"x": float(x), "y": float(y)}) for i, (x, y) in enumerate(zip(lon, lat)))
    _add_walk_edges(graph, u.tolist(), v.tolist(), length.tolist(), forward, backward,
                    [line_tags[i] for i in line_of[seg_i]])
    n_edges = 2 * len(u)
    # the CSR graph in the metric CRS, as to_csgraph would build it from this graph
    target = pyproj.CRS.from_user_input(metric_crs)
    if len(lon):
        x, y = pyproj.Transformer.from_crs(pyproj.CRS.from_user_input("EPSG:4326"), target,
                                           always_xy=True).transform(np.asarray(lon), np.asarray(lat))
        csg = csgraph_from_arrays(u, v, length, np.asarray(x), np.asarray(y),
                                  node_ids=np.arange(len(lon), dtype=np.int64), crs=target)
        graph.graph["csgraph"] = {"crs": target.to_string(), "pairs": _n_pairs(graph), "csgraph": csg}
    log.info("built a walk graph of %d nodes and %d edges from %d lines", graph.number_of_nodes(), n_edges, n_lines)
    return graph


def _add_walk_edges(
    graph: nx.MultiDiGraph, u: list[int], v: list[int], length: list[float],
    forward: np.ndarray, backward: np.ndarray, tags: list[dict[str, Any]],
) -> None:
    """Add each edge ``u -> v`` and its reverse, as ``graph.add_edge`` would, keys 0, 1, ... per pair.

    The adjacency dicts are filled directly: ``add_edge`` costs several microseconds an edge
    (checks and cache clearing), too much for the 400,000 edges of a city. ``u``/``v`` must
    already be nodes of ``graph``.
    """
    succ, pred = graph._succ, graph._pred
    for k in range(len(u)):
        a, b, common = u[k], v[k], tags[k]
        for s, t, geom in ((a, b, forward[k]), (b, a, backward[k])):
            keydict = succ[s].get(t)
            if keydict is None:
                keydict = succ[s][t] = pred[t][s] = {}
            key = len(keydict)
            while key in keydict:
                key += 1
            keydict[key] = {"length": length[k], "geometry": geom, **common}


def _n_pairs(graph: nx.Graph) -> int:
    """Number of adjacent node pairs (parallel edges count once); cheaper than ``number_of_edges``."""
    return sum(map(len, graph._adj.values()))  # the raw adjacency dicts: no view per node


class CSGraph(NamedTuple):
    """Compact walk graph: symmetric CSR matrix of edge lengths (m) and node coordinates.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix
        ``n × n``; entry ``(i, j)`` is the shortest edge length between nodes ``i`` and ``j``.
    x, y : ndarray
        Node coordinates in ``crs`` (metres).
    node_ids : ndarray
        The original graph's node id of each row.
    crs : pyproj.CRS
        The metric CRS of ``x``/``y``.
    """

    matrix: sp.csr_matrix
    x: np.ndarray
    y: np.ndarray
    node_ids: np.ndarray
    crs: Any = None


def csgraph_from_arrays(
    u: np.ndarray, v: np.ndarray, length: np.ndarray, x: np.ndarray, y: np.ndarray, *,
    node_ids: np.ndarray | None = None, crs: Any = None,
) -> CSGraph:
    """Build a :class:`CSGraph` from edge index arrays (positions into ``x``/``y``) and lengths.

    Edges are made symmetric; parallel edges keep their minimum length.
    """
    n = len(x)
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    w = np.asarray(length, dtype=float)
    if not (len(u) == len(v) == len(w)):
        raise InputError("u, v and length must have the same length")
    rows = np.concatenate([u, v])
    cols = np.concatenate([v, u])
    ws = np.concatenate([w, w])
    keep = rows != cols
    rows, cols, ws = rows[keep], cols[keep], ws[keep]
    order = np.lexsort((ws, cols, rows))
    rows, cols, ws = rows[order], cols[order], ws[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    matrix = sp.csr_matrix((ws[first], (rows[first], cols[first])), shape=(n, n))
    ids = np.arange(n) if node_ids is None else np.asarray(node_ids)
    return CSGraph(matrix, np.asarray(x, dtype=float), np.asarray(y, dtype=float), ids, crs)


def _cached_csgraph(graph: nx.Graph, target: pyproj.CRS) -> CSGraph | None:
    """The CSR graph cached by :func:`walk_network_from_lines`, if it is in ``target`` and still current.

    Nodes and adjacent pairs are counted to notice a graph edited after it was built; an edge
    length changed in place is not noticed (delete ``graph.graph["csgraph"]`` after such edits).
    """
    cache = graph.graph.get("csgraph")
    if not isinstance(cache, dict) or not isinstance(cache.get("csgraph"), CSGraph):
        return None
    csg = cache["csgraph"]
    if (
        csg.crs is None
        or pyproj.CRS.from_user_input(csg.crs) != target
        or csg.matrix.shape[0] != graph.number_of_nodes()
        or cache.get("pairs") != _n_pairs(graph)
    ):
        return None
    return csg


def to_csgraph(graph: nx.MultiDiGraph | CSGraph, metric_crs: Any) -> CSGraph:
    """Turn an osmnx-style graph into a :class:`CSGraph` in ``metric_crs``.

    Edge weights are the ``length`` attribute (metres) where present, otherwise the straight
    distance between the end nodes in ``metric_crs``. The matrix is symmetric (walking ignores
    one-way streets); parallel edges keep the shortest. A graph from
    :func:`walk_network_from_lines` carries its CSR graph (graph attribute ``csgraph``), which is
    returned as is when it is in ``metric_crs`` and the graph's nodes and node pairs still match.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
        Nodes with ``x``/``y`` in the graph's ``crs`` attribute (EPSG:4326 when absent).
    metric_crs : CRS-like
        Projected CRS in metres.

    Returns
    -------
    CSGraph
        A named tuple ``(matrix, x, y, node_ids, crs)``.
    """
    target = pyproj.CRS.from_user_input(metric_crs)
    if not target.is_projected:
        raise CRSError(f"metric_crs must be projected (metres), got {target.to_string()}")
    if isinstance(graph, CSGraph):
        if graph.crs is not None and pyproj.CRS.from_user_input(graph.crs) != target:
            raise CRSError(f"CSGraph is in {graph.crs}, expected {target.to_string()}")
        return graph
    if not isinstance(graph, nx.Graph):
        raise InputError(f"graph must be a networkx graph or CSGraph, got {type(graph).__name__}")
    if graph.number_of_nodes() == 0:
        raise EmptyAreaError("the walk network has no nodes")
    cached = _cached_csgraph(graph, target)
    if cached is not None:
        return cached
    node_ids = np.array(list(graph.nodes), dtype=object)
    try:
        x = np.array([graph.nodes[n]["x"] for n in node_ids], dtype=float)
        y = np.array([graph.nodes[n]["y"] for n in node_ids], dtype=float)
    except KeyError as exc:
        raise InputError("every node of the walk network needs 'x' and 'y' attributes") from exc
    source_crs = pyproj.CRS.from_user_input(graph.graph.get("crs", "EPSG:4326"))
    if source_crs != target:
        tr = pyproj.Transformer.from_crs(source_crs, target, always_xy=True)
        x, y = tr.transform(x, y)
    position = {n: i for i, n in enumerate(node_ids)}
    edges = list(graph.edges(data="length"))
    u = np.fromiter((position[e[0]] for e in edges), dtype=np.int64, count=len(edges))
    v = np.fromiter((position[e[1]] for e in edges), dtype=np.int64, count=len(edges))
    length = np.array([np.nan if e[2] is None else float(e[2]) for e in edges], dtype=float)
    straight = np.hypot(x[u] - x[v], y[u] - y[v])
    missing = ~np.isfinite(length)
    length[missing] = straight[missing]
    if missing.any():
        log.info("%d edges had no length; used the straight distance", int(missing.sum()))
    if node_ids.dtype == object:
        try:
            node_ids = node_ids.astype(np.int64)
        except (TypeError, ValueError):
            pass
    return csgraph_from_arrays(u, v, length, np.asarray(x), np.asarray(y), node_ids=node_ids, crs=target)
