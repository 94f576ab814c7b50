"""The `report` command end to end on the sample, and its failure modes."""

from __future__ import annotations

import json
import os
import sqlite3

import pandas as pd
import pytest

from bandung_mapping import cli, sample
from bandung_mapping.errors import OutputError

EXPECTED = [
    "indicators_kelurahan.csv", "indicators_kecamatan.csv", "indicators_kota.csv",
    "indicators_kelurahan.parquet", "indicators.gpkg", "indicators.xlsx", "map.html", "report.html", "run.json",
]


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory, sample_dir):
    out = tmp_path_factory.mktemp("report")
    files = sample.sample_files(sample_dir)
    rc = cli.main([
        "--quiet", "report", "--city", "sample", "--boundaries", str(files["boundaries"]),
        "--osm", str(files["osm"]), "--population", str(files["population"]),
        "--red", str(files["red"]), "--nir", str(files["nir"]), "--sensor", "sentinel2", "--out", str(out),
    ])
    assert rc == 0
    return out


def test_report_writes_every_output(report_dir):
    names = set(os.listdir(report_dir))
    missing = [n for n in EXPECTED if n not in names]
    assert not missing, f"missing outputs {missing}; have {sorted(names)}"
    assert not [n for n in names if n.startswith(".")], "staging files left behind"


def test_report_tables_match_truth(report_dir, sample_truth):
    kel = pd.read_csv(report_dir / "indicators_kelurahan.csv", dtype={"zone_id": str, "parent_id": str})
    kota = pd.read_csv(report_dir / "indicators_kota.csv")
    truth_rth = sum(z["rth_area_m2"] for z in sample_truth["kelurahan"].values()) / 1e4
    assert len(kel) == 8 and len(kota) == 1
    assert kota.loc[0, "rth_area_ha"] == pytest.approx(truth_rth, abs=0.01)
    assert kel["rth_area_ha"].sum() == pytest.approx(kota.loc[0, "rth_area_ha"], abs=1e-9)
    assert kel["population"].sum() == kota.loc[0, "population"]
    for col in ["zone_id", "zone_name", "parent_id", "area_ha", "population", "rth_area_ha", "rth_pct",
                "rth_public_ha", "rth_public_pct", "rth_private_pct", "building_count", "building_footprint_ha",
                "building_coverage_pct", "rth_per_capita_m2", "ndvi_mean", "green_cover_pct"]:
        assert col in kel.columns, col


def test_geopackage_layers_and_green_space_columns(report_dir):
    con = sqlite3.connect(report_dir / "indicators.gpkg")
    layers = {r[0] for r in con.execute("select table_name from gpkg_contents")}
    con.close()
    assert {"kelurahan", "kecamatan", "kota", "green_spaces", "buildings"} <= layers
    import geopandas as gpd

    g = gpd.read_file(report_dir / "indicators.gpkg", layer="green_spaces")
    for col in ["rth_jenis", "is_public", "area_m2", "leisure", "landuse", "natural", "name"]:
        assert col in g.columns
    assert (~g["is_public"].astype(bool)).sum() == 1  # the private garden


def test_xlsx_has_every_level(report_dir):
    import openpyxl

    wb = openpyxl.load_workbook(report_dir / "indicators.xlsx", read_only=True)
    assert {"kelurahan", "kecamatan", "kota", "definitions"} <= set(wb.sheetnames)


def test_run_json_records_inputs_and_synthetic(report_dir):
    info = json.loads((report_dir / "run.json").read_text())
    assert info["city"]["levels"] == ["kelurahan", "kecamatan", "kota"]
    roles = {i["role"] for i in info["inputs"]}
    assert {"boundaries", "osm", "population", "red", "nir"} <= roles
    assert all(len(i["sha256"]) == 64 for i in info["inputs"])
    assert info["excluded"].get("green_point_no_area", 0) >= 0
    assert "total" in info["timings_s"]
    assert set(EXPECTED) <= set(info["outputs"])


