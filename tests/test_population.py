"""Population tables: reading by the city profile, joining to zones by code or name."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from bandung_mapping import boundaries, population
from bandung_mapping.errors import InputError, JoinError

HEADER = [
    "id",
    "kode_provinsi",
    "nama_provinsi",
    "bps_kode_kabupaten_kota",
    "bps_nama_kabupaten_kota",
    "bps_kode_kecamatan",
    "bps_nama_kecamatan",
    "bps_kode_desa_kelurahan",
    "bps_desa_kelurahan",
    "kemendagri_kode_kecamatan",
    "kemendagri_nama_kecamatan",
    "KODE_KD",
    "kemendagri_nama_desa_kelurahan",
    "jenis_kelamin",
    "jumlah_penduduk",
    "satuan",
    "semester",
    "tahun",
]


def _row(n: int, kec: str, code: str, name: str, sex: str, value: int, sem: int, year: int) -> list:
    return [n, 99, "P", 9901, "K", "", kec, "", name, code[:8], kec, code, name, sex, value, "ORANG", sem, year]


@pytest.fixture()
def table_csv(tmp_path: Path) -> Path:
    rows = []
    for sem, year, add in ((1, 2023, 0), (2, 2023, 10), (1, 2024, 20)):
        rows += [
            _row(1, "KIDUL", "99.01.01.1001", "SUKAMAJU", "LAKI-LAKI", 100 + add, sem, year),
            _row(2, "KIDUL", "99.01.01.1001", "SUKAMAJU", "PEREMPUAN", 110, sem, year),
            _row(3, "KIDUL", "99.01.01.1002", "SUKA ASIH", "LAKI-LAKI", 200, sem, year),
            _row(4, "KIDUL", "99.01.01.1002", "SUKA ASIH", "PEREMPUAN", 210, sem, year),
            _row(5, "KALER", "99.01.02.1001", "MEKARJAYA", "LAKI-LAKI", 300, sem, year),
            _row(6, "KALER", "99.01.02.1001", "MEKARJAYA", "PEREMPUAN", 310, sem, year),
            _row(7, "KALER", "99.01.02.1009", "LUAR", "LAKI-LAKI", 5, sem, year),
        ]
    p = tmp_path / "penduduk.csv"
    with open(p, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(rows)
    return p


def _zones(tmp_path: Path, *, codes: bool) -> dict[str, gpd.GeoDataFrame]:
    rows = [
        ("Sukamaju", "Kidul", "99.01.01.1001", "99.01.01"),
        ("Sukaasih", "Kidul", "99.01.01.1002", "99.01.01"),
        ("Mekar Jaya", "Kaler", "99.01.02.1001", "99.01.02"),
        ("Cibeunying", "Kaler", "99.01.02.1002", "99.01.02"),
    ]
    data = {"nama_kelurahan": [r[0] for r in rows], "nama_kecamatan": [r[1] for r in rows]}
    if codes:
        data |= {"kode_kelurahan": [r[2] for r in rows], "kode_kecamatan": [r[3] for r in rows]}
    geoms = [shapely.box(107.6 + 0.01 * i, -6.9, 107.61 + 0.01 * i, -6.89) for i in range(4)]
    p = tmp_path / f"kel_{codes}.geojson"
    gpd.GeoDataFrame(data, geometry=geoms, crs=4326).to_file(p)
    return boundaries.zones_from_file(p)


def test_read_sums_sexes_and_picks_dates(table_csv: Path, caplog) -> None:
    latest = population.read_population(table_csv, city="bandung")
    assert latest.attrs["year"] == 2024 and latest.attrs["period"] == "1"
    assert list(latest.columns[:4]) == ["code", "name", "parent_name", "population"]
    by = latest.set_index("code")["population"]
    assert by["99.01.01.1001"] == 100 + 20 + 110 and by["99.01.02.1001"] == 610
    assert latest.set_index("code")["parent_code"].to_dict() == {
        "99.01.01.1001": "99.01.01",
        "99.01.01.1002": "99.01.01",
        "99.01.02.1001": "99.01.02",
        "99.01.02.1009": "99.01.02",
    }
    with caplog.at_level("INFO", logger="bandung_mapping.population"):
        y2023 = population.read_population(table_csv, city="bandung", year=2023)
    assert y2023.attrs["period"] == "1" and "using period 1" in caplog.text
    assert y2023.set_index("code")["population"]["99.01.01.1001"] == 210
    s2 = population.read_population(table_csv, city="bandung", year=2023, period=2)
    assert s2.set_index("code")["population"]["99.01.01.1001"] == 220
    with pytest.raises(InputError, match=r"year 2019 not in the table; it has \[2023, 2024\]"):
        population.read_population(table_csv, city="bandung", year=2019)


def test_missing_column_named(tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="kemendagri_nama_desa_kelurahan"):
        population.read_population(p, city="bandung")


def test_join_by_code_and_sum_up(tmp_path: Path, table_csv: Path) -> None:
    zones = _zones(tmp_path, codes=True)
    table = population.read_population(table_csv, city="bandung", year=2023, period=1)
    out, report = population.join_population(zones, table, city="bandung")
    kel = out["kelurahan"].set_index("zone_id")["population"]
    assert kel["99.01.01.1001"] == 210 and kel["99.01.01.1002"] == 410 and kel["99.01.02.1001"] == 610
    assert math.isnan(kel["99.01.02.1002"])  # Cibeunying is not in the table: kept, NaN, listed
    assert report["by_method"]["code"] == 3
    assert [z["zone_name"] for z in report["unmatched_zones"]] == ["Cibeunying"]
    assert [r["name"] for r in report["unmatched_rows"]] == ["LUAR"]
    kec = out["kecamatan"].set_index("zone_id")["population"]
    assert kec["99.01.01"] == 620 and kec["99.01.02"] == 610
    assert out["kota"]["population"].tolist() == [1230]
    assert report["parents_with_unmatched_children"] == {"kecamatan": ["99.01.02"]}
    assert report["zone_codes"]["99.01.01.1001"] == {
        "code": "99.01.01.1001", "parent_code": "99.01.01", "method": "code"
    }
    assert "99.01.02.1002" not in report["zone_codes"]
    assert zones["kelurahan"]["population"].isna().all()  # input not mutated


def test_join_by_name_spelling_variants(tmp_path: Path, table_csv: Path) -> None:
    zones = _zones(tmp_path, codes=False)
    table = population.read_population(table_csv, city="bandung", year=2023, period=1)
    out, report = population.join_population(zones, table, city="bandung", match_leftover=False)
    kel = out["kelurahan"].set_index("zone_name")["population"]
    # MEKARJAYA = Mekar Jaya and SUKA ASIH = Sukaasih after normalisation
    assert kel["Mekar Jaya"] == 610 and kel["Sukaasih"] == 410 and kel["Sukamaju"] == 210
    assert report["by_method"]["name"] == 3 and report["by_method"]["code"] == 0
    assert report["zone_codes"]["kaler/mekar-jaya"] == {
        "code": "99.01.02.1001", "parent_code": "99.01.02", "method": "name"
    }
    # the leftover pair in Kaler (Cibeunying / LUAR) is joined only when asked
    out2, report2 = population.join_population(zones, table, city="bandung")
    assert report2["leftover_matches"][0]["zone_name"] == "Cibeunying"
    assert out2["kota"]["population"].iloc[0] == 1235


def test_join_fuzzy(tmp_path: Path, table_csv: Path) -> None:
    zones = _zones(tmp_path, codes=False)
    table = population.read_population(table_csv, city="bandung", year=2023, period=1)
    table.loc[table["name"] == "SUKAMAJU", ["name", "alt_name"]] = "SUKAMAJOE"
    out, report = population.join_population(zones, table, city="bandung", match_leftover=False)
    assert report["by_method"]["fuzzy"] == 1
    assert report["fuzzy_matches"][0]["table_name"] == "SUKAMAJOE"
    assert out["kelurahan"].set_index("zone_name")["population"]["Sukamaju"] == 210


def test_nothing_matches(tmp_path: Path, table_csv: Path) -> None:
    zones = _zones(tmp_path, codes=False)
    table = population.read_population(table_csv, city="bandung").assign(
        name="X", alt_name="X", parent_name="Y", code="0"
    )
    with pytest.raises(JoinError, match="no zone matched"):
        population.join_population(zones, table, city="bandung", match_leftover=False)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", min_size=1, max_size=20))
def test_normalise_name_ignores_case_and_spaces(name: str) -> None:
    n = population.normalise_name(name)
    assert n == population.normalise_name(name.upper().replace(" ", "  ")) == population.normalise_name(n)
    assert " " not in n


# ------------------------------------------------------------------------------ real data
def test_bandung_2022_semester_1(shared_data: Path) -> None:
    zones = boundaries.zones_from_file(shared_data / "boundaries" / "bandung_kelurahan_satudata.geojson")
    table = population.read_population(
        shared_data / "stats" / "penduduk_kelurahan_disdukcapil_2017_2024.csv", city="bandung", year=2022
    )
    assert (table.attrs["year"], table.attrs["period"]) == (2022, "1")
    assert len(table) == 151 and table["population"].sum() == 2_530_448
    out, report = population.join_population(zones, table, city="bandung")
    assert report["matched"] == 151 and not report["unmatched_zones"] and not report["unmatched_rows"]
    assert {(m["zone_name"], m["table_name"]) for m in report["fuzzy_matches"]} == {
        ("Husein Sastranegara", "HUSEN SASTRANEGARA"),
        ("Cimencrang", "CIMENERANG"),
    }
    # the 2022 table names 32.73.23.1004 (Rancasari) "MEKAR MULYA", as its Panyileukan neighbour
    assert [(m["zone_name"], m["table_code"]) for m in report["leftover_matches"]] == [
        ("Mekar Jaya", "32.73.23.1004")
    ]
    for level in ("kelurahan", "kecamatan", "kota"):
        assert out[level]["population"].sum() == 2_530_448
        assert out[level]["population"].notna().all()


def test_bandung_other_dates(shared_data: Path) -> None:
    path = shared_data / "stats" / "penduduk_kelurahan_disdukcapil_2017_2024.csv"
    assert population.read_population(path, city="bandung")["population"].sum() == 2_566_701  # 2024 S1
    # 2023 S2 lists MEKAR MULYA (32.73.28.1004) twice per sex with other counts (10,087 and 3,875 men):
    # summing them would be silently wrong, so the rows are named in an error
    with pytest.raises(InputError, match=r"different values.*4042, 4063, 4193, 4214"):
        population.read_population(path, city="bandung", year=2023, period=2)
    assert population.read_population(path, city="bandung", year=2023, period=1)["population"].sum() > 2_500_000
    assert population.read_population(path, city="bandung", year=2017)["population"].sum() == 2_404_589


def test_daegu_by_code(shared_data: Path) -> None:
    daegu = shared_data.parent / "daegu"
    zones = boundaries.zones_from_file(
        daegu / "boundaries" / "daegu_haengjeongdong_admdongkor_2021-04.geojson", city="daegu"
    )
    table = population.read_population(
        daegu / "stats" / "daegu_population_dong_mois_2026-08.csv", city="daegu"
    )
    out, report = population.join_population(zones, table, city="daegu")
    assert report["by_method"]["code"] == 141 and not report["unmatched_zones"]
    assert len(report["unmatched_rows"]) == 8  # 군위군, no polygon in the 2021 layer
    assert out["si"]["population"].iloc[0] == 2_323_784
    july = population.read_population(
        daegu / "stats" / "daegu_population_dong_mois_2026-08.csv", city="daegu", year=2026, period=7
    )
    assert july.attrs["value_column"] == "population_2026-07"


def test_empty_population_file_is_a_clear_error(tmp_path):
    from bandung_mapping.errors import InputFileError
    from bandung_mapping.population import read_population

    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputFileError, match="population table"):
        read_population(empty, city="bandung")
