"""Exact zonal statistics of satellite green cover, with partial-pixel coverage (exactextract).

Every value is weighted by the fraction of each pixel that the zone covers, so a
zone's number does not depend on where pixel edges fall, and a number for a
larger zone (kecamatan, kota) computed from its own polygon is the exact
coverage-weighted value, not an average of percentages.

A land-cover raster (ESA WorldCover, a rasterised RBI map, the Sentinel-2 SCL or a
user's class file) is also read as classes: :func:`landcover_classes` gives the share
and area of every class of the scheme per zone in one pass, after snapping the values
of a lossy-compressed copy to the nearest class code.

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
from .errors import CRSError, InputError, ProfileError, RasterCoverageError

log = get_logger(__name__)

__all__ = [
    "RASTER_COLUMNS", "LANDCOVER_COLUMNS", "raster_indicators", "landcover_classes", "class_columns",
    "green_space_ndvi",
]

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


def _write_blocks(blocks: Iterator[tuple[Any, tuple[np.ndarray, ...]]], count: int, grid: _r.Grid,
                  path: Path) -> None:
    """Write ``count`` float32 layers, given block by block, to a tiled GeoTIFF on ``grid`` (NaN nodata)."""
    import rasterio

    profile = {
        "driver": "GTiff", "width": grid.width, "height": grid.height, "count": count, "dtype": "float32",
        "crs": grid.crs.to_wkt(), "transform": grid.transform, "nodata": float("nan"),
        "tiled": True, "blockxsize": 256, "blockysize": 256,
    }
    with rasterio.open(path, "w", **profile) as dst:
        for window, layers in blocks:
            for band, arr in enumerate(layers, start=1):
                dst.write(arr, band, window=window)


def _collect_blocks(blocks: Iterator[tuple[Any, tuple[np.ndarray, ...]]], count: int,
                    grid: _r.Grid) -> tuple[np.ndarray, ...]:
    """Assemble ``count`` float32 layers, given block by block, into read-only arrays on ``grid``."""
    layers = tuple(np.empty(grid.shape, dtype=np.float32) for _ in range(count))
    for window, blocks_ in blocks:
        rows = slice(window.row_off, window.row_off + window.height)
        cols = slice(window.col_off, window.col_off + window.width)
        for layer, block in zip(layers, blocks_, strict=True):
            layer[rows, cols] = block
    for layer in layers:
        layer.flags.writeable = False
    return layers


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
    _write_blocks(_layer_blocks(sources, scheme, grid, green_threshold=green_threshold,
                                tree_threshold=tree_threshold), len(_LAYERS), grid, path)


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
    layers = _collect_blocks(_layer_blocks(sources, scheme, grid, green_threshold=green_threshold,
                                           tree_threshold=tree_threshold), len(_LAYERS), grid)
    _cache.update(key=key, layers=layers)
    return layers


def _exact(
    polys: gpd.GeoDataFrame,
    layers: Path | tuple[np.ndarray, ...],
    grid: _r.Grid,
    names: tuple[str, ...] = _LAYERS,
    ops: tuple[str, ...] = ("mean", "sum"),
) -> pd.DataFrame:
    """Exactextract ``ops`` of each named layer per polygon (input order); columns ``<name>_<op>``.

    ``layers`` is the multi-band GeoTIFF on ``grid`` or the arrays on it, one per name.
    """
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource, RasterioRasterSource

    feats = gpd.GeoDataFrame({"_row": np.arange(len(polys))}, geometry=polys.geometry.values, crs=polys.crs)
    if isinstance(layers, tuple):
        xmin, ymin, xmax, ymax = grid.bounds
        rasts = [NumPyRasterSource(arr, xmin, ymin, xmax, ymax, nodata=float("nan"), name=n,
                                   srs_wkt=grid.crs.to_wkt()) for arr, n in zip(layers, names, strict=True)]
        res = exact_extract(rasts, feats, list(ops), include_cols=["_row"], output="pandas")
    else:
        import rasterio

        with rasterio.open(layers) as ds:
            rasts = [RasterioRasterSource(ds, i + 1, name=n) for i, n in enumerate(names)]
            res = exact_extract(rasts, feats, list(ops), include_cols=["_row"], output="pandas")
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


# --------------------------------------------------------------------------- land-cover classes

#: Summary columns of :func:`landcover_classes`, after the class columns.
LANDCOVER_COLUMNS = [
    "landcover_area_ha",
    "landcover_valid_ha",
    "landcover_masked_ha",
    "landcover_snapped_ha",
    "landcover_unassigned_ha",
    "landcover_valid_pct",
    "landcover_masked_pct",
    "landcover_snapped_pct",
    "landcover_unassigned_pct",
    "landcover_flag",
]
#: A zone whose unassigned pixels (values near no class code) exceed this share of its area is flagged.
DEFAULT_MAX_UNASSIGNED_PCT = 1.0
_CLASS_LAYERS = ("code", "status")
_class_cache: dict[str, Any] = {}


def class_columns(scheme: Any) -> tuple[list[str], list[str]]:
    """Names of the class columns of a scheme: ``(<prefix>_<class>_pct, <prefix>_<class>_ha)``.

    Share columns are given for the classes the scheme counts as valid land cover (not masked);
    area columns for every class, masked ones (no data, cloud) included.

    Examples
    --------
    >>> pct, ha = class_columns("scl")
    >>> pct[:2], ha[:2]
    (['scl_dark_area_shadow_pct', 'scl_vegetation_pct'], ['scl_no_data_ha', 'scl_saturated_defective_ha'])
    """
    scheme = _r.landcover_scheme(scheme)
    pct = [f"{scheme.prefix}_{scheme.class_name(c)}_pct" for c in scheme.codes if c not in scheme.invalid]
    ha = [f"{scheme.prefix}_{scheme.class_name(c)}_ha" for c in scheme.codes]
    clash = sorted(set(pct + ha) & set(LANDCOVER_COLUMNS + RASTER_COLUMNS))
    if clash:
        raise ProfileError(f"land-cover scheme {scheme.name!r}: class columns {clash} clash with summary columns; "
                           "rename the scheme or the classes")
    return pct, ha


def _class_blocks(ref: _r.BandRef, scheme: Any, grid: _r.Grid) -> Iterator[tuple[Any, tuple[np.ndarray, ...]]]:
    """Yield ``(window, (code, status))`` float32 blocks: snapped class codes and pixel status.

    Raises :class:`RasterCoverageError` at the end when no pixel with data holds a code of the scheme.
    """
    n_read = n_assigned = n_snapped = 0
    seen: set[float] = set()
    for window, sub in grid.blocks():
        values = _r.read_values(ref, sub, use_file_nodata=True)
        codes, status = scheme.snap(values)
        n_read += int(np.isfinite(status).sum())
        n_assigned += int(np.isfinite(codes).sum())
        n_snapped += int((status == _r.STATUS_SNAPPED).sum())
        if len(seen) < 20:
            seen.update(np.unique(values[np.isfinite(values)])[:20].tolist())
        yield window, (codes, status)
    if n_read and not n_assigned:
        raise RasterCoverageError(
            f"{Path(ref.path).name}: none of its {n_read:,} pixels in the study area holds a class code of the "
            f"{scheme.name!r} scheme (values seen include {sorted(seen)[:10]}); expected class codes "
            f"{scheme.codes} (snap tolerance {scheme.snap_tolerance:g}): is it the right file, or the right "
            "--landcover kind?"
        )
    unassigned = n_read - n_assigned
    if n_read and unassigned / n_read > DEFAULT_MAX_UNASSIGNED_PCT / 100:
        log.warning(
            "%s: %.1f %% of %s pixels hold no class code of the %r scheme within %g (lossy compression?); they "
            "are left out of the class shares and counted in landcover_unassigned_pct. A lossy copy can be "
            "snapped to the codes with snap_tolerance in the class file.", Path(ref.path).name,
            100 * unassigned / n_read, f"{n_read:,}", scheme.name, scheme.snap_tolerance,
        )
    if n_snapped:
        log.info("%s: %s of %s pixels snapped to the nearest class code (tolerance %g)", Path(ref.path).name,
                 f"{n_snapped:,}", f"{n_read:,}", scheme.snap_tolerance)


def _class_layers(ref: _r.BandRef, scheme: Any, grid: _r.Grid) -> tuple[np.ndarray, ...]:
    """The code and status layers on ``grid``; the last ones are kept for the next call on the same inputs."""
    st = os.stat(ref.path) if Path(ref.path).is_file() else None
    fid = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) if st else None
    key = (str(ref), fid, grid.crs.to_wkt(), tuple(grid.transform), grid.width, grid.height, scheme)
    if _class_cache.get("key") == key:
        return _class_cache["layers"]
    _class_cache.clear()
    layers = _collect_blocks(_class_blocks(ref, scheme, grid), len(_CLASS_LAYERS), grid)
    _class_cache.update(key=key, layers=layers)
    return layers


def _cells(res: pd.DataFrame, name: str) -> list[dict[int, float]]:
    """Coverage-weighted cell counts per value of layer ``name``, one dict per polygon."""
    out = []
    for uniq, frac, count in zip(res[f"{name}_unique"], res[f"{name}_frac"], res[f"{name}_count"], strict=True):
        if not isinstance(uniq, np.ndarray) or not len(uniq) or not np.isfinite(count):
            out.append({})
            continue
        out.append({int(round(float(v))): float(f) * float(count) for v, f in zip(uniq, frac, strict=True)})
    return out


def _classes_measure(
    gdf: gpd.GeoDataFrame,
    area_m2: np.ndarray,
    ref: _r.BandRef,
    scheme: Any,
    *,
    min_valid_pct: float,
    max_unassigned_pct: float,
) -> pd.DataFrame:
    """Class shares and areas per feature (positional order); see :func:`landcover_classes`."""
    pct_cols, ha_cols = class_columns(scheme)
    valid_codes = [c for c in scheme.codes if c not in scheme.invalid]
    n = len(gdf)
    out = pd.DataFrame(np.nan, index=np.arange(n), columns=pct_cols + ha_cols + LANDCOVER_COLUMNS[:-1])
    out["landcover_flag"] = ""
    out["landcover_area_ha"] = area_m2 / 1e4
    geoms = gdf.geometry
    usable = ~(geoms.isna() | geoms.is_empty).to_numpy() & geoms.geom_type.isin(_POLYGONAL).to_numpy()
    out.loc[~usable, "landcover_flag"] = "no_polygon"
    if not usable.any():
        return out
    polys = gdf.loc[usable, [gdf.geometry.name]]
    grid = _r.area_grid(ref, polys)
    in_crs = polys.to_crs(grid.crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # area in a geographic raster CRS: a ratio, on purpose
        area_cells = (in_crs.geometry.area / grid.cell_area).to_numpy()
    log.info("land-cover classes (%s) of %s zones on a %d x %d px window of %s", scheme.name,
             f"{len(polys):,}", grid.width, grid.height, Path(ref.path).name)
    ops = ("unique", "frac", "count")
    if grid.width * grid.height <= _IN_MEMORY_CELLS:
        res = _exact(in_crs, _class_layers(ref, scheme, grid), grid, _CLASS_LAYERS, ops)
    else:
        with tempfile.TemporaryDirectory(prefix="bm-classes-") as tmpdir:
            layers = Path(tmpdir) / "classes.tif"
            _write_blocks(_class_blocks(ref, scheme, grid), len(_CLASS_LAYERS), grid, layers)
            res = _exact(in_crs, layers, grid, _CLASS_LAYERS, ops)
    codes, status = _cells(res, "code"), _cells(res, "status")
    rows = np.flatnonzero(usable)
    ha_per_cell = np.where(area_cells > 0, area_m2[rows] / 1e4 / np.where(area_cells > 0, area_cells, 1.0), 0.0)
    cls = np.array([[c.get(code, 0.0) for code in scheme.codes] for c in codes]).reshape(len(rows), -1)
    valid = cls[:, [scheme.codes.index(c) for c in valid_codes]].sum(axis=1)
    masked = cls.sum(axis=1) - valid
    snapped = np.array([s.get(_r.STATUS_SNAPPED, 0.0) for s in status])
    unassigned = np.array([s.get(_r.STATUS_UNASSIGNED, 0.0) for s in status])
    read = np.array([sum(s.values()) for s in status])
    out.loc[rows, ha_cols] = cls * ha_per_cell[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = 100.0 * cls[:, [scheme.codes.index(c) for c in valid_codes]] / valid[:, None]
        out.loc[rows, pct_cols] = np.where(valid[:, None] > 0, shares, np.nan)
        for name, cells in (("valid", valid), ("masked", masked), ("snapped", snapped),
                            ("unassigned", unassigned)):
            out.loc[rows, f"landcover_{name}_ha"] = cells * ha_per_cell
            out.loc[rows, f"landcover_{name}_pct"] = np.clip(
                np.where(area_cells > 0, 100.0 * cells / area_cells, 0.0), 0.0, 100.0)
    flag = np.full(len(rows), "", dtype=object)
    flag[out.loc[rows, "landcover_unassigned_pct"].to_numpy() > max_unassigned_pct] = "unassigned_pixels"
    few = out.loc[rows, "landcover_valid_pct"].to_numpy() < min_valid_pct
    flag[few] = "too_few_valid_pixels"
    flag[read <= 0] = "outside_raster"
    out.loc[rows, "landcover_flag"] = flag
    out.loc[rows[few | (read <= 0)], pct_cols] = np.nan
    if few.any():
        log.info("%d of %d zones have under %.0f %% valid land-cover pixels: class shares left empty",
                 int(few.sum()), n, min_valid_pct)
    return out


def _classes_attrs(ref: _r.BandRef, scheme: Any, min_valid_pct: float, max_unassigned_pct: float) -> dict:
    pct_cols, _ = class_columns(scheme)
    valid_codes = [c for c in scheme.codes if c not in scheme.invalid]
    return {
        "landcover_scheme": scheme.name,
        "landcover_raster": Path(ref.path).name,
        "landcover_snap_tolerance": scheme.snap_tolerance,
        "landcover_classes": {str(c): scheme.class_name(c) for c in scheme.codes},
        "landcover_masked_classes": sorted(scheme.invalid),
        "landcover_green_classes": sorted(scheme.green),
        "landcover_share_columns": dict(zip(pct_cols, valid_codes, strict=True)),
        "min_valid_pixel_pct": min_valid_pct,
        "max_unassigned_pct": max_unassigned_pct,
    }


def landcover_classes(
    zones_metric: gpd.GeoDataFrame,
    raster_path: str | os.PathLike[str],
    scheme: Any,
    *,
    id_column: str = "zone_id",
    min_valid_pct: float | None = None,
    max_unassigned_pct: float = DEFAULT_MAX_UNASSIGNED_PCT,
) -> pd.DataFrame:
    """Share and area of every class of a land-cover raster per zone, exact and in one pass.

    Each pixel value is first snapped to the nearest class code of the scheme within its
    ``snap_tolerance`` (a lossy-compressed copy, e.g. JPEG2000 written with default settings,
    holds values near but not equal to the codes); values within reach of no code are
    "unassigned". The coverage of every class under each zone is then summed with partial-pixel
    weights (exactextract ``unique``/``frac``/``count`` on the snapped codes), so a zone's
    numbers do not depend on where pixel edges fall.

    Parameters
    ----------
    zones_metric : GeoDataFrame
        Zone polygons in a projected CRS in metres (areas in ha come from it), with
        ``id_column``; reprojected to the raster's CRS for the pixel sums.
    raster_path : str or path
        The class raster, ``PATH`` or ``PATH:BAND`` (GeoTIFF, COG, JPEG2000).
    scheme : str, path, dict or LandCoverScheme
        ``"scl"``, ``"worldcover"``, ``"rbi"``, a class file or mapping; see
        :func:`bandung_mapping.raster.landcover_scheme`.
    id_column : str, default "zone_id"
        Unique zone id; becomes the index (named ``zone_id``).
    min_valid_pct : float, optional
        Zones whose valid land-cover area is a smaller share of the zone get NaN class shares
        and ``landcover_flag = "too_few_valid_pixels"``. Default ``settings.min_valid_pixel_pct``.
    max_unassigned_pct : float, default 1
        Zones with a larger unassigned share are flagged ``"unassigned_pixels"``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``zone_id``:

        - ``<scheme>_<class>_pct`` for every valid (not masked) class: class area / valid
          land-cover area x 100 (the shares of a zone sum to 100);
        - ``<scheme>_<class>_ha`` for every class, masked ones included: area covered, in ha;
        - ``landcover_area_ha`` (zone area), ``landcover_valid_ha``, ``landcover_masked_ha``
          (classes the scheme masks: no data, cloud...), ``landcover_snapped_ha`` (pixels whose
          value was snapped to a code), ``landcover_unassigned_ha`` (values near no code);
        - the same four as shares of the zone area, ``landcover_valid_pct``,
          ``landcover_masked_pct``, ``landcover_snapped_pct``, ``landcover_unassigned_pct``;
        - ``landcover_flag``: ``""``, ``"unassigned_pixels"``, ``"too_few_valid_pixels"``,
          ``"outside_raster"`` (no pixel with data) or ``"no_polygon"``.

        Upper levels aggregate by sums: class share = sum of ``_ha`` / sum of
        ``landcover_valid_ha``. ``attrs`` records the scheme, codes and tolerance.

    Raises
    ------
    RasterCoverageError
        When no pixel under the zones holds a class code of the scheme (wrong file or kind),
        or the raster does not cover the zones.

    Examples
    --------
    One 10 m WorldCover pixel of tree cover and one of built-up land under one zone:

    >>> import tempfile, rasterio
    >>> from rasterio.transform import from_origin
    >>> from shapely.geometry import box
    >>> path = tempfile.mkdtemp() + "/wc.tif"
    >>> with rasterio.open(path, "w", driver="GTiff", width=2, height=1, count=1, dtype="uint8",
    ...                    crs="EPSG:32748", transform=from_origin(0, 9e6, 10, 10)) as dst:
    ...     dst.write(np.array([[10, 50]], "uint8"), 1)
    >>> zones = gpd.GeoDataFrame({"zone_id": ["a"]}, geometry=[box(0, 9e6 - 10, 20, 9e6)], crs="EPSG:32748")
    >>> t = landcover_classes(zones, path, "worldcover")
    >>> float(t.loc["a", "worldcover_tree_cover_pct"]), float(t.loc["a", "worldcover_built_up_ha"])
    (50.0, 0.01)
    """
    from .projection import check_metric

    zones_metric = check_gdf(zones_metric, name="zones_metric", columns=[id_column], allow_empty=False)
    check_metric(zones_metric, name="zones_metric")
    ref = _r.parse_band_ref(raster_path)
    sch = _r.landcover_scheme(scheme)
    if not sch.codes:
        raise InputError(f"land-cover scheme {sch.name!r} lists no class codes; class shares need them")
    mv = _check_pct(settings.min_valid_pixel_pct if min_valid_pct is None else min_valid_pct, "min_valid_pct")
    mu = _check_pct(max_unassigned_pct, "max_unassigned_pct")
    ids = zones_metric[id_column].astype(str)
    dup = ids[ids.duplicated()].unique().tolist()
    if dup:
        raise InputError(f"zones have duplicate {id_column} values: {dup[:10]}")
    area = zones_metric.geometry.area.fillna(0.0).to_numpy(dtype=float)
    table = _classes_measure(zones_metric, area, ref, sch, min_valid_pct=mv, max_unassigned_pct=mu)
    table.index = pd.Index(ids.to_numpy(), name="zone_id")
    table.attrs = _classes_attrs(ref, sch, mv, mu)
    return table

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
    metric_crs: Any = None,
    classes: bool = True,
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
    metric_crs : CRS, optional
        Projected CRS for the areas (ha) of the class columns when ``zones`` are not in
        metres (e.g. the city profile's ``metric_crs``); default the zones' UTM zone.
    classes : bool, default True
        Add the class columns of :func:`landcover_classes` when a categorical raster is
        given: ``landcover`` (classes of ``landcover_kind``), else ``scl`` (also when it
        serves as cloud mask under NDVI).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``zone_id``: ``ndvi_mean`` (mean NDVI of valid pixels),
        ``green_cover_pct`` (share of valid area that is green, 0-100),
        ``tree_cover_pct`` (share above the tree threshold, or WorldCover class 10;
        NaN for SCL), ``valid_pixel_pct`` (valid pixel area / zone area, 0-100),
        ``raster_flag`` (``""``, ``"too_few_valid_pixels"``, ``"outside_raster"``,
        ``"no_polygon"``) and ``green_cover_source`` (``"ndvi"``, ``"scl"``,
        ``"worldcover"`` or a custom scheme's name); then, with a categorical raster,
        the class shares and areas and ``landcover_*`` columns of :func:`landcover_classes`.
        ``attrs`` records thresholds, sources and the class scheme.

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
    source = _class_source(sources) if classes else None
    if source is not None:
        ref, scheme = source
        zones_m = _in_metres(zones, metric_crs)
        area = zones_m.geometry.area.fillna(0.0).to_numpy(dtype=float)
        attrs = table.attrs
        ct = _classes_measure(zones_m, area, ref, scheme, min_valid_pct=mv,
                              max_unassigned_pct=DEFAULT_MAX_UNASSIGNED_PCT)
        ct.index = table.index
        table = table.join(ct)
        table.attrs = attrs | _classes_attrs(ref, scheme, mv, DEFAULT_MAX_UNASSIGNED_PCT)
    return table


def _class_source(sources: Any) -> tuple[_r.BandRef, Any] | None:
    """The categorical raster of ``sources`` and its scheme: ``landcover``, else ``scl``; None without one."""
    if sources.landcover:
        ref, scheme = _r.parse_band_ref(sources.landcover), _r.landcover_scheme(sources.landcover_kind)
    elif sources.scl:
        ref, scheme = _r.parse_band_ref(sources.scl), _r.SCL_SCHEME
    else:
        return None
    if not scheme.codes:
        log.info("land-cover scheme %r lists no class codes: no class columns", scheme.name)
        return None
    return ref, scheme


def _in_metres(zones: gpd.GeoDataFrame, metric_crs: Any) -> gpd.GeoDataFrame:
    """``zones`` as they are when in a projected CRS in metres, else in ``metric_crs`` (default: UTM)."""
    from .projection import check_metric, estimate_utm_crs, to_metric

    if metric_crs is None:
        try:
            check_metric(zones, name="zones")
            return zones
        except CRSError:
            metric_crs = estimate_utm_crs(zones)
    return to_metric(zones, metric_crs, name="zones")


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
