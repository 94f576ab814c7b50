"""Exact zonal statistics of satellite green cover, with partial-pixel coverage (exactextract).

Every value is weighted by the fraction of each pixel that the zone covers, so a
zone's number does not depend on where pixel edges fall, and a number for a
larger zone (kecamatan, kota) computed from its own polygon is the exact
coverage-weighted value, not an average of percentages.

Green cover seen from space is a different quantity from regulatory green open
space (RTH): these columns sit beside the RTH columns and are never mixed with them.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from . import raster as _r
from . import settings
from ._log import get_logger
from ._validate import check_gdf
from .errors import CRSError, InputError, RasterCoverageError

log = get_logger(__name__)

__all__ = ["RASTER_COLUMNS", "raster_indicators", "green_space_ndvi"]

#: Columns of :func:`raster_indicators`, in order.
RASTER_COLUMNS = [
    "ndvi_mean",
    "green_cover_pct",
    "tree_cover_pct",
    "valid_pixel_pct",
    "raster_flag",
    "green_cover_source",
]
_POLYGONAL = ("Polygon", "MultiPolygon")
_LAYERS = ("ndvi", "green", "tree", "valid")


def _check_sources(sources: Any) -> Any:
    from .study_area import RasterSources

    if not isinstance(sources, RasterSources):
        raise InputError(
            f"sources must be a bandung_mapping.study_area.RasterSources, got {type(sources).__name__}"
        )
    if (sources.red is None) != (sources.nir is None):
        raise InputError("NDVI needs both red and nir; got only one of them")
    return sources


def _mode(sources: Any) -> tuple[str, Any]:
    """Return (green cover source name, land-cover scheme or None)."""
    if sources.red and sources.nir:
        return "ndvi", None
    if sources.landcover:
        scheme = _r.landcover_scheme(sources.landcover_kind)
        return scheme.name, scheme
    if sources.scl:
        return "scl", _r.SCL_SCHEME
    raise InputError("no raster to measure: give red and nir, a land-cover raster, or a Sentinel-2 SCL")


def _primary(sources: Any, mode: str) -> str:
    if mode == "ndvi":
        return sources.red
    return sources.landcover if sources.landcover else sources.scl


def _layer_blocks(
    sources: Any, scheme: Any, grid: _r.Grid, *, green_threshold: float, tree_threshold: float,
) -> Iterator[tuple[Any, tuple[np.ndarray, ...]]]:
    """Yield ``(window, (ndvi, green, tree, valid))`` float32 blocks of the layers on ``grid``.

    NDVI (NaN where invalid), green and tree (1/0, NaN where invalid) and valid (1/0).
    """
    if scheme is None:
        red, nir = _r.parse_band_ref(sources.red), _r.parse_band_ref(sources.nir)
        kw = {"sensor": sources.sensor, "boa_offset": sources.boa_offset}
        red_sc, nir_sc = _r.resolve_scaling(red, **kw), _r.resolve_scaling(nir, **kw)
        mask = _r.parse_band_ref(sources.scl) if sources.scl else None
        kind = _r.default_mask_kind(sources.sensor)
    else:
        classes_ref = _r.parse_band_ref(sources.landcover if sources.landcover else sources.scl)
    nan = np.float32(np.nan)
    n_read = n_classed = n_negative = 0
    seen: set[float] = set()
    for window, sub in grid.blocks():
        if scheme is None:
            nd = _r.ndvi_on_grid(red, nir, sub, red_scaling=red_sc, nir_scaling=nir_sc, mask=mask,
                                 mask_kind=kind)
            valid = np.isfinite(nd)
            n_read += int(valid.sum())
            n_negative += int((nd < 0).sum())
            green = _r.green_mask(nd, threshold=green_threshold)
            tree: np.ndarray | None = _r.tree_mask(nd, threshold=tree_threshold)
        else:
            classes = _r.read_values(classes_ref, sub, use_file_nodata=True)
            valid, green, tree = scheme.classify(classes)
            floating = np.issubdtype(classes.dtype, np.floating)
            present = np.isfinite(classes) if floating else np.ones(classes.shape, bool)
            n_read += int(present.sum())
            n_classed += int(valid.sum())
            if len(seen) < 20:
                seen.update(np.unique(classes[present])[:20].tolist())
            nd = np.full(sub.shape, np.nan, dtype=np.float32)
        if tree is not None:
            tree_out = np.where(valid, tree.astype(np.float32), nan).astype(np.float32)
        else:
            tree_out = np.full(sub.shape, nan, dtype=np.float32)
        yield window, (
            nd.astype(np.float32), np.where(valid, green.astype(np.float32), nan).astype(np.float32),
            tree_out, valid.astype(np.float32),
        )
    if scheme is None:
        _r.warn_if_swapped(n_negative, n_read, red=sources.red, nir=sources.nir)
    if scheme is not None and n_read and not n_classed:
        raise RasterCoverageError(
            f"{Path(classes_ref.path).name}: none of its {n_read:,} pixels in the study area holds a valid class "
            f"of the {scheme.name!r} scheme (values seen include {sorted(seen)[:10]}); expected class codes "
            f"{sorted(scheme.known or scheme.green)}: is it the right file, or the right --landcover kind?"
        )


def _write_layers(
    sources: Any,
    scheme: Any,
    grid: _r.Grid,
    path: Path,
    *,
    green_threshold: float,
    tree_threshold: float,
) -> None:
    """Write a 4-band float32 GeoTIFF on ``grid``: NDVI, green, tree (1/0, NaN where invalid), valid (1/0)."""
    import rasterio

    profile = {
        "driver": "GTiff", "width": grid.width, "height": grid.height, "count": 4, "dtype": "float32",
        "crs": grid.crs.to_wkt(), "transform": grid.transform, "nodata": float("nan"),
        "tiled": True, "blockxsize": 256, "blockysize": 256,
    }
    with rasterio.open(path, "w", **profile) as dst:
        for window, layers in _layer_blocks(sources, scheme, grid, green_threshold=green_threshold,
                                            tree_threshold=tree_threshold):
            for band, arr in enumerate(layers, start=1):
                dst.write(arr, band, window=window)


#: Largest window (cells) whose layers are held in memory (4 float32 layers: 16 bytes a cell)
#: rather than written to a temporary GeoTIFF.
_IN_MEMORY_CELLS = 16_000_000
_cache: dict[str, Any] = {}


def _file_ids(sources: Any) -> tuple[Any, ...]:
    ids = []
    for ref in (sources.red, sources.nir, sources.scl, sources.landcover):
        if ref:
            st = os.stat(_r.parse_band_ref(ref).path)
            ids.append((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(ids)


def _layers_in_memory(
    sources: Any, scheme: Any, grid: _r.Grid, *, green_threshold: float, tree_threshold: float,
) -> tuple[np.ndarray, ...]:
    """The four layers on ``grid`` as arrays; the last ones are kept for the next call on the same inputs.

    The zone levels of one study (kelurahan, kecamatan, kota) share a window, so their
    layers are computed once. The kept layers are replaced when the files change.
    """
    key = (repr(sources), _file_ids(sources), grid.crs.to_wkt(), tuple(grid.transform), grid.width,
           grid.height, green_threshold, tree_threshold, getattr(scheme, "name", None))
    if _cache.get("key") == key:
        return _cache["layers"]
    _cache.clear()
    layers = tuple(np.empty(grid.shape, dtype=np.float32) for _ in _LAYERS)
    for window, blocks in _layer_blocks(sources, scheme, grid, green_threshold=green_threshold,
                                        tree_threshold=tree_threshold):
        rows = slice(window.row_off, window.row_off + window.height)
        cols = slice(window.col_off, window.col_off + window.width)
        for layer, block in zip(layers, blocks, strict=True):
            layer[rows, cols] = block
    for layer in layers:
        layer.flags.writeable = False
    _cache.update(key=key, layers=layers)
    return layers


def _exact(polys: gpd.GeoDataFrame, layers: Path | tuple[np.ndarray, ...], grid: _r.Grid) -> pd.DataFrame:
    """Coverage-weighted means of the layers and coverage sums of ``valid`` per polygon (input order).

    ``layers`` is the 4-band GeoTIFF on ``grid`` or the four arrays on it.
    """
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource, RasterioRasterSource

    feats = gpd.GeoDataFrame({"_row": np.arange(len(polys))}, geometry=polys.geometry.values, crs=polys.crs)
    if isinstance(layers, tuple):
        xmin, ymin, xmax, ymax = grid.bounds
        rasts = [NumPyRasterSource(arr, xmin, ymin, xmax, ymax, nodata=float("nan"), name=n,
                                   srs_wkt=grid.crs.to_wkt()) for arr, n in zip(layers, _LAYERS, strict=True)]
        res = exact_extract(rasts, feats, ["mean", "sum"], include_cols=["_row"], output="pandas")
    else:
        import rasterio

        with rasterio.open(layers) as ds:
            rasts = [RasterioRasterSource(ds, i + 1, name=n) for i, n in enumerate(_LAYERS)]
            res = exact_extract(rasts, feats, ["mean", "sum"], include_cols=["_row"], output="pandas")
    return res.set_index("_row").reindex(np.arange(len(polys)))


def _measure(
    gdf: gpd.GeoDataFrame,
    sources: Any,
    *,
    green_threshold: float,
    tree_threshold: float,
    min_valid_pct: float,
    what: str,
) -> tuple[pd.DataFrame, str]:
    """Per-feature raster measures (positional order), and the green cover source."""
    mode, scheme = _mode(sources)
    primary = _r.parse_band_ref(_primary(sources, mode))
    n = len(gdf)
    out = pd.DataFrame(
        {"ndvi_mean": np.nan, "green_cover_pct": np.nan, "tree_cover_pct": np.nan,
         "valid_pixel_pct": 0.0, "raster_flag": ""},
        index=np.arange(n),
    )
    geoms = gdf.geometry
    usable = ~(geoms.isna() | geoms.is_empty).to_numpy() & geoms.geom_type.isin(_POLYGONAL).to_numpy()
    out.loc[~usable, "raster_flag"] = "no_polygon"
    out.loc[~usable, "valid_pixel_pct"] = np.nan
    if not usable.any():
        return out, mode
    polys = gdf.loc[usable, [gdf.geometry.name]]
    grid = _r.area_grid(primary, polys)
    in_crs = polys.to_crs(grid.crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # area in a geographic raster CRS: a ratio, on purpose
        area_cells = (in_crs.geometry.area / grid.cell_area).to_numpy()
    log.info("measuring %s %s on a %d x %d px window of %s", f"{len(polys):,}", what, grid.width,
             grid.height, Path(primary.path).name)
    if grid.width * grid.height <= _IN_MEMORY_CELLS:
        arrays = _layers_in_memory(sources, scheme, grid, green_threshold=green_threshold,
                                   tree_threshold=tree_threshold)
        res = _exact(in_crs, arrays, grid)
    else:
        with tempfile.TemporaryDirectory(prefix="bm-zonal-") as tmpdir:
            layers = Path(tmpdir) / "layers.tif"
            _write_layers(sources, scheme, grid, layers, green_threshold=green_threshold,
                          tree_threshold=tree_threshold)
            res = _exact(in_crs, layers, grid)
    valid_cells = res["valid_sum"].fillna(0.0).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        valid_pct = np.clip(np.where(area_cells > 0, 100.0 * valid_cells / area_cells, 0.0), 0.0, 100.0)
    rows = np.flatnonzero(usable)
    out.loc[rows, "valid_pixel_pct"] = valid_pct
    out.loc[rows, "ndvi_mean"] = res["ndvi_mean"].to_numpy()
    out.loc[rows, "green_cover_pct"] = 100.0 * res["green_mean"].to_numpy()
    out.loc[rows, "tree_cover_pct"] = 100.0 * res["tree_mean"].to_numpy()
    few = np.zeros(n, dtype=bool)
    few[rows] = valid_pct < min_valid_pct
    outside = np.zeros(n, dtype=bool)
    outside[rows] = res["valid_mean"].isna().to_numpy()  # no pixel of the raster under the polygon
    out.loc[few, ["ndvi_mean", "green_cover_pct", "tree_cover_pct"]] = np.nan
    out.loc[few, "raster_flag"] = "too_few_valid_pixels"
    out.loc[outside, "raster_flag"] = "outside_raster"
    if few.any():
        log.info("%d of %d %s have under %.0f %% valid pixels: raster values left empty", int(few.sum()), n,
                 what, min_valid_pct)
    return out, mode


def _check_pct(value: float, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a percentage 0-100, got {value!r}") from exc
    if not 0.0 <= v <= 100.0:
        raise InputError(f"{name} must be a percentage 0-100, got {v}")
    return v


def raster_indicators(
    zones: gpd.GeoDataFrame,
    sources: Any,
    *,
    id_column: str = "zone_id",
    green_threshold: float = _r.DEFAULT_GREEN_NDVI,
    tree_threshold: float = _r.DEFAULT_TREE_NDVI,
    min_valid_pct: float | None = None,
) -> pd.DataFrame:
    """Satellite green cover per zone: exact, coverage-weighted zonal statistics.

    Parameters
    ----------
    zones : GeoDataFrame
        Polygons with a CRS and ``id_column``; reprojected to the raster's CRS.
    sources : RasterSources
        ``red`` + ``nir`` (NDVI; ``scl`` then serves as cloud mask: SCL for
        Sentinel-2/generic, QA_PIXEL for Landsat), or else ``landcover`` (classes of
        ``landcover_kind``), or else ``scl`` (class 4 vegetation).
    id_column : str, default "zone_id"
        Unique zone id; becomes the index (named ``zone_id``).
    green_threshold, tree_threshold : float
        NDVI at or above which a pixel is green (default 0.3) or tree canopy (0.6).
    min_valid_pct : float, optional
        Zones with a smaller share of valid (cloud-free, covered) pixels get NaN and
        ``raster_flag = "too_few_valid_pixels"``. Default ``settings.min_valid_pixel_pct``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``zone_id``: ``ndvi_mean`` (mean NDVI of valid pixels),
        ``green_cover_pct`` (share of valid area that is green, 0-100),
        ``tree_cover_pct`` (share above the tree threshold, or WorldCover class 10;
        NaN for SCL), ``valid_pixel_pct`` (valid pixel area / zone area, 0-100),
        ``raster_flag`` (``""``, ``"too_few_valid_pixels"``, ``"outside_raster"``,
        ``"no_polygon"``) and ``green_cover_source`` (``"ndvi"``, ``"scl"``,
        ``"worldcover"`` or a custom scheme's name). ``attrs`` records thresholds
        and sources.

    Examples
    --------
    >>> from bandung_mapping import sample
    >>> study = sample.load_sample()
    >>> table = raster_indicators(study.zones["kelurahan"], study.rasters)
    >>> list(table.columns)[:3]
    ['ndvi_mean', 'green_cover_pct', 'tree_cover_pct']
    """
    zones = check_gdf(zones, name="zones", columns=[id_column], allow_empty=False)
    if zones.crs is None:
        raise CRSError("zones have no CRS; set one with .set_crs() (e.g. EPSG:4326)")
    sources = _check_sources(sources)
    gt = _r._check_threshold(green_threshold, "green_threshold")
    tt = _r._check_threshold(tree_threshold, "tree_threshold")
    mv = _check_pct(settings.min_valid_pixel_pct if min_valid_pct is None else min_valid_pct, "min_valid_pct")
    ids = zones[id_column].astype(str)
    dup = ids[ids.duplicated()].unique().tolist()
    if dup:
        raise InputError(f"zones have duplicate {id_column} values: {dup[:10]}")
    table, mode = _measure(zones, sources, green_threshold=gt, tree_threshold=tt, min_valid_pct=mv,
                           what="zones")
    table.index = pd.Index(ids.to_numpy(), name="zone_id")
    table["green_cover_source"] = mode
    table = table[RASTER_COLUMNS]
    table.attrs = {
        "green_cover_source": mode,
        "green_threshold_ndvi": gt if mode == "ndvi" else None,
        "tree_threshold_ndvi": tt if mode == "ndvi" else None,
        "min_valid_pixel_pct": mv,
        "sensor": sources.sensor,
        "date": sources.date,
    }
    return table


def green_space_ndvi(
    green_spaces: gpd.GeoDataFrame,
    sources: Any,
    *,
    min_valid_pct: float | None = None,
) -> pd.Series:
    """Mean NDVI inside each green-space polygon (green on paper, bare on the ground?).

    Parameters
    ----------
    green_spaces : GeoDataFrame
        Polygons with a CRS (any; reprojected to the raster's CRS).
    sources : RasterSources
        Needs ``red`` and ``nir``; without them every value is NaN.
    min_valid_pct : float, optional
        Polygons with a smaller share of valid pixels get NaN.
        Default ``settings.min_valid_pixel_pct``.

    Returns
    -------
    pandas.Series
        float, named ``ndvi_mean``, aligned to ``green_spaces.index``; coverage-weighted,
        so polygons smaller than a pixel still get a value.
    """
    green_spaces = check_gdf(green_spaces, name="green_spaces")
    sources = _check_sources(sources)
    mv = _check_pct(settings.min_valid_pixel_pct if min_valid_pct is None else min_valid_pct, "min_valid_pct")
    empty = pd.Series(np.nan, index=green_spaces.index, name="ndvi_mean", dtype=float)
    if len(green_spaces) == 0:
        return empty
    if green_spaces.crs is None:
        raise CRSError("green_spaces have no CRS; set one with .set_crs() (e.g. EPSG:4326)")
    if not (sources.red and sources.nir):
        log.info("no red/NIR bands: NDVI of green spaces left empty")
        return empty
    table, _ = _measure(green_spaces, sources, green_threshold=_r.DEFAULT_GREEN_NDVI,
                        tree_threshold=_r.DEFAULT_TREE_NDVI, min_valid_pct=mv, what="green spaces")
    return pd.Series(table["ndvi_mean"].to_numpy(dtype=float), index=green_spaces.index, name="ndvi_mean")
