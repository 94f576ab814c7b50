"""Candidate sites: greedy ranking by newly served people, zone changes, real land cover."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from bandung_mapping import siting
from bandung_mapping.errors import InputError

CRS = 32748


def _gdf(geoms, **cols):
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=CRS)


def _setup():
    zones = _gdf([shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000)],
                 zone_id=["k1", "k2"], population=[1000.0, 4000.0], rth_area_ha=[5.0, 2.0])
    people = _gdf([shapely.Point(100, 100), shapely.Point(150, 100), shapely.Point(1500, 500),
                   shapely.Point(1800, 500), shapely.Point(900, 900)],
                  pop=[10.0, 20.0, 100.0, 50.0, 5.0])
    cands = _gdf(
        [
            shapely.box(100, 200, 200, 300),      # A: 1 ha, near the two people of k1 (30)
            shapely.box(1500, 600, 1600, 700),    # B: 1 ha, near (1500,500) only (100)
            shapely.box(1600, 550, 1700, 650),    # C: 1 ha, near (1500,500) and (1800,500) (150)
            shapely.box(950, 950, 960, 960),      # D: too small (100 m2)
        ],
        source=["parcels"] * 4,
    )
    return zones, people, cands


def test_greedy_ranking_removes_served_people():
    zones, people, cands = _setup()
    out = siting.candidate_sites(cands, zones, people, np.zeros(5, dtype=bool), min_area_m2=5000,
                                 radius_m=150, top_n=5)
    assert out.crs.to_epsg() == 4326
    assert out["rank"].tolist() == [1, 2]
    assert out["new_pop_served"].tolist() == pytest.approx([150.0, 30.0])  # then B adds nobody: stop
    assert out["zone_id"].tolist() == ["k2", "k1"]
    assert out["area_m2"].tolist() == pytest.approx([10000.0, 10000.0])
    # k2: 2 ha of 100 ha -> 3 ha; 20,000 m2 / 4000 people -> 30,000 / 4000
    first = out.iloc[0]
    assert first["rth_pct_before"] == pytest.approx(2.0) and first["rth_pct_after"] == pytest.approx(3.0)
    assert first["rth_per_capita_m2_before"] == pytest.approx(5.0)
    assert first["rth_per_capita_m2_after"] == pytest.approx(7.5)
    assert list(out.columns) == ["rank", "zone_id", "area_m2", "new_pop_served", "rth_pct_before",
                                 "rth_pct_after", "rth_per_capita_m2_before", "rth_per_capita_m2_after",
                                 "source", "geometry"]


def test_served_people_and_distances_and_buildings():
    zones, people, cands = _setup()
    dist = np.array([50.0, 50.0, 1000.0, np.nan, 1000.0])  # the first two are already served
    out = siting.candidate_sites(cands, zones, people, dist, min_area_m2=5000, radius_m=150)
    assert out["new_pop_served"].tolist() == pytest.approx([150.0])
    # a building covering most of C leaves a part below the minimum area: B is picked instead
    building = _gdf([shapely.box(1600, 550, 1690, 650)])
    out = siting.candidate_sites(cands, zones, people, dist, min_area_m2=5000, radius_m=150,
                                 buildings_metric=building)
    assert out["new_pop_served"].tolist() == pytest.approx([100.0])
    with pytest.raises(InputError):
        siting.candidate_sites(cands, zones, people, dist[:3], min_area_m2=0, radius_m=150)


def test_rbi_landcover_candidates(shared_data):
    lc = gpd.read_file(shared_data / "landcover" / "rbi_tutupan_lahan_kota_bandung.shp")
    cand = siting.candidates_from_landcover(lc, CRS)
    assert not cand.has_z.any() and cand.is_valid.all()
    assert set(cand["source"]) <= {"landcover:" + c for c in siting.LANDCOVER_CANDIDATE_CLASSES}
    assert cand.geom_type.eq("Polygon").all()
    tiles = siting.prepare_candidates(cand, min_area_m2=5000, tile_m=100)
    assert (tiles["area_m2"] <= 100 * 100 + 1e-6).all() and (tiles["area_m2"] >= 5000).all()
