# ruff: noqa: D103
"""Exact zonal statistics: a 4 x 4 raster worked out by hand, and the real Bandung SCL."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import box

from bandung_mapping import zonal
from bandung_mapping.errors import CRSError, InputError, RasterCoverageError
from bandung_mapping.study_area import RasterSources

CRS = "EPSG:32748"
X0, Y0 = 790000.0, 9240000.0  # top-left corner; 10 m cells

# NDVI of the 4 x 4 grid (row 0 at the top), from red/NIR pairs:
#   0.5 = (3-1)/(3+1), 0.8 = (9-1)/(9+1), 0.0 = (2-2)/4, -0.5 = (1-3)/4
#      col:  0     1     2     3
#   row 0:  0.5   0.5   0.8   0.8
#   row 1:  0.5   0.5   0.8   0.8
#   row 2:  0.0   0.0  -0.5  -0.5  <- (2, 3) is cloud (SCL 9) in the SCL below
#   row 3:  0.0   0.0  -0.5  -0.5
RED = np.array([[1, 1, 1, 1], [1, 1, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]], "uint16")
NIR = np.array([[3, 3, 9, 9], [3, 3, 9, 9], [2, 2, 1, 1], [2, 2, 1, 1]], "uint16")
SCL = np.array([[4, 4, 4, 4], [4, 4, 5, 4], [5, 5, 6, 9], [5, 5, 6, 6]], "uint8")

# Zone A: x 0..25 m, y 0..20 m down: cells (0,0) (0,1) (1,0) (1,1) whole, (0,2) (1,2) half.
# Zone B: x 15..40 m, y 10..40 m down: column 1 half and columns 2-3 whole, rows 1-3 (7.5 cells).
# Zone C: x 30..60 m, y 30..40 m down: only cell (3,3) is on the raster (1 of 3 cells).
ZONES = {
    "A": box(X0, Y0 - 20, X0 + 25, Y0),
    "B": box(X0 + 15, Y0 - 40, X0 + 40, Y0 - 10),
    "C": box(X0 + 30, Y0 - 40, X0 + 60, Y0 - 30),
}


def _tif(path, data, cell=10.0):
    profile = {"driver": "GTiff", "width": data.shape[1], "height": data.shape[0], "count": 1,
               "dtype": data.dtype.name, "crs": CRS, "transform": from_origin(X0, Y0, cell, cell)}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return str(path)


@pytest.fixture
def files(tmp_path):
    return {
        "red": _tif(tmp_path / "red.tif", RED),
        "nir": _tif(tmp_path / "nir.tif", NIR),
        "scl": _tif(tmp_path / "scl.tif", SCL),
        "scl20": _tif(tmp_path / "scl20.tif", np.array([[4, 8], [5, 5]], "uint8"), cell=20.0),
        "wc": _tif(tmp_path / "wc.tif", np.array([[10, 10, 50, 50], [10, 30, 50, 50], [0, 0, 80, 80],
                                                  [0, 0, 80, 80]], "uint8")),
    }


def _zones(names=("A", "B", "C"), crs=CRS):
    gdf = gpd.GeoDataFrame({"zone_id": list(names)}, geometry=[ZONES[n] for n in names], crs=CRS)
    return gdf.to_crs(crs)


def test_ndvi_zones_by_hand(files):
    src = RasterSources(red=files["red"], nir=files["nir"], scl=files["scl"])
    t = zonal.raster_indicators(_zones(), src)
    assert list(t.index) == ["A", "B", "C"] and t.index.name == "zone_id"
    assert list(t.columns[: len(zonal.RASTER_COLUMNS)]) == zonal.RASTER_COLUMNS
    pct, ha = zonal.class_columns("scl")  # the SCL (cloud mask here) also gives its class shares
    assert list(t.columns[len(zonal.RASTER_COLUMNS):]) == pct + ha + zonal.LANDCOVER_COLUMNS
    assert list(zonal.raster_indicators(_zones(), src, classes=False).columns) == zonal.RASTER_COLUMNS
    # A: weights 1,1,1,1 (NDVI 0.5) and 0.5,0.5 (NDVI 0.8): (4*0.5 + 1*0.8) / 5 = 0.56
    #    green (>= 0.3): 5/5 = 100 %; tree (>= 0.6): 1/5 = 20 %; all valid
    assert t.loc["A", "ndvi_mean"] == pytest.approx(0.56, abs=1e-6)
    assert t.loc["A", "green_cover_pct"] == pytest.approx(100.0)
    assert t.loc["A", "tree_cover_pct"] == pytest.approx(20.0)
    assert t.loc["A", "valid_pixel_pct"] == pytest.approx(100.0)
    # B: 7.5 cells, cloud cell (2,3) dropped -> 6.5 valid = 86.667 %
    #    sum = 0.5*(0.5+0+0) + (0.8-0.5-0.5) + (0.8-0.5) = 0.25 - 0.2 + 0.3 = 0.35 -> 0.35/6.5
    #    green: 0.5 (cell (1,1) half) + 1 + 1 = 2.5 / 6.5 ; tree: 2 / 6.5
    assert t.loc["B", "ndvi_mean"] == pytest.approx(0.35 / 6.5, abs=1e-6)
    assert t.loc["B", "valid_pixel_pct"] == pytest.approx(100 * 6.5 / 7.5, abs=1e-6)
    assert t.loc["B", "green_cover_pct"] == pytest.approx(100 * 2.5 / 6.5, abs=1e-6)
    assert t.loc["B", "tree_cover_pct"] == pytest.approx(100 * 2 / 6.5, abs=1e-6)
    assert t.loc["A", "raster_flag"] == "" and t.loc["B", "raster_flag"] == ""
    # C: 1 of 3 cells on the raster -> 33.3 % valid < 50 % -> NaN and a flag, no misleading number
    assert t.loc["C", "valid_pixel_pct"] == pytest.approx(100 / 3, abs=1e-6)
    assert np.isnan(t.loc["C", ["ndvi_mean", "green_cover_pct", "tree_cover_pct"]].astype(float)).all()
    assert t.loc["C", "raster_flag"] == "too_few_valid_pixels"
    assert (t["green_cover_source"] == "ndvi").all()
    assert t.attrs["green_threshold_ndvi"] == 0.3


def test_union_zone_is_exact_not_an_average(files):
    src = RasterSources(red=files["red"], nir=files["nir"], scl=files["scl"])
    ab = gpd.GeoDataFrame({"zone_id": ["AB"]}, geometry=[ZONES["A"].union(ZONES["B"])], crs=CRS)
    t = zonal.raster_indicators(ab, src)
    # A and B overlap on x 15..25 m of row 1, counted once. Coverage of the union:
    #   row 0: 1, 1, 0.5, 0 -> sum 0.5 + 0.5 + 0.4 = 1.4      (weight 2.5)
    #   row 1: 1, 1, 1, 1   -> sum 0.5 + 0.5 + 0.8 + 0.8 = 2.6 (weight 4)
    #   row 2: 0, 0.5, 1, cloud -> sum 0 - 0.5 = -0.5          (weight 1.5)
    #   row 3: 0, 0.5, 1, 1 -> sum 0 - 0.5 - 0.5 = -1.0       (weight 2.5)
    # mean = 2.5 / 10.5, not the mean of A (0.56) and B (0.0538); green = 6.5 / 10.5
    assert t.loc["AB", "ndvi_mean"] == pytest.approx(2.5 / 10.5, abs=1e-6)
    assert t.loc["AB", "green_cover_pct"] == pytest.approx(100 * 6.5 / 10.5, abs=1e-6)


def test_zones_in_degrees_are_reprojected(files):
    src = RasterSources(red=files["red"], nir=files["nir"], scl=files["scl"])
    t = zonal.raster_indicators(_zones(("A", "B"), crs="EPSG:4326"), src)
    assert t.loc["A", "ndvi_mean"] == pytest.approx(0.56, abs=1e-4)
    assert t.loc["B", "valid_pixel_pct"] == pytest.approx(100 * 6.5 / 7.5, abs=0.05)


def test_scl_20m_mask_on_10m_bands(files):
    # SCL 20 m [[4, 8], [5, 5]]: the cloud masks the 10 m cells rows 0-1, columns 2-3
    src = RasterSources(red=files["red"], nir=files["nir"], scl=files["scl20"], sensor="generic")
    t = zonal.raster_indicators(_zones(("A", "B")), src)
    # A: the two half cells at column 2 are cloud: valid 4 of 5 = 80 %, NDVI 0.5, no tree
    assert t.loc["A", "valid_pixel_pct"] == pytest.approx(80.0)
    assert t.loc["A", "ndvi_mean"] == pytest.approx(0.5)
    assert t.loc["A", "tree_cover_pct"] == pytest.approx(0.0)
    # B: valid = 1.5 (column 1 half) + 2 + 2 = 5.5; sum = 0.25 - 1 - 1 = -1.75; green 0.5/5.5
    assert t.loc["B", "valid_pixel_pct"] == pytest.approx(100 * 5.5 / 7.5, abs=1e-6)
    assert t.loc["B", "ndvi_mean"] == pytest.approx(-1.75 / 5.5, abs=1e-6)
    assert t.loc["B", "green_cover_pct"] == pytest.approx(100 * 0.5 / 5.5, abs=1e-6)


def test_scl_as_green_source(files):
    t = zonal.raster_indicators(_zones(), RasterSources(scl=files["scl"]))
    # A: class 4 in 4 whole cells and in the half cell (0,2); (1,2) is class 5 -> 4.5 / 5
    assert t.loc["A", "green_cover_pct"] == pytest.approx(90.0)
    # B: column 1 half: 4, 5, 5 -> 0.5; column 2: 5, 6, 6; column 3: 4, (9 dropped), 6 -> 1.5 / 6.5
    assert t.loc["B", "green_cover_pct"] == pytest.approx(100 * 1.5 / 6.5, abs=1e-6)
    assert t.loc["B", "valid_pixel_pct"] == pytest.approx(100 * 6.5 / 7.5, abs=1e-6)
    assert np.isnan(t.loc["A", "ndvi_mean"]) and np.isnan(t.loc["A", "tree_cover_pct"])
    assert (t["green_cover_source"] == "scl").all()


def test_worldcover_as_green_source(files):
    src = RasterSources(landcover=files["wc"], landcover_kind="worldcover")
    t = zonal.raster_indicators(_zones(("A",)), src)
    # A: 10, 10, 10, 30 whole and 50, 50 half -> green 4/5, tree (class 10) 3/5
    assert t.loc["A", "green_cover_pct"] == pytest.approx(80.0)
    assert t.loc["A", "tree_cover_pct"] == pytest.approx(60.0)
    assert t.loc["A", "green_cover_source"] == "worldcover"


def test_min_valid_pct_and_ids(files):
    src = RasterSources(red=files["red"], nir=files["nir"], scl=files["scl"])
    zones = _zones(("A", "B")).rename(columns={"zone_id": "kode"})
    t = zonal.raster_indicators(zones, src, id_column="kode", min_valid_pct=90)
    assert t.loc["B", "raster_flag"] == "too_few_valid_pixels" and np.isnan(t.loc["B", "ndvi_mean"])
    assert t.loc["A", "raster_flag"] == ""
    t2 = zonal.raster_indicators(_zones(("A",)), src, green_threshold=0.6, tree_threshold=0.7)
    assert t2.loc["A", "green_cover_pct"] == pytest.approx(20.0)
    assert t2.loc["A", "tree_cover_pct"] == pytest.approx(20.0)


def test_input_errors(files):
    src = RasterSources(red=files["red"], nir=files["nir"])
    dup = gpd.GeoDataFrame({"zone_id": ["A", "A"]}, geometry=[ZONES["A"], ZONES["B"]], crs=CRS)
    with pytest.raises(InputError, match="duplicate"):
        zonal.raster_indicators(dup, src)
    with pytest.raises(CRSError):
        zonal.raster_indicators(gpd.GeoDataFrame({"zone_id": ["A"]}, geometry=[ZONES["A"]]), src)
    with pytest.raises(InputError, match="no raster"):
        zonal.raster_indicators(_zones(("A",)), RasterSources())
    with pytest.raises(InputError, match="RasterSources"):
        zonal.raster_indicators(_zones(("A",)), {"red": files["red"]})
    with pytest.raises(InputError, match="zone_id"):
        zonal.raster_indicators(_zones(("A",)).rename(columns={"zone_id": "x"}), src)
    far = gpd.GeoDataFrame({"zone_id": ["d"]}, geometry=[box(128.5, 35.8, 128.7, 35.9)], crs="EPSG:4326")
    with pytest.raises(RasterCoverageError, match="CRS"):
        zonal.raster_indicators(far, src)


def test_green_space_ndvi(files):
    src = RasterSources(red=files["red"], nir=files["nir"], scl=files["scl"])
    parks = gpd.GeoDataFrame(
        {"name": ["big", "tiny", "elsewhere"]},
        geometry=[ZONES["A"], box(X0 + 22, Y0 - 8, X0 + 24, Y0 - 6), box(X0 + 100, Y0 - 20, X0 + 120, Y0)],
        index=[10, 20, 30], crs=CRS,
    ).to_crs("EPSG:4326")
    s = zonal.green_space_ndvi(parks, src)
    assert s.name == "ndvi_mean" and list(s.index) == [10, 20, 30]
    assert s[10] == pytest.approx(0.56, abs=1e-4)
    assert s[20] == pytest.approx(0.8, abs=1e-6)  # 4 m2 inside one 100 m2 pixel: still measured
    assert np.isnan(s[30])  # off the raster
    nothing = zonal.green_space_ndvi(parks, RasterSources(scl=files["scl"]))
    assert nothing.isna().all() and list(nothing.index) == [10, 20, 30]
    empty = zonal.green_space_ndvi(parks.iloc[:0], src)
    assert isinstance(empty, pd.Series) and len(empty) == 0


def test_bandung_scl_vegetation_share(shared_data):
    kel = gpd.read_file(shared_data / "boundaries" / "bandung_kelurahan_satudata.geojson")
    kel = kel.set_geometry(kel.geometry.force_2d())
    assert len(kel) == 151
    scl = shared_data / "raster" / "bandung_s2l2a_T48MYT_20240821_SCL_20m.jp2"
    src = RasterSources(scl=str(scl), date="2024-08-21")
    t = zonal.raster_indicators(kel, src, id_column="nama_kelurahan")
    assert len(t) == 151 and (t["raster_flag"] == "").all()
    assert (t["valid_pixel_pct"] > 99).all()
    assert t["green_cover_pct"].median() == pytest.approx(10.2, abs=1.0)
    city = gpd.GeoDataFrame({"zone_id": ["kota"]}, geometry=[kel.union_all()], crs=kel.crs)
    c = zonal.raster_indicators(city, src)
    assert c.loc["kota", "green_cover_pct"] == pytest.approx(20.4, abs=0.5)


def test_layers_in_memory_and_on_disk_give_the_same_table(files, monkeypatch):
    src = RasterSources(red=files["red"], nir=files["nir"], scl=files["scl"])
    in_memory = zonal.raster_indicators(_zones(), src)
    monkeypatch.setattr(zonal, "_IN_MEMORY_CELLS", 0)  # every window goes through a temporary GeoTIFF
    on_disk = zonal.raster_indicators(_zones(), src)
    pd.testing.assert_frame_equal(in_memory, on_disk, check_exact=True)


def test_kept_layers_follow_the_files_and_thresholds(files):
    src = RasterSources(red=files["red"], nir=files["nir"])
    before = zonal.raster_indicators(_zones(("A",)), src)
    assert before.loc["A", "ndvi_mean"] == pytest.approx(0.56, abs=1e-6)
    # same window, other threshold: the kept layers are not reused
    assert zonal.raster_indicators(_zones(("A",)), src, green_threshold=0.6).loc["A", "green_cover_pct"] == (
        pytest.approx(20.0))
    # the NIR file rewritten in place (NIR = red everywhere): NDVI 0, measured anew
    _tif(files["nir"], RED)
    after = zonal.raster_indicators(_zones(("A",)), src)
    assert after.loc["A", "ndvi_mean"] == pytest.approx(0.0, abs=1e-6)
    assert after.loc["A", "green_cover_pct"] == pytest.approx(0.0)
