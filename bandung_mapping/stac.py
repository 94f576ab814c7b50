"""Sentinel-2 L2A scenes from a STAC API (Earth Search by default), read only over the study area.

:func:`find_sentinel2` searches; :func:`read_stac_bands` copies the study-area
windows of the red, NIR and SCL Cloud-Optimized GeoTIFFs into small local
GeoTIFFs in the cache folder, so the rest of the pipeline reads plain files.
Search results are cached on disk, keyed by a hash of the request.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import raster as _r
from . import settings
from ._log import get_logger
from .errors import InputError, NetworkDownloadError, RasterError
from .outputs import atomic_path, atomic_write

log = get_logger(__name__)

__all__ = ["find_sentinel2", "read_stac_bands", "stac_boa_offset", "StacBands"]

_ASSETS = {"red": ("red", "B04"), "nir": ("nir", "B08"), "scl": ("scl", "SCL")}


def _bbox_wsen(area: Any) -> tuple[float, float, float, float]:
    import geopandas as gpd

    if not isinstance(area, (gpd.GeoDataFrame, gpd.GeoSeries)):
        raise InputError(f"area must be a GeoDataFrame or GeoSeries with a CRS, got {type(area).__name__}")
    if area.crs is None:
        raise InputError("area has no CRS; set one with .set_crs() (e.g. EPSG:4326)")
    if len(area) == 0:
        raise InputError("area is empty")
    b = area.to_crs("EPSG:4326").total_bounds
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))


def _cache_path(key: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    return Path(settings.cache_folder) / "stac" / f"search-{digest}.json"


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def find_sentinel2(
    area: Any,
    start: str,
    end: str,
    *,
    max_cloud_pct: float = 20,
    url: str | None = None,
    collection: str = "sentinel-2-l2a",
    limit: int = 100,
) -> list[Any]:
    """Search Sentinel-2 L2A scenes over ``area`` between ``start`` and ``end``.

    Parameters
    ----------
    area : GeoDataFrame or GeoSeries
        Any CRS; its bounding box in EPSG:4326 is searched.
    start, end : str
        ISO dates, e.g. ``"2024-06-01"`` and ``"2024-09-30"``.
    max_cloud_pct : float, default 20
        Keep scenes whose ``eo:cloud_cover`` is at most this (0-100).
    url : str, optional
        STAC API root; default ``settings.stac_url`` (Earth Search v1).
    collection : str, default "sentinel-2-l2a"
    limit : int, default 100
        Most items fetched.

    Returns
    -------
    list of pystac.Item
        Least cloudy first, then newest first.

    Raises
    ------
    NetworkDownloadError
        When the API cannot be reached (or ``settings.offline`` is set) and no
        cached answer exists.
    """
    import pystac

    bbox = _bbox_wsen(area)
    if not 0 <= float(max_cloud_pct) <= 100:
        raise InputError(f"max_cloud_pct must be 0-100, got {max_cloud_pct}")
    if not isinstance(limit, int) or limit < 1:
        raise InputError(f"limit must be a positive integer, got {limit!r}")
    url = url or settings.stac_url
    key = {"url": url, "collection": collection, "bbox": [round(v, 6) for v in bbox],
           "datetime": f"{start}/{end}", "max_cloud_pct": float(max_cloud_pct), "limit": limit}
    cache = _cache_path(key)
    if settings.use_cache and cache.exists():
        log.info("STAC search answered from cache %s", cache)
        features = json.loads(cache.read_text(encoding="utf-8"))["features"]
    else:
        if settings.offline:
            raise NetworkDownloadError(
                f"offline (settings.offline) and no cached STAC search for {collection} {start}/{end} "
                f"over {bbox}"
            )
        import pystac_client

        try:
            client = pystac_client.Client.open(url, headers={"User-Agent": settings.http_user_agent})
            search = client.search(
                collections=[collection], bbox=bbox, datetime=f"{start}/{end}",
                query={"eo:cloud_cover": {"lte": float(max_cloud_pct)}}, max_items=limit,
            )
            features = [it.to_dict() for it in search.items()]
        except Exception as exc:  # pystac-client raises APIError, requests errors, ...
            raise NetworkDownloadError(
                f"STAC search at {url} failed ({type(exc).__name__}: {exc}); check the connection or "
                "the URL (settings.stac_url), or run with cached results"
            ) from exc
        if settings.use_cache:
            _atomic_write_text(cache, json.dumps({"type": "FeatureCollection", "features": features}))
    items = [pystac.Item.from_dict(f) for f in features]
    items = [it for it in items if float(it.properties.get("eo:cloud_cover", 0.0)) <= float(max_cloud_pct)]
    items.sort(key=lambda it: (float(it.properties.get("eo:cloud_cover", 0.0)),
                               -(it.datetime.timestamp() if it.datetime else 0.0)))
    log.info("found %d Sentinel-2 scene(s) with <= %s %% cloud over %s", len(items), max_cloud_pct, bbox)
    return items


def stac_boa_offset(item: Any) -> float | None:
    """BOA_ADD_OFFSET (DN) of an Earth Search Sentinel-2 L2A item's COGs, or None when unknown.

    ``earthsearch:boa_offset_applied = true`` means the COG values are already
    harmonized (offset 0). Otherwise the processing baseline decides: -1000 from
    04.00 on, 0 before. Earth Search has mislabelled some scenes; pass
    ``boa_offset=`` to :func:`read_stac_bands` when you know better.
    """
    props = item.properties
    applied = props.get("earthsearch:boa_offset_applied", props.get("sentinel:boa_offset_applied"))
    if applied is True:
        return 0.0
    baseline = props.get("s2:processing_baseline", props.get("sentinel:processing_baseline"))
    if baseline is not None:
        with contextlib.suppress(RasterError):  # an unreadable baseline says nothing
            return _r._baseline_offset(str(baseline))
    return None


@dataclass(frozen=True)
class StacBands:
    """Local copies of one scene's bands over the study area."""

    item_id: str
    red: str
    nir: str
    scl: str | None
    boa_offset: float | None
    date: str | None

    def sources(self) -> Any:
        """As :class:`~bandung_mapping.study_area.RasterSources` (sensor ``sentinel2``)."""
        from .study_area import RasterSources

        return RasterSources(red=self.red, nir=self.nir, scl=self.scl, sensor="sentinel2",
                             boa_offset=self.boa_offset, date=self.date)


