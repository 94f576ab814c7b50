# ruff: noqa: D103
"""Land cover read as classes: every class share per zone, snapping of lossy-compressed rasters.

Oracles: a 4 x 6 class raster worked out by hand (zones of unequal area, half pixels, snapped,
masked and unassignable values), a lossy JPEG2000 of the real RBI land-cover map of Kota Bandung
against an exact computation on the lossless original, and the real Sentinel-2 SCL against
exactextract run directly on the file.
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.features import rasterize
from rasterio.transform import from_origin
from shapely.geometry import box

from bandung_mapping import raster, zonal
from bandung_mapping.errors import CRSError, ProfileError, RasterCoverageError
from bandung_mapping.study_area import RasterSources

CRS = "EPSG:32748"
X0, Y0 = 790000.0, 9240000.0  # top-left corner; 10 m cells

# Codes: 0 no data (masked), 10 kebun (green), 20 permukiman, 30 air; snap tolerance 2.
#      col:  0    1    2    3    4    5
#   row 0:  10   10   20   20   30   30
#   row 1:  11   10   20   22   30    0     11 -> 10 and 22 -> 20 are snapped; 0 is masked
#   row 2:  10   15   20   20   30   30     15 is 5 from any code: unassigned
#   row 3:   9   10   21   20  255   30     9 -> 10, 21 -> 20 snapped; 255 unassigned
CLASSES = np.array([[10, 10, 20, 20, 30, 30], [11, 10, 20, 22, 30, 0], [10, 15, 20, 20, 30, 30],
                    [9, 10, 21, 20, 255, 30]], "uint8")
SCHEME_TOML = """name = "uji"
snap_tolerance = 2
[classes]
0 = { name = "no_data", nodata = true }
10 = { name = "kebun", green = true }
20 = { name = "permukiman" }
30 = { name = "air" }
"""
# Zone A: x 0..15 m, all rows: column 0 whole, column 1 half = 6 cells.
#   kebun 4 + 3 x 0.5 = 5.5 (snapped: 11 and 9 = 2 cells), unassigned 0.5 (the 15).
# Zone B: x 15..60 m, rows 0-1: column 1 half, columns 2-5 whole = 9 cells.
#   kebun 1, permukiman 4 (22 snapped: 1), air 3, masked (0) 1.
# Zone C: x 20..80 m, rows 2-3: columns 2-5 whole, 4 of its 12 cells off the raster.
#   permukiman 4 (21 snapped: 1), air 3, unassigned 1 (the 255).
# Zone D: off the raster.
ZONES = {
    "A": box(X0, Y0 - 40, X0 + 15, Y0),
    "B": box(X0 + 15, Y0 - 20, X0 + 60, Y0),
    "C": box(X0 + 20, Y0 - 40, X0 + 80, Y0 - 20),
    "D": box(X0 + 200, Y0 - 40, X0 + 220, Y0 - 20),
}
CELL_HA = 100.0 / 1e4


@pytest.fixture
def synthetic(tmp_path):
    path = tmp_path / "classes.tif"
    profile = {"driver": "GTiff", "width": 6, "height": 4, "count": 1, "dtype": "uint8", "crs": CRS,
               "transform": from_origin(X0, Y0, 10, 10)}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(CLASSES, 1)
    toml = tmp_path / "uji.toml"
    toml.write_text(SCHEME_TOML)
    zones = gpd.GeoDataFrame({"zone_id": list(ZONES)}, geometry=list(ZONES.values()), crs=CRS)
    return {"raster": str(path), "scheme": str(toml), "zones": zones}


def test_synthetic_exact_oracle(synthetic):
    t = zonal.landcover_classes(synthetic["zones"], synthetic["raster"], synthetic["scheme"])
    pct, ha = zonal.class_columns(synthetic["scheme"])
    assert pct == ["uji_kebun_pct", "uji_permukiman_pct", "uji_air_pct"]
    assert ha == ["uji_no_data_ha", "uji_kebun_ha", "uji_permukiman_ha", "uji_air_ha"]
    assert list(t.columns) == pct + ha + zonal.LANDCOVER_COLUMNS
    expect = {  # kebun, permukiman, air, masked, snapped, unassigned cells; zone cells
        "A": (5.5, 0, 0, 0, 2, 0.5, 6),
        "B": (1, 4, 3, 1, 1, 0, 9),
        "C": (0, 4, 3, 0, 1, 1, 12),
    }
    for z, (k, p, a, m, s, u, n) in expect.items():
        row = t.loc[z]
        valid = k + p + a
        assert row[["uji_kebun_pct", "uji_permukiman_pct", "uji_air_pct"]].tolist() == pytest.approx(
            [100 * k / valid, 100 * p / valid, 100 * a / valid], abs=1e-9)
        assert row[ha].tolist() == pytest.approx([m * CELL_HA, k * CELL_HA, p * CELL_HA, a * CELL_HA], abs=1e-12)
        assert row["landcover_area_ha"] == pytest.approx(n * CELL_HA)
        for name, cells in (("valid", valid), ("masked", m), ("snapped", s), ("unassigned", u)):
            assert row[f"landcover_{name}_ha"] == pytest.approx(cells * CELL_HA, abs=1e-12), (z, name)
            assert row[f"landcover_{name}_pct"] == pytest.approx(100 * cells / n, abs=1e-9), (z, name)
    assert t["landcover_flag"].tolist() == ["unassigned_pixels", "", "unassigned_pixels", "outside_raster"]
    assert t.loc["D", pct].isna().all() and t.loc["D", "landcover_valid_ha"] == 0
    assert t.attrs["landcover_scheme"] == "uji" and t.attrs["landcover_snap_tolerance"] == 2


def test_upper_level_is_the_sum_of_the_areas(synthetic):
    zones = synthetic["zones"]
    low = zonal.landcover_classes(zones.iloc[:2], synthetic["raster"], synthetic["scheme"])
    union = gpd.GeoDataFrame({"zone_id": ["AB"]}, geometry=[zones.geometry.iloc[:2].union_all()], crs=CRS)
    up = zonal.landcover_classes(union, synthetic["raster"], synthetic["scheme"]).loc["AB"]
    _, ha = zonal.class_columns(synthetic["scheme"])
    sums = low[ha + ["landcover_valid_ha", "landcover_area_ha", "landcover_unassigned_ha"]].sum()
    assert up[sums.index].tolist() == pytest.approx(sums.tolist(), abs=1e-12)
    assert up["uji_kebun_pct"] == pytest.approx(100 * sums["uji_kebun_ha"] / sums["landcover_valid_ha"])
    assert up["uji_kebun_pct"] == pytest.approx(100 * 6.5 / 13.5)  # not the mean of 100 % and 12.5 %


def test_green_cover_is_the_sum_of_green_class_shares(synthetic):
    src = RasterSources(landcover=synthetic["raster"], landcover_kind=synthetic["scheme"])
    t = zonal.raster_indicators(synthetic["zones"].to_crs("EPSG:4326"), src, min_valid_pct=0)
    assert t["green_cover_source"].eq("uji").all()
    assert t.loc[["A", "B", "C"], "green_cover_pct"].tolist() == pytest.approx(
        t.loc[["A", "B", "C"], "uji_kebun_pct"].tolist(), abs=1e-4)
    # zones given in degrees: the areas come from the zones' UTM zone (here the raster's CRS)
    assert t.loc["B", "uji_permukiman_ha"] == pytest.approx(4 * CELL_HA, rel=1e-6)
    assert t.loc["B", "valid_pixel_pct"] == pytest.approx(t.loc["B", "landcover_valid_pct"], abs=1e-4)
    assert t.attrs["landcover_scheme"] == "uji" and t.attrs["green_cover_source"] == "uji"


def test_no_class_of_the_scheme_is_a_typed_error(synthetic, tmp_path):
    path = tmp_path / "other.tif"
    profile = {"driver": "GTiff", "width": 6, "height": 4, "count": 1, "dtype": "uint8", "crs": CRS,
               "transform": from_origin(X0, Y0, 10, 10)}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.full((4, 6), 200, "uint8"), 1)  # 100 away from any WorldCover code
    with pytest.raises(RasterCoverageError, match="class code of the 'worldcover' scheme"):
        zonal.landcover_classes(synthetic["zones"], str(path), "worldcover")
    with pytest.raises(RasterCoverageError, match="'worldcover' scheme"):
        zonal.raster_indicators(synthetic["zones"], RasterSources(landcover=str(path)))


def test_bad_schemes_and_zones(synthetic, tmp_path):
    with pytest.raises(ProfileError, match="reaches two classes"):
        raster.LandCoverScheme("x", green=frozenset({1}), known=frozenset({1, 4, 10}), snap_tolerance=1.5)
    with pytest.raises(ProfileError, match=">= 0"):
        raster.LandCoverScheme("x", green=frozenset({1}), known=frozenset({1}), snap_tolerance=-1)
    bad = tmp_path / "bad.toml"
    bad.write_text('[classes]\n1 = { name = "Kebun Raya" }\n')
    with pytest.raises(ProfileError, match="lower-case"):
        raster.landcover_scheme(bad)
    bad.write_text('[classes]\n1 = { name = "a" }\n2 = { name = "a" }\n')
    with pytest.raises(ProfileError, match="used twice"):
        raster.landcover_scheme(bad)
    bad.write_text('[classes]\n1 = { name = "a", gren = true }\n')
    with pytest.raises(ProfileError, match="did you mean 'green'"):
        raster.landcover_scheme(bad)
    with pytest.raises(CRSError, match="degrees"):
        zonal.landcover_classes(synthetic["zones"].to_crs("EPSG:4326"), synthetic["raster"], "worldcover")


def test_snap():
    s = raster.WORLDCOVER_SCHEME
    codes, status = s.snap(np.array([0, 2, 3, 48, 93, 97, 101, 103, np.nan]))
    assert codes[:-1].tolist() == pytest.approx([0, 0, np.nan, 50, 95, 95, 100, np.nan], nan_ok=True)
    assert status.tolist()[:-1] == [0, 1, 2, 1, 1, 1, 1, 2] and np.isnan(status[-1])
    exact = dataclasses.replace(s, snap_tolerance=0)
    assert np.isnan(exact.snap(np.array([48.0]))[0][0])
    # the bundled schemes: the SCL masked classes are the NDVI cloud mask
    assert raster.SCL_SCHEME.invalid == raster.SCL_INVALID_CLASSES == frozenset({0, 1, 3, 8, 9, 10})
    assert raster.SCL_SCHEME.green == {raster.SCL_VEGETATION} and raster.SCL_SCHEME.snap_tolerance == 0
    assert raster.landcover_scheme("esa_worldcover") is s and s.class_name(50) == "built_up"
    assert raster.landcover_scheme("rbi").codes == [0] + list(range(10, 120, 10))


# --------------------------------------------------------------------------- real data

# RBI REMARK -> code of the bundled "rbi" scheme (profiles/landcover/rbi.toml), written out here
RBI_CODES = {
    "Permukiman dan Tempat Kegiatan": 10, "Sawah": 20, "Tegalan/Ladang": 30, "Perkebunan/Kebun": 40,
    "Hutan Rimba": 50, "Semak Belukar": 60, "Vegetasi Non Budidaya Lainnya": 70, "Tanah Kosong/Gundul": 80,
    "Danau/Situ": 90, "Empang": 100, "Sungai": 110,
}


@pytest.fixture(scope="module")
def kelurahan(shared_data):
    kel = gpd.read_file(shared_data / "boundaries" / "bandung_kelurahan_satudata.geojson")
    kel = kel.set_geometry(kel.geometry.force_2d()).to_crs(CRS)
    assert len(kel) == 151
    return kel


def _exact_shares(path, zones, valid_codes):
    """Independent exact answer: exactextract frac on the file itself, share of the valid codes."""
    from exactextract import exact_extract

    res = exact_extract(str(path), zones[["nama_kelurahan", "geometry"]], ["unique", "frac"],
                        include_cols=["nama_kelurahan"], output="pandas").set_index("nama_kelurahan")
    rows = {}
    for name, (uniq, frac) in res[["unique", "frac"]].iterrows():
        f = dict(zip(np.round(uniq).astype(int).tolist(), frac, strict=True))
        total = sum(f.get(c, 0.0) for c in valid_codes)
        rows[name] = {c: 100 * f.get(c, 0.0) / total for c in valid_codes}
    return pd.DataFrame.from_dict(rows, orient="index")


def test_lossy_jpeg2000_rbi_agrees_with_the_lossless_original(shared_data, kelurahan, tmp_path):
    rbi = gpd.read_file(shared_data / "landcover" / "rbi_tutupan_lahan_kota_bandung.shp")
    rbi = rbi.set_geometry(rbi.geometry.force_2d().make_valid()).to_crs(CRS)
    assert set(rbi["REMARK"]) == set(RBI_CODES)
    xmin, ymin, xmax, ymax = kelurahan.total_bounds
    x0, y1 = np.floor(xmin / 10) * 10 - 20, np.ceil(ymax / 10) * 10 + 20
    shape = (int(np.ceil((y1 - ymin) / 10)) + 2, int(np.ceil((xmax - x0) / 10)) + 2)
    transform = from_origin(x0, y1, 10, 10)
    classes = rasterize(zip(rbi.geometry, rbi["REMARK"].map(RBI_CODES), strict=True), out_shape=shape,
                        transform=transform, fill=0, dtype="uint8")
    profile = {"width": shape[1], "height": shape[0], "count": 1, "dtype": "uint8", "crs": CRS,
               "transform": transform}
    lossless, lossy = tmp_path / "rbi.tif", tmp_path / "rbi.jp2"
    with rasterio.open(lossless, "w", driver="GTiff", **profile) as dst:
        dst.write(classes, 1)
    with rasterio.open(lossy, "w", driver="JP2OpenJPEG", **profile) as dst:  # GDAL defaults: lossy
        dst.write(classes, 1)
    with rasterio.open(lossy) as src:
        assert src.tags(ns="IMAGE_STRUCTURE").get("COMPRESSION_REVERSIBILITY") == "LOSSY"
        back = src.read(1)
    changed = back != classes
    assert changed.mean() > 0.01  # the file is lossy: values near, not at, the codes
    assert not np.isin(back[changed], list(RBI_CODES.values()) + [0]).all()

    valid_codes = sorted(RBI_CODES.values())
    truth = _exact_shares(lossless, kelurahan, valid_codes)
    zones = kelurahan.rename(columns={"nama_kelurahan": "zone_id"})
    t = zonal.landcover_classes(zones, lossy, "rbi", min_valid_pct=0)
    pct = [f"rbi_{raster.RBI_SCHEME.class_name(c)}_pct" for c in valid_codes]
    diff = (t.loc[truth.index, pct].to_numpy() - truth.to_numpy())
    assert np.nanmax(np.abs(diff)) < 0.5  # pp, every kelurahan, every class
    assert t["landcover_snapped_pct"].mean() > 1 and t["landcover_unassigned_pct"].max() < 0.5
    # the same file read without snapping: shares off by more, and the lost pixels are counted
    raw = zonal.landcover_classes(zones, lossy, dataclasses.replace(raster.RBI_SCHEME, snap_tolerance=0),
                                  min_valid_pct=0)
    raw_diff = raw.loc[truth.index, pct].to_numpy() - truth.to_numpy()
    assert np.nanmax(np.abs(raw_diff)) > 0.5 and raw["landcover_unassigned_pct"].mean() > 1
    assert raw["landcover_snapped_pct"].eq(0).all()
    # areas add up to the zone area: valid + masked + unassigned, where the raster covers the zone
    covered = t[["landcover_valid_ha", "landcover_masked_ha", "landcover_unassigned_ha"]].sum(axis=1)
    assert covered.to_numpy() == pytest.approx(t["landcover_area_ha"].to_numpy(), rel=1e-6)


def test_real_scl_class_shares(shared_data, kelurahan):
    scl = shared_data / "raster" / "bandung_s2l2a_T48MYT_20240821_SCL_20m.jp2"
    valid_codes = [c for c in range(12) if c not in raster.SCL_INVALID_CLASSES]
    truth = _exact_shares(scl, kelurahan, valid_codes)
    src = RasterSources(scl=str(scl), date="2024-08-21")
    t = zonal.raster_indicators(kelurahan.to_crs("EPSG:4326"), src, id_column="nama_kelurahan")
    pct = [f"scl_{raster.SCL_SCHEME.class_name(c)}_pct" for c in valid_codes]
    assert pct[1] == "scl_vegetation_pct"
    got = t.loc[truth.index, pct].to_numpy()
    assert np.abs(got - truth.to_numpy()).max() < 1e-6
    assert t["scl_vegetation_pct"].to_numpy() == pytest.approx(t["green_cover_pct"].to_numpy(), abs=1e-4)
    assert (t["landcover_flag"] == "").all() and t["landcover_snapped_pct"].eq(0).all()
    # pixel areas sum to the city: 151 kelurahan, 168.2 km2
    assert t["landcover_area_ha"].sum() == pytest.approx(16822, rel=0.002)
    assert (t["landcover_valid_ha"] + t["landcover_masked_ha"]).sum() == pytest.approx(
        t["landcover_area_ha"].sum(), rel=1e-4)


def test_classes_in_memory_and_on_disk_agree(synthetic, monkeypatch):
    in_memory = zonal.landcover_classes(synthetic["zones"], synthetic["raster"], synthetic["scheme"])
    monkeypatch.setattr(zonal, "_IN_MEMORY_CELLS", 0)  # the layers go through a temporary GeoTIFF
    on_disk = zonal.landcover_classes(synthetic["zones"], synthetic["raster"], synthetic["scheme"])
    pd.testing.assert_frame_equal(in_memory, on_disk, check_exact=True)
