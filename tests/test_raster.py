# ruff: noqa: D103
"""Band reading, sensor conventions, masks, NDVI, land cover and NDVI writing."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.transform import from_origin
from shapely.geometry import box

from bandung_mapping import raster
from bandung_mapping.errors import (
    InputError,
    InputFileError,
    ProfileError,
    RasterCoverageError,
    RasterError,
)

CRS = "EPSG:32748"
X0, Y0 = 790000.0, 9240000.0  # top-left corner of the test rasters, in Kota Bandung


def write_tif(path: Path, data: np.ndarray, *, cell: float = 10.0, x0: float = X0, y0: float = Y0,
              crs: str = CRS, nodata: float | None = None, tags: dict | None = None) -> Path:
    """Write a small north-up GeoTIFF (one band per leading axis entry of a 3-D array)."""
    arr = data if data.ndim == 3 else data[np.newaxis]
    profile = {"driver": "GTiff", "width": arr.shape[2], "height": arr.shape[1], "count": arr.shape[0],
               "dtype": arr.dtype.name, "crs": crs, "transform": from_origin(x0, y0, cell, cell)}
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr)
        if tags:
            dst.update_tags(**tags)
    return path


def area_of(xmin: float, ymin: float, xmax: float, ymax: float, crs: str = CRS) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"zone_id": ["a"]}, geometry=[box(xmin, ymin, xmax, ymax)], crs=crs)


# --------------------------------------------------------------------------- references


def test_parse_band_ref(tmp_path):
    f = write_tif(tmp_path / "stack.tif", np.ones((3, 2, 2), "uint16"))
    assert raster.parse_band_ref(f"{f}:3") == raster.BandRef(str(f), 3)
    assert raster.parse_band_ref(f).band == 1
    with pytest.raises(InputError, match="1-based"):
        raster.parse_band_ref(f"{f}:0")
    with pytest.raises(InputFileError, match="not found"):
        raster.parse_band_ref(tmp_path / "missing.tif")
    with pytest.raises(RasterError, match="has 3 band"):
        raster.read_band(f"{f}:4")


# --------------------------------------------------------------------------- NDVI


def test_ndvi_hand_values():
    red = np.array([[1.0, 2.0, 0.0, 3.0]])
    nir = np.array([[3.0, 2.0, 0.0, 1.0]])
    out = raster.ndvi(red, nir)
    assert out.dtype == np.float32
    # (3-1)/(3+1)=0.5, 0/4=0, 0+0 -> NaN, (1-3)/4=-0.5
    np.testing.assert_allclose(out[0, [0, 1, 3]], [0.5, 0.0, -0.5])
    assert np.isnan(out[0, 2])
    masked = raster.ndvi(red, nir, valid=np.array([[True, False, True, True]]))
    assert np.isnan(masked[0, 1]) and masked[0, 0] == 0.5
    # DN with a Sentinel-2 style offset: (3000-1000)=0.2, (1500-1000)=0.05 -> 0.15/0.25
    s2 = raster.ndvi(np.array([1500]), np.array([3000]), scale=1e-4, offset=-0.1)
    assert s2[0] == pytest.approx(0.6, abs=1e-6)
    assert np.isnan(raster.ndvi(np.array([0]), np.array([5]), nodata=0)[0])
    with pytest.raises(InputError, match="same shape"):
        raster.ndvi(np.zeros(2), np.zeros(3))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0.001, 1.0), min_size=1, max_size=20),
    st.lists(st.floats(0.001, 1.0), min_size=1, max_size=20),
    st.floats(0.5, 1e4),
)
def test_ndvi_range_and_scale_invariance(r, n, k):
    size = min(len(r), len(n))
    red, nir = np.array(r[:size]), np.array(n[:size])
    a = raster.ndvi(red, nir)
    assert np.all((a >= -1) & (a <= 1))
    np.testing.assert_allclose(raster.ndvi(red * k, nir * k), a, atol=1e-6)


def test_green_and_tree_masks():
    v = np.array([np.nan, 0.29, 0.3, 0.59, 0.6, 0.9])
    assert raster.green_mask(v).tolist() == [False, False, True, True, True, True]
    assert raster.tree_mask(v).tolist() == [False, False, False, False, True, True]
    assert raster.green_mask(v, threshold=0.5).tolist() == [False, False, False, True, True, True]
    with pytest.raises(InputError, match=r"\[-1, 1\]"):
        raster.green_mask(v, threshold=2)


# --------------------------------------------------------------------------- sensor conventions


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"PROCESSING_BASELINE": "03.01"}, [0.2, 0.15]),  # offset 0: 2000/1e4, 1500/1e4
        ({"PROCESSING_BASELINE": "04.00"}, [0.1, 0.05]),  # offset -1000
        ({"PROCESSING_BASELINE": "05.10"}, [0.1, 0.05]),
        ({"BOA_ADD_OFFSET": "-1000", "PROCESSING_BASELINE": "05.10"}, [0.1, 0.05]),
        ({"BOA_ADD_OFFSET": "0"}, [0.2, 0.15]),
    ],
)
def test_sentinel2_offset_from_tags(tmp_path, tags, expected):
    f = write_tif(tmp_path / "B04.tif", np.array([[2000, 1500, 0]], "uint16"), nodata=0, tags=tags)
    values, grid = raster.read_band(f, sensor="sentinel2")
    np.testing.assert_allclose(values[0, :2], expected, atol=1e-6)
    assert np.isnan(values[0, 2])  # DN 0 is no data
    assert grid.shape == (1, 3)


def test_sentinel2_offset_override_and_missing(tmp_path):
    f = write_tif(tmp_path / "B04.tif", np.array([[2000]], "uint16"))
    with pytest.raises(RasterError, match="boa_offset=-1000"):
        raster.read_band(f, sensor="sentinel2")
    assert raster.sentinel2_boa_offset(f) is None
    v, _ = raster.read_band(f, sensor="sentinel2", boa_offset=-1000)
    assert v[0, 0] == pytest.approx(0.1)
    v, _ = raster.read_band(f, sensor="sentinel2", boa_offset=0)
    assert v[0, 0] == pytest.approx(0.2)


def _mtd(offset: int, baseline: str) -> str:
    offsets = "".join(f'<BOA_ADD_OFFSET band_id="{i}">{offset}</BOA_ADD_OFFSET>' for i in range(13))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<n1:Level-2A_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd">'
        f"<n1:General_Info><Product_Info><PROCESSING_BASELINE>{baseline}</PROCESSING_BASELINE></Product_Info>"
        "<Product_Image_Characteristics><QUANTIFICATION_VALUES_LIST>"
        "<BOA_QUANTIFICATION_VALUE unit=\"none\">10000</BOA_QUANTIFICATION_VALUE>"
        f"</QUANTIFICATION_VALUES_LIST><BOA_ADD_OFFSET_VALUES_LIST>{offsets}</BOA_ADD_OFFSET_VALUES_LIST>"
        "</Product_Image_Characteristics></n1:General_Info></n1:Level-2A_User_Product>"
    )


@pytest.mark.parametrize(
    ("offset", "baseline", "red_reflectance"), [(-1000, "05.10", 0.1), (0, "03.01", 0.2)]
)
def test_safe_folder(tmp_path, offset, baseline, red_reflectance):
    n = baseline.replace(".", "")
    safe = tmp_path / f"S2A_MSIL2A_20240821T025551_N{n}_R032_T48MYT_20240821T070000.SAFE"
    img = safe / "GRANULE" / "L2A_T48MYT_A047000_20240821T030000" / "IMG_DATA"
    for sub in ("R10m", "R20m"):
        (img / sub).mkdir(parents=True)
    (safe / "MTD_MSIL2A.xml").write_text(_mtd(offset, baseline))
    stem = "T48MYT_20240821T025551"
    write_tif(img / "R10m" / f"{stem}_B04_10m.tif", np.full((4, 4), 2000, "uint16"))
    write_tif(img / "R10m" / f"{stem}_B08_10m.tif", np.full((4, 4), 5000, "uint16"))
    write_tif(img / "R20m" / f"{stem}_B04_20m.tif", np.full((2, 2), 2000, "uint16"), cell=20)
    write_tif(img / "R20m" / f"{stem}_SCL_20m.tif", np.full((2, 2), 4, "uint8"), cell=20)
    found = raster.find_sentinel2_bands(safe)
    assert Path(found["red"]).name == f"{stem}_B04_10m.tif"  # the 10 m one, not the 20 m one
    assert Path(found["nir"]).name == f"{stem}_B08_10m.tif"
    assert Path(found["scl"]).name == f"{stem}_SCL_20m.tif"
    assert found["processing_baseline"] == baseline and found["boa_offset"] == offset
    assert raster.sentinel2_boa_offset(found["red"]) == offset
    red, _ = raster.read_band(found["red"], sensor="sentinel2")
    assert float(red[0, 0]) == pytest.approx(red_reflectance)
    src = raster.sentinel2_sources(safe)
    assert src.sensor == "sentinel2" and src.boa_offset == offset
    with pytest.raises(InputFileError, match="B04_10m"):
        raster.find_sentinel2_bands(img / "R20m")


def test_landsat_scaling_and_qa(tmp_path):
    # reflectance = DN * 0.0000275 - 0.2: 10000 -> 0.075, 20000 -> 0.35; DN 0 is fill
    f = write_tif(tmp_path / "SR_B4.TIF", np.array([[10000, 20000, 0]], "uint16"))
    v, _ = raster.read_band(f, sensor="landsat")
    np.testing.assert_allclose(v[0, :2], [0.075, 0.35], atol=1e-6)
    assert np.isnan(v[0, 2])
    # QA_PIXEL: 21824 clear land (bits 6, 8, 10, 12, 14); +2 dilated cloud; +8 cloud; +16 shadow; 1 fill
    qa = np.array([21824, 21824 | 2, 21824 | 4, 21824 | 8, 21824 | 16, 1, 21824 | 32])
    assert raster.qa_pixel_valid(qa).tolist() == [True, False, False, False, False, False, True]


def test_scl_valid_classes():
    classes = np.arange(12)
    assert np.flatnonzero(raster.scl_valid(classes)).tolist() == [2, 4, 5, 6, 7, 11]
    assert not raster.scl_valid(np.array([np.nan]))[0]


def test_scl_20m_aligned_onto_10m_grid(tmp_path):
    # 2 x 2 SCL at 20 m over a 4 x 4 band grid at 10 m: the cloud (9) in the top-right
    # 20 m cell must mask exactly the 2 x 2 block of 10 m cells beneath it.
    scl = write_tif(tmp_path / "SCL_20m.tif", np.array([[4, 9], [5, 3]], "uint8"), cell=20)
    band = write_tif(tmp_path / "B04_10m.tif", np.ones((4, 4), "uint16"))
    grid = raster.raster_grid(band)
    valid = raster.read_valid_mask(scl, grid, kind="scl")
    expected = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0]], bool)
    np.testing.assert_array_equal(valid, expected)
    # a window of the band grid (offset by one cell) still lines up
    sub = grid.subgrid(1, 1, 2, 2)
    np.testing.assert_array_equal(raster.read_valid_mask(scl, sub, kind="scl"), expected[1:3, 1:3])


def test_read_window_only(tmp_path):
    data = np.arange(100, dtype="uint16").reshape(10, 10)
    f = write_tif(tmp_path / "b.tif", data)
    # 25 m x 15 m box starting 12 m right, 31 m down from the corner: cols 1..3, rows 3..4
    a = area_of(X0 + 12, Y0 - 46, X0 + 37, Y0 - 31)
    values, grid = raster.read_band(f, area=a)
    assert grid.shape == (2, 3)
    np.testing.assert_array_equal(values, data[3:5, 1:4])
    # the same area given in EPSG:4326 reads the same window
    values2, grid2 = raster.read_band(f, area=a.to_crs("EPSG:4326"))
    assert grid2.shape[0] >= 2 and grid2.shape[1] >= 3
    assert np.isin(data[3:5, 1:4], values2).all()


def test_raster_missing_area_says_crs(tmp_path):
    f = write_tif(tmp_path / "b.tif", np.ones((4, 4), "uint16"))
    # metre coordinates of Bandung labelled as degrees: the classic mix-up
    wrong = gpd.GeoDataFrame(geometry=[box(X0, Y0 - 40, X0 + 40, Y0)], crs="EPSG:4326")
    with pytest.raises(RasterCoverageError, match="CRS") as info:
        raster.read_band(f, area=wrong)
    msg = str(info.value)
    assert "EPSG:32748" in msg and "EPSG:4326" in msg and "bounds" in msg
    far = area_of(128.5, 35.8, 128.7, 35.9, crs="EPSG:4326")  # Daegu
    with pytest.raises(RasterCoverageError):
        raster.area_grid(f, far)


# --------------------------------------------------------------------------- land cover


def test_landcover_schemes(tmp_path):
    wc = raster.landcover_scheme("worldcover")
    valid, green, tree = wc.classify(np.array([0, 10, 20, 30, 40, 50, 80, 90, 95]))
    assert valid.tolist() == [False] + [True] * 8
    assert green.tolist() == [False, True, True, True, False, False, False, True, True]
    assert tree.tolist() == [False, True] + [False] * 7
    scl = raster.landcover_scheme("scl")
    v, g, t = scl.classify(np.array([4, 5, 9]))
    assert v.tolist() == [True, True, False] and g.tolist() == [True, False, False] and t is None
    custom = raster.landcover_scheme({1: True, 2: False, "3": 1})
    assert custom.green == frozenset({1, 3})
    toml = tmp_path / "classes.toml"
    toml.write_text('name = "rbi"\nnodata = [0]\ntree = [1]\n[classes]\n1 = true\n2 = true\n3 = false\n')
    s = raster.landcover_scheme(toml)
    assert (s.name, s.green, s.tree, s.invalid) == ("rbi", frozenset({1, 2}), frozenset({1}), frozenset({0}))
    bad = tmp_path / "bad.toml"
    bad.write_text('[clases]\n1 = true\n')
    with pytest.raises(ProfileError, match="did you mean 'classes'"):
        raster.landcover_scheme(bad)
    with pytest.raises(InputError):
        raster.landcover_scheme("corine")


# --------------------------------------------------------------------------- writing


def test_write_ndvi_blocks_and_mask(tmp_path):
    rng = np.random.default_rng(0)
    red = rng.integers(1, 3000, (40, 50)).astype("uint16")
    nir = rng.integers(1, 6000, (40, 50)).astype("uint16")
    tags = {"BOA_ADD_OFFSET": "-1000"}
    r = write_tif(tmp_path / "B04.tif", red, tags=tags)
    n = write_tif(tmp_path / "B08.tif", nir, tags=tags)
    scl_data = np.full((20, 25), 4, "uint8")
    scl_data[0, 0] = 9  # masks the top-left 2 x 2 cells of the 10 m grid
    scl = write_tif(tmp_path / "SCL.tif", scl_data, cell=20)
    out = raster.write_ndvi(r, n, tmp_path / "ndvi.tif", sensor="sentinel2", mask=scl, block_size=16)
    expected = raster.ndvi(red, nir, scale=1e-4, offset=-0.1)
    expected[:2, :2] = np.nan
    with rasterio.open(out) as ds:
        got = ds.read(1)
        assert ds.dtypes[0] == "float32" and np.isnan(ds.nodata) and ds.crs.to_epsg() == 32748
        assert ds.block_shapes[0][0] > 1  # tiled, not strips
        if raster._cog_available():
            assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    assert not list(tmp_path.glob(".ndvi.tif.*"))  # no temp file left
    with pytest.raises(Exception, match="output folder"):
        raster.write_ndvi(r, n, tmp_path / "nope" / "x.tif", sensor="sentinel2")


# --------------------------------------------------------------------------- real data


def test_bengaluru_ndvi_matches_reference(shared_data, tmp_path):
    folder = shared_data / "raster"
    stack = folder / "bengaluru_landsat8_sr_b1-b7_30m_crop.tif"
    with rasterio.open(folder / "bengaluru_landsat8_ndvi_30m_crop.tif") as ds:
        ref = ds.read(1, masked=True).filled(np.nan)
    red, grid = raster.read_band(f"{stack}:4")
    nir, _ = raster.read_band(f"{stack}:5")
    got = raster.ndvi(red, nir)
    ok = np.isfinite(ref)
    assert ok.sum() == 141 * 186
    assert np.array_equal(np.isfinite(got), ok)
    assert np.max(np.abs(got[ok] - ref[ok])) <= 1e-6
    out = raster.write_ndvi(f"{stack}:4", f"{stack}:5", tmp_path / "ndvi.tif", block_size=64)
    with rasterio.open(out) as ds:
        back = ds.read(1)
        assert ds.transform == grid.transform
    assert np.max(np.abs(back[ok] - ref[ok])) <= 1e-6
