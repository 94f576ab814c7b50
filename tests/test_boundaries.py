"""Zones from boundary files: levels, ids, dissolving, QA; hand-made squares and real files."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from bandung_mapping import boundaries
from bandung_mapping.errors import CRSError, EmptyAreaError, InputError

UTM = "EPSG:32748"
X0, Y0 = 790_000.0, 9_236_000.0


def _squares(rows: list[dict], *, size: float = 1000.0, z: bool = False) -> gpd.GeoDataFrame:
    geoms = []
    for r in rows:
        x, y = X0 + r.pop("i") * size, Y0 + r.pop("j") * size
        g = shapely.box(x, y, x + size, y + size)
        geoms.append(shapely.force_3d(g, 5.0) if z else g)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=UTM).to_crs(4326)


@pytest.fixture()
def four_kelurahan(tmp_path: Path) -> Path:
    gdf = _squares(
        [
            {
                "i": 0,
                "j": 0,
                "nama_kelurahan": "Sukamaju",
                "nama_kecamatan": "Kidul",
                "kode_kelurahan": "99.01.01.1001",
                "kode_kecamatan": "99.01.01",
            },
            {
                "i": 1,
                "j": 0,
                "nama_kelurahan": "Sukaasih",
                "nama_kecamatan": "Kidul",
                "kode_kelurahan": "99.01.01.1002",
                "kode_kecamatan": "99.01.01",
            },
            {
                "i": 0,
                "j": 1,
                "nama_kelurahan": "Mekar Jaya",
                "nama_kecamatan": "Kaler",
                "kode_kelurahan": "99.01.02.1001",
                "kode_kecamatan": "99.01.02",
            },
            {
                "i": 1,
                "j": 1,
                "nama_kelurahan": "Cibeunying",
                "nama_kecamatan": "Kaler",
                "kode_kelurahan": "99.01.02.1002",
                "kode_kecamatan": "99.01.02",
            },
        ],
        z=True,
    )
    p = tmp_path / "kel.geojson"
    gdf.to_file(p)
    return p


def test_levels_ids_parents_from_codes(four_kelurahan: Path) -> None:
    z = boundaries.zones_from_file(four_kelurahan)
    assert list(z) == ["kelurahan", "kecamatan", "kota"]
    kel, kec, kota = z["kelurahan"], z["kecamatan"], z["kota"]
    for g in z.values():
        assert list(g.columns) == ["zone_id", "zone_name", "parent_id", "population", "geometry"]
        assert g.crs.to_epsg() == 4326 and not g.has_z.any() and g["population"].isna().all()
    assert sorted(kel["zone_id"]) == ["99.01.01.1001", "99.01.01.1002", "99.01.02.1001", "99.01.02.1002"]
    assert dict(zip(kel["zone_name"], kel["parent_id"], strict=True))["Mekar Jaya"] == "99.01.02"
    assert sorted(kec["zone_id"]) == ["99.01.01", "99.01.02"] and set(kec["parent_id"]) == {"bandung"}
    assert kota["zone_id"].tolist() == ["bandung"] and kota["zone_name"].tolist() == ["Kota Bandung"]
    assert kota["parent_id"].tolist() == [""]
    areas = kec.to_crs(UTM).set_index("zone_id").area
    assert areas["99.01.01"] == pytest.approx(2e6, rel=1e-9)
    assert kota.to_crs(UTM).area.iloc[0] == pytest.approx(4e6, rel=1e-9)
    assert kel.attrs["ids_without_code"] == [] and kec.attrs["ids_without_code"] == []
    qa = kel.attrs["qa"]
    assert qa["n_zones"] == 4 and qa["overlap_area_m2"] == pytest.approx(0, abs=1e-3) and qa["n_gaps"] == 0


def test_slug_ids_without_codes(tmp_path: Path) -> None:
    gdf = _squares(
        [
            {"i": 0, "j": 0, "DESA": "Mekar Jaya", "KECAMATAN": "Bandung Kulon"},
            {"i": 1, "j": 0, "DESA": "Sukajadi", "KECAMATAN": "Bandung Kulon"},
        ]
    )
    p = tmp_path / "desa.gpkg"
    gdf.to_file(p)
    z = boundaries.zones_from_file(p)
    assert sorted(z["kelurahan"]["zone_id"]) == ["bandung-kulon/mekar-jaya", "bandung-kulon/sukajadi"]
    assert z["kecamatan"]["zone_id"].tolist() == ["bandung-kulon"]
    assert set(z["kelurahan"]["parent_id"]) == {"bandung-kulon"}
    # slugs are listed as ids without a code (population.adopt_codes may replace them)
    assert z["kelurahan"].attrs["ids_without_code"] == ["bandung-kulon/mekar-jaya", "bandung-kulon/sukajadi"]
    assert z["kecamatan"].attrs["ids_without_code"] == ["bandung-kulon"]
    assert z["kota"].attrs["ids_without_code"] == []


def test_user_named_columns(tmp_path: Path) -> None:
    gdf = _squares([{"i": 0, "j": 0, "kel": "A", "kec": "K"}, {"i": 1, "j": 0, "kel": "B", "kec": "K"}])
    p = tmp_path / "x.geojson"
    gdf.to_file(p)
    z = boundaries.zones_from_file(p, name_columns={"kelurahan": "kel", "kecamatan": "kec"})
    assert sorted(z["kelurahan"]["zone_name"]) == ["A", "B"]


def test_errors(tmp_path: Path) -> None:
    gdf = _squares([{"i": 0, "j": 0, "nama": "A", "wilayah": "K"}])
    p = tmp_path / "noname.geojson"
    gdf.to_file(p)
    with pytest.raises(InputError) as exc:
        boundaries.zones_from_file(p)
    msg = str(exc.value)
    assert "'nama'" in msg and "'wilayah'" in msg and "nama_kelurahan" in msg and "nama_kecamatan" in msg
    empty = tmp_path / "empty.geojson"
    empty.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.raises(EmptyAreaError):
        boundaries.zones_from_file(empty)
    nocrs = gpd.GeoDataFrame(
        {"nama_kelurahan": ["A"], "nama_kecamatan": ["K"]}, geometry=[shapely.box(0, 0, 1, 1)]
    )
    with pytest.raises(CRSError, match="no CRS"):
        boundaries.zones_from_gdf(nocrs)


def test_boundary_qa_by_hand() -> None:
    # 3 x 3 grid of 100 m squares without the centre: a 10,000 m2 hole, smaller than no zone -> not a gap;
    # plus two squares overlapping by 10 m x 100 m and a 1 m x 1 m sliver hole between four zones
    cells = [
        shapely.box(X0 + i * 100, Y0 + j * 100, X0 + i * 100 + 100, Y0 + j * 100 + 100)
        for i in range(3)
        for j in range(3)
        if (i, j) != (1, 1)
    ]
    zones = gpd.GeoDataFrame(geometry=cells, crs=UTM)
    qa = boundaries.boundary_qa(zones, metric_crs=UTM)
    assert qa["n_gaps"] == 0 and qa["gap_area_m2"] == 0  # the hole is as big as a zone: an enclave
    overl = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 100, 100), shapely.box(90, 0, 190, 100)], crs=UTM)
    qa = boundaries.boundary_qa(overl, metric_crs=UTM)
    assert qa["n_overlapping_pairs"] == 1 and qa["overlap_area_m2"] == pytest.approx(1000)
    assert qa["union_area_m2"] == pytest.approx(19_000)
    sliver = gpd.GeoDataFrame(
        geometry=[
            shapely.box(0, 0, 100, 100).difference(shapely.box(99, 99, 100, 100)),
            shapely.box(100, 0, 200, 100).difference(shapely.box(100, 99, 101, 100)),
            shapely.box(0, 100, 100, 200).difference(shapely.box(99, 100, 100, 101)),
            shapely.box(100, 100, 200, 200).difference(shapely.box(100, 100, 101, 101)),
        ],
        crs=UTM,
    )
    qa = boundaries.boundary_qa(sliver, metric_crs=UTM)
    assert qa["n_gaps"] == 1 and qa["gap_area_m2"] == pytest.approx(4.0)


# ------------------------------------------------------------------------------ real data
@pytest.fixture(scope="module")
def bandung(shared_data: Path) -> dict[str, gpd.GeoDataFrame]:
    return boundaries.zones_from_file(shared_data / "boundaries" / "bandung_kelurahan_satudata.geojson")


def test_bandung_151_30_1(bandung) -> None:
    assert {lev: len(g) for lev, g in bandung.items()} == {"kelurahan": 151, "kecamatan": 30, "kota": 1}
    assert bandung["kelurahan"]["zone_id"].is_unique
    assert set(bandung["kelurahan"]["parent_id"]) == set(bandung["kecamatan"]["zone_id"])
    area_ha = bandung["kota"].to_crs(UTM).area.iloc[0] / 1e4
    assert area_ha == pytest.approx(16_822, rel=0.005)
    qa = bandung["kelurahan"].attrs["qa"]
    assert qa["n_invalid"] == 0 and qa["overlap_area_m2"] < 1e-4 * qa["area_m2"]


def test_dissolved_kecamatan_match_kecamatan_file(bandung, shared_data: Path) -> None:
    ref = gpd.read_file(shared_data / "boundaries" / "bandung_kecamatan_satudata.geojson").to_crs(UTM)
    ref_area = ref.set_index("nama_kecamatan").area
    ours = bandung["kecamatan"].to_crs(UTM).set_index("zone_name").area
    assert sorted(ours.index) == sorted(ref_area.index)
    rel = (ours - ref_area.loc[ours.index]).abs() / ref_area.loc[ours.index]
    assert rel.max() < 0.01


def test_daegu_dong_gu_si(shared_data: Path) -> None:
    path = shared_data.parent / "daegu" / "boundaries" / "daegu_haengjeongdong_admdongkor_2021-04.geojson"
    z = boundaries.zones_from_file(path, city="daegu")
    assert {lev: len(g) for lev, g in z.items()} == {"dong": 141, "gu": 8, "si": 1}
    dong = z["dong"].set_index("zone_id")
    assert dong.loc["2711054500", "zone_name"] == "삼덕동" and dong.loc["2711054500", "parent_id"] == "27110"
    assert z["gu"].set_index("zone_id").loc["27110", "zone_name"] == "중구"
    assert z["si"]["zone_id"].tolist() == ["daegu"]
    assert z["si"].to_crs("EPSG:5179").area.iloc[0] / 1e6 == pytest.approx(880.1, abs=0.05)  # PROVENANCE.md


@pytest.mark.network
def test_zones_from_place_live() -> None:
    z = boundaries.zones_from_place("Kota Bandung, Jawa Barat, Indonesia")
    assert len(z["kecamatan"]) == 30
