"""Per-zone indicators: exact oracles on the synthetic sample and hand-made cases."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import box

from bandung_mapping import aggregate_levels, dissolved_area_m2, zone_indicators
from bandung_mapping.errors import CRSError, InputError


def _zones():
    return gpd.GeoDataFrame(
        {"zone_id": ["a", "b"], "zone_name": ["A", "B"], "parent_id": ["k", "k"], "population": [100.0, 50.0]},
        geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)],
        crs=32748,
    )


def test_overlaps_count_once_and_edges_split():
    green = gpd.GeoDataFrame(
        {"is_public": [True, True, False]},
        geometry=[box(50, 0, 150, 10), box(60, 0, 70, 50), box(190, 90, 250, 150)],
        crs=32748,
    )
    t = zone_indicators(_zones(), green)
    # zone a: strip 50x10 + the part of the vertical box above the strip 10x40
    assert t.loc["a", "rth_area_ha"] * 1e4 == pytest.approx(500 + 400)
    # zone b: strip 50x10 + private corner 10x10 (the part inside the zone)
    assert t.loc["b", "rth_area_ha"] * 1e4 == pytest.approx(500 + 100)
    assert t.loc["b", "rth_private_ha"] * 1e4 == pytest.approx(100)
    assert t.loc["a", "rth_pct"] == pytest.approx(100 * 900 / 10000)
    assert t.loc["a", "rth_per_capita_m2"] == pytest.approx(9.0)


def test_points_with_and_without_area():
    pts = gpd.GeoDataFrame({"area_m2": [2000.0, np.nan], "is_public": [True, True]},
                           geometry=gpd.points_from_xy([10, 150], [10, 50]), crs=32748)
    empty = gpd.GeoDataFrame({"is_public": []}, geometry=[], crs=32748)
    t = zone_indicators(_zones(), empty, green_points=pts)
    assert t.loc["a", "rth_area_ha"] == pytest.approx(0.2)
    assert t.loc["b", "rth_area_ha"] == 0
    assert t.loc["b", "green_point_no_area_count"] == 1
    assert t.loc["a", "park_area_per_capita_m2"] == pytest.approx(20.0)


def test_aggregation_sums_not_means():
    zones = _zones()
    green = gpd.GeoDataFrame({"is_public": [True]}, geometry=[box(0, 0, 100, 50)], crs=32748)
    low = zone_indicators(zones, green)
    upper = gpd.GeoDataFrame({"zone_id": ["k"], "zone_name": ["K"], "parent_id": [""]},
                             geometry=[box(0, 0, 200, 100)], crs=32748)
    out = aggregate_levels(low, {"l": zones, "u": upper}, ["l", "u"])
    k = out["u"].loc["k"]
    assert k["rth_pct"] == pytest.approx(25.0)  # mean of 50 % and 0 % would also be 25: check per capita
    assert k["rth_per_capita_m2"] == pytest.approx(5000 / 150)  # not mean(50, 0) = 25
    assert k["population"] == 150


def test_refuses_degrees_and_missing_crs():
    z = _zones()
    g = gpd.GeoDataFrame({"is_public": []}, geometry=[], crs=32748)
    with pytest.raises(CRSError, match="projected CRS in metres"):
        zone_indicators(z.to_crs(4326), g.to_crs(4326))
    with pytest.raises(CRSError, match="no CRS"):
        zone_indicators(z.set_crs(None, allow_override=True), g)
    with pytest.raises(InputError, match="lacks column"):
        zone_indicators(z.drop(columns="population"), g)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 19), st.integers(0, 9), st.integers(1, 8), st.integers(1, 8)),
                min_size=1, max_size=8))
def test_dissolved_area_matches_cell_count(rects):
    """Property: union area of grid rectangles equals the count of covered 10 m cells."""
    grid = np.zeros((10, 20), dtype=bool)
    geoms = []
    for x, y, w, h in rects:
        grid[y:min(y + h, 10), x:min(x + w, 20)] = True
        geoms.append(box(x * 10, y * 10, (x + w) * 10, (y + h) * 10))
    zones = _zones()
    got = dissolved_area_m2(zones, gpd.GeoDataFrame(geometry=geoms, crs=32748))
    assert got.iloc[0] == pytest.approx(grid[:, :10].sum() * 100)
    assert got.iloc[1] == pytest.approx(grid[:, 10:].sum() * 100)


# --------------------------------------------------------------------------- sample oracle
def _sample_tables(study):
    from bandung_mapping import measure

    return measure(study, progress=False).tables


@pytest.fixture(scope="module")
def tables(sample_study):
    return _sample_tables(sample_study)


def test_sample_kelurahan_match_truth(tables, sample_truth):
    kel = tables["kelurahan"]
    truth = sample_truth["kelurahan"]
    assert sorted(kel.index) == sorted(truth)
    for zid, z in truth.items():
        row = kel.loc[zid]
        assert row["area_ha"] == pytest.approx(z["area_m2"] / 1e4, abs=0.01)
        assert row["rth_area_ha"] == pytest.approx(z["rth_area_m2"] / 1e4, abs=0.01)
        assert row["rth_public_ha"] == pytest.approx(z["rth_public_m2"] / 1e4, abs=0.01)
        assert row["rth_private_ha"] == pytest.approx(z["rth_private_m2"] / 1e4, abs=0.01)
        assert row["rth_pct"] == pytest.approx(100 * z["rth_area_m2"] / z["area_m2"], abs=0.01)
        assert row["building_count"] == z["building_count"]
        assert row["building_footprint_ha"] == pytest.approx(z["building_footprint_m2"] / 1e4, abs=0.01)
        assert row["population"] == z["population"]
        assert row["parent_id"] == z["parent_id"]


def test_sample_levels_add_up(tables, sample_truth):
    kel, kec, kota = tables["kelurahan"], tables["kecamatan"], tables["kota"]
    assert len(kec) == 3 and len(kota) == 1
    for col in ["area_ha", "population", "rth_area_ha", "rth_public_ha", "building_count", "building_footprint_ha"]:
        assert kec[col].sum() == pytest.approx(kel[col].sum())
        assert kota[col].iloc[0] == pytest.approx(kel[col].sum())
    truth_rth = sum(z["rth_area_m2"] for z in sample_truth["kelurahan"].values()) / 1e4
    assert kota["rth_area_ha"].iloc[0] == pytest.approx(truth_rth, abs=0.01)
    truth_pop = sum(z["population"] for z in sample_truth["kelurahan"].values())
    assert kota["rth_per_capita_m2"].iloc[0] == pytest.approx(truth_rth * 1e4 / truth_pop, abs=0.01)
    assert set(kec.index) == set(kel["parent_id"])
    assert isinstance(kota, pd.DataFrame)


def test_sample_green_cover_matches_truth(tables, sample_truth):
    kel = tables["kelurahan"]
    if "green_cover_pct" not in kel:
        pytest.fail("raster indicators missing from the sample run")
    for zid, z in sample_truth["kelurahan"].items():
        assert kel.loc[zid, "green_cover_pct"] == pytest.approx(100 * z["green_cells"] / z["cells"], abs=0.01)
        assert kel.loc[zid, "ndvi_mean"] == pytest.approx(z["ndvi_sum"] / z["cells"], abs=1e-4)


def test_layers_not_given_are_not_measured():
    t = zone_indicators(_zones(), None, buildings=None)
    assert t["rth_area_ha"].isna().all() and t["rth_pct"].isna().all()
    assert t["building_count"].isna().all() and t["building_coverage_pct"].isna().all()
    upper = gpd.GeoDataFrame({"zone_id": ["k"], "zone_name": ["K"], "parent_id": [""]},
                             geometry=[box(0, 0, 200, 100)], crs=32748)
    out = aggregate_levels(t, {"l": _zones(), "u": upper}, ["l", "u"])
    assert np.isnan(out["u"].loc["k", "rth_pct"])
    assert out["u"].loc["k", "area_ha"] == pytest.approx(2.0)


def test_park_area_counts_park_kinds_only():
    green = gpd.GeoDataFrame(
        {"is_public": [True, True, False], "rth_jenis": ["taman_kota", "pemakaman", "taman_kota"]},
        geometry=[box(0, 0, 10, 10), box(20, 0, 40, 10), box(50, 0, 60, 10)], crs=32748,
    )
    t = zone_indicators(_zones(), green, park_kinds=["taman_kota", "taman_bermain"])
    assert t.loc["a", "park_area_ha"] * 1e4 == pytest.approx(100)  # the private park does not count
    assert t.loc["a", "rth_public_ha"] * 1e4 == pytest.approx(300)
    t_all = zone_indicators(_zones(), green)
    assert t_all.loc["a", "park_area_ha"] * 1e4 == pytest.approx(300)


def test_aggregate_levels_checks_its_input():
    with pytest.raises(InputError, match="lacks column"):
        aggregate_levels(pd.DataFrame({"x": [1]}), {"l": _zones()}, ["l"])


def test_points_outside_zones_are_counted():
    pts = gpd.GeoDataFrame({"area_m2": [10.0, 10.0]}, geometry=gpd.points_from_xy([50, 5000], [50, 5000]),
                           crs=32748)
    t = zone_indicators(_zones(), None, green_points=pts)
    assert t.attrs["excluded"] == {"green_point_outside_zones": 1}
    assert t["rth_area_ha"].sum() * 1e4 == pytest.approx(10.0)


def test_sample_park_area_is_parks_and_playgrounds(tables, sample_truth):
    # public parks and playgrounds of the layout: 180x180 park (its playground inside), 80x80 park across the
    # boundary, 40x40 playground, 80x80 park with the escaped name
    assert tables["kota"]["park_area_ha"].iloc[0] * 1e4 == pytest.approx(32400 + 6400 + 1600 + 6400, abs=1)
