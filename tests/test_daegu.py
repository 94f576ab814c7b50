"""Daegu, the second city profile: boundaries, population by code, parks given as points.

Real-data tests read the files in ``shared_data.parent / "daegu"`` (see its PROVENANCE.md);
the code helpers are also tested on tiny tables worked out by hand.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from bandung_mapping import _codes
from bandung_mapping.errors import InputError, JoinError
from bandung_mapping.parks import parks_by_zone, parks_from_csv
from bandung_mapping.profiles import load_city, load_standard

GU_POP_2026_08 = {  # MOIS resident registration, 2026-08, sums per gu of the dong rows
    "중구": 101894, "동구": 338699, "서구": 163319, "남구": 141722,
    "북구": 406214, "수성구": 407570, "달서구": 512577, "달성군": 251789,
}


# ---------------------------------------------------------------- code helpers, by hand

def test_split_codes() -> None:
    """Cells with several codes become one row per code."""
    s = _codes.split_codes(pd.Series(["11; 12", "13", None, "14.0", ""], index=[5, 6, 7, 8, 9]))
    assert s.tolist() == ["11", "12", "13", "14"] and s.index.tolist() == [5, 5, 6, 8]


def test_period_column() -> None:
    """Dated value columns are picked by year and period, the latest by default."""
    cols = ["dong", "population_2025-12", "population_2026-07", "population_2026-08", "male_2026-08"]
    pat = "population_{year}-{period}"
    assert _codes.period_column(cols, pattern=pat) == "population_2026-08"
    assert _codes.period_column(cols, pattern=pat, year=2026, period=7) == "population_2026-07"
    assert _codes.period_column(cols, pattern=pat, year=2025) == "population_2025-12"
    with pytest.raises(InputError, match="available"):
        _codes.period_column(cols, pattern=pat, year=2024)
    with pytest.raises(InputError, match="no column named like"):
        _codes.period_column(["a"], pattern=pat)
    with pytest.raises(InputError, match="year"):
        _codes.period_column(cols, pattern="population_{period}")


def test_join_on_codes_by_hand() -> None:
    """Multi-code rows, successor codes, unmatched and ambiguous rows."""
    zones = pd.Series(["A", "B", "C"], index=[3, 1, 2])
    table = pd.DataFrame({
        "codes": ["A;A-branch", "B", "NEW", "X;Y", "B"],
        "pop": [10, 20, 5, 7, 1],
    })
    values, unmatched = _codes.join_on_codes(zones, table, code_column="codes", value_column="pop",
                                             successor_codes={"NEW": "A"})
    assert values.to_dict() == {3: 15.0, 1: 21.0, 2: pytest.approx(float("nan"), nan_ok=True)}
    assert unmatched["codes"].tolist() == ["X;Y"]
    with pytest.raises(JoinError, match="several zones"):
        _codes.join_on_codes(zones, pd.DataFrame({"codes": ["A;B"], "pop": [1]}), code_column="codes",
                             value_column="pop")
    with pytest.raises(JoinError, match="unique"):
        _codes.join_on_codes(pd.Series(["A", "A"]), table, code_column="codes", value_column="pop")
    with pytest.raises(InputError, match="lacks column"):
        _codes.join_on_codes(zones, table, code_column="code", value_column="pop")


def test_korean_standards_fit_the_shared_format() -> None:
    """The Korean rules load through the shared standards validator."""
    six = load_standard("kr_urban_park_6m2")
    target = load_standard("daegu_park_target_2030")
    assert six["country"] == target["country"] == "KR"
    assert [(c["indicator"], c["op"], c["threshold"]) for c in six["checks"]] == [
        ("park_area_per_capita_m2", ">=", 6.0)]
    assert target["checks"][0]["threshold"] == 12.5 and target["per_capita"][0]["target_m2"] == 12.5
    assert "제4조" in six["citation"]
    assert {"kr_urban_park_6m2", "daegu_park_target_2030"} <= set(load_city("daegu").standards)


# ---------------------------------------------------------------- real files

@pytest.fixture(scope="module")
def daegu(shared_data: Path) -> Path:
    """Return the Daegu data folder beside the Bandung one."""
    folder = shared_data.parent / "daegu"
    if not folder.is_dir():
        pytest.skip("Daegu data folder not found beside the Bandung one")
    return folder


@pytest.fixture(scope="module")
def zones(daegu: Path) -> dict[str, gpd.GeoDataFrame]:
    """Dong, gu and city zones from the 2021-04 haengjeong-dong layer."""
    from bandung_mapping.boundaries import zones_from_file

    path = daegu / "boundaries" / "daegu_haengjeongdong_admdongkor_2021-04.geojson"
    return zones_from_file(path, city="daegu")


@pytest.fixture(scope="module")
def pop_table(daegu: Path) -> pd.DataFrame:
    """Read the MOIS population table as text."""
    return pd.read_csv(daegu / "stats" / "daegu_population_dong_mois_2026-08.csv", dtype=str)


@pytest.fixture(scope="module")
def joined(daegu: Path, zones) -> tuple[dict[str, gpd.GeoDataFrame], dict]:
    """Join the population through the public population module."""
    from bandung_mapping.population import join_population, read_population

    table = read_population(daegu / "stats" / "daegu_population_dong_mois_2026-08.csv", city="daegu")
    return join_population(zones, table, city="daegu")


@pytest.fixture(scope="module")
def dong(joined) -> gpd.GeoDataFrame:
    """Return the 141 dong with their 2026-08 population."""
    return joined[0]["dong"]


@pytest.fixture(scope="module")
def parks(daegu: Path) -> gpd.GeoDataFrame:
    """Read the urban-park standard data of Daegu."""
    return parks_from_csv(daegu / "stats" / "daegu_urban_parks_standard_data_2023.csv", city="daegu")


def test_levels_141_dong_8_gu_1_city(zones) -> None:
    """141 dong in 8 gu/gun and one city."""
    assert list(zones) == ["dong", "gu", "si"]
    assert len(zones["dong"]) == 141 and len(zones["gu"]) == 8 and len(zones["si"]) == 1
    assert set(zones["gu"]["zone_name"]) == set(GU_POP_2026_08)
    assert set(zones["dong"]["parent_id"]) == set(zones["gu"]["zone_id"])
    assert zones["dong"].groupby("parent_id").size().to_dict()["27110"] == 12  # 중구


def test_every_dong_gets_population_and_gunwi_is_reported(zones, pop_table, caplog) -> None:
    """The code join fills every dong and reports 군위군."""
    city = load_city("daegu")
    with caplog.at_level("WARNING", logger="bandung_mapping._codes"):
        values, unmatched, column = _codes.join_with_profile(zones["dong"]["zone_id"], pop_table,
                                                             population=city.population)
    assert column == "population_2026-08"
    assert values.notna().all() and len(values) == 141
    assert values.sum() == 2_323_784
    # 군위군 (in Daegu since 2023-07) has no polygon in the 2021 dong layer: reported, not dropped
    assert set(unmatched["sgg_name"]) == {"군위군"} and len(unmatched) == 8
    assert pd.to_numeric(unmatched[column]).sum() == 22_493
    assert "군위군: 8 rows, 22,493 people" in caplog.text
    # 유천동, split off 진천동 after 2021-04, is counted in 진천동's polygon (profile successor_codes)
    jincheon = values[zones["dong"]["zone_id"] == "2729061500"].iloc[0]
    assert jincheon == 49_166 + 32_805
    # a multi-code row (논공읍 and its branch office) joins its one polygon
    assert values[zones["dong"]["zone_id"] == "2771025300"].iloc[0] == 14_755
    gu_name = zones["dong"]["parent_id"].map(zones["gu"].set_index("zone_id")["zone_name"])
    by_gu = values.groupby(gu_name).sum()
    assert by_gu.to_dict() == GU_POP_2026_08
    # another month is chosen by year and period
    prev, _, col = _codes.join_with_profile(zones["dong"]["zone_id"], pop_table, population=city.population,
                                            year=2026, period=7)
    assert col == "population_2026-07" and prev.sum() == 2_324_837


def test_population_module_joins_every_dong(joined) -> None:
    """read_population + join_population: every dong by code, 군위군 reported, sums up the levels."""
    zones, report = joined
    assert report["matched"] == 141 and report["by_method"]["code"] == 141
    assert report["unmatched_zones"] == []
    assert {r["parent_name"] for r in report["unmatched_rows"]} == {"군위군"}
    assert len(report["unmatched_rows"]) == 8
    assert report["joined_total"] == 2_323_784 and report["table_total"] == 2_346_277
    assert zones["dong"]["population"].notna().all()
    assert zones["gu"].set_index("zone_name")["population"].to_dict() == GU_POP_2026_08
    assert zones["si"]["population"].tolist() == [2_323_784]


def test_park_list_deduplicated(parks) -> None:
    """Duplicates dropped and counted; areas and types as in the provenance notes."""
    ex = parks.attrs["excluded"]
    assert ex["read"] == 644 and ex["duplicate"] == 8 and len(parks) == 636
    assert ex["missing_coordinates"] == 0 and ex["missing_area"] == 0 and ex["zero_area_kept"] == 1
    assert parks["area_m2"].sum() / 1e6 == pytest.approx(16.87, abs=0.005)
    assert parks["park_type"].value_counts()["어린이공원"] == 408
    assert parks.loc[parks["park_type"] == "묘지공원", "rth_jenis"].tolist() == ["pemakaman"]
    assert not parks.duplicated(["park_id", "name"]).any()


def test_park_area_per_person_city_and_gu(parks, dong, zones) -> None:
    """Park area per person for the city and per gu, with parks outside reported."""
    res = parks_by_zone(parks, dong, metric_crs="EPSG:5186")
    # 633 parks in the 8 gu; the 3 outside every dong are the 군위군 ones (code 27720)
    assert res["park_count"].sum() == 633
    assert res.attrs["parks_outside"] == 3
    assert res.attrs["park_area_outside_m2"] == pytest.approx(1875 + 874 + 1627)
    area = res["park_area_m2"].sum()
    assert area / 1e6 == pytest.approx(16.87, abs=0.005)
    pop = dong["population"].sum()
    assert pop == 2_323_784
    assert area / pop == pytest.approx(7.26, abs=0.05)
    # per gu: an independent point-in-polygon in EPSG:5186 gives the same park area / population
    pts = parks.to_crs(5186)
    polys = dong.to_crs(5186)[["parent_id", "geometry"]]
    joined = gpd.sjoin(pts, polys, predicate="within", how="inner")
    assert len(joined) == 633
    gu_area = joined.groupby("parent_id")["area_m2"].sum()
    gu_pop = dong.groupby("parent_id")["population"].sum()
    ours = res["park_area_m2"].groupby(dong.set_index("zone_id")["parent_id"]).sum() / gu_pop
    expected = gu_area / gu_pop
    pd.testing.assert_series_equal(ours.sort_index(), expected.sort_index(), check_names=False)
    names = zones["gu"].set_index("zone_id")["zone_name"]
    measured = {names[k]: round(v, 2) for k, v in ours.items()}
    assert measured == {"중구": 2.33, "동구": 5.61, "서구": 1.83, "남구": 25.70, "북구": 3.12,
                        "수성구": 6.51, "달서구": 8.58, "달성군": 9.82}