def test_default_report_is_labelled_synthetic(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("bandung_mapping.settings.cache_folder", str(tmp_path / "cache"))
    rc = cli.main(["report", "--out", str(tmp_path / "out")])
    assert rc == 0
    out = capsys.readouterr()
    assert "SYNTHETIC" in out.out + out.err
    info = json.loads((tmp_path / "out" / "run.json").read_text())
    assert info["synthetic"] is True
    assert "sintetis" in (tmp_path / "out" / "report.html").read_text(encoding="utf-8").lower()


def test_missing_input_path_is_a_clear_error(tmp_path, capsys):
    rc = cli.main(["report", "--boundaries", str(tmp_path / "nope.geojson"), "--out", str(tmp_path / "o")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "boundary file" in err and "nope.geojson" in err and "Traceback" not in err


def test_unwritable_output_dir(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rc = cli.main(["report", "--out", str(blocker / "sub")])
    assert rc == 2
    assert "output" in capsys.readouterr().err
    from bandung_mapping.outputs import check_output_dir

    with pytest.raises(OutputError, match="expected"):
        check_output_dir(blocker)


def test_failed_run_leaves_no_partial_files(tmp_path, sample_study, monkeypatch):
    from bandung_mapping import maps, run_report

    def boom(*a, **k):
        raise RuntimeError("map writer failed")

    monkeypatch.setattr(maps, "save_map", boom)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("user file")
    with pytest.raises(RuntimeError):
        run_report(sample_study, out, progress=False)
    assert sorted(os.listdir(out)) == ["keep.txt"]


def test_rerun_removes_outputs_of_the_earlier_run(tmp_path, sample_dir, monkeypatch):
    """A run without a raster into a folder of a run with one leaves no stale ndvi.tif behind."""
    files = sample.sample_files(sample_dir)
    out = tmp_path / "out"
    base = ["--quiet", "report", "--city", "sample", "--boundaries", str(files["boundaries"]),
            "--osm", str(files["osm"]), "--population", str(files["population"]), "--out", str(out)]
    assert cli.main(base + ["--red", str(files["red"]), "--nir", str(files["nir"]), "--sensor", "sentinel2"]) == 0
    assert (out / "ndvi.tif").exists()
    (out / "notes-by-user.txt").write_text("keep me")
    assert cli.main(base) == 0
    assert not (out / "ndvi.tif").exists()
    assert (out / "notes-by-user.txt").exists()
    info = json.loads((out / "run.json").read_text())
    assert set(info["outputs"]) == {p for p in os.listdir(out) if p != "notes-by-user.txt"}


def test_boundaries_alone_leave_rth_unmeasured(tmp_path, sample_dir):
    files = sample.sample_files(sample_dir)
    out = tmp_path / "o"
    assert cli.main(["--quiet", "report", "--city", "sample", "--boundaries", str(files["boundaries"]),
                     "--out", str(out)]) == 0
    kota = pd.read_csv(out / "indicators_kota.csv").iloc[0]
    assert pd.isna(kota["rth_pct"]) and pd.isna(kota["building_coverage_pct"])
    assert pd.isna(kota["ok__uu_26_2007__rth_30pct"])
    assert kota["area_ha"] == pytest.approx(640.0, abs=0.01)


def test_buildings_layer_carries_distances(report_dir):
    import geopandas as gpd

    b = gpd.read_file(report_dir / "indicators.gpkg", layer="buildings")
    assert {"dist_to_green_m", "dist_to_green_euclid_m"} <= set(b.columns)
    ok = b["dist_to_green_m"].notna()
    assert ok.mean() > 0.95
    # walking is never shorter than the straight line
    assert (b.loc[ok, "dist_to_green_m"] >= b.loc[ok, "dist_to_green_euclid_m"] - 1e-6).all()


def test_english_labels_and_per_kecamatan_reports(tmp_path, sample_dir):
    files = sample.sample_files(sample_dir)
    out = tmp_path / "en"
    assert cli.main(["--quiet", "report", "--city", "sample", "--boundaries", str(files["boundaries"]),
                     "--osm", str(files["osm"]), "--population", str(files["population"]),
                     "--lang", "en", "--per-kecamatan", "--out", str(out)]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in page and "Green open space (% of area)" in page
    assert "RTH (% luas wilayah)" not in page
    assert "Green open space (% of area)" in (out / "map.html").read_text(encoding="utf-8")
    per = out / "per_kecamatan"
    assert (per / "index.html").is_file()
    assert len(list(per.glob("kecamatan_*.html"))) == 3
    info = json.loads((out / "run.json").read_text())
    assert "per_kecamatan/index.html" in info["outputs"]


def test_stac_flag_searches_and_reads_the_best_scene(tmp_path, sample_dir, monkeypatch):
    """--stac START/END: the CLI searches, takes the first (least cloudy) item and reads its bands."""
    from bandung_mapping import stac
    from bandung_mapping.study_area import RasterSources

    files = sample.sample_files(sample_dir)
    calls = {}

    def fake_find(area, start, end, *, max_cloud_pct):
        calls["search"] = (start, end, max_cloud_pct, len(area))
        return ["best-item", "other-item"]

    class Bands:
        def sources(self):
            return RasterSources(red=str(files["red"]), nir=str(files["nir"]), sensor="sentinel2",
                                 date="2024-08-21")

    def fake_read(item, area, *, boa_offset=None):
        calls["read"] = item
        return Bands()

    monkeypatch.setattr(stac, "find_sentinel2", fake_find)
    monkeypatch.setattr(stac, "read_stac_bands", fake_read)
    out = tmp_path / "stac"
    base = ["--quiet", "report", "--city", "sample", "--boundaries", str(files["boundaries"]),
            "--osm", str(files["osm"]), "--out", str(out)]
    assert cli.main(base + ["--stac", "2024-08-01/2024-08-31", "--max-cloud", "10"]) == 0
    assert calls == {"search": ("2024-08-01", "2024-08-31", 10.0, 8), "read": "best-item"}
    kota = pd.read_csv(out / "indicators_kota.csv").iloc[0]
    assert kota["green_cover_pct"] == pytest.approx(3.125, abs=0.01)
    assert json.loads((out / "run.json").read_text())["satellite_date"] == "2024-08-21"
    assert cli.main(base + ["--stac", "2024-08-01"]) == 2  # not START/END
