"""Bad inputs give typed errors naming what was seen and expected, through the API and the CLI alike."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
import shapely.affinity

from bandung_mapping import boundaries, cli
from bandung_mapping.errors import CRSError
from bandung_mapping.projection import check_coordinates


@pytest.fixture(scope="module")
def kelurahan(sample_dir: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(sample_dir / "sample_kelurahan.geojson")


def _swapped(g: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = g.copy()
    out["geometry"] = shapely.transform(g.geometry.values, lambda c: c[:, ::-1])
    return out


def _mislabelled(kel: gpd.GeoDataFrame) -> dict[str, tuple[gpd.GeoDataFrame, str]]:
    return {
        "degrees_as_utm": (kel.set_crs("EPSG:32748", allow_override=True), r"cannot be in EPSG:32748.*degrees"),
        "metres_as_degrees": (
            kel.to_crs("EPSG:32748").set_crs("EPSG:4326", allow_override=True),
            r"not degrees.*projected metres",
        ),
        "swapped": (_swapped(kel), r"latitude/longitude swapped"),
        "other_region": (
            kel.set_geometry(kel.geometry.translate(xoff=-100.0)),
            r"outside the city's region",
        ),
    }


@pytest.mark.parametrize("case", ["degrees_as_utm", "metres_as_degrees", "swapped", "other_region"])
def test_mislabelled_coordinates_are_errors_in_the_api(kelurahan, case):
    gdf, message = _mislabelled(kelurahan)[case]
    with pytest.raises(CRSError, match=message):
        boundaries.zones_from_gdf(gdf, city="sample", source=case)


@pytest.mark.parametrize("case", ["degrees_as_utm", "metres_as_degrees", "swapped"])
def test_mislabelled_coordinates_exit_2_in_the_cli(kelurahan, sample_dir, tmp_path, capsys, case):
    gdf, message = _mislabelled(kelurahan)[case]
    path = tmp_path / f"{case}.gpkg"
    gdf.to_file(path)
    out = tmp_path / "out"
    code = cli.main(
        ["report", "--boundaries", str(path), "--osm", str(sample_dir / "sample_city.osm"), "--out", str(out)]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err and case in err
    assert not out.exists() or not any(p.suffix in {".csv", ".html"} for p in out.iterdir())


def test_correct_coordinates_pass(kelurahan):
    check_coordinates(kelurahan, name="kelurahan", region_crs="EPSG:32748")
    check_coordinates(kelurahan.to_crs("EPSG:32748"), name="kelurahan", region_crs="EPSG:32748")
    check_coordinates(kelurahan.to_crs("EPSG:3857"), name="kelurahan", region_crs="EPSG:32748")


# ----------------------------------------------------------------------------- broken or empty inputs


def _run(argv: list[str], capsys) -> tuple[int, str]:
    code = cli.main(argv)
    return code, capsys.readouterr().err


def _sample_report(sample_dir: Path, out: Path, *extra: str) -> list[str]:
    """``report`` arguments for the sample's boundaries and OSM file, then ``extra``."""
    return [
        "report",
        "--boundaries",
        str(sample_dir / "sample_kelurahan.geojson"),
        "--osm",
        str(sample_dir / "sample_city.osm"),
        *extra,
        "--out",
        str(out),
    ]


def _zero_raster(sample_dir: Path, path: Path) -> Path:
    import numpy as np
    import rasterio

    with rasterio.open(sample_dir / "sample_S2_B04_10m.tif") as src:
        profile, shape = src.profile, src.shape
    profile.update(nodata=0)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.zeros(shape, dtype=profile["dtype"]), 1)
    return path


def test_ndvi_all_nodata_is_an_error_and_writes_nothing(sample_dir, tmp_path, capsys):
    zero = _zero_raster(sample_dir, tmp_path / "zero.tif")
    out = tmp_path / "ndvi.tif"
    code, err = _run(["ndvi", "--red", str(zero), "--nir", str(zero), "--out", str(out)], capsys)
    assert code == 2 and "no valid pixel" in err and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".ndvi*"))


def test_report_on_all_nodata_bands_is_not_zero_green(sample_dir, tmp_path, capsys):
    zero = _zero_raster(sample_dir, tmp_path / "zero.tif")
    out = tmp_path / "out"
    code, err = _run(
        _sample_report(sample_dir, out, "--red", str(zero), "--nir", str(zero), "--sensor", "generic"),
        capsys,
    )
    assert code == 2 and "no valid pixel" in err
    assert not (out / "indicators_kota.csv").exists()


