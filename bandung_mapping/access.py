"""Who can reach green space: entry points, network and straight-line distances, population access.

Method
------
* **Entry points** of a green space (:func:`entry_points`): mapped OSM entrances or gates
  (``entrance=*``, ``barrier=gate``) within ``snap_tolerance_m`` of its outline where there
  are any; else the points where walk-network edges cross its outline (and network nodes
  lying on it); else points every ``spacing_m`` along its outline. A park given as a point
  with an area (a park list) is a disc of equal area around the point. A point without an
  area is its own single entry point and only counts when no minimum area is asked.
* **Network distance** (:func:`distance_to_green`): every entry point snaps to the nearest
  edge of the walk network (a straight segment between its end nodes, weighted by the
  edge's length); it reaches both end nodes at its snap distance plus the share of the
  edge length to that node. One Dijkstra pass from a virtual source joined to those nodes
  by these offsets (:func:`network_distance_from_sources`) gives the distance from every
  node to the nearest entry. An origin (a building's representative point, a population
  point) snaps to its nearest edge the same way and takes the shorter way through either
  end node (two points on the same edge are still routed through a node, which can only
  overestimate). Origins inside a green space are at 0 m;
  origins farther than ``max_snap_m`` from any edge fall back to the straight-line
  distance; origins on a network component with no green entry get NaN.
* **Euclidean distance** is always computed as well (``dist_to_green_euclid_m``): the
  fallback without a network and a check (network distance is never shorter).
* **Population** (:func:`place_population`) is spread over residential buildings by floor
  area, or, in zones without buildings, over a grid of cells clipped to the zone.
* **Zone shares** (:func:`access_indicators`) are population-weighted: served people over
  all people, summed up the zone hierarchy, never an average of percentages.
"""

from __future__ import annotations

import contextlib
import gc
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from ._log import get_logger
from ._validate import check_gdf
from .errors import CRSError, EmptyAreaError, InputError, ProfileError
from .network import CSGraph, to_csgraph

__all__ = [
    "DEFAULT_ACCESS",
    "AccessResult",
    "access_specs",
    "entry_points",
    "network_distance_from_sources",
    "green_distances",
    "distance_to_green",
    "place_population",
    "access_indicators",
    "area_within_distance_pct",
    "size_class",
]

log = get_logger(__name__)

#: Access indicators computed when no standard asks for any (each is also declared by the
#: bundled standards files under ``[[access]]``).
DEFAULT_ACCESS: tuple[dict[str, Any], ...] = (
    {"standard": "who_2016", "id": "green_0_5ha_300m", "column": "pop_within_300m_green_0_5ha_pct",
     "radius_m": 300.0, "min_area_m2": 5000.0, "green": "all"},
    {"standard": "who_2016", "id": "green_1ha_300m", "column": "pop_within_300m_green_1ha_pct",
     "radius_m": 300.0, "min_area_m2": 10000.0, "green": "all"},
    {"standard": "sdg_11_7_1", "id": "public_open_space_400m",
     "column": "pop_within_400m_public_open_space_pct", "radius_m": 400.0, "min_area_m2": 0.0,
     "green": "public"},
    {"standard": "permen_pu_05_2008", "id": "taman_rt", "column": "pop_within_rt_radius_pct",
     "radius_m": 300.0, "min_area_m2": 250.0, "green": "public"},
    {"standard": "permen_pu_05_2008", "id": "taman_rw", "column": "pop_within_rw_radius_pct",
     "radius_m": 1000.0, "min_area_m2": 1250.0, "green": "public"},
)

_SIZE_CLASSES = ((10000.0, ">=1ha"), (5000.0, "0.5-1ha"), (1250.0, "1250m2-0.5ha"), (250.0, "250-1250m2"),
                 (0.0, "<250m2"))


def size_class(area_m2: float) -> str:
    """Size class label of a green space of ``area_m2`` (``"unknown"`` when NaN).

    Classes follow the area thresholds of the bundled standards: 250 m² (taman RT),
    1,250 m² (taman RW), 0.5 ha and 1 ha (WHO 2016).
    """
    if area_m2 is None or not np.isfinite(area_m2):
        return "unknown"
    for lower, label in _SIZE_CLASSES:
        if area_m2 >= lower:
            return label
    return "<250m2"


# --------------------------------------------------------------------------- green layers


def _prepare_green(green: gpd.GeoDataFrame, *, name: str = "green") -> gpd.GeoDataFrame:
    """Polygons and points with ``area_m2`` (own area) and ``is_public``; area points become discs."""
    check_gdf(green, name=name, metric=True,
              geom_types=["Polygon", "MultiPolygon", "Point", "MultiPoint"])
    out = gpd.GeoDataFrame(index=green.index, geometry=green.geometry.values, crs=green.crs)
    geom_area = shapely.area(out.geometry.values)
    if "area_m2" in green.columns:
        given = pd.to_numeric(green["area_m2"], errors="coerce").to_numpy(dtype=float)
    else:
        given = np.full(len(green), np.nan)
    poly = np.isin(shapely.get_type_id(out.geometry.values), [3, 6])
    area = np.where(np.isfinite(given), given, np.where(poly, geom_area, np.nan))
    out["area_m2"] = area
    out["is_public"] = (
        green["is_public"].fillna(False).astype(bool).to_numpy() if "is_public" in green else True
    )
    out["has_public_flag"] = "is_public" in green.columns
    points = ~poly & np.isfinite(area) & (area > 0)
    if points.any():
        radius = np.sqrt(area[points] / math.pi)
        out.loc[points, "geometry"] = shapely.buffer(
            shapely.centroid(out.geometry.values[points]), radius, quad_segs=16
        )
    return out[~out.geometry.is_empty & out.geometry.notna()]


def _select_green(green: gpd.GeoDataFrame, *, min_area_m2: float, public_only: bool) -> np.ndarray:
    keep = np.ones(len(green), dtype=bool)
    if min_area_m2 > 0:
        keep &= np.nan_to_num(green["area_m2"].to_numpy(dtype=float), nan=-1.0) >= min_area_m2
    if public_only:
        if len(green) and not bool(green["has_public_flag"].iloc[0]):
            raise InputError("public-only access needs an 'is_public' column on the green spaces")
        keep &= green["is_public"].to_numpy(dtype=bool)
    return keep


