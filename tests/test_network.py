"""Walk network: noding of street lines, walkability filter, CSR graph."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from bandung_mapping import network
from bandung_mapping.errors import CRSError, InputError, InputFileError


def _lines(geoms, **cols):
    return gpd.GeoDataFrame(cols, geometry=geoms, crs=32748)


def test_lines_are_noded_at_shared_vertices_not_at_crossings():
    streets = _lines(
        [
            shapely.LineString([(0, 0), (100, 0), (200, 0)]),
            shapely.LineString([(100, 0), (100, 100)]),  # shares vertex (100, 0)
            shapely.LineString([(150, -50), (150, 50)]),  # crosses without a shared vertex (bridge)
        ],
        highway=["residential", "footway", "residential"],
    )
    g = network.walk_network_from_lines(streets)
    # nodes: (0,0) (100,0) (200,0) (100,100) (150,-50) (150,50)
    assert g.number_of_nodes() == 6
    assert g.number_of_edges() == 2 * 4
    assert g.graph["crs"] == "EPSG:4326"
    lengths = sorted(d["length"] for _, _, d in g.edges(data=True))
    assert lengths == pytest.approx([100] * 8, abs=1e-6)
    assert {d["highway"] for _, _, d in g.edges(data=True)} == {"residential", "footway"}


def test_walkable_mask_filters_highway_access_and_foot():
    ways = pd.DataFrame({
        "highway": ["residential", "motorway", "construction", "service", "service", "trunk", None, "path"],
        "access": [None, None, None, "private", "private", None, None, "no"],
        "foot": [None, None, None, None, "yes", None, None, "designated"],
    })
    assert network.walkable_mask(ways).tolist() == [True, False, False, False, True, True, False, True]
    with pytest.raises(InputError, match="highway"):
        network.walkable_mask(pd.DataFrame({"name": ["x"]}))


def test_walk_network_from_osm_drops_non_walkable_ways():
    feats = _lines(
        [shapely.LineString([(0, 0), (100, 0)]), shapely.LineString([(100, 0), (200, 0)])],
        highway=["residential", "motorway"],
    )
    g = network.walk_network_from_osm(feats)
    assert g.number_of_nodes() == 2 and g.number_of_edges() == 2


def test_to_csgraph_symmetric_min_length_and_metric_coords():
    g = nx.MultiDiGraph(crs="EPSG:32748")
    g.add_node("a", x=0.0, y=0.0)
    g.add_node("b", x=30.0, y=40.0)
    g.add_node("c", x=30.0, y=0.0)
    g.add_edge("a", "b", length=80.0)
    g.add_edge("a", "b", length=60.0)  # parallel edge, shorter
    g.add_edge("b", "c")  # no length: straight distance 40 m
    csg = network.to_csgraph(g, "EPSG:32748")
    m = csg.matrix.toarray()
    assert m[0, 1] == m[1, 0] == 60.0
    assert m[1, 2] == m[2, 1] == 40.0
    assert list(csg.node_ids) == ["a", "b", "c"]
    assert csg.x.tolist() == [0.0, 30.0, 30.0]
    with pytest.raises(CRSError):
        network.to_csgraph(g, "EPSG:4326")


def test_graphml_file_is_filtered_and_walkable(shared_data):
    path = shared_data / "osm" / "roads_drive_coblong_dago_osmnx_2023-04-11.graphml"
    g = network.walk_network_from_file(path)
    assert g.number_of_nodes() > 400
    csg = network.to_csgraph(g, "EPSG:32748")
    assert (csg.matrix != csg.matrix.T).nnz == 0  # symmetric: walking ignores one-way streets
    assert np.all(csg.matrix.data > 0)


def test_missing_file_is_an_input_file_error(tmp_path):
    with pytest.raises(InputFileError):
        network.walk_network_from_file(tmp_path / "nope.graphml")


def _graph_by_add_edge(lines, metric_crs):
    """The walk graph built edge by edge with networkx's own add_edge (reference builder)."""
    g = nx.MultiDiGraph(crs="EPSG:4326")
    geo = lines.to_crs(4326)
    met = lines.to_crs(metric_crs)
    ids: dict = {}
    shared = {}
    for geom in lines.geometry:
        for c in map(tuple, np.round(shapely.get_coordinates(geom), 3)):
            shared[c] = shared.get(c, 0) + 1
    for geom, cg, cm, hw in zip(lines.geometry, geo.geometry, met.geometry, lines["highway"], strict=True):
        c = shapely.get_coordinates(geom)
        keys = list(map(tuple, np.round(c, 3)))
        xy, mxy = shapely.get_coordinates(cg), shapely.get_coordinates(cm)
        split = [i for i, k in enumerate(keys) if i in (0, len(keys) - 1) or shared[k] > 1]
        for i, j in zip(split[:-1], split[1:], strict=False):
            for k in (i, j):
                if keys[k] not in ids:
                    ids[keys[k]] = len(ids)
                    g.add_node(ids[keys[k]], x=float(xy[k, 0]), y=float(xy[k, 1]))
            length = float(np.hypot(*np.diff(mxy[i : j + 1], axis=0).T).sum())
            u, v = ids[keys[i]], ids[keys[j]]
            g.add_edge(u, v, length=length, geometry=shapely.LineString(xy[i : j + 1]), highway=hw)
            g.add_edge(v, u, length=length, geometry=shapely.LineString(xy[i : j + 1][::-1]), highway=hw)
    return g


