"""Distances to green space, population placement and population-weighted access shares."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from bandung_mapping import access, network
from bandung_mapping.errors import CRSError, InputError

CRS = 32748


def _grid_network(n=5, spacing=100.0):
    lines = [shapely.LineString([(x * spacing, y * spacing) for x in range(n)]) for y in range(n)]
    lines += [shapely.LineString([(x * spacing, y * spacing) for y in range(n)]) for x in range(n)]
    return network.walk_network_from_lines(gpd.GeoDataFrame(geometry=lines, crs=CRS))


def _gdf(geoms, **cols):
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=CRS)


def test_grid_network_distance_is_manhattan():
    g = _grid_network()
    park = _gdf([shapely.box(-60, -60, 0, 0)], is_public=[True], area_m2=[3600.0])  # touches node (0, 0)
    nodes = _gdf([shapely.Point(x * 100, y * 100) for x in range(5) for y in range(5)])
    out = access.green_distances(nodes, park, network=g)
    expected = [100.0 * (x + y) for x in range(5) for y in range(5)]
    assert out["dist_to_green_m"].to_numpy() == pytest.approx(expected, abs=1e-3)
    assert (out["distance_method"] == "network").all()
    # the network is never shorter than the straight line
    assert (out["dist_to_green_m"] >= out["dist_to_green_euclid_m"] - 1e-6).all()
    assert out.loc[24, "dist_to_green_euclid_m"] == pytest.approx(np.hypot(400, 400))


def test_min_area_and_public_filters():
    g = _grid_network()
    parks = _gdf(
        [shapely.box(-60, -60, 0, 0), shapely.box(400, 400, 500, 500)],
        is_public=[False, True], area_m2=[3600.0, 10000.0],
    )
    home = _gdf([shapely.Point(100, 0)])
    assert access.distance_to_green(home, parks, network=g).iloc[0] == pytest.approx(100)
    # only the 1 ha park qualifies: 300 (to x=400) + 400 (to y=400) along the grid
    assert access.distance_to_green(home, parks, network=g, min_area_m2=5000).iloc[0] == pytest.approx(700)
    assert access.distance_to_green(home, parks, network=g, public_only=True).iloc[0] == pytest.approx(700)
    assert np.isnan(access.distance_to_green(home, parks, min_area_m2=1e6).iloc[0])


def test_network_and_euclidean_agree_on_a_straight_street():
    street = gpd.GeoDataFrame(geometry=[shapely.LineString([(x, 0) for x in range(0, 1001, 50)])], crs=CRS)
    g = network.walk_network_from_lines(street)
    park = _gdf([shapely.box(-100, -50, 0, 50)], is_public=[True])
    homes = _gdf([shapely.Point(x, 0) for x in (50, 300, 650, 1000)])
    out = access.green_distances(homes, park, network=g)
    assert out["dist_to_green_m"].to_numpy() == pytest.approx([50, 300, 650, 1000], abs=1e-3)
    euclid = out["dist_to_green_euclid_m"].to_numpy()
    assert out["dist_to_green_m"].to_numpy() == pytest.approx(euclid, abs=1e-3)


def test_without_network_the_method_says_euclidean():
    park = _gdf([shapely.box(0, 0, 100, 100)])
    homes = _gdf([shapely.box(300, 0, 310, 10), shapely.Point(50, 50)], )
    d = access.distance_to_green(homes, park)
    assert d.attrs["distance_method"] == "euclidean"
    assert d.name == "dist_to_green_m"
    assert d.tolist() == pytest.approx([200.0 + 0.0 + 0.0 + 0.0 + 5.0 - 5.0, 0.0], abs=5.0 + 1e-9)
    assert d.iloc[1] == 0.0


def test_crs_is_checked():
    park = _gdf([shapely.box(0, 0, 100, 100)])
    homes = gpd.GeoDataFrame(geometry=[shapely.Point(107.6, -6.9)], crs=4326)
    with pytest.raises(CRSError):
        access.distance_to_green(homes, park)


def test_network_distance_from_sources_uses_offsets():
    g = _grid_network(3)
    csg = network.to_csgraph(g, CRS)
    pos = {(round(x), round(y)): i for i, (x, y) in enumerate(zip(csg.x, csg.y, strict=False))}
    d = access.network_distance_from_sources(csg, [pos[(0, 0)], pos[(200, 200)]], [50.0, 0.0])
    assert d[pos[(0, 0)]] == pytest.approx(50)
    assert d[pos[(100, 0)]] == pytest.approx(150)  # 50 + 100 beats 0 + 300
    assert d[pos[(200, 100)]] == pytest.approx(100)
    with pytest.raises(InputError):
        access.network_distance_from_sources(csg, [0], [-1.0])


def test_entry_points_prefer_entrances_then_paths_then_boundary():
    g = _grid_network()
    parks = _gdf(
        [shapely.box(120, 120, 180, 180), shapely.box(220, 220, 280, 280), shapely.box(150, -50, 250, 50)],
    )
    gate = _gdf([shapely.Point(150, 121)])
    e = access.entry_points(parks, network=g, entrances=gate, spacing_m=25)
    assert e.loc[e.green_index == 0, "entry_method"].unique().tolist() == ["entrance"]
    # park 1 sits inside a block: no path reaches it, so its outline (240 m) every 25 m
    assert e.loc[e.green_index == 1, "entry_method"].unique().tolist() == ["boundary"]
    assert (e.green_index == 1).sum() == 10
    # park 2 is crossed by the street y=0 at x=150 and x=250, and by x=200 at y=50, y=-50 (and holds no node
    # on its outline except the crossings)
    p2 = e[e.green_index == 2]
    assert set(p2.entry_method) == {"path"}
    assert {(round(p.x), round(p.y)) for p in p2.geometry} >= {(150, 0), (250, 0), (200, 50)}


def test_area_point_is_a_disc_of_equal_area():
    pt = _gdf([shapely.Point(0, 0)], area_m2=[np.pi * 100.0**2])
    e = access.entry_points(pt, spacing_m=25)
    r = np.hypot(e.geometry.x, e.geometry.y)
    assert r.to_numpy() == pytest.approx(100.0, rel=2e-3)  # points on a 64-gon inscribed in the circle
    homes = _gdf([shapely.Point(400, 0)])
    assert access.distance_to_green(homes, pt).iloc[0] == pytest.approx(300.0, rel=1e-3)


def _zones():
    kel = _gdf(
        [shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000), shapely.box(0, 1000, 1000, 2000)],
        zone_id=["k1", "k2", "k3"], zone_name=["K1", "K2", "K3"], parent_id=["c1", "c1", "c2"],
        population=[1000.0, 3000.0, 500.0],
    )
    kec = _gdf([shapely.box(0, 0, 2000, 1000), shapely.box(0, 1000, 1000, 2000)],
               zone_id=["c1", "c2"], zone_name=["C1", "C2"], parent_id=["city", "city"])
    city = _gdf([shapely.box(0, 0, 2000, 2000)], zone_id=["city"], zone_name=["City"], parent_id=[""])
    return {"kelurahan": kel, "kecamatan": kec, "kota": city}


def test_place_population_conserves_totals_buildings_and_grid():
    zones = _zones()["kelurahan"]
    buildings = _gdf(
        [shapely.box(100, 100, 110, 110), shapely.box(200, 200, 220, 210), shapely.box(1500, 500, 1510, 510),
         shapely.box(300, 300, 400, 400)],
        use=["residential", "residential", "commercial", "commercial"], levels=[1.0, 2.0, 3.0, 1.0],
    )
    pts = access.place_population(zones, buildings, grid_m=250, min_buildings=1, min_footprint_pct=0)
    tot = pts.groupby("zone_id")["pop"].sum()
    assert tot.to_dict() == pytest.approx({"k1": 1000, "k2": 3000, "k3": 500})
    k1 = pts[pts.zone_id == "k1"].sort_values("pop")
    # floor areas 100 m2 and 400 m2 -> 200 and 800 people
    assert k1["pop"].tolist() == pytest.approx([200, 800])
    assert set(pts.loc[pts.zone_id == "k2", "method"]) == {"grid"}  # only a commercial building
    assert (pts.zone_id == "k2").sum() == 16
    assert pts.attrs["population_method"] == "mixed"


def test_too_few_buildings_fall_back_to_the_grid():
    """Two houses cannot stand for where a kelurahan's thousand people live."""
    zones = _zones()["kelurahan"]
    buildings = _gdf([shapely.box(100, 100, 110, 110), shapely.box(200, 200, 220, 210)],
                     use=["residential", "residential"], levels=[1.0, 2.0])
    pts = access.place_population(zones, buildings, grid_m=250)
    assert set(pts["method"]) == {"grid"}
    assert pts.groupby("zone_id")["pop"].sum().to_dict() == pytest.approx({"k1": 1000, "k2": 3000, "k3": 500})
    # many small houses covering enough of the zone are used
    many = _gdf([shapely.box(x, y, x + 20, y + 20) for x in range(0, 1000, 50) for y in range(0, 500, 50)],
                use=["residential"] * 200)
    pts = access.place_population(zones, many, grid_m=250)
    assert set(pts.loc[pts.zone_id == "k1", "method"]) == {"buildings"}


