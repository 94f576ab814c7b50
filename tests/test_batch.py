"""Batch runs: config checks, task expansion, Dask results equal to serial ones, failures reported."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from bandung_mapping import batch
from bandung_mapping.errors import InputError, ProfileError


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- config checks (fast)
def test_unknown_area_key_is_named(tmp_path: Path) -> None:
    cfg = _write(tmp_path / "b.toml", '[[area]]\nname = "a"\nsample = true\npopulaton = "x.csv"\n')
    with pytest.raises(ProfileError, match=r"unknown key 'populaton'.*did you mean 'population'"):
        batch.read_batch_config(cfg)


def test_unknown_top_and_default_keys_are_named(tmp_path: Path) -> None:
    cfg = _write(tmp_path / "b.toml", 'output = "runs"\n[[area]]\nname = "a"\nsample = true\n')
    with pytest.raises(ProfileError, match="unknown key 'output'"):
        batch.read_batch_config(cfg)
    cfg = _write(tmp_path / "c.toml", '[defaults]\nlanguage = "id"\n[[area]]\nname = "a"\nsample = true\n')
    with pytest.raises(ProfileError, match=r"\[defaults\].*unknown key 'language'"):
        batch.read_batch_config(cfg)


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="not valid TOML"):
        batch.read_batch_config(_write(tmp_path / "b.toml", "[[area]\n"))
    with pytest.raises(ProfileError, match="not found"):
        batch.read_batch_config(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('out = "r"\n', "missing required key 'area'"),
        ('[[area]]\nsample = true\n', "missing required key 'name'"),
        ('[[area]]\nname = "a"\n', "give boundaries, place or sample = true"),
        ('[[area]]\nname = "a/b"\nsample = true\n', "becomes a folder name"),
        ('[[area]]\nname = "a"\nsample = true\n[[area]]\nname = "a"\nsample = true\n', "used twice"),
        ('[[area]]\nname = "a"\nsample = true\ndates = ["2024-01-01"]\n', "contains '{date}'"),
        ('[[area]]\nname = "a"\nsample = true\nred = "r_{date}.tif"\n', "no dates are given"),
        ('[[area]]\nname = "a"\nsample = true\nred = "r_{date}.tif"\ndates = []\n', "non-empty list"),
    ],
)
def test_config_errors(tmp_path: Path, body: str, message: str) -> None:
    cfg = _write(tmp_path / "b.toml", body)
    with pytest.raises(ProfileError, match=message):
        batch.batch_tasks(cfg)


def test_tasks_resolve_paths_defaults_and_dates(tmp_path: Path) -> None:
    cfg = _write(tmp_path / "b.toml", """
