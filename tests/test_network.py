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
