"""Tests of compare.py on small fake report folders whose answers are worked out by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from bandung_mapping.compare import COMPARISON_COLUMNS, compare_runs, comparison_table, read_run
from bandung_mapping.errors import InputError, OutputError

# A minimal Indonesian rule and an international one, carried inside run.json (as a run
# records the thresholds it applied), so the tests do not depend on other profiles.
UU = {
    "id": "uu_test",
    "name": {"en": "Test RTH 30 %", "id": "Uji RTH 30 %"},
    "citation": "test",
    "country": "ID",
    "checks": [{"id": "rth_30pct", "indicator": "rth_pct", "op": ">=", "threshold": 30.0, "unit": "pct"}],
}
WHO = {
    "id": "who_test",
    "name": {"en": "Test WHO access"},
    "citation": "test",
    "country": "INT",
    "checks": [{"id": "access_50", "indicator": "pop_within_300m_green_0_5ha_pct", "op": ">=",
                "threshold": 50.0, "unit": "pct"}],
}


def _write_run(folder: Path, *, city: dict, tables: dict[str, pd.DataFrame], rasters: bool,
               standards: list[dict], synthetic: bool = False, roles=("boundaries", "population")) -> Path:
    folder.mkdir(parents=True)
    for level, t in tables.items():
        t.to_csv(folder / f"indicators_{level}.csv", index=False)
    info = {
        "tool": "bandung-mapping",
        "version": "0.1.0",
        "created": "2026-09-01T10:00:00",
        "city": city,
        "synthetic": synthetic,
        "inputs": [{"role": r, "path": f"{r}.dat", "sha256": ""} for r in roles],
        "standards": standards,
        "rasters": {"given": rasters, "date": None},
        "methods": {"distance": "euclidean", "population": "uniform", "parks_as_points": "parks" in roles},
    }
    (folder / "run.json").write_text(json.dumps(info), encoding="utf-8")
    return folder


@pytest.fixture
def bandung_run(tmp_path: Path) -> Path:
    """Four kelurahan with RTH, access and green cover; one kecamatan; the city."""
    low = pd.DataFrame({
        "zone_id": ["01", "02", "03", "04"],
        "zone_name": ["A", "B", "C", "D"],
        "parent_id": ["K1"] * 4,
        "area_ha": [100.0] * 4,
        "population": [1000.0] * 4,
        "rth_pct": [10.0, 20.0, 35.0, 40.0],
        "rth_per_capita_m2": [10.0, 20.0, 35.0, 40.0],
        "park_area_per_capita_m2": [1.0, 2.0, 3.0, 4.0],
        "pop_within_300m_green_0_5ha_pct": [0.0, 25.0, 50.0, 100.0],
        "green_cover_pct": [5.0, 10.0, 15.0, 20.0],
    })
    mid = low.iloc[:1].assign(zone_id="K1", zone_name="Kec", parent_id="KOTA")
    top = pd.DataFrame({
        "zone_id": ["KOTA"], "zone_name": ["Kota Uji"], "parent_id": [""], "area_ha": [400.0],
        "population": [4000.0], "rth_pct": [26.25], "rth_per_capita_m2": [26.25],
        "park_area_per_capita_m2": [2.5], "pop_within_300m_green_0_5ha_pct": [43.75],
        "green_cover_pct": [12.5],
    })
    city = {"id": "bandung", "name": "Kota Bandung", "country": "ID",
            "levels": ["kelurahan", "kecamatan", "kota"], "metric_crs": "EPSG:32748",
            "standards": ["uu_test", "who_test"]}
    tables = {"kelurahan": low, "kecamatan": mid, "kota": top}
    return _write_run(tmp_path / "bandung", city=city, tables=tables, rasters=True, standards=[UU, WHO])


@pytest.fixture
def daegu_run(tmp_path: Path) -> Path:
    """Five dong with park area per person 2, 4, 6, 8, 20 m²; no raster, no green_cover_pct column."""
    low = pd.DataFrame({
        "zone_id": ["2711051000", "2711052000", "2714051000", "2714052000", "2714053000"],
        "zone_name": ["d1", "d2", "d3", "d4", "d5"],
        "parent_id": ["27110", "27110", "27140", "27140", "27140"],
        "area_ha": [50.0] * 5,
        "population": [100.0] * 5,
        "rth_pct": [1.0] * 5,
        "rth_per_capita_m2": [2.0, 4.0, 6.0, 8.0, 20.0],
        "park_area_per_capita_m2": [2.0, 4.0, 6.0, 8.0, 20.0],
        "pop_within_300m_green_0_5ha_pct": [60.0, 70.0, 80.0, 90.0, 100.0],
    })
    mid = low.iloc[:2].assign(zone_id=["27110", "27140"], parent_id="27")
    top = pd.DataFrame({
        "zone_id": ["27"], "zone_name": ["Daegu"], "parent_id": [""], "area_ha": [250.0],
        "population": [500.0],
        "rth_pct": [1.0], "rth_per_capita_m2": [8.0], "park_area_per_capita_m2": [8.0],
        "pop_within_300m_green_0_5ha_pct": [80.0],
    })
    city = {"id": "daegu", "name": "Daegu", "country": "KR", "levels": ["dong", "gu", "si"],
            "metric_crs": "EPSG:5186",
            "standards": ["kr_urban_park_6m2", "daegu_park_target_2030", "who_test"]}
    tables = {"dong": low, "gu": mid, "si": top}
    return _write_run(tmp_path / "daegu", city=city, tables=tables, rasters=False,
                      standards=[{"id": "kr_urban_park_6m2"}, {"id": "daegu_park_target_2030"}, WHO],
                      roles=("boundaries", "population", "parks"))


def _row(table: pd.DataFrame, city: str, indicator: str, standard: str = "") -> pd.Series:
    sel = table[(table.city_id == city) & (table.indicator == indicator) & (table.standard_id == standard)]
    assert len(sel) == 1, sel
    return sel.iloc[0]


def test_distribution_and_rules_by_hand(bandung_run: Path, daegu_run: Path) -> None:
    """Median, p10, p90 and shares of zones meeting each rule, checked by hand."""
    t = comparison_table([read_run(bandung_run), read_run(daegu_run)])
    assert list(t.columns) == COMPARISON_COLUMNS
    park = _row(t, "daegu", "park_area_per_capita_m2")
    # values 2, 4, 6, 8, 20: median 6; linear percentiles p10 = 2 + 0.4*2, p90 = 8 + 0.6*12
    assert park.measured and park.city_value == 8.0 and park.zones_n == 5
    assert park.zone_median == pytest.approx(6.0)
    assert park.zone_p10 == pytest.approx(2.8)
    assert park.zone_p90 == pytest.approx(15.2)
    six = _row(t, "daegu", "park_area_per_capita_m2", "kr_urban_park_6m2")
    assert six.scope == "national" and six.threshold == 6.0
    assert six.city_meets is True or six.city_meets == True  # noqa: E712
    assert six.zones_meeting_pct == pytest.approx(60.0)  # 6, 8, 20
    target = _row(t, "daegu", "park_area_per_capita_m2", "daegu_park_target_2030")
    assert target.threshold == 12.5 and not target.city_meets
    assert target.zones_meeting_pct == pytest.approx(20.0)  # only 20
    # the Korean rules are not applied to Bandung, the Indonesian one not to Daegu
    assert t[(t.city_id == "bandung") & t.standard_id.str.startswith("kr_")].empty
    assert t[(t.city_id == "daegu") & (t.standard_id == "uu_test")].empty
    rth = _row(t, "bandung", "rth_pct", "uu_test")
    assert rth.city_value == 26.25 and not rth.city_meets and rth.zones_meeting_pct == pytest.approx(50.0)
    # the international rule applies to both cities
    who_b = _row(t, "bandung", "pop_within_300m_green_0_5ha_pct", "who_test")
    who_d = _row(t, "daegu", "pop_within_300m_green_0_5ha_pct", "who_test")
    assert who_b.scope == who_d.scope == "international"
    assert who_b.zones_meeting_pct == pytest.approx(50.0) and who_d.zones_meeting_pct == pytest.approx(100.0)
    assert "disc" in who_d.note  # parks given as points: stated


def test_missing_raster_is_not_measured(bandung_run: Path, daegu_run: Path) -> None:
    """A run without a raster says so instead of showing a green-cover number."""
    t = comparison_table([read_run(bandung_run), read_run(daegu_run)])
    g = _row(t, "daegu", "green_cover_pct")
    assert not g.measured and math.isnan(g.city_value) and math.isnan(g.zone_median)
    assert g.note == "not measured: no satellite raster given"
    b = _row(t, "bandung", "green_cover_pct")
    assert b.measured and b.city_value == 12.5 and b.zone_median == pytest.approx(12.5)


def test_all_nan_column_is_not_measured(tmp_path: Path, bandung_run: Path, daegu_run: Path) -> None:
    """An all-NaN indicator is not measured, with the reason (no population)."""
    low = pd.read_csv(daegu_run / "indicators_dong.csv", dtype={"zone_id": str})
    low["population"] = float("nan")
    low["park_area_per_capita_m2"] = float("nan")
    low.to_csv(daegu_run / "indicators_dong.csv", index=False)
    top = pd.read_csv(daegu_run / "indicators_si.csv", dtype={"zone_id": str})
    top["park_area_per_capita_m2"] = float("nan")
    top.to_csv(daegu_run / "indicators_si.csv", index=False)
    t = comparison_table([read_run(bandung_run), read_run(daegu_run)])
    row = _row(t, "daegu", "park_area_per_capita_m2", "kr_urban_park_6m2")
    assert not row.measured and row.note == "not measured: no population given"
    assert pd.isna(row.city_meets) and math.isnan(row.zones_meeting_pct)


def test_compare_writes_html_and_csv(tmp_path: Path, bandung_run: Path, daegu_run: Path) -> None:
    """Both files are written, self-contained, with both city names and stable columns."""
    out = tmp_path / "cmp"
    html_path = compare_runs(bandung_run, daegu_run, out)
    assert html_path == out / "comparison.html"
    # nothing else is left behind (no temporary files)
    assert sorted(p.name for p in out.iterdir()) == ["comparison.csv", "comparison.html"]
    html = html_path.read_text(encoding="utf-8")
    assert "Kota Bandung" in html and "Daegu" in html
    assert "not measured: no satellite raster given" in html
    assert "data:image/png;base64," in html
    assert "<link" not in html and "<script" not in html  # self-contained
    csv = pd.read_csv(out / "comparison.csv")
    assert list(csv.columns) == COMPARISON_COLUMNS
    assert set(csv.city_id) == {"bandung", "daegu"}


def test_compare_in_bahasa_indonesia(tmp_path: Path, bandung_run: Path, daegu_run: Path) -> None:
    """lang='id' speaks Bahasa Indonesia with decimal commas; lang='ko' Korean."""
    html = compare_runs(bandung_run, daegu_run, tmp_path / "id", lang="id").read_text(encoding="utf-8")
    assert 'lang="id"' in html
    assert "tidak diukur: tidak ada citra satelit" in html
    assert "26,25" in html  # Indonesian decimal comma
    ko = compare_runs(bandung_run, daegu_run, tmp_path / "ko", lang="ko").read_text(encoding="utf-8")
    assert "자매도시 비교" in ko


def test_text_from_run_files_is_escaped(tmp_path: Path, bandung_run: Path, daegu_run: Path) -> None:
    """Text read from run.json is escaped in the HTML."""
    info = json.loads((daegu_run / "run.json").read_text(encoding="utf-8"))
    info["city"]["name"] = "<script>alert(1)</script>"
    (daegu_run / "run.json").write_text(json.dumps(info), encoding="utf-8")
    html = compare_runs(bandung_run, daegu_run, tmp_path / "x").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_synthetic_run_is_flagged(tmp_path: Path, bandung_run: Path, daegu_run: Path) -> None:
    """A synthetic run gets a banner and a column."""
    info = json.loads((bandung_run / "run.json").read_text(encoding="utf-8"))
    info["synthetic"] = True
    (bandung_run / "run.json").write_text(json.dumps(info), encoding="utf-8")
    html = compare_runs(bandung_run, daegu_run, tmp_path / "s").read_text(encoding="utf-8")
    assert "SYNTHETIC DATA" in html
    assert pd.read_csv(tmp_path / "s" / "comparison.csv").groupby("city_id").synthetic.first().to_dict() == {
        "bandung": True, "daegu": False}


def test_bad_inputs_name_what_was_expected(tmp_path: Path, bandung_run: Path, daegu_run: Path) -> None:
    """Bad folders raise InputError naming the expected files."""
    with pytest.raises(InputError, match="run folder not found"):
        compare_runs(tmp_path / "nope", daegu_run, tmp_path / "o")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no run.json.*indicators_<level>.csv"):
        compare_runs(bandung_run, empty, tmp_path / "o")
    (empty / "run.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        read_run(empty)
    (empty / "run.json").write_text(json.dumps({"tool": "x"}), encoding="utf-8")
    with pytest.raises(InputError, match="city.id, city.name or city.levels"):
        read_run(empty)
    (daegu_run / "indicators_dong.csv").unlink()
    with pytest.raises(InputError, match=r"indicators_dong\.csv"):
        read_run(daegu_run)
    with pytest.raises(InputError, match="lang"):
        compare_runs(bandung_run, bandung_run, tmp_path / "o", lang="fr")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError):
        compare_runs(bandung_run, bandung_run, blocker)


def test_same_city_twice_is_told_apart(tmp_path: Path, bandung_run: Path) -> None:
    """Two runs of one city are labelled by their folder names."""
    html = compare_runs(bandung_run, bandung_run, tmp_path / "same").read_text(encoding="utf-8")
    assert "Kota Bandung (bandung)" in html
