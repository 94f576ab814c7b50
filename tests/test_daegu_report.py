"""Daegu's report keeps to its own country's rules and credits its own sources."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest

from bandung_mapping import cli, report
from bandung_mapping.profiles import load_city, load_standard


@pytest.fixture(scope="module")
def daegu_run(shared_data, tmp_path_factory):
    d = shared_data.parent / "daegu"
    out = tmp_path_factory.mktemp("daegu") / "out"
    code = cli.main(["report", "--city", "daegu", "--lang", "en",
                     "--boundaries", str(d / "boundaries" / "daegu_haengjeongdong_admdongkor_2021-04.geojson"),
                     "--population", str(d / "stats" / "daegu_population_dong_mois_2026-08.csv"),
                     "--parks", str(d / "stats" / "daegu_urban_parks_standard_data_2023.csv"), "--out", str(out)])
    assert code == 0
    return out


def test_daegu_applies_no_indonesian_rule(daegu_run):
    run = json.loads((daegu_run / "run.json").read_text())
    ids = {s["id"] for s in run["standards"]}
    assert ids and not ids & {"uu_26_2007", "permen_pu_05_2008"}
    page = (daegu_run / "report.html").read_text()
    assert "UU 26/2007" not in page and "Permen PU" not in page
    # no 30 % line: the target of a chart comes from the city's own standards
    std = [load_standard(s) for s in load_city("daegu").standards]
    assert report._target_line(std, "rth_pct") is None
    assert report._target_line([load_standard("uu_26_2007")], "rth_pct") == 30.0


def test_daegu_parks_are_on_the_map_and_in_the_geopackage(daegu_run, shared_data):
    import pandas as pd

    parks = pd.read_csv(shared_data.parent / "daegu" / "stats" / "daegu_urban_parks_standard_data_2023.csv")
    n = len(parks.drop_duplicates(["관리번호", "공원명"]))
    layer = gpd.read_file(daegu_run / "indicators.gpkg", layer="green_points")
    assert len(layer) == n
    page = (daegu_run / "map.html").read_text()
    shown = [name for name in layer["name"].astype(str).head(20) if json.dumps(name)[1:-1] in page or name in page]
    assert len(shown) == 20


def test_daegu_sources_come_from_its_profile_not_osm(daegu_run):
    page = (daegu_run / "report.html").read_text()
    assert "OpenStreetMap" not in page
    assert "CC BY 4.0" in page and "data.go.kr" in page
