# ruff: noqa: D103
"""STAC search and window reads, offline: a recorded Earth Search item and COGs written here."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pystac
import pytest
import rasterio
import rasterio.shutil
from rasterio.transform import from_origin
from shapely.geometry import box

from bandung_mapping import raster, settings, stac, zonal
from bandung_mapping.errors import InputError, NetworkDownloadError

ITEM_JSON = Path(__file__).parent / "data" / "earth_search_s2_l2a_item.json"
CRS = "EPSG:32748"
X0, Y0 = 790000.0, 9240000.0


def _cog(path: Path, data: np.ndarray, cell: float) -> str:
    tmp = path.with_suffix(".plain.tif")
    profile = {"driver": "GTiff", "width": data.shape[1], "height": data.shape[0], "count": 1,
               "dtype": data.dtype.name, "crs": CRS, "transform": from_origin(X0, Y0, cell, cell),
               "nodata": 0}
    with rasterio.open(tmp, "w", **profile) as dst:
        dst.write(data, 1)
    rasterio.shutil.copy(tmp, path, driver="COG")
    tmp.unlink()
    return str(path)


@pytest.fixture
def item_dict(tmp_path):
    # a 1 km x 1 km scene: red DN 1500, NIR DN 4000 (reflectance 0.05 and 0.3 with offset -1000)
    cogs = {
        "red": _cog(tmp_path / "B04.tif", np.full((100, 100), 1500, "uint16"), 10.0),
        "nir": _cog(tmp_path / "B08.tif", np.full((100, 100), 4000, "uint16"), 10.0),
        "scl": _cog(tmp_path / "SCL.tif", np.full((50, 50), 4, "uint8"), 20.0),
    }
    d = json.loads(ITEM_JSON.read_text())
    for key, href in cogs.items():
        d["assets"][key]["href"] = href
    return d


@pytest.fixture
def area():
    # 200 m x 100 m inside the scene, given in degrees
    return gpd.GeoDataFrame({"zone_id": ["z"]}, geometry=[box(X0 + 300, Y0 - 500, X0 + 500, Y0 - 400)],
                            crs=CRS).to_crs("EPSG:4326")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "cache_folder", str(tmp_path / "cache"))
    monkeypatch.setattr(settings, "offline", False)
    monkeypatch.setattr(settings, "use_cache", True)


class _FakeSearch:
    def __init__(self, items):
        self._items = items

    def items(self):
        return iter(self._items)


class _FakeClient:
    calls: list = []

    def __init__(self, items):
        self._items = items

    def search(self, **kw):
        _FakeClient.calls.append(kw)
        return _FakeSearch(self._items)


def _patch_client(monkeypatch, items):
    import pystac_client

    opened = []

    def fake_open(url, headers=None):
        opened.append(url)
        return _FakeClient(items)

    monkeypatch.setattr(pystac_client.Client, "open", staticmethod(fake_open))
    return opened


def test_find_sentinel2_sorted_filtered_and_cached(monkeypatch, item_dict, area):
    cloudy = copy.deepcopy(item_dict)
    cloudy["id"], cloudy["properties"]["eo:cloud_cover"] = "S2B_48MYT_20240826_0_L2A", 35.0
    clearer = copy.deepcopy(item_dict)
    clearer["id"], clearer["properties"]["eo:cloud_cover"] = "S2B_48MYT_20240816_0_L2A", 0.5
    items = [pystac.Item.from_dict(d) for d in (item_dict, cloudy, clearer)]
    _FakeClient.calls = []
    opened = _patch_client(monkeypatch, items)
    found = stac.find_sentinel2(area, "2024-08-01", "2024-08-31", max_cloud_pct=20)
    assert [it.id for it in found] == ["S2B_48MYT_20240816_0_L2A", "S2A_48MYT_20240821_0_L2A"]
    assert opened == [settings.stac_url]
    kw = _FakeClient.calls[0]
    assert kw["collections"] == ["sentinel-2-l2a"] and kw["datetime"] == "2024-08-01/2024-08-31"
    w, s, e, n = kw["bbox"]
    assert 107.6 < w < e < 107.7 and -6.9 < s < n < -6.8
    # the same search again is answered from the cache, even offline
    monkeypatch.setattr(settings, "offline", True)
    again = stac.find_sentinel2(area, "2024-08-01", "2024-08-31", max_cloud_pct=20)
    assert [it.id for it in again] == [it.id for it in found] and len(opened) == 1
    with pytest.raises(NetworkDownloadError, match="offline"):
        stac.find_sentinel2(area, "2023-08-01", "2023-08-31")


def test_find_sentinel2_network_failure(monkeypatch, area):
    import pystac_client

    def boom(url, headers=None):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(pystac_client.Client, "open", staticmethod(boom))
    with pytest.raises(NetworkDownloadError, match="STAC search .* failed"):
        stac.find_sentinel2(area, "2024-08-01", "2024-08-31")
    with pytest.raises(InputError):
        stac.find_sentinel2(area, "2024-08-01", "2024-08-31", max_cloud_pct=150)


def test_boa_offset_of_items(item_dict):
    item = pystac.Item.from_dict(item_dict)
    assert stac.stac_boa_offset(item) == -1000  # baseline 05.11, offset not applied
    applied = copy.deepcopy(item_dict)
    applied["properties"]["earthsearch:boa_offset_applied"] = True
    assert stac.stac_boa_offset(pystac.Item.from_dict(applied)) == 0
    old = copy.deepcopy(item_dict)
    old["properties"]["s2:processing_baseline"] = "02.14"
    assert stac.stac_boa_offset(pystac.Item.from_dict(old)) == 0


def test_read_stac_bands_windows_only(item_dict, area):
    item = pystac.Item.from_dict(item_dict)
    bands = stac.read_stac_bands(item, area)
    assert Path(bands.red).parent == Path(settings.cache_folder) / "stac" / item.id
    with rasterio.open(bands.red) as ds:
        # 200 m x 100 m at 10 m plus a 2-pixel margin (and the degree box's slack): far less than 100 x 100
        assert 20 <= ds.width <= 30 and 10 <= ds.height <= 20
        assert ds.tags()["BOA_ADD_OFFSET"] == "-1000.0" and ds.tags()["PROCESSING_BASELINE"] == "05.11"
    with rasterio.open(bands.scl) as ds:
        assert ds.res == (20.0, 20.0) and ds.width < 20
    src = bands.sources()
    assert src.sensor == "sentinel2" and src.date == "2024-08-21" and src.boa_offset == -1000
    red, _ = raster.read_band(src.red, sensor="sentinel2")
    assert np.allclose(red, 0.05)
    t = zonal.raster_indicators(area, src)
    # NDVI = (0.3 - 0.05) / (0.3 + 0.05)
    assert t.loc["z", "ndvi_mean"] == pytest.approx(0.25 / 0.35, abs=1e-6)
    assert t.loc["z", "green_cover_pct"] == pytest.approx(100.0)


def test_read_stac_bands_failed_download(item_dict, area, tmp_path):
    broken = copy.deepcopy(item_dict)
    broken["assets"]["nir"]["href"] = str(tmp_path / "gone" / "B08.tif")
    with pytest.raises(NetworkDownloadError, match="B08.tif"):
        stac.read_stac_bands(pystac.Item.from_dict(broken), area, folder=tmp_path / "out")
    assert not list((tmp_path / "out").glob(".*tmp*"))


def test_read_stac_bands_offline_uses_cache_only(item_dict, area, monkeypatch):
    item = pystac.Item.from_dict(item_dict)
    monkeypatch.setattr(settings, "offline", True)
    with pytest.raises(NetworkDownloadError, match="offline"):
        stac.read_stac_bands(item, area)
    monkeypatch.setattr(settings, "offline", False)
    first = stac.read_stac_bands(item, area)
    monkeypatch.setattr(settings, "offline", True)
    assert stac.read_stac_bands(item, area) == first
