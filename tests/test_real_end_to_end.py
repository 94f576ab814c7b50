"""The `report` and `compare` commands on the real Bandung and Daegu files (the issues' done-when checks)."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest

from bandung_mapping import cli


@pytest.fixture(scope="module")
def bandung_run(shared_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("bandung")
    rc = cli.main([
        "--quiet", "report",
        "--boundaries", str(shared_data / "boundaries" / "bandung_kelurahan_satudata.geojson"),
        "--osm", str(shared_data / "osm" / "bandung_public_facilities_parks_overpass_2025-06-16.geojson"),
        "--population", str(shared_data / "stats" / "penduduk_kelurahan_disdukcapil_2017_2024.csv"),
        "--year", "2022",
        "--scl", str(shared_data / "raster" / "bandung_s2l2a_T48MYT_20240821_SCL_20m.jp2"),
        "--out", str(out),
    ])
    assert rc == 0
    return out


@pytest.fixture(scope="module")
def daegu_run(shared_data, tmp_path_factory):
    daegu = shared_data.parent / "daegu"
    out = tmp_path_factory.mktemp("daegu")
    rc = cli.main([
        "--quiet", "report", "--city", "daegu",
        "--boundaries", str(daegu / "boundaries" / "daegu_haengjeongdong_admdongkor_2021-04.geojson"),
        "--parks", str(daegu / "stats" / "daegu_urban_parks_standard_data_2023.csv"),
        "--population", str(daegu / "stats" / "daegu_population_dong_mois_2026-08.csv"),
        "--out", str(out),
    ])
    assert rc == 0
    return out


def read_tables(run, levels):
    """The indicator table of each level of a finished run, lowest first."""
    return {lv: pd.read_csv(run / f"indicators_{lv}.csv") for lv in levels}


def test_bandung_real_report(bandung_run):
    tables = read_tables(bandung_run, ("kelurahan", "kecamatan", "kota"))
    assert [len(t) for t in tables.values()] == [151, 30, 1]
    kota = tables["kota"].iloc[0]
    assert kota["population"] == 2_530_448
    assert kota["area_ha"] == pytest.approx(16_822, rel=0.005)
    green = gpd.read_file(bandung_run / "indicators.gpkg", layer="green_spaces")
    parks = green[green["leisure"] == "park"]
    assert 232.5 <= parks["area_m2"].sum() / 1e4 <= 234.5
    # satellite green cover from the Sentinel-2 scene classification, beside (not mixed with) RTH
    assert kota["green_cover_pct"] == pytest.approx(20.4, abs=0.5)
    kel = tables["kelurahan"]
    assert kel["green_cover_pct"].median() == pytest.approx(10.2, abs=1.0)
    assert kota["rth_pct"] < kota["green_cover_pct"]
    for col in ["pop_within_300m_green_0_5ha_pct", "pop_within_400m_public_open_space_pct",
                "pop_within_rt_radius_pct", "pop_within_rw_radius_pct", "rth_gap_to_30pct_ha",
                "rth_public_gap_to_20pct_ha", "rth_per_capita_deficit_m2", "ok__uu_26_2007__rth_30pct"]:
        assert col in kota.index, col
    info = json.loads((bandung_run / "run.json").read_text())
    assert info["excluded"]["green_point_no_area"] == 26
    assert info["qa"]["boundaries"]["n_zones"] == 151
    assert info["methods"]["distance"] == "euclidean"


def test_daegu_real_report(daegu_run):
    tables = read_tables(daegu_run, ("dong", "gu", "si"))
    assert [len(t) for t in tables.values()] == [141, 8, 1]
    si = tables["si"].iloc[0]
    assert si["population"] == 2_323_784
    assert si["park_area_per_capita_m2"] == pytest.approx(7.26, abs=0.05)
    gu = tables["gu"]
    assert (gu["park_area_per_capita_m2"] == gu["park_area_ha"] * 1e4 / gu["population"]).all()
    assert bool(si["ok__kr_urban_park_6m2__park_per_capita_6m2"]) is True
    assert bool(si["ok__daegu_park_target_2030__park_per_capita_12_5m2"]) is False


def test_compare_bandung_and_daegu(bandung_run, daegu_run, tmp_path):
    out = tmp_path / "cmp"
    assert cli.main(["--quiet", "compare", str(bandung_run), str(daegu_run), "--out", str(out)]) == 0
    html = (out / "comparison.html").read_text(encoding="utf-8")
    assert "Kota Bandung" in html and "Daegu" in html
    table = pd.read_csv(out / "comparison.csv")
    assert set(table["city_id"]) == {"bandung", "daegu"}
    daegu_gc = table[(table["city_id"] == "daegu") & (table["indicator"] == "green_cover_pct")]
    assert daegu_gc["note"].astype(str).str.contains("not measured").all()