def _asset(item: Any, role: str) -> Any:
    for key in _ASSETS[role]:
        if key in item.assets:
            return item.assets[key]
    return None


def _copy_window(href: str, area: Any, out: Path, tags: dict[str, str]) -> Path:
    import rasterio
    from rasterio.errors import RasterioError
    from rasterio.windows import Window

    env = {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR", "GDAL_HTTP_USERAGENT": settings.http_user_agent,
           "GDAL_HTTP_TIMEOUT": str(int(math.ceil(settings.requests_timeout))), "GDAL_HTTP_MAX_RETRY": "3",
           "GDAL_HTTP_RETRY_DELAY": "2"}
    try:
        with rasterio.Env(**env):
            grid = _r.area_grid(_r.BandRef(href), area, margin=2)
            with rasterio.open(href) as src:
                row, col = _r._same_grid(src, grid) or (0, 0)
                window = Window(col, row, grid.width, grid.height)
                data = src.read(1, window=window)
                profile = {
                    "driver": "GTiff", "width": data.shape[1], "height": data.shape[0], "count": 1,
                    "dtype": data.dtype.name, "crs": src.crs, "transform": src.window_transform(window),
                    "nodata": src.nodata if src.nodata is not None else 0, "compress": "deflate",
                }
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out) as tmp, rasterio.open(tmp, "w", **profile) as dst:
            dst.write(data, 1)
            dst.update_tags(**tags)
    except (RasterioError, OSError) as exc:
        raise NetworkDownloadError(
            f"could not read {href} ({type(exc).__name__}: {exc}); check the connection, or that the "
            "asset still exists"
        ) from exc
    return out


def read_stac_bands(
    item: Any,
    area: Any,
    *,
    folder: str | os.PathLike[str] | None = None,
    boa_offset: float | None = None,
    with_scl: bool = True,
) -> StacBands:
    """Copy the study-area windows of a scene's red, NIR and SCL COGs to local GeoTIFFs.

    Parameters
    ----------
    item : pystac.Item
        A Sentinel-2 L2A item (Earth Search v1 assets ``red``, ``nir``, ``scl``).
    area : GeoDataFrame or GeoSeries
        Study area (any CRS); only its window (plus 2 pixels) is read.
    folder : str or path, optional
        Where to write; default ``<settings.cache_folder>/stac/<item id>``. Files
        already there are reused.
    boa_offset : float, optional
        Override the BOA_ADD_OFFSET worked out by :func:`stac_boa_offset`.
    with_scl : bool, default True
        Also copy the SCL (cloud mask).

    Returns
    -------
    StacBands
        Local paths; ``.sources()`` gives the RasterSources. The files carry the tags
        ``BOA_ADD_OFFSET`` and ``PROCESSING_BASELINE`` so that
        :func:`bandung_mapping.raster.read_band` scales them right.

    Raises
    ------
    NetworkDownloadError
        When an asset cannot be read (or ``settings.offline`` is set and nothing is cached).
    """
    import pystac

    if not isinstance(item, pystac.Item):
        raise InputError(f"item must be a pystac.Item (from find_sentinel2), got {type(item).__name__}")
    bbox = _bbox_wsen(area)
    offset = boa_offset if boa_offset is not None else stac_boa_offset(item)
    if offset is None:
        raise InputError(
            f"cannot tell the BOA_ADD_OFFSET of {item.id}: no processing baseline in the item; "
            "pass boa_offset=-1000 (baseline 04.00 or later) or boa_offset=0"
        )
    baseline = str(item.properties.get("s2:processing_baseline", ""))
    out_dir = Path(folder) if folder is not None else Path(settings.cache_folder) / "stac" / item.id
    digest = hashlib.sha256(json.dumps([round(v, 6) for v in bbox]).encode()).hexdigest()[:10]
    tags = {"BOA_ADD_OFFSET": repr(float(offset)), "STAC_ITEM": item.id,
            "SOURCE": "Copernicus Sentinel data, via STAC"}
    if baseline:
        tags["PROCESSING_BASELINE"] = baseline
    paths: dict[str, str | None] = {}
    for role in ("red", "nir", "scl"):
        if role == "scl" and not with_scl:
            paths[role] = None
            continue
        asset = _asset(item, role)
        if asset is None:
            if role == "scl":
                log.info("item %s has no SCL asset: no cloud mask", item.id)
                paths[role] = None
                continue
            raise InputError(f"item {item.id} has no {role!r} asset; it has {sorted(item.assets)}")
        out = out_dir / f"{role}_{digest}.tif"
        if out.exists() and settings.use_cache:
            log.info("reusing %s", out)
        elif settings.offline:
            raise NetworkDownloadError(f"offline (settings.offline) and {out} is not cached")
        else:
            log.info("reading the study-area window of %s", asset.href)
            _copy_window(asset.href, area, out, {} if role == "scl" else tags)
        paths[role] = str(out)
    date = item.datetime.date().isoformat() if item.datetime else None
    return StacBands(item.id, str(paths["red"]), str(paths["nir"]), paths["scl"], float(offset), date)