def test_graph_equals_the_one_built_with_add_edge():
    # a loop street (closed way), a bent street with shared inner vertices, a parallel pair
    streets = _lines(
        [
            shapely.LineString([(0, 0), (100, 0), (100, 100), (0, 100), (0, 0)]),
            shapely.LineString([(100, 0), (150, 10), (200, 0), (250, 30), (300, 0)]),
            shapely.LineString([(200, 0), (200, -100)]),
            shapely.LineString([(0, 0), (50, -50), (100, 0)]),  # second edge between (0,0) and (100,0)
        ],
        highway=["residential", "footway", "path", "service"],
    )
    g = network.walk_network_from_lines(streets)
    ref = _graph_by_add_edge(streets, "EPSG:32748")
    assert list(g.nodes(data=True)) == list(ref.nodes(data=True))
    ours, theirs = list(g.edges(keys=True, data=True)), list(ref.edges(keys=True, data=True))
    assert [e[:3] for e in ours] == [e[:3] for e in theirs]
    assert (0, 1, 1) in [e[:3] for e in ours]  # the parallel edge got key 1
    for (*_, a), (*_, b) in zip(ours, theirs, strict=True):
        assert list(a) == list(b)
        assert a["length"] == b["length"] and a["highway"] == b["highway"]
        assert shapely.get_coordinates(a["geometry"]).tolist() == shapely.get_coordinates(b["geometry"]).tolist()
    assert g.number_of_edges() == ref.number_of_edges() == 2 * 6  # loop: 2, bent: 2, stub: 1, arc: 1


def test_cached_csgraph_equals_a_fresh_one_and_is_dropped_when_stale():
    x0, y0 = 780_000, 9_228_000  # Bandung
    streets = _lines(
        [shapely.LineString([(x0, y0), (x0 + 100, y0), (x0 + 200, y0)]),
         shapely.LineString([(x0 + 100, y0), (x0 + 100, y0 + 100)])],
        highway=["residential", "footway"],
    ).to_crs(4326)  # geographic lines: the cache is in their UTM zone
    g = network.walk_network_from_lines(streets)
    assert g.graph["csgraph"]["crs"] == "EPSG:32748"
    cached = network.to_csgraph(g, "EPSG:32748")
    assert cached is g.graph["csgraph"]["csgraph"]
    bare = g.copy()
    del bare.graph["csgraph"]
    fresh = network.to_csgraph(bare, "EPSG:32748")
    assert (cached.matrix != fresh.matrix).nnz == 0
    assert cached.x.tolist() == fresh.x.tolist() and cached.y.tolist() == fresh.y.tolist()
    assert cached.node_ids.tolist() == fresh.node_ids.tolist()
    # another CRS, or a graph edited after it was built, is computed afresh
    assert network.to_csgraph(g, "EPSG:32749") is not cached
    edited = g.copy()
    edited.add_edge(0, 3, length=1.0)
    assert network.to_csgraph(edited, "EPSG:32748").matrix[0, 3] == 1.0
    assert (0, 3) not in zip(*cached.matrix.nonzero())
    # filtering builds new edges, so the cache is not carried over
    assert "csgraph" not in network.filter_walkable(g).graph
