"""RTH classification as data, and building use / floors; oracles worked out by hand."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st
from test_osm import X0, Y0, OsmXml, square  # tests/ is on sys.path (rootdir, no package)

from bandung_mapping import classify, osm, profiles
from bandung_mapping.errors import CRSError, ProfileError

UTM = "EPSG:32748"


@pytest.fixture(scope="module")
def green_osm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    w = OsmXml()
    w.way(1, square(0, 0, 100), {"leisure": "park", "name": "Taman A"}, closed=True)  # 10,000 m2
    w.node(500, 500, {"leisure": "park", "name": "Taman Titik"})  # no area
    w.way(2, [(0, 300), (100, 300)], {"landuse": "grass"})  # open way: a line, no area
    # bow-tie: two triangles of 50 x 25 m each -> 1,250 m2 after make_valid
    w.way(3, [(300, 0), (350, 50), (350, 0), (300, 50)], {"leisure": "park", "name": "Dasi"}, closed=True)
    w.way(4, square(5000, 5000, 20), {"leisure": "park"}, closed=True)  # outside the study area
    w.way(5, square(900, 0, 200), {"leisure": "park"}, closed=True)  # half outside: 100 x 200 kept
    w.way(6, square(0, 600, 40), {"leisure": "garden", "access": "private"}, closed=True)  # 1,600 m2 private
    w.way(7, square(100, 600, 300), {"landuse": "residential"}, closed=True)
    w.way(8, square(150, 650, 20), {"leisure": "garden"}, closed=True)  # garden on residential land
    w.way(9, [(-200, 1000), (600, 1000)], {"waterway": "river"})
    w.way(10, square(0, 1010, 30), {"natural": "scrub"}, closed=True)  # 10 m from the river
    w.way(11, square(0, 1200, 30), {"natural": "scrub"}, closed=True)  # 200 m away
    w.way(12, [(300, 1300), (700, 1300)], {"highway": "residential"})
    w.way(13, square(300, 1304, 10), {"landuse": "grass"}, closed=True)  # road verge, 4 m from the road
    w.way(14, square(300, 1500, 10), {"landuse": "grass"}, closed=True)  # a lawn
    w.way(15, square(600, 600, 10), {"natural": "water"}, closed=True)  # not green
    w.way(16, square(0, 1600, 10), {"building": "house", "building:levels": "2"}, closed=True)
    w.way(17, square(20, 1600, 10), {"building": "yes", "height": "10 m"}, closed=True)
    w.way(18, square(40, 1600, 20), {"building": "yes", "amenity": "place_of_worship"}, closed=True)
    w.way(19, square(70, 1600, 10), {"building": "commercial", "shop": "supermarket"}, closed=True)
    w.node(90, 1600, {"building": "yes"})  # a building node: no footprint
    return w.write(tmp_path_factory.mktemp("classify") / "green.osm")


@pytest.fixture(scope="module")
def study_area() -> gpd.GeoSeries:
    return gpd.GeoSeries([shapely.box(X0 - 1000, Y0 - 1000, X0 + 1000, Y0 + 2000)], crs=UTM).to_crs(4326)


@pytest.fixture(scope="module")
def result(green_osm: Path, study_area: gpd.GeoSeries):
    return classify.classify_green_spaces(
        osm.features_from_file(green_osm), study_area=study_area, metric_crs=UTM
    )


def test_green_spaces_by_hand(result) -> None:
    spaces, points, report = result
    by = spaces.set_index("osmid")
    assert by.loc["way/1", "rth_jenis"] == "taman_kota" and by.loc["way/1", "is_public"]
    # OSM coordinates carry 1e-7 degrees (about 1 cm): areas agree to 1 cm times the perimeter
    assert by.loc["way/1", "area_m2"] == pytest.approx(10_000, abs=0.01 * 400)
    assert by.loc["way/3", "area_m2"] == pytest.approx(1_250, abs=0.01 * 250)  # repaired bow-tie
    # clipped: the study area's edge is straight in degrees, so in metres it bows by millimetres
    assert by.loc["way/5", "area_m2"] == pytest.approx(100 * 200, rel=1e-4)
    assert by.loc["way/6", "rth_jenis"] == "taman_pribadi" and not by.loc["way/6", "is_public"]
    assert by.loc["way/8", "rth_jenis"] == "taman_pribadi" and not by.loc["way/8", "is_public"]
    assert by.loc["way/10", "rth_jenis"] == "sempadan_sungai" and by.loc["way/10", "is_public"]
    assert by.loc["way/11", "rth_jenis"] == "vegetasi_alami" and not by.loc["way/11", "is_public"]
    assert by.loc["way/13", "rth_jenis"] == "jalur_hijau_jalan"
    assert by.loc["way/14", "rth_jenis"] == "lahan_rumput"
    assert set(by.index) == {
        "way/1",
        "way/3",
        "way/5",
        "way/6",
        "way/8",
        "way/10",
        "way/11",
        "way/13",
        "way/14",
    }
    assert points["osmid"].tolist() == ["node/5"]  # nodes 1-4 are the corners of way 1
    assert math.isnan(points["area_m2"].iloc[0]) and points["rth_jenis"].iloc[0] == "taman_kota"
    ex = report["excluded"]
    # the bow-tie way is repaired by make_valid and counted
    assert ex["line"] == 1 and ex["repaired_invalid"] == 1 and ex["outside_study_area"] == 1
    assert ex["point_no_area"] == 1 and report["clipped"] == 1
    # not green: way 7, 9, 12, 15, 16-19 and the building node = 9
    assert ex["not_green"] == 9
    assert report["input_features"] == 9 + 9 + 1 + 1 + 1  # green polygons + not green + line + outside + node
    assert report["green_polygons"] == 9 and report["green_points"] == 1
    # schema per docs/architecture.md
    assert list(spaces.columns[:4]) == ["osmid", "rth_jenis", "is_public", "area_m2"]
    assert {"leisure", "landuse", "natural", "name", "access", "source"} <= set(spaces.columns)
    assert spaces.crs.to_epsg() == 4326 and spaces.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    assert spaces["is_public"].dtype == bool
    assert spaces["area_m2"].sum() == pytest.approx(sum(report["area_m2_by_kind"].values()))


def test_invalid_polygon_repaired_and_counted(tmp_path: Path) -> None:
    import osmium

    w = OsmXml()
    w.way(3, [(300, 0), (350, 50), (350, 0), (300, 50)], {"leisure": "park", "name": "Dasi"}, closed=True)
    xml = w.write(tmp_path / "bowtie.osm")
    pbf = tmp_path / "bowtie.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(xml)):
            writer.add(obj)
    feats = osm.features_from_file(pbf)  # the PBF reader keeps the self-intersecting ring as it is
    assert not feats.is_valid.iloc[0]
    spaces, _, report = classify.classify_green_spaces(feats, metric_crs=UTM)
    assert report["excluded"]["repaired_invalid"] == 1
    # two 50 x 25 m triangles; PBF keeps coordinates to 1e-7 degrees (about 1 cm)
    assert spaces["area_m2"].iloc[0] == pytest.approx(1_250, abs=0.5)
    assert spaces.is_valid.all()


def test_no_study_area_keeps_everything(green_osm: Path) -> None:
    spaces, _, report = classify.classify_green_spaces(osm.features_from_file(green_osm), metric_crs=UTM)
    by = spaces.set_index("osmid")
    assert "way/4" in by.index and by.loc["way/5", "area_m2"] == pytest.approx(40_000, abs=0.01 * 800)
    assert "outside_study_area" not in report["excluded"] and report["clipped"] == 0


def test_inputs_not_mutated_and_crs_checked(green_osm: Path) -> None:
    feats = osm.features_from_file(green_osm)
    before = feats.copy()
    classify.classify_green_spaces(feats, metric_crs=UTM)
    pd.testing.assert_frame_equal(pd.DataFrame(feats), pd.DataFrame(before))
    with pytest.raises(CRSError, match="projected"):
        classify.classify_green_spaces(feats, metric_crs="EPSG:4326")


def test_buildings_by_hand(green_osm: Path) -> None:
    b = classify.classify_buildings(osm.features_from_file(green_osm), metric_crs=UTM).set_index("osmid")
    assert b.loc["way/16", "levels"] == 2 and b.loc["way/16", "use"] == "residential"
    assert b.loc["way/17", "levels"] == 3  # 10 m / 3 m, rounded
    assert b.loc["way/18", "levels"] == 1 and b.loc["way/18", "use"] == "religious"
    assert b.loc["way/19", "use"] == "commercial"
    assert b.loc["way/16", "footprint_m2"] == pytest.approx(100, abs=0.01 * 40)  # 1 cm x perimeter
    assert b.loc["way/18", "footprint_m2"] == pytest.approx(400, abs=0.01 * 80)
    assert len(b) == 4 and b.attrs["excluded"] == {"not_polygon": 1}


def test_buildings_duplicates_removed(green_osm: Path) -> None:
    feats = osm.features_from_file(green_osm)
    twice = gpd.GeoDataFrame(pd.concat([feats, feats], ignore_index=True), crs=feats.crs)
    b = classify.classify_buildings(twice, metric_crs=UTM)
    assert len(b) == 4 and b.attrs["excluded"]["duplicate"] == 4


@given(st.integers(min_value=0, max_value=200))
def test_parse_levels_integers(n: int) -> None:
    assert classify.parse_levels(str(n)) == n
    assert classify.parse_levels(f"{n} m") == n
    assert classify.parse_levels(f"1;{n}") == max(1, n)


def test_parse_levels_unreadable() -> None:
    assert math.isnan(classify.parse_levels("tinggi")) and math.isnan(classify.parse_levels(None))


# ------------------------------------------------------------------------------ rules as data
def _write_rules(tmp_path: Path, text: str, *, top: str = "") -> Path:
    base = (Path(profiles.__file__).parent / "profiles" / "rth_rules" / "indonesia.toml").read_text(
        encoding="utf-8"
    )
    p = tmp_path / "my_rules.toml"
    p.write_text(top + "\n" + base + "\n" + text, encoding="utf-8")
    return p


def test_bundled_rules_validate() -> None:
    rules = profiles.load_rth_rules("indonesia")
    kinds = {r["kind"] for r in rules["rules"]}
    assert {
        "taman_kota",
        "taman_bermain",
        "hutan_kota",
        "pemakaman",
        "jalur_hijau_jalan",
        "sempadan_sungai",
        "lapangan_olahraga",
        "kebun_bibit",
        "sempadan_rel",
        "tegangan_tinggi",
        "pertanian",
        "taman_pribadi",
        "halaman_institusi",
    } <= kinds


def test_rule_key_typo_is_named(tmp_path: Path) -> None:
    p = _write_rules(
        tmp_path, '[[rules]]\nkind = "taman_kota"\ntags = { leisure = ["park"] }\nrequier = { a = ["b"] }\n'
    )
    with pytest.raises(ProfileError, match="'requier'.*did you mean 'require'"):
        profiles.load_rth_rules(p)


def test_unknown_proximity_class_is_named(tmp_path: Path) -> None:
    p = _write_rules(
        tmp_path, '[[rules]]\nkind = "taman_kota"\ntags = { leisure = ["park"] }\nnear_watreway_m = 30\n'
    )
    with pytest.raises(ProfileError, match="near_watreway_m"):
        profiles.load_rth_rules(p)


def test_unknown_kind_and_top_key(tmp_path: Path) -> None:
    p = _write_rules(tmp_path, '[[rules]]\nkind = "taman_kot"\ntags = { leisure = ["park"] }\n')
    with pytest.raises(ProfileError, match="taman_kot"):
        profiles.load_rth_rules(p)
    p = _write_rules(tmp_path, "", top='tag_column = ["name"]\n')
    with pytest.raises(ProfileError, match="'tag_column'"):
        profiles.load_rth_rules(p)


def test_rules_change_results(green_osm: Path) -> None:
    rules = profiles.load_rth_rules("indonesia")
    rules = {
        **rules,
        "kinds": {**rules["kinds"], "taman_kota": {**rules["kinds"]["taman_kota"], "public": False}},
    }
    spaces, _, _ = classify.classify_green_spaces(
        osm.features_from_file(green_osm), rules=rules, metric_crs=UTM
    )
    assert not spaces.set_index("osmid").loc["way/1", "is_public"]


# ------------------------------------------------------------------------------ real data
def test_real_parks_clipped_to_city(shared_data: Path) -> None:
    feats = osm.features_from_file(
        shared_data / "osm" / "bandung_public_facilities_parks_overpass_2025-06-16.geojson"
    )
    city = gpd.read_file(shared_data / "boundaries" / "bandung_kelurahan_satudata.geojson")
    spaces, points, report = classify.classify_green_spaces(feats, study_area=city, metric_crs=UTM)
    parks = spaces[spaces["leisure"] == "park"]
    assert len(parks) == 383
    assert 232.5 <= parks["area_m2"].sum() / 1e4 <= 234.5
    dissolved_ha = parks.to_crs(UTM).union_all().area / 1e4
    assert dissolved_ha == pytest.approx(233.0, abs=0.05)
    assert (points["leisure"] == "park").sum() == 14 and points["area_m2"].isna().all()
    assert report["excluded"]["point_no_area"] == len(points)
    assert report["input_features"] == 4239
    assert (
        sum(
            report["excluded"].get(k, 0)
            for k in ("not_green", "point_no_area", "line", "outside_study_area", "empty_geometry")
        )
        + len(spaces)
        == 4239
    )