out = "runs"
[defaults]
city = "bandung"
lang = "en"
year = 2023
[[area]]
name = "kota"
boundaries = "in/kel.geojson"
osm = "in/parks.geojson"
population = "/abs/pop.csv"
red = "s2/{date}/B04.tif:1"
nir = "s2/{date}/B08.tif"
dates = ["2024-08-21", "2024-09-10"]
year = 2022
[[area]]
name = "s"
sample = true
""")
    tasks, root = batch.batch_tasks(cfg)
    assert root == tmp_path / "runs"
    assert [t.name for t in tasks] == ["kota_2024-08-21", "kota_2024-09-10", "s"]
    t = tasks[0]
    assert t.out_dir == tmp_path / "runs" / "kota_2024-08-21"
    assert t.load["boundaries"] == str(tmp_path / "in" / "kel.geojson")
    assert t.load["osm"] == [str(tmp_path / "in" / "parks.geojson")]
    assert t.load["population"] == "/abs/pop.csv"
    assert t.load["red"] == str(tmp_path / "s2" / "2024-08-21" / "B04.tif") + ":1"
    assert tasks[1].load["nir"] == str(tmp_path / "s2" / "2024-09-10" / "B08.tif")
    assert t.load["raster_date"] == "2024-08-21" and t.date == "2024-08-21"
    assert t.load["year"] == 2022 and t.load["city"] == "bandung"  # the area wins over the defaults
    assert t.report == {"lang": "en"}
    s = tasks[2]
    assert s.sample_dir == tmp_path / "runs" / "s" / "inputs"
    assert s.load == {"city": "bandung", "year": 2023, "synthetic": True}
    tasks2, root2 = batch.batch_tasks(cfg, out=tmp_path / "elsewhere")
    assert root2 == tmp_path / "elsewhere" and tasks2[2].out_dir == tmp_path / "elsewhere" / "s"


def test_sample_area_defaults_to_the_sample_city(tmp_path: Path) -> None:
    tasks, _ = batch.batch_tasks({"area": [{"name": "a", "sample": True}]}, out=tmp_path)
    assert tasks[0].load == {"city": "sample", "synthetic": True}


def test_bad_arguments(tmp_path: Path) -> None:
    cfg = {"area": [{"name": "a", "sample": True}]}
    with pytest.raises(InputError, match="workers must be a positive integer"):
        batch.run_batch(cfg, out=tmp_path, workers=0)
    with pytest.raises(InputError, match="serial=True"):
        batch.run_batch(cfg, out=tmp_path, serial=True, scheduler="tcp://127.0.0.1:1")


def test_summary_names_failed_tasks() -> None:
    res = batch.BatchResult(
        out_dir=Path("runs"), runner="serial", seconds=1.0,
        tasks=[
            {"name": "good", "ok": True, "error": "", "files": ["a", "b"], "seconds": 2.0,
             "kota": {"rth_pct": 12.345, "rth_area_ha": 1000.0, "population": float("nan")}},
            {"name": "bad", "ok": False, "error": "InputFileError: cannot read kel.geojson", "files": [],
             "seconds": 0.1, "kota": {}},
        ],
    )
    text = res.summary()
    assert not res.ok and [t["name"] for t in res.failed] == ["bad"]
    assert "2 task(s), 1 ok, 1 failed" in text
    assert "RTH 12.35 %" in text and "1,000.0 ha" in text and "pop" not in text
    assert "FAILED  bad   InputFileError: cannot read kel.geojson" in text
    assert text.splitlines()[-1] == "1 task(s) failed: bad"
    frame = res.to_frame()
    assert list(frame["name"]) == ["good", "bad"] and list(frame["ok"]) == [True, False]


def test_cli_exit_code_for_a_failed_batch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bandung_mapping.cli import main

    _write(tmp_path / "kel.geojson", "{ this is not geojson")
    cfg = _write(tmp_path / "b.toml", '[[area]]\nname = "broken"\ncity = "sample"\nboundaries = "kel.geojson"\n')
    code = main(["batch", str(cfg), "--serial", "--out", str(tmp_path / "runs")])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAILED  broken" in out and "kel.geojson" in out
    assert (tmp_path / "runs" / "batch.json").exists()


# --------------------------------------------------------------------------- real runs
def _population_times(src: Path, dst: Path, factor: int) -> None:
    with open(src, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    col = rows[0].index("jumlah_penduduk")
    for r in rows[1:]:
        r[col] = str(int(r[col]) * factor)
    with open(dst, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


def sample_truth_rth_ha(truth: dict) -> float:
    return sum(z["rth_area_m2"] for z in truth["kelurahan"].values()) / 1e4


@pytest.fixture(scope="module")
def batch_runs(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """Three sample-based areas and one broken one, run on a 2-worker LocalCluster and serially."""
    base = tmp_path_factory.mktemp("batch")
    inputs = base / "inputs"
    for name in ("b", "c", "broken"):
        shutil.copytree(sample_dir, inputs / name)
    _population_times(sample_dir / "sample_penduduk_kelurahan.csv", inputs / "c" / "pop.csv", 2)
    _write(inputs / "broken" / "sample_kelurahan.geojson", '{"type": "FeatureCollection", "features": [')
    cfg = _write(base / "batch.toml", """