def test_landcover_without_scheme_classes_is_an_error(sample_dir, tmp_path, capsys):
    out = tmp_path / "out"
    code, err = _run(
        _sample_report(sample_dir, out, "--landcover", str(sample_dir / "sample_S2_B04_10m.tif")),
        capsys,
    )
    assert code == 2 and "valid class of the 'worldcover' scheme" in err
    assert not (out / "indicators_kota.csv").exists()


@pytest.mark.parametrize("cut", [0, 100, 30_000])
def test_truncated_raster_is_an_error(sample_dir, tmp_path, capsys, cut):
    bad = tmp_path / "cut.tif"
    bad.write_bytes((sample_dir / "sample_S2_B04_10m.tif").read_bytes()[:cut])
    code, err = _run(
        [
            "ndvi",
            "--red",
            str(bad),
            "--nir",
            str(sample_dir / "sample_S2_B08_10m.tif"),
            "--out",
            str(tmp_path / "n.tif"),
        ],
        capsys,
    )
    assert code == 2 and "Traceback" not in err and "cut.tif" in err
    assert not (tmp_path / "n.tif").exists()


def test_empty_boundaries_are_an_error(sample_dir, tmp_path, capsys):
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    code, err = _run(
        [
            "report",
            "--boundaries",
            str(empty),
            "--osm",
            str(sample_dir / "sample_city.osm"),
            "--out",
            str(tmp_path / "out"),
        ],
        capsys,
    )
    assert code == 2 and "no features" in err


# ----------------------------------------------------------------------------- typed errors, not tracebacks


def test_api_arguments_of_the_wrong_kind_are_typed_errors(sample_dir):
    import bandung_mapping as bm
    from bandung_mapping import sample
    from bandung_mapping.errors import InputError

    with pytest.raises(InputError, match="measure needs a StudyArea"):
        bm.measure(None)
    with pytest.raises(InputError, match="run_report needs a StudyArea"):
        bm.run_report("study", sample_dir / "out")
    inputs = sample.sample_inputs(sample_dir, with_raster=False)
    with pytest.raises(InputError, match="year must be a year"):
        bm.load_study_area(city="sample", year="dua ribu", **inputs)
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        bm.load_study_area(city="sample", raster_date="2024-13-45", **inputs)


def test_long_zone_ids_give_short_unique_file_names():
    from bandung_mapping.report import _slug

    a, b = _slug("kecamatan_" + "x" * 400 + "a"), _slug("kecamatan_" + "x" * 400 + "b")
    assert len(a) <= 100 and len(b) <= 100 and a != b
    assert _slug("kecamatan_32.73.01") == "kecamatan_32.73.01"


# ----------------------------------------------------------------------------- data quality on screen and in the report


def test_data_quality_findings_on_screen_and_in_the_report(sample_dir, tmp_path, capsys):
    import pandas as pd

    kel = gpd.read_file(sample_dir / "sample_kelurahan.geojson").to_crs("EPSG:32748")
    kel.loc[0, "geometry"] = kel.geometry[0].buffer(30)  # overlaps its neighbours
    bounds = tmp_path / "overlap.geojson"
    kel.to_crs("EPSG:4326").to_file(bounds)
    t = pd.read_csv(sample_dir / "sample_penduduk_kelurahan.csv", dtype=str)
    ghost = t.iloc[[-2]].assign(
        KODE_KD="99.09.09.9999",
        kemendagri_nama_desa_kelurahan="HILANG",
        bps_desa_kelurahan="HILANG",
        bps_kode_desa_kelurahan="9909099999",
        id="999",
    )
    people = int(ghost["jumlah_penduduk"].iloc[0])
    pd.concat([t, t.iloc[[-1]], ghost]).to_csv(tmp_path / "pop.csv", index=False)
    out = tmp_path / "out"
    code = cli.main(
        [
            "report",
            "--boundaries",
            str(bounds),
            "--osm",
            str(sample_dir / "sample_city.osm"),
            "--population",
            str(tmp_path / "pop.csv"),
            "--lang",
            "en",
            "--out",
            str(out),
        ]
    )
    screen = capsys.readouterr().out
    assert code == 0
    expected = [
        f"1 population table row(s) matched no zone ({people:,} people not counted): HILANG",
        "1 exact duplicate population row(s) dropped",
        "overlapping zone pair(s)",
    ]
    report = (out / "report.html").read_text(encoding="utf-8")
    for line in expected:
        assert line in screen
        assert line in report