@settings(max_examples=25, deadline=None)
@given(pop=st.floats(1, 1e6), w=st.floats(50, 3000), h=st.floats(50, 3000), cell=st.floats(20, 400))
def test_grid_placement_conserves_population(pop, w, h, cell):
    zone = _gdf([shapely.Polygon([(0, 0), (w, 0), (w * 0.6, h)])], zone_id=["z"], population=[pop])
    pts = access.place_population(zone, grid_m=cell)
    assert pts["pop"].sum() == pytest.approx(pop, rel=1e-9)
    assert pts.within(zone.geometry.iloc[0].buffer(1e-6)).all()


def test_access_indicators_are_population_weighted():
    zones = _zones()
    # one person-point per zone: buildings at known places
    buildings = _gdf(
        [shapely.box(100, 100, 110, 110), shapely.box(1900, 900, 1910, 910),
         shapely.box(500, 1500, 510, 1510)],
        use=["residential"] * 3,
    )
    parks = _gdf([shapely.box(0, 0, 100, 100)], is_public=[True], area_m2=[10000.0])
    std = {"id": "who_2016", "access": [{"id": "a", "column": "pop_within_300m_green_0_5ha_pct",
                                         "radius_m": 300, "min_area_m2": 5000, "green": "all"}]}
    res = access.access_indicators(zones, parks, None, buildings, None, [std], min_buildings=1,
                                   min_footprint_pct=0)
    col = "pop_within_300m_green_0_5ha_pct"
    assert res.tables["kelurahan"][col].to_dict() == {"k1": 100.0, "k2": 0.0, "k3": 0.0}
    # kecamatan c1 = 1000 served / 4000 people, not the mean of 100 % and 0 %
    assert res.tables["kecamatan"].loc["c1", col] == pytest.approx(25.0)
    assert res.tables["kota"].loc["city", col] == pytest.approx(100 * 1000 / 4500)
    assert res.distance_method == "euclidean" and res.population_method == "buildings"
    gaps = res.access_gaps
    assert gaps.crs.to_epsg() == 4326
    assert sorted(gaps.zone_id) == ["k2", "k3"]
    assert gaps["pop"].sum() == pytest.approx(3500)
    assert (gaps["not_met"] == "who_2016:a").all()


