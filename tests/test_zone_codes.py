"""Official codes as zone ids: zones named but not coded take the population table's codes."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from bandung_mapping import boundaries, population
from bandung_mapping.errors import InputError
from bandung_mapping.loading import load_study_area


def _zones(rows: list[tuple[str, ...]], columns: list[str]) -> dict[str, gpd.GeoDataFrame]:
    data = {c: [r[j] for r in rows] for j, c in enumerate(columns)}
    geoms = [shapely.box(107.6 + 0.01 * i, -6.9, 107.61 + 0.01 * i, -6.89) for i in range(len(rows))]
    return boundaries.zones_from_gdf(gpd.GeoDataFrame(data, geometry=geoms, crs=4326), city="bandung")


def _table(rows: list[tuple[str, str, str, str, float]]) -> pd.DataFrame:
    """Rows of (code, name, parent_name, parent_code, population), as read_population returns them."""
    return pd.DataFrame(
        {
            "code": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "parent_name": [r[2] for r in rows],
            "population": [float(r[4]) for r in rows],
            "alt_name": np.nan,
            "parent_code": [r[3] for r in rows],
        }
    )


NAMES = ["nama_kelurahan", "nama_kecamatan"]


def _adopt(zones, table):
    joined, report = population.join_population(zones, table, city="bandung", match_leftover=False)
    return population.adopt_codes(joined, report, city="bandung")


def test_names_take_codes_and_parents_follow() -> None:
    zones = _zones([("Sukamaju", "Kidul"), ("Suka Asih", "Kidul"), ("Mekar", "Kaler"), ("Luar", "Kaler")], NAMES)
    table = _table(
        [
            ("99.01.01.1001", "SUKAMAJU", "KIDUL", "99.01.01", 10),
            ("99.01.01.1002", "SUKAASIH", "KIDUL", "99.01.01", 20),
            ("99.01.02.1001", "MEKAR", "KALER", "99.01.02", 30),
        ]
    )
    out, notes = _adopt(zones, table)
    kel = out["kelurahan"].set_index("zone_name")
    assert kel["zone_id"].to_dict() == {
        "Sukamaju": "99.01.01.1001",
        "Suka Asih": "99.01.01.1002",
        "Mekar": "99.01.02.1001",
        "Luar": "kaler/luar",  # not in the table: keeps its slug
    }
    assert kel["parent_id"].to_dict() == {
        "Sukamaju": "99.01.01",
        "Suka Asih": "99.01.01",
        "Mekar": "99.01.02",
        "Luar": "99.01.02",
    }
    kec = out["kecamatan"].set_index("zone_id")
    assert kec["zone_name"].to_dict() == {"99.01.01": "Kidul", "99.01.02": "Kaler"}
    assert kec["population"].to_dict() == {"99.01.01": 30.0, "99.01.02": 30.0}
    assert out["kota"]["zone_id"].tolist() == ["bandung"] and out["kota"]["population"].tolist() == [60.0]
    assert set(out["kecamatan"]["parent_id"]) == {"bandung"}
    assert notes[0] == (
        "zone ids: 3 kelurahan and 2 kecamatan take Kemendagri codes from the population table "
        "(KODE_KD, kemendagri_kode_kecamatan)"
    )
    assert notes[1] == "zone ids: 1 kelurahan not matched to the population table keep their own ids: ['kaler/luar']"
    assert len(notes) == 2
    assert out["kelurahan"].attrs["ids_without_code"] == ["kaler/luar"]
    assert out["kecamatan"].attrs["ids_without_code"] == []
    # inputs untouched
    assert zones["kelurahan"]["zone_id"].str.contains("/").all()


def test_children_disagreeing_on_the_parent_code_keep_the_slug() -> None:
    zones = _zones([("A", "Kidul"), ("B", "Kidul"), ("C", "Kaler")], NAMES)
    table = _table(
        [
            ("99.01.01.1001", "A", "KIDUL", "99.01.01", 1),
            ("99.01.02.1002", "B", "KIDUL", "99.01.02", 2),
            ("99.01.03.1001", "C", "KALER", "99.01.03", 4),
        ]
    )
    out, notes = _adopt(zones, table)
    kel = out["kelurahan"].set_index("zone_name")
    assert kel["zone_id"].to_dict() == {"A": "99.01.01.1001", "B": "99.01.02.1002", "C": "99.01.03.1001"}
    assert kel["parent_id"].to_dict() == {"A": "kidul", "B": "kidul", "C": "99.01.03"}
    assert sorted(out["kecamatan"]["zone_id"]) == ["99.01.03", "kidul"]
    assert out["kecamatan"].set_index("zone_id")["population"].to_dict() == {"kidul": 3.0, "99.01.03": 4.0}
    assert notes[0].startswith("zone ids: 3 kelurahan and 1 kecamatan take Kemendagri codes")
    assert (
        "zone ids: kecamatan Kidul keeps its id kidul: its kelurahan rows name different parent codes "
        "(99.01.01 for A; 99.01.02 for B)"
    ) in notes


def test_duplicate_codes_keep_slugs() -> None:
    zones = _zones([("A", "Kidul"), ("B", "Kidul"), ("C", "Kidul")], NAMES)
    table = _table(
        [
            ("99.01.01.1001", "A", "KIDUL", "99.01.01", 1),
            ("9901011001", "B", "KIDUL", "99.01.01", 2),  # the same code without dots
            ("99.01.01.1003", "C", "KIDUL", "99.01.01", 4),
        ]
    )
    out, notes = _adopt(zones, table)
    kel = out["kelurahan"].set_index("zone_name")
    assert kel["zone_id"].to_dict() == {"A": "kidul/a", "B": "kidul/b", "C": "99.01.01.1003"}
    assert set(kel["parent_id"]) == {"99.01.01"}
    assert out["kelurahan"]["zone_id"].is_unique
    assert notes[0].startswith("zone ids: 1 kelurahan and 1 kecamatan take")
    assert (
        "zone ids: kelurahan A (kidul/a), B (kidul/b) would share code 99.01.01.1001; they keep their own ids" in notes
    )


def test_code_already_held_by_another_zone_is_not_taken() -> None:
    # Kaler has its code in the file; Kidul has none, and its rows name Kaler's code
    zones = _zones(
        [("A", "Kidul", None), ("B", "Kaler", "99.01.02")], ["nama_kelurahan", "nama_kecamatan", "kode_kecamatan"]
    )
    assert zones["kecamatan"].attrs["ids_without_code"] == ["kidul"]
    table = _table(
        [
            ("99.01.02.1001", "A", "KIDUL", "99.01.02", 1),
            ("99.01.02.1002", "B", "KALER", "99.01.02", 2),
        ]
    )
    out, notes = _adopt(zones, table)
    assert sorted(out["kecamatan"]["zone_id"]) == ["99.01.02", "kidul"]
    assert out["kelurahan"].set_index("zone_name")["parent_id"].to_dict() == {"A": "kidul", "B": "99.01.02"}
    assert notes[0].startswith("zone ids: 2 kelurahan and 0 kecamatan take")
    assert any("Kidul (kidul), Kaler (99.01.02) would share code 99.01.02" in n for n in notes)


def test_coded_zones_do_not_change() -> None:
    zones = _zones(
        [("A", "Kidul", "99.01.01.1001", "99.01.01")],
        ["nama_kelurahan", "nama_kecamatan", "kode_kelurahan", "kode_kecamatan"],
    )
    # the table disagrees with the file: the file's codes win, nothing is said
    table = _table([("99.01.01.1001", "A", "KIDUL", "99.09.09", 1)])
    out, notes = _adopt(zones, table)
    assert notes == []
    assert out["kelurahan"][["zone_id", "parent_id"]].values.tolist() == [["99.01.01.1001", "99.01.01"]]
    assert out["kecamatan"]["zone_id"].tolist() == ["99.01.01"]


def test_without_parent_codes_only_the_lowest_level_changes() -> None:
    zones = _zones([("A", "Kidul")], NAMES)
    table = _table([("99.01.01.1001", "A", "KIDUL", np.nan, 1)])
    out, notes = _adopt(zones, table)
    assert out["kelurahan"][["zone_id", "parent_id"]].values.tolist() == [["99.01.01.1001", "kidul"]]
    assert notes[0].startswith("zone ids: 1 kelurahan and 0 kecamatan take")
    assert notes[1] == "zone ids: 1 kecamatan keep their own ids: no matched child gives a parent code"


def test_without_attrs_code_like_ids_are_kept() -> None:
    zones = _zones([("A", "Kidul"), ("B", "Kidul")], NAMES)
    for g in zones.values():
        g.attrs.pop("ids_without_code")
    zones["kelurahan"].loc[zones["kelurahan"]["zone_name"] == "B", "zone_id"] = "K2"
    table = _table([("99.01.01.1001", "A", "KIDUL", "99.01.01", 1), ("99.01.01.1002", "B", "KIDUL", "99.01.01", 2)])
    out, _ = _adopt(zones, table)
    assert sorted(out["kelurahan"]["zone_id"]) == ["99.01.01.1001", "K2"]
    assert out["kecamatan"]["zone_id"].tolist() == ["99.01.01"]


def test_bad_arguments() -> None:
    zones = _zones([("A", "Kidul")], NAMES)
    with pytest.raises(InputError, match="report of join_population"):
        population.adopt_codes(zones, {"matched": 1}, city="bandung")
    twice = {**zones, "kelurahan": pd.concat([zones["kelurahan"]] * 2, ignore_index=True)}
    with pytest.raises(InputError, match="must be unique"):
        population.adopt_codes(twice, {"zone_codes": {}}, city="bandung")


# ------------------------------------------------------------------------------ real data
@pytest.fixture(scope="module")
def bandung(shared_data: Path):
    return load_study_area(
        city="bandung",
        boundaries=shared_data / "boundaries" / "bandung_kelurahan_satudata.geojson",
        population=shared_data / "stats" / "penduduk_kelurahan_disdukcapil_2017_2024.csv",
        year=2022,
    )


def test_bandung_zones_take_kemendagri_codes(bandung, shared_data: Path) -> None:
    kel, kec, kota = (bandung.zones[lv] for lv in ("kelurahan", "kecamatan", "kota"))
    coded = kel["zone_id"].str.fullmatch(r"32\.73\.\d{2}\.\d{4}")
    assert int(coded.sum()) == 151 and len(kel) == 151  # every kelurahan matched in 2022
    assert kel["zone_id"].is_unique
    assert kec["zone_id"].str.fullmatch(r"32\.73\.\d{2}").all() and kec["zone_id"].nunique() == 30
    assert set(kel["parent_id"]) == set(kec["zone_id"])
    assert all(z.startswith(p + ".") for z, p in zip(kel["zone_id"], kel["parent_id"], strict=True))
    assert kota["zone_id"].tolist() == ["bandung"] and set(kec["parent_id"]) == {"bandung"}
    dago = kel.loc[kel["zone_name"] == "Dago"].iloc[0]
    assert (dago["zone_id"], dago["parent_id"]) == ("32.73.02.1004", "32.73.02")
    assert kec.set_index("zone_id").loc["32.73.02", "zone_name"] == "Coblong"
    # 32.73.23.1004 is named MEKAR MULYA in the 2022 table; BPS 2020 calls it MEKARJAYA
    assert kel.loc[kel["zone_name"] == "Mekar Jaya", "zone_id"].tolist() == ["32.73.23.1004"]
    for level in ("kelurahan", "kecamatan", "kota"):
        assert bandung.zones[level]["population"].sum() == 2_530_448
    assert (
        "zone ids: 151 kelurahan and 30 kecamatan take Kemendagri codes from the population table "
        "(KODE_KD, kemendagri_kode_kecamatan)"
    ) in bandung.notes
    # each kecamatan's people = the table's rows of its Kemendagri code (2022, semester 1)
    expected: Counter[str] = Counter()
    with open(shared_data / "stats" / "penduduk_kelurahan_disdukcapil_2017_2024.csv", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            if row["tahun"] == "2022" and row["semester"] == "1":
                expected[row["kemendagri_kode_kecamatan"]] += int(row["jumlah_penduduk"])
    assert kec.set_index("zone_id")["population"].to_dict() == {k: float(v) for k, v in expected.items()}


def test_bandung_ids_are_the_table_codes(bandung, shared_data: Path) -> None:
    kel = bandung.zones["kelurahan"]
    with open(shared_data / "stats" / "penduduk_kelurahan_disdukcapil_2017_2024.csv", encoding="utf-8-sig") as f:
        codes = {row["KODE_KD"] for row in csv.DictReader(f) if row["tahun"] == "2022"}
    assert set(kel["zone_id"]) == codes
