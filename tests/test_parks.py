"""Tests of parks.py on tiny park lists and squares whose answers are worked out by hand."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from bandung_mapping.errors import CRSError, DataQualityWarning, InputError, InputFileError
from bandung_mapping.parks import PARK_COLUMNS, assign_to_zones, parks_as_discs, parks_by_zone, parks_from_csv
from bandung_mapping.profiles import load_city

HEADER = "관리번호,공원명,공원구분,위도,경도,공원면적,제공기관명"
ROWS = [
    "27110-00001,가공원,어린이공원,35.87,128.60,1500.5,중구",
    "27110-00001,가공원,어린이공원,35.87,128.60,1500.5,대구광역시",  # same park, second provider
    "27110-00002,나공원,근린공원,35.88,128.61,\"12,000\",중구",  # thousands separator
    "27110-00003,다공원,묘지공원,,128.62,900,중구",  # no latitude
    "27110-00004,라공원,소공원,35.89,128.63,,중구",  # no area
    "27110-00005,마공원,근린공원,35.90,128.64,0,중구",  # area 0: kept, adds nothing
    "27110-00001,바공원,역사공원,35.91,128.65,300,중구",  # same number, other park: kept
]


def _write(path: Path, rows=ROWS, encoding: str = "utf-8") -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding=encoding)
    return path


def test_parks_from_csv_by_hand(tmp_path: Path) -> None:
    """Columns, kinds, dropped and duplicate rows of a tiny list."""
    with pytest.warns(DataQualityWarning, match="dropped 2 of 7 rows"):
        parks = parks_from_csv(_write(tmp_path / "parks.csv"), city="daegu")
    assert list(parks.columns) == PARK_COLUMNS
    assert parks.crs.to_epsg() == 4326
    assert parks["park_id"].tolist() == ["27110-00001", "27110-00002", "27110-00005", "27110-00001"]
    assert parks["name"].tolist() == ["가공원", "나공원", "마공원", "바공원"]
    assert parks["park_type"].tolist() == ["어린이공원", "근린공원", "근린공원", "역사공원"]
    assert parks["rth_jenis"].tolist() == ["taman_bermain", "taman_kota", "taman_kota", "taman_kota"]
    assert parks["area_m2"].tolist() == [1500.5, 12000.0, 0.0, 300.0]
    assert parks["is_public"].all() and (parks["source"] == "parks.csv").all()
    assert (parks.geometry.x.tolist(), parks.geometry.y.tolist()) == ([128.60, 128.61, 128.64, 128.65],
                                                                      [35.87, 35.88, 35.90, 35.91])
    assert parks.attrs["excluded"] == {"read": 7, "missing_coordinates": 1, "missing_area": 1, "duplicate": 1,
                                       "kept": 4, "zero_area_kept": 1}


def test_cp949_file_reads_the_same(tmp_path: Path) -> None:
    """A CP949 file gives the same parks as its UTF-8 twin."""
    with pytest.warns(DataQualityWarning):
        utf8 = parks_from_csv(_write(tmp_path / "u.csv"), city="daegu")
    with pytest.warns(DataQualityWarning):
        cp = parks_from_csv(_write(tmp_path / "c.csv", encoding="cp949"), city="daegu")
    assert cp.attrs["encoding"] == "cp949"
    assert cp.drop(columns="source").equals(utf8.drop(columns="source"))


def test_types_map_through_the_profile(tmp_path: Path) -> None:
    """Park types map to rth_jenis through the profile, unknown ones to the default."""
    rows = ["1,a,묘지공원,35.8,128.6,10,x", "2,b,체육공원,35.8,128.6,10,x", "3,c,새유형,35.8,128.6,10,x"]
    parks = parks_from_csv(_write(tmp_path / "p.csv", rows), city=load_city("daegu"))
    # the last type is not in the profile: default_kind
    assert parks["rth_jenis"].tolist() == ["pemakaman", "lapangan_olahraga", "taman_kota"]


def test_column_overrides_and_errors(tmp_path: Path) -> None:
    """Column overrides work; missing columns and files raise typed errors."""
    path = tmp_path / "other.csv"
    path.write_text("id,lat,lon,size\nA,35.8,128.6,50\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"lacks column\(s\).*위도"):
        parks_from_csv(path, city="daegu")
    parks = parks_from_csv(path, city="daegu",
                           columns={"id": "id", "lat": "lat", "lon": "lon", "area": "size", "name": "id",
                                    "kind": "id"})
    assert parks["area_m2"].tolist() == [50.0] and parks["park_id"].tolist() == ["A"]
    with pytest.raises(InputError, match="unknown role"):
        parks_from_csv(path, city="daegu", columns={"latitude": "lat"})
    with pytest.raises(InputError, match=r"no \[parks\] column"):
        parks_from_csv(path, city="bandung")
    with pytest.raises(InputFileError, match="park list CSV not found"):
        parks_from_csv(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(HEADER.encode("utf-8") + b"\n\xff\xfe\xfa,\x80\n")
    with pytest.raises(InputFileError, match="could not be decoded"):
        parks_from_csv(bad, city="daegu")
    none_ok = _write(tmp_path / "none.csv", ["1,a,근린공원,,,,x"])
    with pytest.warns(DataQualityWarning), pytest.raises(InputError, match="no usable row"):
        parks_from_csv(none_ok, city="daegu")


def _points(areas, crs="EPSG:5186"):
    return gpd.GeoDataFrame({"area_m2": areas, "name": [f"p{i}" for i in range(len(areas))]},
                            geometry=[shapely.Point(1000 * i, 500) for i in range(len(areas))], crs=crs,
                            index=[10 * (i + 1) for i in range(len(areas))])


def test_discs_have_the_official_area() -> None:
    """Discs have exactly the official area and sit on the point."""
    pts = _points([5000.0, 0.0, math.pi * 100**2])
    discs = parks_as_discs(pts)
    assert discs.index.tolist() == [10, 20, 30] and "geometry" in pts and pts.geom_type.eq("Point").all()
    assert discs.area.iloc[0] == pytest.approx(5000.0, rel=1e-9)
    assert discs.geometry.iloc[1].is_empty
    # a circle of radius 100 m: the 64-gon of equal area has a radius slightly larger than 100 m
    r = discs["disc_radius_m"].iloc[2]
    assert 100.0 < r < 100.0 * 1.001
    assert discs.geometry.iloc[2].centroid.distance(pts.geometry.iloc[2]) < 1e-6
    with pytest.raises(CRSError):
        parks_as_discs(pts.to_crs(4326))
    with pytest.raises(InputError, match="without an area_m2"):
        parks_as_discs(_points([np.nan]))


@settings(max_examples=50, deadline=None)
@given(area=st.floats(min_value=1.0, max_value=5e6), quad_segs=st.integers(min_value=2, max_value=32))
def test_disc_area_property(area: float, quad_segs: int) -> None:
    """Any area and segment count gives a disc of that area."""
    disc = parks_as_discs(_points([area]), quad_segs=quad_segs)
    assert disc.area.iloc[0] == pytest.approx(area, rel=1e-9)


@pytest.fixture
def squares() -> gpd.GeoDataFrame:
    """Two 100 m squares side by side: Z1 x 0..100, Z2 x 100..200 (EPSG:5186)."""
    return gpd.GeoDataFrame(
        {"zone_id": ["Z1", "Z2"], "population": [100.0, 0.0]},
        geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)], crs="EPSG:5186",
    )


def test_assign_and_sum_by_zone(squares: gpd.GeoDataFrame) -> None:
    """Points go to the zone that contains them; outside ones are counted."""
    pts = gpd.GeoDataFrame(
        {"area_m2": [10.0, 20.0, 40.0, 80.0]},
        geometry=[shapely.Point(x, 50) for x in (50, 150, 100, 500)],
        crs="EPSG:5186", index=["a", "b", "c", "d"],
    )
    zone = assign_to_zones(pts, squares)
    assert zone.to_dict() == {"a": "Z1", "b": "Z2", "c": "Z1", "d": None}  # border point: first zone
    res = parks_by_zone(pts.to_crs(4326), squares.to_crs(4326), metric_crs="EPSG:5186")
    assert res.index.tolist() == ["Z1", "Z2"]
    assert res["park_count"].tolist() == [2, 1]
    assert res["park_area_m2"].tolist() == [50.0, 20.0]
    assert res.loc["Z1", "park_area_per_capita_m2"] == pytest.approx(0.5)
    assert math.isnan(res.loc["Z2", "park_area_per_capita_m2"])  # population 0
    assert res.attrs == {"parks_outside": 1, "park_area_outside_m2": 80.0}
    with pytest.raises(CRSError):
        parks_by_zone(pts, squares, metric_crs="EPSG:4326")
    with pytest.raises(InputError, match="zone_id"):
        parks_by_zone(pts, squares.drop(columns="zone_id"))


def test_profile_kinds_are_kinds_of_the_rules() -> None:
    """Every rth_jenis the Daegu profile maps a park type to is a kind of its RTH rules."""
    from bandung_mapping.profiles import PROFILE_DIR, read_toml

    city = load_city("daegu")
    kinds = set(read_toml(PROFILE_DIR / "rth_rules" / f"{city.rth_rules}.toml")["kinds"])
    assert set(city.parks["kinds"].values()) | {city.parks["default_kind"]} <= kinds