def test_sentinel2_bands_recognised_without_sensor(sample_dir, tmp_path, capsys):
    from bandung_mapping.raster import detect_sensor

    assert detect_sensor(sample_dir / "sample_S2_B04_10m.tif") == "sentinel2"
    zero = _zero_raster(sample_dir, tmp_path / "plain.tif")  # no metadata
    assert detect_sensor(zero) == "generic"
    out = tmp_path / "n.tif"
    code, err = _run(
        [
            "ndvi",
            "--red",
            str(sample_dir / "sample_S2_B04_10m.tif"),
            "--nir",
            str(sample_dir / "sample_S2_B08_10m.tif"),
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0 and "recognised as sentinel2" in err


def test_swapped_red_and_nir_warn(sample_dir, tmp_path, caplog):
    from bandung_mapping.raster import write_ndvi

    with caplog.at_level("WARNING", logger="bandung_mapping"):
        write_ndvi(
            sample_dir / "sample_S2_B08_10m.tif",
            sample_dir / "sample_S2_B04_10m.tif",
            tmp_path / "swapped.tif",
            sensor="sentinel2",
        )
    assert "swapped" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="bandung_mapping"):
        write_ndvi(
            sample_dir / "sample_S2_B04_10m.tif",
            sample_dir / "sample_S2_B08_10m.tif",
            tmp_path / "right.tif",
            sensor="sentinel2",
        )
    assert "swapped" not in caplog.text


def test_duplicate_zone_codes_with_other_names_are_an_error(kelurahan):
    from bandung_mapping.errors import InputError

    g = kelurahan.copy()
    g.loc[1, "kode_kelurahan"] = g.loc[0, "kode_kelurahan"]
    with pytest.raises(InputError, match=r"1 kelurahan code\(s\) are shared by zones of different names"):
        boundaries.zones_from_gdf(g, city="sample", source="dup")
    same = g.copy()
    same.loc[1, "nama_kelurahan"] = same.loc[0, "nama_kelurahan"]  # one zone in two polygons: merged
    assert len(boundaries.zones_from_gdf(same, city="sample", source="dup")["kelurahan"]) == len(g) - 1


def test_a_zone_of_another_place_is_left_out_and_counted(kelurahan, sample_dir, tmp_path, capsys):
    g = kelurahan.copy()
    g.loc[len(g) - 1, "geometry"] = shapely.affinity.translate(g.geometry.iloc[-1], xoff=1.5)  # ~165 km east
    z = boundaries.zones_from_gdf(g, city="sample", source="stray")
    assert len(z["kelurahan"]) == len(g) - 1
    assert z["kelurahan"].attrs["qa"]["zones_far_from_the_rest"] == 1
    path = tmp_path / "stray.geojson"
    g.to_file(path)
    code = cli.main(
        [
            "report",
            "--boundaries",
            str(path),
            "--osm",
            str(sample_dir / "sample_city.osm"),
            "--lang",
            "en",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0
    assert "1 zone(s) excluded: far from the other zones" in capsys.readouterr().out


def test_zones_whose_city_attribute_names_another_place_are_left_out(kelurahan, sample_dir, tmp_path, capsys):
    g = kelurahan.copy()
    g["WADMKK"] = "Kota Bandung"
    g.loc[[0, 3], "WADMKK"] = ["Kabupaten Bandung", "Kota Cimahi"]
    z = boundaries.zones_from_gdf(g, city="bandung", source="mixed")
    qa = z["kelurahan"].attrs["qa"]
    assert len(z["kelurahan"]) == len(g) - 2
    assert qa["zones_of_another_city"] == 2
    assert qa["other_city_names"] == ["Kabupaten Bandung", "Kota Cimahi"]
    assert set(z["kelurahan"]["zone_name"]) == set(g["nama_kelurahan"].iloc[[1, 2] + list(range(4, len(g)))])
    from bandung_mapping.errors import InputError

    with pytest.raises(InputError, match=r"no zone belongs to Kota Bandung.*'WADMKK' names \['Kota Cimahi'\]"):
        boundaries.zones_from_gdf(g.assign(WADMKK="Kota Cimahi"), city="bandung", source="cimahi")
    path = tmp_path / "mixed.geojson"
    g.to_file(path)
    code = cli.main(["report", "--city", "bandung", "--boundaries", str(path), "--osm",
                     str(sample_dir / "sample_city.osm"), "--lang", "en", "--out", str(tmp_path / "out")])
    assert code == 0
    out = capsys.readouterr().out
    assert "2 zone(s) excluded: their city attribute names another place (Kabupaten Bandung, Kota Cimahi)" in out
    import json

    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["excluded"]["zones_of_another_city"] == 2


def test_real_daegu_dong_of_another_sido_are_left_out(shared_data):
    path = shared_data.parent / "daegu" / "boundaries" / "daegu_haengjeongdong_admdongkor_2021-04.geojson"
    g = gpd.read_file(path)
    assert (g["sidonm"] == "대구광역시").all()
    g.loc[g.index[:2], "sidonm"] = "경상북도"
    z = boundaries.zones_from_gdf(g, city="daegu", source=path.name)
    assert len(z["dong"]) == len(g) - 2
    assert z["dong"].attrs["qa"]["zones_of_another_city"] == 2


def test_place_with_boundaries_says_which_is_used(sample_dir, tmp_path, capsys):
    code = cli.main(
        [
            "report",
            "--boundaries",
            str(sample_dir / "sample_kelurahan.geojson"),
            "--osm",
            str(sample_dir / "sample_city.osm"),
            "--place",
            "Kota Bandung",
            "--lang",
            "en",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0
    assert "zones come from sample_kelurahan.geojson; place 'Kota Bandung' gives nothing" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("flag", "name", "content"),
    [
        ("--network", "net.geojson", b"\x00\x01 not a vector file"),
        ("--network", "net.graphml", b"<graphml"),
        ("--population", "pop.csv", b""),
        ("--candidates", "land.geojson", b"{]"),
        ("--scl", "scl.tif", b"II*\x00 truncated"),
    ],
)
def test_unreadable_inputs_are_one_line_errors(sample_dir, tmp_path, capsys, flag, name, content):
    bad = tmp_path / name
    bad.write_bytes(content)
    out = tmp_path / "out"
    code, err = _run(_sample_report(sample_dir, out, flag, str(bad)), capsys)
    assert code == 2 and "Traceback" not in err and name in err
    assert not (out / "indicators_kota.csv").exists()


def test_code_name_disagreement_in_the_population_join_is_reported_per_zone(sample_dir, tmp_path, capsys):
    import json

    import pandas as pd

    pop = pd.read_csv(sample_dir / "sample_penduduk_kelurahan.csv", dtype=str)
    first = pop["KODE_KD"] == "99.01.01.1001"
    pop.loc[first, "kemendagri_nama_desa_kelurahan"] = "MEKARJAYA LAMA"
    pop.loc[first, "bps_desa_kelurahan"] = "MEKARJAYA LAMA"
    path = tmp_path / "pop.csv"
    pop.to_csv(path, index=False)
    out = tmp_path / "out"
    code = cli.main(["report", "--city", "sample", "--boundaries", str(sample_dir / "sample_kelurahan.geojson"),
                     "--osm", str(sample_dir / "sample_city.osm"), "--population", str(path), "--lang", "en",
                     "--out", str(out)])
    assert code == 0
    assert "1 zone(s) took a population row whose name or code differs" in capsys.readouterr().out
    table = pd.read_csv(out / "indicators_kelurahan.csv", dtype=str)
    row = table.set_index("zone_id").loc["99.01.01.1001"]
    assert row["population_match"] == "code"
    assert row["population_row_name"] == "MEKARJAYA LAMA"
    assert row["population_disagreement"] == "name_differs"
    others = table[table["zone_id"] != "99.01.01.1001"]
    assert others["population_disagreement"].isna().all() and (others["population_match"] == "code").all()
    run = json.loads((out / "run.json").read_text())
    assert run["qa"]["population"]["disagreements"] == 1


@pytest.mark.parametrize("cut", [0.5, 0.98])
def test_truncated_jpeg2000_is_an_error_not_a_partial_read(sample_dir, tmp_path, capsys, cut):
    import numpy as np
    import rasterio

    with rasterio.open(sample_dir / "sample_S2_B04_10m.tif") as src:
        profile = {"driver": "JP2OpenJPEG", "width": src.width, "height": src.height, "count": 1,
                   "dtype": "uint8", "crs": src.crs, "transform": src.transform, "QUALITY": 100, "REVERSIBLE": "YES",
                   "BLOCKXSIZE": 64, "BLOCKYSIZE": 64}
        classes = np.where(src.read(1) < np.median(src.read(1)), 4, 5).astype("uint8")
    whole = tmp_path / "scl.jp2"
    with rasterio.open(whole, "w", **profile) as dst:
        dst.write(classes, 1)
    data = whole.read_bytes()
    bad = tmp_path / "cut_scl.jp2"
    bad.write_bytes(data[: int(len(data) * cut)])
    args = ["report", "--city", "sample", "--boundaries", str(sample_dir / "sample_kelurahan.geojson"),
            "--osm", str(sample_dir / "sample_city.osm"), "--out", str(tmp_path / "out")]
    code, err = _run(args + ["--scl", str(bad)], capsys)
    assert code == 2 and "Traceback" not in err and "cut_scl.jp2 is truncated or corrupt" in err
    assert not list((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True
    code, err = _run(args + ["--scl", str(whole)], capsys)  # the whole file reads
    assert code == 0, err