out = "unused"
[defaults]
city = "sample"
lang = "en"
synthetic = true

[[area]]
name = "a"
sample = true

[[area]]
name = "b"                       # no population table
boundaries = "inputs/b/sample_kelurahan.geojson"
osm = ["inputs/b/sample_city.osm"]

[[area]]
name = "c"                       # population doubled, rasters too
boundaries = "inputs/c/sample_kelurahan.geojson"
osm = ["inputs/c/sample_city.osm"]
population = "inputs/c/pop.csv"
red = "inputs/c/sample_S2_B04_10m.tif"
nir = "inputs/c/sample_S2_B08_10m.tif"
sensor = "sentinel2"

[[area]]
name = "broken"                  # a corrupt boundary file
boundaries = "inputs/broken/sample_kelurahan.geojson"
osm = ["inputs/broken/sample_city.osm"]
""")
    dask_res = batch.run_batch(cfg, out=base / "dask", workers=2)
    serial_res = batch.run_batch(cfg, out=base / "serial", serial=True)
    return dask_res, serial_res


def test_batch_on_local_cluster_equals_serial(batch_runs) -> None:
    dask_res, serial_res = batch_runs
    assert dask_res.runner.startswith("LocalCluster, 2 worker")
    assert serial_res.runner == "serial"
    assert [t["name"] for t in dask_res.tasks] == ["a", "b", "c", "broken"]
    for d, s in zip(dask_res.tasks[:3], serial_res.tasks[:3]):
        assert d["ok"] and s["ok"], (d["error"], s["error"])
        assert d["files"] == s["files"]
        csvs = sorted(p for p in d["files"] if p.endswith(".csv"))
        assert {"indicators_kelurahan.csv", "indicators_kecamatan.csv", "indicators_kota.csv"} <= set(csvs)
        for name in csvs:
            a = (Path(d["out_dir"]) / name).read_bytes()
            b = (Path(s["out_dir"]) / name).read_bytes()
            assert a == b, f"{d['name']}/{name} differs between the Dask and the serial run"
        assert str(d["kota"]) == str(s["kota"])  # NaN-safe equality of every value


def test_batch_areas_are_kept_apart(batch_runs, sample_truth: dict) -> None:
    dask_res, _ = batch_runs
    a, b, c = (t["kota"] for t in dask_res.tasks[:3])
    people = sum(z["population"] for z in sample_truth["kelurahan"].values())
    assert a["population"] == people
    assert b["population"] != b["population"]  # NaN: no population table
    assert c["population"] == 2 * people
    assert a["rth_area_ha"] == pytest.approx(sample_truth_rth_ha(sample_truth), abs=0.01)
    assert b["rth_area_ha"] == pytest.approx(a["rth_area_ha"], rel=1e-12)
    assert c["rth_area_ha"] == pytest.approx(a["rth_area_ha"], rel=1e-12)
    root = dask_res.out_dir
    assert (root / "a" / "inputs" / "sample_city.osm").exists()  # sample = true writes its inputs
    assert (root / "c" / "map.html").exists() and (root / "a" / "report.html").exists()


def test_broken_area_does_not_stop_the_others(batch_runs) -> None:
    for res in batch_runs:
        assert not res.ok
        assert [t["name"] for t in res.failed] == ["broken"]
        bad = res.failed[0]
        assert bad["error"].split(":")[0].endswith("Error")
        assert "sample_kelurahan.geojson" in bad["error"]
        text = res.summary()
        assert "3 ok, 1 failed" in text and "FAILED  broken" in text
        assert not (res.out_dir / "broken" / "indicators_kota.csv").exists()
        frame = (res.out_dir / "batch.csv").read_text(encoding="utf-8")
        assert frame.splitlines()[0].startswith("name,ok,error,date,seconds")
        assert (res.out_dir / "batch.json").exists()