def test_default_specs_cover_the_bundled_standards():
    cols = {s["column"] for s in access.access_specs([])}
    assert cols == {
        "pop_within_300m_green_0_5ha_pct", "pop_within_300m_green_1ha_pct",
        "pop_within_400m_public_open_space_pct", "pop_within_rt_radius_pct", "pop_within_rw_radius_pct",
    }
    from bandung_mapping.profiles import load_standard

    stds = [load_standard(s) for s in ("uu_26_2007", "permen_pu_05_2008", "who_2016", "sdg_11_7_1",
                                       "rule_3_30_300")]
    specs = {s["column"]: s for s in access.access_specs(stds)}
    assert set(specs) == cols
    assert specs["pop_within_rt_radius_pct"]["radius_m"] == 300 and specs["pop_within_rt_radius_pct"][
        "min_area_m2"] == 250
    assert specs["pop_within_rw_radius_pct"]["radius_m"] == 1000 and specs["pop_within_rw_radius_pct"][
        "min_area_m2"] == 1250
    assert sorted(specs["pop_within_300m_green_0_5ha_pct"]["refs"]) == [
        "rule_3_30_300:park_300m", "who_2016:green_0_5ha_300m"]


def test_real_bandung_area_within_300m_of_parks(shared_data):
    kel = gpd.read_file(shared_data / "boundaries" / "bandung_kelurahan_satudata.geojson").to_crs(CRS)
    city = gpd.GeoDataFrame({"zone_id": ["kota"]}, geometry=[shapely.force_2d(kel.union_all())], crs=CRS)
    feats = gpd.read_file(shared_data / "osm" / "bandung_public_facilities_parks_overpass_2025-06-16.geojson")
    polygonal = feats.geom_type.isin(["Polygon", "MultiPolygon"])
    parks = feats[(feats["leisure"] == "park") & polygonal].to_crs(CRS)
    parks = parks[parks.intersects(city.geometry.iloc[0])]
    assert len(parks) == 383
    parks = parks.assign(area_m2=parks.area)  # the feature's own area, before any clipping
    share = access.area_within_distance_pct(city, parks, radius_m=300, min_area_m2=5000)
    assert share.loc["kota"] == pytest.approx(15.0, abs=0.5)
    assert share.loc["kota"] == pytest.approx(14.96, abs=0.01)