def _exterior_rings(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exterior rings of (multi)polygons and the position of the geometry each came from."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    rings = shapely.get_exterior_ring(parts)
    return rings, idx


def _network_segments(csg: CSGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Straight segments of the network's edges (each node pair once), their end nodes and lengths."""
    coo = sp.triu(csg.matrix, k=1).tocoo()
    starts = np.c_[csg.x[coo.row], csg.y[coo.row]]
    ends = np.c_[csg.x[coo.col], csg.y[coo.col]]
    segs = shapely.linestrings(np.stack([starts, ends], axis=1))
    return segs, coo.row, coo.col, np.asarray(coo.data, dtype=float)


def entry_points(
    green_spaces_metric: gpd.GeoDataFrame,
    *,
    network: Any = None,
    entrances: gpd.GeoDataFrame | None = None,
    spacing_m: float = 25.0,
    snap_tolerance_m: float = 10.0,
) -> gpd.GeoDataFrame:
    """Points where people enter each green space.

    Parameters
    ----------
    green_spaces_metric : GeoDataFrame
        Green polygons (and points; points with ``area_m2`` are discs of equal area) in a
        metric CRS. ``area_m2`` (the feature's own area) is used where given, else the
        geometry's area.
    network : networkx.MultiDiGraph or CSGraph, optional
        Walk network; where a green space has no mapped entrance, the points where its
        edges cross the outline (and nodes within ``snap_tolerance_m`` of it) are entries.
    entrances : GeoDataFrame, optional
        OSM ``entrance=*`` / ``barrier=gate`` nodes; those within ``snap_tolerance_m`` of an
        outline are that green space's entries.
    spacing_m : float
        Spacing of outline points used when neither entrances nor paths are found.
    snap_tolerance_m : float
        How close an entrance or a node must be to an outline to count.

    Returns
    -------
    GeoDataFrame
        Points in the input CRS with ``green_index`` (index label of the green space),
        ``area_m2``, ``size_class``, ``is_public`` and ``entry_method`` (``entrance``,
        ``path``, ``boundary`` or ``point``).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> park = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 100, 50)], crs="EPSG:32748")
    >>> len(entry_points(park, spacing_m=25))
    12
    """
    if spacing_m <= 0:
        raise InputError(f"spacing_m must be positive, got {spacing_m}")
    green = _prepare_green(green_spaces_metric, name="green_spaces_metric")
    return _entry_points(green, network=network, entrances=entrances, spacing_m=spacing_m,
                         snap_tolerance_m=snap_tolerance_m)


def _entry_points(
    green: gpd.GeoDataFrame, *, network: Any, entrances: gpd.GeoDataFrame | None,
    spacing_m: float, snap_tolerance_m: float,
    segments: tuple[np.ndarray, shapely.STRtree] | None = None,
) -> gpd.GeoDataFrame:
    """:func:`entry_points` of prepared green spaces.

    ``segments`` are the network's edge segments and their tree, when the caller has them.
    """
    geoms = green.geometry.values
    n = len(green)
    is_poly = np.isin(shapely.get_type_id(geoms), [3, 6])
    pts: list[np.ndarray] = []
    owner: list[np.ndarray] = []
    method: list[np.ndarray] = []
    done = ~is_poly  # plain points handled below
    rings, ring_owner = _exterior_rings(geoms[is_poly])
    poly_pos = np.flatnonzero(is_poly)
    ring_owner = poly_pos[ring_owner]
    ring_tree = shapely.STRtree(rings)

    if entrances is not None and len(entrances):
        check_gdf(entrances, name="entrances", metric=True)
        if entrances.crs != green.crs:
            raise CRSError("entrances and green spaces must share a CRS")
        epts = shapely.get_coordinates(shapely.centroid(entrances.geometry.values))
        egeo = shapely.points(epts)
        e_i, r_i = ring_tree.query(egeo, predicate="dwithin", distance=snap_tolerance_m)
        if len(e_i):
            g_i = ring_owner[r_i]
            pairs = np.unique(np.c_[e_i, g_i], axis=0)
            pts.append(epts[pairs[:, 0]])
            owner.append(pairs[:, 1])
            method.append(np.full(len(pairs), "entrance"))
            done[np.unique(pairs[:, 1])] = True

    if network is not None and (~done).any():
        csg = network if isinstance(network, CSGraph) else to_csgraph(network, green.crs)
        if segments is None:
            segs = _network_segments(csg)[0]
            segments = segs, shapely.STRtree(segs)
        segs, tree = segments
        todo_rings = ~done[ring_owner]
        sub_rings = rings[todo_rings]
        sub_owner = ring_owner[todo_rings]
        if len(sub_rings):
            r_i, s_i = tree.query(sub_rings, predicate="intersects")
            path_owner: list[np.ndarray] = []
            if len(r_i):
                inter = shapely.intersection(sub_rings[r_i], segs[s_i])
                parts, pidx = shapely.get_parts(inter, return_index=True)
                coords, cidx = shapely.get_coordinates(parts, return_index=True)
                own = sub_owner[r_i[pidx[cidx]]]
                pts.append(coords)
                owner.append(own)
                method.append(np.full(len(coords), "path"))
                path_owner.append(own)
            nodes = shapely.points(np.c_[csg.x, csg.y])
            r_j, n_j = shapely.STRtree(nodes).query(sub_rings, predicate="dwithin", distance=snap_tolerance_m)
            if len(r_j):
                pts.append(np.c_[csg.x[n_j], csg.y[n_j]])
                owner.append(sub_owner[r_j])
                method.append(np.full(len(n_j), "path"))
                path_owner.append(sub_owner[r_j])
            if path_owner:
                done[np.unique(np.concatenate(path_owner)).astype(int)] = True

    todo = ~done[ring_owner]
    if todo.any():
        sub_rings = rings[todo]
        lengths = shapely.length(sub_rings)
        counts = np.maximum(1, np.ceil(lengths / spacing_m).astype(int))
        ring_idx = np.repeat(np.arange(len(sub_rings)), counts)
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        dist = offsets * (lengths[ring_idx] / counts[ring_idx])
        bpts = shapely.line_interpolate_point(sub_rings[ring_idx], dist)
        pts.append(shapely.get_coordinates(bpts))
        owner.append(ring_owner[todo][ring_idx])
        method.append(np.full(len(bpts), "boundary"))

    plain = np.flatnonzero(~is_poly)
    if len(plain):
        pts.append(shapely.get_coordinates(shapely.centroid(geoms[plain])))
        owner.append(plain)
        method.append(np.full(len(plain), "point"))

    if pts:
        xy = np.concatenate(pts)
        own = np.concatenate(owner).astype(int)
        meth = np.concatenate(method)
    else:
        xy, own, meth = np.empty((0, 2)), np.empty(0, dtype=int), np.empty(0, dtype=object)
    area = green["area_m2"].to_numpy(dtype=float)[own] if n else np.empty(0)
    out = gpd.GeoDataFrame(
        {
            "green_index": green.index.to_numpy()[own],
            "green_pos": own,
            "area_m2": area,
            "size_class": [size_class(a) for a in area],
            "is_public": green["is_public"].to_numpy(dtype=bool)[own] if n else np.empty(0, dtype=bool),
            "entry_method": meth,
        },
        geometry=shapely.points(xy) if len(xy) else gpd.array.from_shapely([]),
        crs=green.crs,
    )
    return out


# --------------------------------------------------------------------------- distances


def network_distance_from_sources(
    csgraph: CSGraph | sp.spmatrix,
    source_nodes: Iterable[int],
    source_offsets: Iterable[float] | None = None,
    *,
    limit: float = np.inf,
) -> np.ndarray:
    """Distance (m) from every node to the nearest source, each source starting at its offset.

    One Dijkstra pass (``scipy.sparse.csgraph.dijkstra``, ``min_only=True``) from a virtual
    node joined to each source node by an edge as long as that source's offset (its snap
    distance), so the result is ``min_s(offset_s + d(s, node))`` exactly.

    Parameters
    ----------
    csgraph : CSGraph or sparse matrix
        Symmetric walk graph (see :func:`bandung_mapping.network.to_csgraph`).
    source_nodes : iterable of int
        Row positions of the source nodes (repeats allowed).
    source_offsets : iterable of float, optional
        Non-negative distance added at each source (default 0).
    limit : float
        Stop searching beyond this distance (nodes farther get ``inf``).

    Returns
    -------
    ndarray of float
        One distance per node; ``inf`` where no source is reachable.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> m = sp.csr_matrix(([100.0, 100.0, 100.0, 100.0], ([0, 1, 1, 2], [1, 0, 2, 1])), shape=(3, 3))
    >>> network_distance_from_sources(m, [0], [5.0]).tolist()
    [5.0, 105.0, 205.0]
    """
    matrix = csgraph.matrix if isinstance(csgraph, CSGraph) else sp.csr_matrix(csgraph)
    n = matrix.shape[0]
    nodes = np.asarray(list(source_nodes) if not isinstance(source_nodes, np.ndarray) else source_nodes,
                       dtype=np.int64)
    if source_offsets is None:
        offsets = np.zeros(len(nodes))
    else:
        offsets = np.asarray(list(source_offsets) if not isinstance(source_offsets, np.ndarray)
                             else source_offsets, dtype=float)
    if len(nodes) != len(offsets):
        raise InputError(f"{len(nodes)} source nodes but {len(offsets)} offsets")
    if len(nodes) == 0:
        return np.full(n, np.inf)
    if nodes.min() < 0 or nodes.max() >= n:
        raise InputError(f"source node positions must be in [0, {n - 1}]")
    if not np.all(np.isfinite(offsets)) or (offsets < 0).any():
        raise InputError("source offsets must be finite and non-negative")
    order = np.lexsort((offsets, nodes))
    nodes, offsets = nodes[order], offsets[order]
    first = np.ones(len(nodes), dtype=bool)
    first[1:] = nodes[1:] != nodes[:-1]
    nodes, offsets = nodes[first], offsets[first]
    if not matrix.has_sorted_indices:
        matrix = matrix.sorted_indices()
    indptr = np.append(matrix.indptr, matrix.indptr[-1] + len(nodes))
    indices = np.concatenate([matrix.indices, nodes]).astype(matrix.indices.dtype, copy=False)
    data = np.concatenate([matrix.data, offsets])
    extended = sp.csr_matrix((data, indices, indptr), shape=(n + 1, n + 1))
    dist = dijkstra(extended, directed=True, indices=[n], min_only=True, limit=limit)
    return np.asarray(dist[:n], dtype=float)


def _points_of(origins: gpd.GeoDataFrame | gpd.GeoSeries) -> np.ndarray:
    geoms = origins.geometry.values if isinstance(origins, gpd.GeoDataFrame) else origins.values
    is_point = shapely.get_type_id(geoms) == 0
    out = np.array(geoms, dtype=object)
    if (~is_point).any():
        out[~is_point] = shapely.point_on_surface(geoms[~is_point])
    return out


def _point_segment_distance(px: np.ndarray, py: np.ndarray, seg_xy: np.ndarray) -> np.ndarray:
    """Distance from points to segments ``(ax, ay, bx, by)``, computed as GEOS computes it."""
    ax, ay, bx, by = seg_xy[:, 0], seg_xy[:, 1], seg_xy[:, 2], seg_xy[:, 3]
    dx, dy = bx - ax, by - ay
    len2 = dx * dx + dy * dy
    da = np.sqrt((px - ax) * (px - ax) + (py - ay) * (py - ay))
    db = np.sqrt((px - bx) * (px - bx) + (py - by) * (py - by))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = ((px - ax) * dx + (py - ay) * dy) / len2
        s = ((ay - py) * dx - (ax - px) * dy) / len2
        dp = np.abs(s) * np.sqrt(len2)
    point = (ax == bx) & (ay == by)
    return np.where(point | (r <= 0.0), da, np.where(r >= 1.0, db, dp))


class _Engine:
    """Distances from many origins to several subsets of one green layer (shared setup)."""

    def __init__(self, green: gpd.GeoDataFrame, network: Any, crs: pyproj.CRS, *,
                 entrances: gpd.GeoDataFrame | None, spacing_m: float, max_snap_m: float) -> None:
        self.green = green
        self.crs = crs
        self.max_snap_m = max_snap_m
        self.csg: CSGraph | None = None
        if network is not None:
            self.csg = network if isinstance(network, CSGraph) else to_csgraph(network, crs)
            self.segs, self.seg_u, self.seg_v, self.seg_w = _network_segments(self.csg)
            if len(self.segs) == 0:
                raise EmptyAreaError("the walk network has no edges")
            self.seg_tree = shapely.STRtree(self.segs)
            ends = np.unique(np.concatenate([self.seg_u, self.seg_v]))
            self.node_tree = cKDTree(np.c_[self.csg.x[ends], self.csg.y[ends]])
            self.seg_xy = np.c_[self.csg.x[self.seg_u], self.csg.y[self.seg_u],
                                self.csg.x[self.seg_v], self.csg.y[self.seg_v]]
            # beyond this distance from every node, a point's candidate box would hold too many
            # edges: those few points ask the tree for their nearest edge one by one
            self.box_limit_m = 5.0 * float(np.median(self.seg_w))
        self.entries = _entry_points(green, network=self.csg, entrances=entrances, spacing_m=spacing_m,
                                     snap_tolerance_m=10.0,
                                     segments=(self.segs, self.seg_tree) if self.csg is not None else None)
        if self.csg is not None and len(self.entries):
            self.entry_snap = self._snap(self.entries.geometry.values)
        self.notes: list[str] = []
        self._cache_key: Any = None
        self._cache: tuple[np.ndarray, ...] = ()

    def _nearest_segment(self, pts: np.ndarray, *, chunk: int = 25_000) -> tuple[np.ndarray, np.ndarray]:
        """Position of the nearest edge segment of each point and the distance to it.

        The nearest edge is no farther than the nearest node that ends an edge, so only
        segments whose bounding box meets the square of that radius around the point are
        candidates; their distances are computed in numpy with GEOS's point-to-segment
        formula and the nearest is kept (the first segment among equals). Points without a
        small radius go through ``STRtree.query_nearest``.
        """
        n = len(pts)
        seg = np.full(n, -1, dtype=np.int64)
        dist = np.full(n, np.nan)
        xy = np.c_[shapely.get_x(pts), shapely.get_y(pts)]
        good = np.isfinite(xy).all(axis=1)
        radius = np.full(n, np.inf)
        radius[good] = self.node_tree.query(xy[good])[0] * (1.0 + 1e-9) + 1e-6
        fast = np.flatnonzero(radius <= self.box_limit_m)
        for lo in range(0, len(fast), chunk):
            idx = fast[lo:lo + chunk]
            px, py, r = xy[idx, 0], xy[idx, 1], radius[idx]
            # a diagonal of the square has the square's bounding box, and is quick to build
            corners = np.empty((2 * len(idx), 2))
            corners[0::2, 0], corners[0::2, 1] = px - r, py - r
            corners[1::2, 0], corners[1::2, 1] = px + r, py + r
            boxes = shapely.linestrings(corners, indices=np.repeat(np.arange(len(idx)), 2))
            p_i, s_i = self.seg_tree.query(boxes)
            if len(p_i) and (np.diff(p_i) < 0).any():
                o = np.lexsort((s_i, p_i))
                p_i, s_i = p_i[o], s_i[o]
            if not len(p_i):
                continue
            d = _point_segment_distance(px[p_i], py[p_i], self.seg_xy[s_i])
            starts = np.flatnonzero(np.r_[True, p_i[1:] != p_i[:-1]])
            dmin = np.minimum.reduceat(d, starts)
            group = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(p_i)]))
            first_seg = np.minimum.reduceat(np.where(d == dmin[group], s_i, len(self.segs)), starts)
            who = idx[p_i[starts]]
            seg[who] = first_seg
            dist[who] = dmin
        slow = np.flatnonzero(seg < 0)
        if len(slow):
            (i, s), d = self.seg_tree.query_nearest(pts[slow], return_distance=True, all_matches=False)
            seg[slow[i]] = s
            dist[slow[i]] = d
        if (seg < 0).any():
            raise InputError(f"{int((seg < 0).sum())} origin(s) have no location (empty or NaN geometry)")
        return seg, dist

    def _snap(self, pts: np.ndarray) -> tuple[np.ndarray, ...]:
        """Nearest edge of each point: (u, v, offset to u along the edge, offset to v, snap distance)."""
        seg, dist = self._nearest_segment(pts)
        t = shapely.line_locate_point(self.segs[seg], pts, normalized=True)
        w = self.seg_w[seg]
        return self.seg_u[seg], self.seg_v[seg], t * w, (1.0 - t) * w, np.asarray(dist, dtype=float)

    @property
    def method(self) -> str:
        return "network" if self.csg is not None else "euclidean"

    def run(self, origin_pts: np.ndarray, *, min_area_m2: float, public_only: bool,
            label: str = "", euclid_all: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Network distance (or straight-line without a network) and straight-line distance.

        With a network and ``euclid_all`` False, the straight-line distance is only computed
        where the network distance needs it (origins far from the network, origins in or on a
        green space); elsewhere it is NaN.
        """
        keep = _select_green(self.green, min_area_m2=min_area_m2, public_only=public_only)
        n = len(origin_pts)
        if not keep.any() or n == 0:
            if n:
                self.notes.append(
                    f"{label or 'access'}: no green space meets the criteria; every distance is NaN"
                )
            return np.full(n, np.nan), np.full(n, np.nan)
        targets = self.green.geometry.values[keep]
        tree = shapely.STRtree(targets)
        if self.csg is None or euclid_all:
            _, euclid = tree.query_nearest(origin_pts, return_distance=True, all_matches=False)
            euclid = np.asarray(euclid, dtype=float)
        if self.csg is None:
            return euclid.copy(), euclid
        sel = keep[self.entries["green_pos"].to_numpy()]
        eu, ev, eau, eav, ed = (a[sel] for a in self.entry_snap)
        node_dist = network_distance_from_sources(
            self.csg, np.concatenate([eu, ev]), np.concatenate([ed + eau, ed + eav])
        )
        if self._cache_key is not origin_pts:
            self._cache_key, self._cache = origin_pts, self._snap(origin_pts)
        ou, ov, oau, oav, snap = self._cache
        dist = np.minimum(node_dist[ou] + oau, node_dist[ov] + oav) + snap
        far = snap > self.max_snap_m
        if not euclid_all:
            # exact straight-line distances where they are used: origins far from the network, and
            # origins in or on a green space (distance 0), found within a micrometre of one first
            euclid = np.full(n, np.nan)
            need = far.copy()
            need[tree.query(origin_pts, predicate="dwithin", distance=1e-6)[0]] = True
            if need.any():
                euclid[need] = tree.query_nearest(origin_pts[need], return_distance=True, all_matches=False)[1]
        dist[far] = euclid[far]
        dist[euclid == 0] = 0.0
        unreachable = ~np.isfinite(dist)
        dist[unreachable] = np.nan
        if far.any():
            self.notes.append(
                f"{label or 'access'}: {int(far.sum())} of {n} origins lie more than {self.max_snap_m:g} m "
                "from the walk network; their straight-line distance is used"
            )
        if unreachable.any():
            self.notes.append(
                f"{label or 'access'}: {int(unreachable.sum())} of {n} origins cannot reach a qualifying "
                "green space on the walk network (distance NaN)"
            )
        return dist, euclid


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause CPython's cyclic garbage collector for a block or a call (restored as it was afterwards).

    Distances make hundreds of thousands of short-lived geometries (edge segments, origin
    points, search boxes). Each such batch makes the collector sweep every object alive in
    the process, and next to a large walk graph and building layer (millions of objects)
    that sweep costs more than the distances themselves. The geometries made here hold no
    reference cycles, so nothing is left for the collector once the block ends.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _metric_crs(origins: gpd.GeoDataFrame, green: gpd.GeoDataFrame, metric_crs: Any) -> pyproj.CRS:
    """The one CRS of ``origins`` and ``green`` (both checked metric), which must be ``metric_crs`` if given."""
    crs = pyproj.CRS.from_user_input(metric_crs) if metric_crs is not None else origins.crs
    if origins.crs != crs or green.crs != crs:
        raise CRSError(
            f"origins ({origins.crs.to_string()}), green spaces ({green.crs.to_string()}) and metric_crs "
            f"({crs.to_string()}) must be the same projected CRS; reproject with projection.to_metric()"
        )
    return crs


def green_distances(
    origins_metric: gpd.GeoDataFrame | gpd.GeoSeries,
    green_metric: gpd.GeoDataFrame,
    *,
    network: Any = None,
    min_area_m2: float = 0.0,
    public_only: bool = False,
    metric_crs: Any = None,
    entrances: gpd.GeoDataFrame | None = None,
    spacing_m: float = 25.0,
    max_snap_m: float = 500.0,
) -> pd.DataFrame:
    """Network and straight-line distance from each origin to the nearest qualifying green space.

    Parameters are those of :func:`distance_to_green`.

    Returns
    -------
    DataFrame
        Aligned to ``origins_metric``'s index with ``dist_to_green_m`` (network, or
        straight-line without a network), ``dist_to_green_euclid_m`` and
        ``distance_method`` (``network`` or ``euclidean``). ``attrs["notes"]`` lists
        fallbacks.
    """
    return _green_distances(
        origins_metric, green_metric, network=network, min_area_m2=min_area_m2, public_only=public_only,
        metric_crs=metric_crs, entrances=entrances, spacing_m=spacing_m, max_snap_m=max_snap_m, euclid_all=True,
    )


def _green_distances(
    origins_metric: gpd.GeoDataFrame | gpd.GeoSeries, green_metric: gpd.GeoDataFrame, *, network: Any,
    min_area_m2: float, public_only: bool, metric_crs: Any, entrances: gpd.GeoDataFrame | None,
    spacing_m: float, max_snap_m: float, euclid_all: bool,
) -> pd.DataFrame:
    """:func:`green_distances`; with ``euclid_all`` False, see :meth:`_Engine.run`."""
    if isinstance(origins_metric, gpd.GeoSeries):
        origins_metric = gpd.GeoDataFrame(geometry=origins_metric)
    check_gdf(origins_metric, name="origins_metric", metric=True)
    if min_area_m2 < 0:
        raise InputError(f"min_area_m2 must be >= 0, got {min_area_m2}")
    green = _prepare_green(green_metric, name="green_metric")
    crs = _metric_crs(origins_metric, green, metric_crs)
    dist, euclid, notes, method = _run_distances(
        green, network, crs, origins_metric, entrances=entrances, spacing_m=spacing_m, max_snap_m=max_snap_m,
        min_area_m2=min_area_m2, public_only=public_only, euclid_all=euclid_all,
    )
    out = pd.DataFrame(
        {"dist_to_green_m": dist, "dist_to_green_euclid_m": euclid, "distance_method": method},
        index=origins_metric.index,
    )
    out.attrs["notes"] = notes
    out.attrs["distance_method"] = method
    return out


@_gc_paused()
def _run_distances(
    green: gpd.GeoDataFrame, network: Any, crs: pyproj.CRS, origins: gpd.GeoDataFrame, *,
    entrances: gpd.GeoDataFrame | None, spacing_m: float, max_snap_m: float, min_area_m2: float,
    public_only: bool, euclid_all: bool,
) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    """Distances of :func:`_green_distances`; only arrays leave, the geometries made here die here."""
    engine = _Engine(green, network, crs, entrances=entrances, spacing_m=spacing_m, max_snap_m=max_snap_m)
    pts = _points_of(origins)
    dist, euclid = engine.run(pts, min_area_m2=min_area_m2, public_only=public_only, euclid_all=euclid_all)
    return dist, euclid, engine.notes, engine.method


def distance_to_green(
    origins_metric: gpd.GeoDataFrame | gpd.GeoSeries,
    green_metric: gpd.GeoDataFrame,
    *,
    network: Any = None,
    min_area_m2: float = 0.0,
    public_only: bool = False,
    metric_crs: Any = None,
    entrances: gpd.GeoDataFrame | None = None,
    spacing_m: float = 25.0,
    max_snap_m: float = 500.0,
) -> pd.Series:
    """Return the walking distance (m) from each origin to the nearest qualifying green space.

    Parameters
    ----------
    origins_metric : GeoDataFrame or GeoSeries
        Buildings or points in a metric CRS; polygons are represented by a point on their
        surface.
    green_metric : GeoDataFrame
        Green polygons, and points with ``area_m2`` (treated as discs of that area).
    network : networkx.MultiDiGraph or CSGraph, optional
        Walk network. Without it the straight-line distance is returned and
        ``attrs["distance_method"]`` is ``"euclidean"``.
    min_area_m2 : float
        Smallest qualifying green space (the feature's own ``area_m2``).
    public_only : bool
        Only green spaces with ``is_public`` True qualify.
    metric_crs : CRS-like, optional
        Expected CRS of both layers (defaults to the origins' CRS).
    entrances : GeoDataFrame, optional
        OSM entrance / gate nodes (see :func:`entry_points`).
    spacing_m : float
        Outline spacing of entry points where no entrance or path is mapped.
    max_snap_m : float
        Origins farther than this from every network edge use the straight-line distance.

    Returns
    -------
    Series
        ``dist_to_green_m`` aligned to the origins' index (NaN where no qualifying green
        space is reachable), with ``attrs["distance_method"]`` (``network``/``euclidean``).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> park = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 100, 100)], crs="EPSG:32748")
    >>> homes = gpd.GeoDataFrame(geometry=[shapely.Point(400, 50)], crs="EPSG:32748")
    >>> distance_to_green(homes, park).tolist()
    [300.0]
    """
    table = _green_distances(  # the straight-line distance only where the network distance needs it
        origins_metric, green_metric, network=network, min_area_m2=min_area_m2, public_only=public_only,
        metric_crs=metric_crs, entrances=entrances, spacing_m=spacing_m, max_snap_m=max_snap_m, euclid_all=False,
    )
    out = table["dist_to_green_m"].rename("dist_to_green_m")
    out.attrs["distance_method"] = table.attrs["distance_method"]
    out.attrs["notes"] = table.attrs["notes"]
    return out


def area_within_distance_pct(
    zones_metric: gpd.GeoDataFrame,
    green_metric: gpd.GeoDataFrame,
    *,
    radius_m: float,
    min_area_m2: float = 0.0,
    public_only: bool = False,
) -> pd.Series:
    """Share (%) of each zone's area within ``radius_m`` straight line of a qualifying green space.

    A green space qualifies by its own ``area_m2`` (measured before any clipping, as the
    green-space contract states), or its geometry's area when the column is absent.

    Returns
    -------
    Series indexed by ``zone_id``, named ``area_within_<r>m_green_pct``.
    """
    check_gdf(zones_metric, name="zones_metric", columns=["zone_id"], metric=True,
              geom_types=["Polygon", "MultiPolygon"])
    if zones_metric.crs != green_metric.crs:
        raise CRSError("zones_metric and green_metric must share a CRS")
    green = _prepare_green(green_metric, name="green_metric")
    green = green[_select_green(green, min_area_m2=min_area_m2, public_only=public_only)]
    name = f"area_within_{radius_m:g}m_green_pct"
    zone_area = shapely.area(zones_metric.geometry.values)
    if len(green) == 0:
        return pd.Series(0.0, index=pd.Index(zones_metric["zone_id"], name="zone_id"), name=name)
    reach = shapely.union_all(shapely.buffer(green.geometry.values, radius_m, quad_segs=16))
    within = shapely.area(shapely.intersection(zones_metric.geometry.values, reach))
    pct = np.where(zone_area > 0, 100.0 * within / np.where(zone_area > 0, zone_area, 1), np.nan)
    return pd.Series(pct, index=pd.Index(zones_metric["zone_id"], name="zone_id"), name=name)


# --------------------------------------------------------------------------- population


def place_population(
    zones_lowest_metric: gpd.GeoDataFrame,
    buildings_metric: gpd.GeoDataFrame | None = None,
    *,
    grid_m: float = 50.0,
    residential_only: bool = True,
    min_buildings: int = 10,
    min_footprint_pct: float = 1.0,
) -> gpd.GeoDataFrame:
    """Spread each zone's population over its residential buildings, else over a grid.

    In a zone with residential buildings (``use == "residential"``; every building when
    there is no ``use`` column), people are shared by floor area: footprint × ``levels``
    (1 when missing). A zone without such buildings gets a ``grid_m`` grid of cells clipped
    to it, each weighted by its clipped area and represented by a point on it. A building
    belongs to the zone containing its representative point. Zones with missing population
    get no points.

    Parameters
    ----------
    zones_lowest_metric : GeoDataFrame
        Lowest-level zones in a metric CRS with ``zone_id`` and ``population``.
    buildings_metric : GeoDataFrame, optional
        Building polygons; ``use`` and ``levels`` are read when present.
    grid_m : float
        Cell size of the fallback grid.
    residential_only : bool
        Use only residential buildings (when a ``use`` column exists).
    min_buildings, min_footprint_pct : int, float
        A zone uses its buildings only when it has at least ``min_buildings`` of them
        covering at least ``min_footprint_pct`` % of its area; otherwise the buildings
        mapped there are too few to stand for where people live (an incomplete building
        layer would pile a whole kelurahan onto a handful of points) and the grid is used.

    Returns
    -------
    GeoDataFrame
        Points (metric CRS) with ``zone_id``, ``pop``, ``method`` (``buildings`` or ``grid``)
        and ``building_index`` (the building's index label, or None). The sum of ``pop`` in
        a zone equals its population. ``attrs["population_method"]`` is ``buildings``,
        ``grid`` or ``mixed``.
    """
    check_gdf(zones_lowest_metric, name="zones_lowest_metric", columns=["zone_id", "population"], metric=True,
              geom_types=["Polygon", "MultiPolygon"], allow_empty=False)
    if grid_m <= 0:
        raise InputError(f"grid_m must be positive, got {grid_m}")
    crs = zones_lowest_metric.crs
    zones = zones_lowest_metric.reset_index(drop=True)
    pop = pd.to_numeric(zones["population"], errors="coerce").to_numpy(dtype=float)
    zone_geoms = zones.geometry.values
    frames: list[pd.DataFrame] = []
    with_buildings = np.zeros(len(zones), dtype=bool)

    if buildings_metric is not None and len(buildings_metric):
        check_gdf(buildings_metric, name="buildings_metric", metric=True)
        if buildings_metric.crs != crs:
            raise CRSError("buildings_metric and zones_lowest_metric must share a CRS")
        b = buildings_metric
        if residential_only and "use" in b.columns:
            b = b[b["use"].astype(str).str.lower() == "residential"]
        b = b[b.geometry.notna() & ~b.geometry.is_empty]
        if len(b):
            bpts = shapely.point_on_surface(b.geometry.values)
            if "footprint_m2" in b.columns:
                fp = pd.to_numeric(b["footprint_m2"], errors="coerce").to_numpy(dtype=float)
                fp = np.where(np.isfinite(fp), fp, shapely.area(b.geometry.values))
            else:
                fp = shapely.area(b.geometry.values)
            levels = (pd.to_numeric(b["levels"], errors="coerce").to_numpy(dtype=float)
                      if "levels" in b.columns else np.ones(len(b)))
            levels = np.where(np.isfinite(levels) & (levels > 0), levels, 1.0)
            floor = fp * levels
            b_i, z_i = shapely.STRtree(zone_geoms).query(bpts, predicate="within")
            b_i, first = np.unique(b_i, return_index=True)
            z_i = z_i[first]
            df = pd.DataFrame({"zone_pos": z_i, "w": floor[b_i], "b": b_i})
            df = df[df["w"] > 0]
            fp_by_zone = pd.Series(fp[df["b"].to_numpy()], index=df.index).groupby(df["zone_pos"]).sum()
            n_by_zone = df.groupby("zone_pos").size()
            zone_area = shapely.area(zone_geoms)
            enough = (n_by_zone >= min_buildings) & (
                100 * fp_by_zone / zone_area[n_by_zone.index.to_numpy()] >= min_footprint_pct)
            sparse = enough.index[~enough.to_numpy()]
            if len(sparse):
                log.info("%d zone(s) have too few residential buildings to place people; using the grid there",
                         len(sparse))
            df = df[df["zone_pos"].isin(enough.index[enough.to_numpy()])]
            tot = df.groupby("zone_pos")["w"].transform("sum")
            df["pop"] = pop[df["zone_pos"].to_numpy()] * df["w"] / tot
            df["geometry"] = bpts[df["b"].to_numpy()]
            df["building_index"] = b.index.to_numpy()[df["b"].to_numpy()]
            df["method"] = "buildings"
            df = df[np.isfinite(pop[df["zone_pos"].to_numpy()])]
            with_buildings[df["zone_pos"].unique()] = True
            frames.append(df[["zone_pos", "pop", "method", "building_index", "geometry"]])

    for pos in np.flatnonzero(~with_buildings & np.isfinite(pop)):
        geom = zone_geoms[pos]
        x0, y0, x1, y1 = geom.bounds
        xs = np.arange(x0, x1, grid_m)
        ys = np.arange(y0, y1, grid_m)
        gx, gy = np.meshgrid(xs, ys)
        cells = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + grid_m, gy.ravel() + grid_m)
        tree = shapely.STRtree(cells)
        hit = tree.query(geom, predicate="intersects")
        shapely.prepare(geom)
        inside = shapely.contains_properly(geom, cells[hit])
        clipped = cells[hit].copy()
        clipped[~inside] = shapely.intersection(cells[hit][~inside], geom)
        area = shapely.area(clipped)
        ok = area > 0
        if not ok.any():
            clipped, area, ok = np.array([geom]), np.array([geom.area or 1.0]), np.array([True])
        clipped, area = clipped[ok], area[ok]
        frames.append(pd.DataFrame({
            "zone_pos": pos, "pop": pop[pos] * area / area.sum(), "method": "grid",
            "building_index": None, "geometry": shapely.point_on_surface(clipped),
        }))

    if frames:
        df = pd.concat(frames, ignore_index=True)
    else:
        df = pd.DataFrame({"zone_pos": [], "pop": [], "method": [], "building_index": [], "geometry": []})
    out = gpd.GeoDataFrame(
        {
            "zone_id": zones["zone_id"].to_numpy()[df["zone_pos"].to_numpy(dtype=int)],
            "pop": df["pop"].to_numpy(dtype=float),
            "method": df["method"].to_numpy(dtype=object),
            "building_index": df["building_index"].to_numpy(dtype=object),
        },
        geometry=gpd.array.from_shapely(df["geometry"].to_numpy()), crs=crs,
    )
    methods = set(out["method"])
    out.attrs["population_method"] = (
        "none" if not methods else methods.pop() if len(methods) == 1 else "mixed"
    )
    n_missing = int((~np.isfinite(pop)).sum())
    out.attrs["notes"] = (
        [f"{n_missing} zone(s) without population got no population points"] if n_missing else []
    )
    log.info("placed population of %d zones on %d points (%s)", int(np.isfinite(pop).sum()), len(out),
             out.attrs["population_method"])
    return out


# --------------------------------------------------------------------------- zone indicators


@dataclass
class AccessResult:
    """Result of :func:`access_indicators`.

    Attributes
    ----------
    tables : dict of level -> DataFrame
        One row per zone (indexed by ``zone_id``), one ``pop_within_..._pct`` column per
        access indicator (population-weighted at every level).
    access_gaps : GeoDataFrame
        EPSG:4326 population points (buildings or grid cells) that miss at least one access
        indicator: ``zone_id``, ``pop``, ``dist_to_green_m`` and ``dist_to_green_euclid_m``
        (to the nearest green space of any size), ``not_met`` (``standard:check`` ids joined
        by ``;``), ``columns_not_met``.
    population_points : GeoDataFrame
        The placed population (metric CRS) with ``dist__<column>`` distances and
        ``served__<column>`` flags per indicator; input of :func:`siting.candidate_sites`.
    distance_method : str
        ``network`` or ``euclidean``.
    population_method : str
        ``buildings``, ``grid`` or ``mixed``.
    specs : list of dict
        The access indicators computed (column, radius, minimum area, green kind, standards).
    notes : list of str
    """

    tables: dict[str, pd.DataFrame]
    access_gaps: gpd.GeoDataFrame
    population_points: gpd.GeoDataFrame
    distance_method: str
    population_method: str
    specs: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def access_specs(standards: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Collect the ``[[access]]`` entries of ``standards``, merged by output column.

    Two entries may share a column only with the same radius, minimum area and green kind;
    otherwise :class:`ProfileError` names both. Without any entry, :data:`DEFAULT_ACCESS`.
    """
    by_column: dict[str, dict[str, Any]] = {}
    for std in standards:
        sid = str(std.get("id", "?"))
        for a in std.get("access", []) or []:
            spec = {
                "column": str(a["column"]), "radius_m": float(a["radius_m"]),
                "min_area_m2": float(a.get("min_area_m2", 0.0)), "green": str(a.get("green", "all")),
            }
            ref = f"{sid}:{a['id']}"
            old = by_column.get(spec["column"])
            if old is None:
                by_column[spec["column"]] = {**spec, "refs": [ref]}
            elif any(old[k] != spec[k] for k in ("radius_m", "min_area_m2", "green")):
                raise ProfileError(
                    f"access column {spec['column']!r} is defined differently by {old['refs'][0]} and {ref}"
                )
            else:
                old["refs"].append(ref)
    if not by_column:
        for a in DEFAULT_ACCESS:
            spec = {k: a[k] for k in ("column", "radius_m", "min_area_m2", "green")}
            ref = f"{a['standard']}:{a['id']}"
            if spec["column"] in by_column:
                by_column[spec["column"]]["refs"].append(ref)
            else:
                by_column[spec["column"]] = {**spec, "refs": [ref]}
    return list(by_column.values())


def _ancestors(zones: Mapping[str, gpd.GeoDataFrame], levels: list[str]) -> pd.DataFrame:
    """Lowest zone id -> zone id at every level, following ``parent_id``."""
    lowest = zones[levels[0]]
    chain = pd.DataFrame({levels[0]: lowest["zone_id"].astype(str).to_numpy()})
    for below, level in zip(levels[:-1], levels[1:], strict=False):
        parent = zones[below].assign(zone_id=lambda d: d["zone_id"].astype(str))
        parent = parent.drop_duplicates("zone_id").set_index("zone_id")["parent_id"].astype(str)
        chain[level] = chain[below].map(parent)
        orphans = chain[level].isna() | (chain[level] == "")
        known = set(zones[level]["zone_id"].astype(str))
        if len(known) == 1 and orphans.any():
            chain.loc[orphans, level] = next(iter(known))
        bad = ~chain[level].isin(known)
        if bad.any():
            raise InputError(
                f"{int(bad.sum())} {levels[0]} zone(s) have no parent among the {level} zones "
                f"(e.g. {chain.loc[bad, levels[0]].iloc[0]!r}); check parent_id"
            )
    return chain


@_gc_paused()  # see _gc_paused: the many temporary geometries would set off full sweeps
def access_indicators(
    zones: Mapping[str, gpd.GeoDataFrame],
    green_spaces_metric: gpd.GeoDataFrame,
    green_points_metric: gpd.GeoDataFrame | None,
    buildings_metric: gpd.GeoDataFrame | None,
    network: Any,
    standards: Iterable[Mapping[str, Any]],
    *,
    levels: Iterable[str] | None = None,
    entrances: gpd.GeoDataFrame | None = None,
    grid_m: float = 50.0,
    spacing_m: float = 25.0,
    max_snap_m: float = 500.0,
    min_buildings: int = 10,
    min_footprint_pct: float = 1.0,
) -> AccessResult:
    """Compute the population within reach of green space, per zone and level.

    Parameters
    ----------
    zones : dict of level -> GeoDataFrame
        Zones in the metric CRS, lowest level first (or ordered by ``levels``), with
        ``zone_id``, ``parent_id`` and (lowest level) ``population``.
    green_spaces_metric : GeoDataFrame
        Green polygons with ``area_m2`` and ``is_public``.
    green_points_metric : GeoDataFrame or None
        Green points; those with ``area_m2`` count as discs of that area.
    buildings_metric : GeoDataFrame or None
        Buildings used to place people (see :func:`place_population`).
    network : networkx.MultiDiGraph, CSGraph or None
        Walk network; None means straight-line distances (said in ``distance_method``).
    standards : iterable of dict
        Loaded standards (:func:`bandung_mapping.profiles.load_standard`); their
        ``[[access]]`` entries define the indicators (:data:`DEFAULT_ACCESS` when none).
    levels : iterable of str, optional
        Level names lowest first (default: the order of ``zones``).
    entrances : GeoDataFrame, optional
        OSM entrance / gate nodes in the metric CRS.
    grid_m, spacing_m, max_snap_m : float
        See :func:`place_population` and :func:`distance_to_green`.
    min_buildings, min_footprint_pct : int, float
        See :func:`place_population`.

    Returns
    -------
    AccessResult
    """
    levels = list(levels) if levels is not None else list(zones)
    if not levels or any(lv not in zones for lv in levels):
        raise InputError(f"levels {levels} must name keys of zones ({list(zones)})")
    for lv in levels:
        check_gdf(zones[lv], name=f"zones[{lv!r}]", columns=["zone_id", "parent_id"], metric=True)
    lowest = zones[levels[0]]
    crs = lowest.crs
    if any(zones[lv].crs != crs for lv in levels):
        raise CRSError("all zone levels must share one metric CRS")
    layers = [green_spaces_metric]
    if green_points_metric is not None and len(green_points_metric):
        layers.append(green_points_metric)
    for i, g in enumerate(layers):
        check_gdf(g, name="green_points_metric" if i else "green_spaces_metric", metric=True)
        if g.crs != crs:
            raise CRSError("green layers must be in the zones' metric CRS")
    green_all = pd.concat([g.reset_index(drop=True) for g in layers], ignore_index=True)
    green_all = gpd.GeoDataFrame(green_all, geometry=green_all.geometry.name, crs=crs)
    specs = access_specs(list(standards))
    green = _prepare_green(green_all, name="green spaces")
    engine = _Engine(green, network, crs, entrances=entrances, spacing_m=spacing_m, max_snap_m=max_snap_m)

    points = place_population(lowest, buildings_metric, grid_m=grid_m, min_buildings=min_buildings,
                              min_footprint_pct=min_footprint_pct)
    notes = list(points.attrs.get("notes", []))
    population_method = str(points.attrs.get("population_method", "none"))
    pts = _points_of(points)
    points = points.copy()
    any_dist, any_euclid = engine.run(pts, min_area_m2=0.0, public_only=False, label="any green space")
    points["dist_to_green_m"] = any_dist
    points["dist_to_green_euclid_m"] = any_euclid
    not_met = [[] for _ in range(len(points))]
    cols_not_met = [[] for _ in range(len(points))]
    for spec in specs:
        col = spec["column"]
        dist, _ = engine.run(pts, min_area_m2=spec["min_area_m2"], public_only=spec["green"] == "public",
                             label=col, euclid_all=False)
        served = np.nan_to_num(dist, nan=np.inf) <= spec["radius_m"]
        points[f"dist__{col}"] = dist
        points[f"served__{col}"] = served
        for i in np.flatnonzero(~served):
            not_met[i].extend(spec["refs"])
            cols_not_met[i].append(col)
    notes.extend(engine.notes)
    notes = list(dict.fromkeys(notes))

    upper = _ancestors(zones, levels).drop_duplicates(levels[0]).set_index(levels[0])
    lowest_id = points["zone_id"].astype(str)
    pop = pd.Series(points["pop"].to_numpy(dtype=float), index=points.index)
    served_pop = pd.DataFrame(
        {s["column"]: pop.where(points[f"served__{s['column']}"], 0.0) for s in specs}, index=points.index
    )
    tables: dict[str, pd.DataFrame] = {}
    for lv in levels:
        key = (lowest_id if lv == levels[0] else lowest_id.map(upper[lv])).to_numpy()
        idx = pd.Index(zones[lv]["zone_id"].astype(str).unique(), name="zone_id")
        total = pop.groupby(key).sum().reindex(idx)
        tables[lv] = 100.0 * served_pop.groupby(key).sum().reindex(idx).div(total.where(total > 0), axis=0)

    gap_mask = np.array([bool(x) for x in not_met], dtype=bool)
    gap_cols = ["zone_id", "pop", "dist_to_green_m", "dist_to_green_euclid_m", "geometry"]
    gaps = points.loc[gap_mask, gap_cols].copy()
    gaps["not_met"] = [";".join(not_met[i]) for i in np.flatnonzero(gap_mask)]
    gaps["columns_not_met"] = [";".join(cols_not_met[i]) for i in np.flatnonzero(gap_mask)]
    gaps = gpd.GeoDataFrame(gaps, geometry="geometry", crs=crs).to_crs("EPSG:4326")
    if engine.method == "euclidean":
        notes.append("no walk network given: distances are straight lines (distance_method = euclidean)")
    log.info("access: %d population points, %d below at least one access rule", len(points), len(gaps))
    return AccessResult(
        tables=tables, access_gaps=gaps, population_points=points, distance_method=engine.method,
        population_method=population_method, specs=specs, notes=notes,
    )