def test_distance_to_green_uses_straight_line_only_where_needed_and_matches_green_distances():
    g = _grid_network()
    parks = _gdf([shapely.box(-60, -60, 0, 0), shapely.box(150, 150, 250, 250)], is_public=[True, True])
    homes = _gdf([
        shapely.Point(100, 0),  # on the network
        shapely.Point(200, 200),  # inside a park: 0 m
        shapely.Point(150, 180),  # on a park's outline: 0 m
        shapely.Point(2000, 0),  # 1600 m from the network: the straight line to (250, 150)
    ])
    table = access.green_distances(homes, parks, network=g, max_snap_m=500)
    d = access.distance_to_green(homes, parks, network=g, max_snap_m=500)
    assert d.tolist() == table["dist_to_green_m"].tolist()
    assert d.iloc[1] == d.iloc[2] == 0.0
    assert d.iloc[3] == pytest.approx(np.hypot(1750, 150))
    assert d.iloc[0] == pytest.approx(100.0)


def _engine(lines):
    g = network.walk_network_from_lines(gpd.GeoDataFrame(geometry=lines, crs=CRS))
    park = access._prepare_green(_gdf([shapely.box(-1000, -1000, -990, -990)], is_public=[True]))
    return access._Engine(park, g, access.pyproj.CRS.from_epsg(CRS), entrances=None, spacing_m=25.0,
                          max_snap_m=500.0)


def test_nearest_segment_by_hand():
    # two streets: y = 0 from x 0..100 and x = 200 from y 0..100
    eng = _engine([shapely.LineString([(0, 0), (100, 0)]), shapely.LineString([(200, 0), (200, 100)])])
    pts = shapely.points([(50, 30), (150, 0), (190, 100), (-30, -40), (5000, 5000)])
    seg, dist = eng._nearest_segment(pts)
    assert dist == pytest.approx([30.0, 50.0, 10.0, 50.0, np.hypot(4800, 4900)], abs=1e-6)
    vertical = np.isclose(eng.csg.x[eng.seg_u], 200, atol=1e-6)  # which segment is x = 200
    assert vertical[seg[[0, 2, 3, 4]]].tolist() == [False, True, False, True]  # (5000, 5000): one by one
    assert seg[1] == 0 and len(eng.segs) == 2  # (150, 0) is 50 m from both streets: the first segment


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_lines=st.integers(1, 12),
    n_points=st.integers(1, 60),
    spread=st.sampled_from([10.0, 300.0, 5000.0]),
)
def test_nearest_segment_matches_geos(seed, n_lines, n_points, spread):
    rng = np.random.default_rng(seed)
    coords = np.round(rng.uniform(0, 500, size=(n_lines, 3, 2)), 1)  # rounded: ties happen
    lines = [shapely.LineString(c) for c in coords if shapely.LineString(c).length > 0]
    if not lines:
        return
    eng = _engine(lines)
    pts = shapely.points(np.round(rng.uniform(-spread, 500 + spread, size=(n_points, 2)), 1))
    seg, dist = eng._nearest_segment(pts)
    (_, ref_seg), ref_dist = eng.seg_tree.query_nearest(pts, return_distance=True, all_matches=False)
    assert np.array_equal(dist, ref_dist)  # the same arithmetic as GEOS: equal, not close
    # the segment is GEOS's own, or one as near (a tie)
    assert np.array_equal(shapely.distance(eng.segs[seg], pts), ref_dist)
    same_or_tie = (seg == ref_seg) | (shapely.distance(eng.segs[ref_seg], pts) == dist)
    assert same_or_tie.all()


def test_garbage_collector_is_restored():
    import gc

    g = _grid_network()
    park = _gdf([shapely.box(-60, -60, 0, 0)], is_public=[True], area_m2=[3600.0])
    homes = _gdf([shapely.Point(100, 100)])
    assert gc.isenabled()
    assert access.distance_to_green(homes, park, network=g).iloc[0] == pytest.approx(200.0)
    assert gc.isenabled()
    gc.disable()
    try:
        access.distance_to_green(homes, park, network=g)
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
    with pytest.raises(InputError):
        access.distance_to_green(homes, park, network=g, min_area_m2=-1)
    assert gc.isenabled()
    with pytest.raises(RuntimeError), access._gc_paused():
        assert not gc.isenabled()
        raise RuntimeError("inside")
    assert gc.isenabled()
