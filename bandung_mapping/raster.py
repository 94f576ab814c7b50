"""Satellite rasters: band reading with sensor conventions, cloud masks, NDVI and land cover.

Green cover seen from space (this module and :mod:`bandung_mapping.zonal`) is a
different quantity from regulatory green open space (RTH, from maps and OSM):
the two are reported side by side and never mixed.

Bands are named ``PATH`` or ``PATH:BAND`` (1-based band of a multi-band stack)
and read from GeoTIFF, Cloud-Optimized GeoTIFF or JPEG2000. Only the window
that covers the study area is read; full-extent outputs are written block by
block, so a whole Sentinel-2 tile (10980 x 10980 px per band) fits in far less
than 2 GB.

Sensor conventions (``sensor=``)
--------------------------------
``"sentinel2"`` (Sentinel-2 MSI Level-2A)
    reflectance = (DN + BOA_ADD_OFFSET) / QUANTIFICATION_VALUE, with
    QUANTIFICATION_VALUE = 10000 and BOA_ADD_OFFSET = -1000 from processing
    baseline 04.00 (25 January 2022) on, 0 before. The offset is read from the
    product: a GeoTIFF tag ``BOA_ADD_OFFSET`` or ``PROCESSING_BASELINE``, the
    ``MTD_MSIL2A.xml`` of an enclosing ``.SAFE`` folder, or the ``_Nxxxx_``
    baseline of the ``.SAFE`` name; ``boa_offset=`` overrides it. DN 0 is no
    data. The cloud mask is the Scene Classification Layer (SCL): classes
    0 no data, 1 saturated/defective, 3 cloud shadow, 8 and 9 cloud,
    10 thin cirrus are dropped.
``"landsat"`` (Landsat Collection 2 Level-2 surface reflectance)
    reflectance = DN x 0.0000275 - 0.2, DN 0 is fill. The cloud mask is
    ``QA_PIXEL``: bits 0 fill, 1 dilated cloud, 2 cirrus, 3 cloud, 4 cloud
    shadow are dropped.
``"generic"`` (default)
    values as they are, or the user's ``scale``, ``offset`` and ``nodata``.

A mask at another resolution (the 20 m SCL under 10 m bands) is aligned onto
the band grid explicitly, by nearest-neighbour resampling with
:func:`rasterio.warp.reproject`.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyproj

from ._log import get_logger
from ._validate import check_choice
from .errors import (
    BandungMappingError,
    CRSError,
    InputError,
    InputFileError,
    OutputError,
    ProfileError,
    RasterCoverageError,
    RasterError,
)
from .outputs import atomic_path

log = get_logger(__name__)

__all__ = [
    "SENSORS",
    "detect_sensor",
    "DEFAULT_GREEN_NDVI",
    "DEFAULT_TREE_NDVI",
    "SCL_INVALID_CLASSES",
    "SCL_VEGETATION",
    "LANDSAT_QA_DROP_BITS",
    "BandRef",
    "Grid",
    "Scaling",
    "LandCoverScheme",
    "SCL_SCHEME",
    "WORLDCOVER_SCHEME",
    "RBI_SCHEME",
    "parse_band_ref",
    "raster_grid",
    "area_grid",
    "sentinel2_boa_offset",
    "resolve_scaling",
    "read_band",
    "read_values",
    "scl_valid",
    "qa_pixel_valid",
    "valid_mask",
    "read_valid_mask",
    "ndvi",
    "green_mask",
    "tree_mask",
    "landcover_scheme",
    "find_sentinel2_bands",
    "sentinel2_sources",
    "ndvi_on_grid",
    "write_ndvi",
]

SENSORS = ("generic", "sentinel2", "landsat")
#: NDVI at or above which a pixel counts as green (vegetated); see docs/indicators.md.
DEFAULT_GREEN_NDVI = 0.3
#: NDVI at or above which a pixel counts as dense vegetation, a tree-canopy proxy.
DEFAULT_TREE_NDVI = 0.6
#: Sentinel-2 SCL class "vegetation".
SCL_VEGETATION = 4
#: Landsat Collection 2 QA_PIXEL bits dropped: fill, dilated cloud, cirrus, cloud, cloud shadow.
LANDSAT_QA_DROP_BITS = (0, 1, 2, 3, 4)
S2_QUANTIFICATION = 10000.0
S2_BOA_OFFSET_NEW = -1000.0
LANDSAT_C2_SCALE = 0.0000275
LANDSAT_C2_OFFSET = -0.2
MASK_KINDS = ("scl", "qa_pixel", "binary")
# Sentinel-2 band ids of the BOA_ADD_OFFSET list in MTD_MSIL2A.xml
_S2_BAND_IDS = {
    "B01": 0, "B02": 1, "B03": 2, "B04": 3, "B05": 4, "B06": 5, "B07": 6,
    "B08": 7, "B8A": 8, "B09": 9, "B10": 10, "B11": 11, "B12": 12,
}
_BLOCK = 1024


# --------------------------------------------------------------------------- references and grids


@dataclass(frozen=True)
class BandRef:
    """One band of one raster file: ``path`` and a 1-based ``band``."""

    path: str
    band: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.band}" if self.band != 1 else self.path


def parse_band_ref(spec: str | os.PathLike[str] | BandRef, *, check_exists: bool = True) -> BandRef:
    """Parse ``PATH`` or ``PATH:BAND`` (band 1-based) into a :class:`BandRef`.

    Parameters
    ----------
    spec : str, path or BandRef
        A file path, optionally followed by ``:`` and a band number.
    check_exists : bool, default True
        Raise :class:`~bandung_mapping.errors.InputFileError` when a local file is missing
        (URLs and GDAL ``/vsi`` paths are not checked).

    Examples
    --------
    >>> parse_band_ref("stack.tif:4", check_exists=False)
    BandRef(path='stack.tif', band=4)
    >>> parse_band_ref("B04_10m.jp2", check_exists=False).band
    1
    """
    if isinstance(spec, BandRef):
        ref = spec
    else:
        if not isinstance(spec, (str, os.PathLike)):
            raise InputError(f"a band must be given as PATH or PATH:BAND, got {type(spec).__name__}")
        s = os.fspath(spec)
        head, sep, tail = s.rpartition(":")
        if sep and head and tail.isdigit():
            ref = BandRef(head, int(tail))
        else:
            ref = BandRef(s, 1)
    if ref.band < 1:
        raise InputError(f"band numbers are 1-based; got {ref.band} in {spec!s}")
    remote = ref.path.startswith(("/vsi", "http://", "https://", "s3://"))
    if check_exists and not remote and not Path(ref.path).exists():
        raise InputFileError(f"raster file not found: {ref.path} (expected an existing GeoTIFF/COG/JPEG2000)")
    return ref


_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
_J2K_SOC_SIZ = b"\xff\x4f\xff\x51"
_J2K_EOC = b"\xff\xd9"


def jpeg2000_truncation(path: str | os.PathLike[str]) -> str | None:
    """Why a JPEG2000 file is incomplete (a box longer than the file, no end-of-codestream), else None.

    OpenJPEG decodes the tiles of a cut file that it still has and logs an error for the rest,
    which GDAL passes on as zeros, not as a read error; so the file's boxes are checked first.
    Files that are not JPEG2000 give None.
    """
    p = Path(path)
    size = p.stat().st_size
    with open(p, "rb") as f:
        head = f.read(12)
        if head[:4] == _J2K_SOC_SIZ:
            f.seek(max(size - 2, 0))
            return None if f.read(2) == _J2K_EOC else "the codestream has no end marker (FFD9)"
        if head != _JP2_SIGNATURE:
            return None
        pos = 0
        while pos < size:
            f.seek(pos)
            hdr = f.read(8)
            if len(hdr) < 8:
                return f"a box header at byte {pos:,} is cut"
            length, kind = int.from_bytes(hdr[:4], "big"), hdr[4:8]
            start = 8
            if length == 1:
                ext = f.read(8)
                if len(ext) < 8:
                    return f"a box header at byte {pos:,} is cut"
                length, start = int.from_bytes(ext, "big"), 16
            elif length == 0:
                length = size - pos
            if length < start:
                return f"box {kind!r} at byte {pos:,} has an impossible length {length}"
            if pos + length > size:
                return f"box {kind.decode('latin-1')!r} needs {pos + length:,} bytes, the file has {size:,}"
            if kind == b"jp2c":
                f.seek(pos + length - 2)
                if f.read(2) != _J2K_EOC:
                    return "the codestream has no end marker (FFD9)"
            pos += length
    return None


def _open(ref: BandRef) -> Any:
    import rasterio
    from rasterio.errors import RasterioIOError

    local = not ref.path.startswith(("/vsi", "http://", "https://", "s3://")) and Path(ref.path).is_file()
    why = jpeg2000_truncation(ref.path) if local else None
    if why:
        raise InputFileError(f"raster {ref.path} is truncated or corrupt: {why}; expected a complete JPEG2000 file")
    try:
        src = rasterio.open(ref.path)
    except RasterioIOError as exc:
        raise InputFileError(f"cannot open raster {ref.path}: {exc}") from exc
    if ref.band > src.count:
        src.close()
        raise RasterError(f"{ref.path} has {src.count} band(s); band {ref.band} was asked for")
    if src.crs is None:
        src.close()
        raise CRSError(f"{ref.path} has no CRS; expected a georeferenced raster (e.g. EPSG:32748)")
    t = src.transform
    if t.b != 0 or t.d != 0:
        src.close()
        raise RasterError(f"{ref.path} has a rotated geotransform; expected a north-up raster")
    return src


@dataclass(frozen=True)
class Grid:
    """A north-up pixel grid: CRS, affine transform and size."""

    crs: pyproj.CRS
    transform: Any
    width: int
    height: int

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)``."""
        return (self.height, self.width)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` in the grid's CRS."""
        t = self.transform
        x0, y0 = t.c, t.f
        x1, y1 = t.c + t.a * self.width, t.f + t.e * self.height
        return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))

    @property
    def cell_area(self) -> float:
        """Area of one cell in squared CRS units."""
        return abs(self.transform.a * self.transform.e)

    def subgrid(self, row_off: int, col_off: int, height: int, width: int) -> Grid:
        """Return the grid of a window of this grid."""
        from rasterio.windows import Window, transform

        window = Window(col_off, row_off, width, height)
        return Grid(self.crs, transform(window, self.transform), width, height)

    def blocks(self, size: int = _BLOCK) -> Iterator[tuple[Any, Grid]]:
        """Yield ``(rasterio Window, Grid)`` for blocks of at most ``size`` x ``size`` cells."""
        from rasterio.windows import Window

        for r in range(0, self.height, size):
            for c in range(0, self.width, size):
                h, w = min(size, self.height - r), min(size, self.width - c)
                yield Window(c, r, w, h), self.subgrid(r, c, h, w)


def _grid_of(src: Any) -> Grid:
    return Grid(pyproj.CRS.from_user_input(src.crs.to_wkt()), src.transform, src.width, src.height)


def raster_grid(ref: str | os.PathLike[str] | BandRef) -> Grid:
    """Return the full pixel grid of a raster."""
    ref = parse_band_ref(ref)
    with _open(ref) as src:
        return _grid_of(src)


def _area_geometry(area: Any) -> tuple[Any, pyproj.CRS]:
    import geopandas as gpd

    if isinstance(area, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if area.crs is None:
            raise CRSError("the study area has no CRS; set one with .set_crs() (e.g. EPSG:4326)")
        geoms = area.geometry if isinstance(area, gpd.GeoDataFrame) else area
        geoms = geoms[~(geoms.is_empty | geoms.isna())]
        if len(geoms) == 0:
            raise InputError("the study area holds no geometry")
        return geoms, area.crs
    raise InputError(f"area must be a GeoDataFrame or GeoSeries with a CRS, got {type(area).__name__}")


def area_grid(ref: str | os.PathLike[str] | BandRef, area: Any, *, margin: int = 0) -> Grid:
    """Return the raster's own grid cut to the window that covers ``area``.

    The study area is reprojected to the raster's CRS; the window is rounded
    outwards to whole pixels, grown by ``margin`` pixels and clipped to the raster.

    Raises
    ------
    RasterCoverageError
        When the raster does not overlap the study area (the message states both
        CRSs and bounds: this is usually a CRS mix-up).
    """
    import shapely

    ref = parse_band_ref(ref)
    geoms, area_crs = _area_geometry(area)
    with _open(ref) as src:
        grid = _grid_of(src)
        try:
            in_raster = geoms.to_crs(grid.crs)
            bounds = tuple(float(v) for v in in_raster.total_bounds)
        except Exception as exc:  # pyproj raises several kinds here
            raise RasterCoverageError(_coverage_message(ref, grid, geoms, area_crs, None)) from exc
        footprint = shapely.box(*grid.bounds)
        if not all(math.isfinite(v) for v in bounds) or not bool(
            np.any(shapely.intersects(np.asarray(in_raster.values), footprint))
        ):
            raise RasterCoverageError(_coverage_message(ref, grid, geoms, area_crs, bounds))
        t = src.transform
        cols = [(x - t.c) / t.a for x in (bounds[0], bounds[2])]
        rows = [(y - t.f) / t.e for y in (bounds[1], bounds[3])]
        eps = 1e-6
        c0 = max(0, math.floor(min(cols) + eps) - margin)
        r0 = max(0, math.floor(min(rows) + eps) - margin)
        c1 = min(src.width, math.ceil(max(cols) - eps) + margin)
        r1 = min(src.height, math.ceil(max(rows) - eps) + margin)
    if c1 <= c0 or r1 <= r0:
        raise RasterCoverageError(_coverage_message(ref, grid, geoms, area_crs, bounds))
    return grid.subgrid(r0, c0, r1 - r0, c1 - c0)


def _fmt_bounds(b: Any) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in b) + ")"


def _coverage_message(ref: BandRef, grid: Grid, geoms: Any, area_crs: Any, bounds: Any) -> str:
    rc = grid.crs.to_string()
    ac = pyproj.CRS.from_user_input(area_crs).to_string()
    where = f"study area bounds {_fmt_bounds(bounds)} in {rc}; " if bounds is not None else ""
    return (
        f"raster {ref.path} does not cover the study area: raster bounds {_fmt_bounds(grid.bounds)} "
        f"in {rc}; {where}study area bounds {_fmt_bounds(geoms.total_bounds)} in {ac} as given. "
        "This is usually a CRS mix-up: check that the study area's CRS is set right (coordinates in "
        "metres labelled as degrees, or the reverse) and that the raster is of the right place and "
        "UTM zone."
    )


# --------------------------------------------------------------------------- sensor conventions


@dataclass(frozen=True)
class Scaling:
    """``value = DN * scale + offset``; cells equal to ``nodata`` become NaN."""

    scale: float = 1.0
    offset: float = 0.0
    nodata: float | None = None


def _baseline_offset(baseline: str) -> float:
    try:
        value = float(baseline)
    except ValueError as exc:
        raise RasterError(f"cannot read the Sentinel-2 processing baseline {baseline!r}") from exc
    return S2_BOA_OFFSET_NEW if value >= 4.0 else 0.0


def _band_name(path: str) -> str | None:
    m = re.search(r"(B0[1-9]|B1[0-2]|B8A)", Path(path).name, flags=re.IGNORECASE)
    return m.group(1).upper() if m else None


def _find_mtd(path: Path) -> Path | None:
    for parent in list(path.parents)[:6]:
        cand = parent / "MTD_MSIL2A.xml"
        if cand.exists():
            return cand
        if parent.suffix.upper() == ".SAFE":
            break
    return None


def _parse_mtd(mtd: Path) -> dict[str, Any]:
    try:
        root = ET.parse(mtd).getroot()
    except ET.ParseError as exc:
        raise InputFileError(f"cannot read Sentinel-2 metadata {mtd}: {exc}") from exc
    out: dict[str, Any] = {"offsets": {}, "baseline": None, "quantification": None}
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == "BOA_ADD_OFFSET" and el.text:
            out["offsets"][int(el.get("band_id", len(out["offsets"])))] = float(el.text)
        elif tag == "PROCESSING_BASELINE" and el.text and out["baseline"] is None:
            out["baseline"] = el.text.strip()
        elif tag == "BOA_QUANTIFICATION_VALUE" and el.text:
            out["quantification"] = float(el.text)
    return out


def _s2_metadata(ref: BandRef, tags: Mapping[str, str]) -> tuple[float | None, float, str]:
    """Return (BOA offset or None, quantification value, where it was found)."""
    quant = float(tags.get("QUANTIFICATION_VALUE", tags.get("BOA_QUANTIFICATION_VALUE", S2_QUANTIFICATION)))
    if "BOA_ADD_OFFSET" in tags:
        return float(tags["BOA_ADD_OFFSET"]), quant, "GeoTIFF tag BOA_ADD_OFFSET"
    if "PROCESSING_BASELINE" in tags:
        return _baseline_offset(tags["PROCESSING_BASELINE"]), quant, "GeoTIFF tag PROCESSING_BASELINE"
    path = Path(ref.path)
    mtd = _find_mtd(path) if not ref.path.startswith(("/vsi", "http")) else None
    if mtd is not None:
        meta = _parse_mtd(mtd)
        quant = meta["quantification"] or quant
        if meta["offsets"]:
            band = _band_name(ref.path)
            bid = _S2_BAND_IDS.get(band or "", None)
            offsets = meta["offsets"]
            first = next(iter(offsets.values()))
            value = offsets.get(bid, first) if bid is not None else first
            return value, quant, f"{mtd.name} BOA_ADD_OFFSET"
        if meta["baseline"]:
            return _baseline_offset(meta["baseline"]), quant, f"{mtd.name} PROCESSING_BASELINE"
    for part in reversed(path.parts):
        m = re.search(r"_N(\d{2})(\d{2})_", part)
        if m and "MSIL2A" in part.upper():
            baseline = f"{m.group(1)}.{m.group(2)}"
            return _baseline_offset(baseline), quant, f"baseline {baseline} in {part}"
    return None, quant, ""


#: Share of valid pixels with NDVI below 0 above which red and NIR look swapped (vegetation and
#: built land have NDVI above 0; only water, snow and clouds are below).
SWAPPED_NEGATIVE_SHARE = 0.8


def warn_if_swapped(n_negative: int, n_valid: int, *, red: str, nir: str) -> bool:
    """Warn (and return True) when most valid NDVI pixels are negative: red and NIR may be swapped."""
    if n_valid and n_negative / n_valid > SWAPPED_NEGATIVE_SHARE:
        log.warning(
            "NDVI is negative on %.0f %% of %s valid pixels: are red (%s) and NIR (%s) swapped?",
            100 * n_negative / n_valid, f"{n_valid:,}", Path(red).name, Path(nir).name,
        )
        return True
    return False


def detect_sensor(ref: str | os.PathLike[str] | BandRef) -> str:
    """The sensor of a band file from its metadata: ``"sentinel2"``, ``"landsat"`` or ``"generic"``.

    Sentinel-2 L2A when its BOA offset is recorded (GeoTIFF tags, ``MTD_MSIL2A.xml`` beside it
    or an ``MSIL2A ... _Nxxyy_`` product name); Landsat when its tags or name say so
    (``LC08``/``LC09`` product ids, ``SR_B4``); else generic (values used as they are).

    Examples
    --------
    >>> from bandung_mapping import sample
    >>> detect_sensor(sample.sample_inputs()["red"])
    'sentinel2'
    """
    ref = parse_band_ref(ref)
    with _open(ref) as src:
        tags = {**src.tags(), **src.tags(ref.band)}
    if _s2_metadata(ref, tags)[0] is not None:
        return "sentinel2"
    name = Path(ref.path).name.upper()
    text = " ".join(f"{k}={v}" for k, v in tags.items()).upper()
    if re.search(r"\bL[COT]0[4-9]_", name) or "_SR_B" in name or "LANDSAT" in text:
        return "landsat"
    return "generic"


def sentinel2_boa_offset(ref: str | os.PathLike[str] | BandRef) -> float | None:
    """Return the Sentinel-2 L2A BOA_ADD_OFFSET recorded for a band, or None if nothing says.

    Looked up, in order: the GeoTIFF tags ``BOA_ADD_OFFSET`` and
    ``PROCESSING_BASELINE`` (>= 04.00 means -1000), the ``MTD_MSIL2A.xml`` of an
    enclosing ``.SAFE`` folder, and the ``_Nxxxx_`` baseline in a ``.SAFE`` name.
    """
    ref = parse_band_ref(ref)
    with _open(ref) as src:
        tags = {**src.tags(), **src.tags(ref.band)}
    return _s2_metadata(ref, tags)[0]


def resolve_scaling(
    ref: str | os.PathLike[str] | BandRef,
    *,
    sensor: str = "generic",
    scale: float | None = None,
    offset: float | None = None,
    nodata: float | None = None,
    boa_offset: float | None = None,
) -> Scaling:
    """Return the scale, offset and nodata that turn a band's DNs into values.

    Parameters
    ----------
    ref : str, path or BandRef
        ``PATH`` or ``PATH:BAND``.
    sensor : {"generic", "sentinel2", "landsat"}
        Which convention applies (see the module docstring).
    scale, offset, nodata : float, optional
        Override the sensor's values (for ``"generic"``: 1, 0 and the file's nodata).
    boa_offset : float, optional
        Sentinel-2 BOA_ADD_OFFSET in DN (``-1000`` from baseline 04.00 on, ``0`` before)
        when the product metadata does not say it, or to override it.

    Raises
    ------
    RasterError
        For a Sentinel-2 band whose BOA offset is recorded nowhere and not given.
    """
    check_choice(sensor, name="sensor", choices=SENSORS)
    ref = parse_band_ref(ref)
    with _open(ref) as src:
        tags = {**src.tags(), **src.tags(ref.band)}
        file_nodata = src.nodatavals[ref.band - 1]
    if sensor == "sentinel2":
        if boa_offset is None:
            boa_offset, quant, where = _s2_metadata(ref, tags)
            if boa_offset is None:
                raise RasterError(
                    f"cannot tell the Sentinel-2 BOA_ADD_OFFSET of {ref.path}: no BOA_ADD_OFFSET or "
                    "PROCESSING_BASELINE tag, no MTD_MSIL2A.xml and no .SAFE name. Pass boa_offset=-1000 "
                    "for processing baseline 04.00 or later (products from 25 January 2022 on, and the "
                    "reprocessed collection 1), or boa_offset=0 for older baselines."
                )
            log.debug("Sentinel-2 BOA_ADD_OFFSET %s for %s (from %s)", boa_offset, ref.path, where)
        else:
            quant = float(tags.get("QUANTIFICATION_VALUE", S2_QUANTIFICATION))
        sc = 1.0 / quant if scale is None else scale
        off = float(boa_offset) / quant if offset is None else offset
        nd = 0.0 if nodata is None else nodata
    elif sensor == "landsat":
        sc = LANDSAT_C2_SCALE if scale is None else scale
        off = LANDSAT_C2_OFFSET if offset is None else offset
        nd = 0.0 if nodata is None else nodata
    else:
        sc = 1.0 if scale is None else scale
        off = 0.0 if offset is None else offset
        nd = file_nodata if nodata is None else nodata
    for name, value in (("scale", sc), ("offset", off)):
        if not math.isfinite(float(value)):
            raise InputError(f"{name} must be a finite number, got {value!r}")
    return Scaling(float(sc), float(off), None if nd is None else float(nd))


# --------------------------------------------------------------------------- reading


def _same_grid(src: Any, grid: Grid) -> tuple[int, int] | None:
    """Return (row_off, col_off) of ``grid`` in ``src`` when both share one pixel lattice."""
    if pyproj.CRS.from_user_input(src.crs.to_wkt()) != grid.crs:
        return None
    s, g = src.transform, grid.transform
    if not (math.isclose(s.a, g.a, rel_tol=1e-9) and math.isclose(s.e, g.e, rel_tol=1e-9)):
        return None
    col = (g.c - s.c) / s.a
    row = (g.f - s.f) / s.e
    if abs(col - round(col)) > 1e-6 or abs(row - round(row)) > 1e-6:
        return None
    return int(round(row)), int(round(col))


def _nodata_to_nan(arr: np.ndarray, nodata: float | None) -> np.ndarray:
    """Set the cells of float ``arr`` equal to ``nodata`` (NaN included) to NaN, in place."""
    if nodata is not None:
        arr[np.isnan(arr) if np.isnan(nodata) else arr == np.float32(nodata)] = np.nan
    return arr


def read_values(
    ref: str | os.PathLike[str] | BandRef,
    grid: Grid,
    *,
    nodata: float | None = None,
    use_file_nodata: bool = True,
    resampling: str = "nearest",
) -> np.ndarray:
    """Read a band onto ``grid`` as float32, NaN where no data or outside the raster.

    On the raster's own pixel lattice the window is read as is; otherwise the
    source window covering ``grid`` is read and reprojected onto it with
    :func:`rasterio.warp.reproject` (``resampling``, nearest by default, which keeps
    class values and masks exact).
    """
    from rasterio.enums import Resampling
    from rasterio.warp import reproject, transform_bounds
    from rasterio.windows import Window, from_bounds

    ref = parse_band_ref(ref)
    out = np.full(grid.shape, np.nan, dtype=np.float32)
    with _open(ref) as src:
        nd = nodata if nodata is not None else (src.nodatavals[ref.band - 1] if use_file_nodata else None)
        off = _same_grid(src, grid)
        if off is not None:
            r0, c0 = off
            rr0, cc0 = max(r0, 0), max(c0, 0)
            rr1, cc1 = min(r0 + grid.height, src.height), min(c0 + grid.width, src.width)
            if rr1 > rr0 and cc1 > cc0:
                arr = src.read(ref.band, window=Window(cc0, rr0, cc1 - cc0, rr1 - rr0)).astype(np.float32)
                out[rr0 - r0 : rr1 - r0, cc0 - c0 : cc1 - c0] = _nodata_to_nan(arr, nd)
            return out
        try:
            b = transform_bounds(grid.crs.to_wkt(), src.crs, *grid.bounds, densify_pts=21)
        except Exception:  # noqa: BLE001 - outside the projection's domain: nothing to read
            return out
        w = from_bounds(*b, transform=src.transform)
        c0 = max(0, math.floor(w.col_off) - 2)
        r0 = max(0, math.floor(w.row_off) - 2)
        c1 = min(src.width, math.ceil(w.col_off + w.width) + 2)
        r1 = min(src.height, math.ceil(w.row_off + w.height) + 2)
        if c1 <= c0 or r1 <= r0:
            return out
        win = Window(c0, r0, c1 - c0, r1 - r0)
        arr = _nodata_to_nan(src.read(ref.band, window=win).astype(np.float32), nd)
        reproject(
            arr, out,
            src_transform=src.window_transform(win), src_crs=src.crs, src_nodata=np.nan,
            dst_transform=grid.transform, dst_crs=grid.crs.to_wkt(), dst_nodata=np.nan,
            resampling=Resampling[resampling],
        )
    return out


def read_band(
    ref: str | os.PathLike[str] | BandRef,
    *,
    area: Any = None,
    grid: Grid | None = None,
    sensor: str = "generic",
    scale: float | None = None,
    offset: float | None = None,
    nodata: float | None = None,
    boa_offset: float | None = None,
) -> tuple[np.ndarray, Grid]:
    """Read one band as physical values (float32, NaN where no data).

    Parameters
    ----------
    ref : str, path or BandRef
        ``PATH`` or ``PATH:BAND`` (1-based).
    area : GeoDataFrame or GeoSeries, optional
        Read only the window covering it (reprojected to the raster's CRS).
    grid : Grid, optional
        Read onto this grid instead (aligned by nearest resampling when the
        lattice differs). Takes precedence over ``area``.
    sensor, scale, offset, nodata, boa_offset
        See :func:`resolve_scaling`.

    Returns
    -------
    (numpy.ndarray, Grid)
        Values and the grid they lie on.
    """
    ref = parse_band_ref(ref)
    sc = resolve_scaling(ref, sensor=sensor, scale=scale, offset=offset, nodata=nodata, boa_offset=boa_offset)
    if grid is None:
        grid = area_grid(ref, area) if area is not None else raster_grid(ref)
    values = read_values(ref, grid, nodata=sc.nodata, use_file_nodata=False)
    if sc.scale != 1.0 or sc.offset != 0.0:
        values = (values * np.float32(sc.scale) + np.float32(sc.offset)).astype(np.float32)
    return values, grid


# --------------------------------------------------------------------------- masks


def scl_valid(scl: np.ndarray) -> np.ndarray:
    """Return True where a Sentinel-2 SCL class is usable (not 0, 1, 3, 8, 9, 10, not NaN)."""
    a = np.asarray(scl)
    ok = ~np.isin(a, list(SCL_INVALID_CLASSES))
    if np.issubdtype(a.dtype, np.floating):
        ok &= np.isfinite(a)
    return ok


def qa_pixel_valid(qa: np.ndarray) -> np.ndarray:
    """Return True where a Landsat C2 ``QA_PIXEL`` value has none of bits 0-4 (fill, cloud, shadow)."""
    a = np.asarray(qa)
    finite = np.isfinite(a) if np.issubdtype(a.dtype, np.floating) else np.ones(a.shape, bool)
    bits = np.where(finite, a, 1).astype(np.int64)
    drop = sum(1 << b for b in LANDSAT_QA_DROP_BITS)
    return finite & ((bits & drop) == 0)


def valid_mask(values: np.ndarray, *, kind: str) -> np.ndarray:
    """Return True where a mask layer of ``kind`` (``"scl"``, ``"qa_pixel"``, ``"binary"``) keeps a pixel.

    ``"binary"`` keeps non-zero cells (like a GDAL dataset mask).
    """
    check_choice(kind, name="mask kind", choices=MASK_KINDS)
    if kind == "scl":
        return scl_valid(values)
    if kind == "qa_pixel":
        return qa_pixel_valid(values)
    a = np.asarray(values)
    return np.isfinite(a) & (a != 0)


def read_valid_mask(ref: str | os.PathLike[str] | BandRef, grid: Grid, *, kind: str) -> np.ndarray:
    """Read a mask layer (SCL, QA_PIXEL, binary) onto ``grid`` (nearest) and return True where valid."""
    values = read_values(ref, grid, use_file_nodata=False, resampling="nearest")
    return valid_mask(values, kind=kind)


def default_mask_kind(sensor: str) -> str:
    """Return the mask kind that goes with a sensor: ``qa_pixel`` for Landsat, ``scl`` otherwise."""
    return "qa_pixel" if sensor == "landsat" else "scl"


# --------------------------------------------------------------------------- NDVI


def ndvi(
    red: np.ndarray,
    nir: np.ndarray,
    *,
    scale: float = 1.0,
    offset: float = 0.0,
    nodata: float | None = None,
    valid: np.ndarray | None = None,
) -> np.ndarray:
    """Compute the normalized difference vegetation index, (NIR - red) / (NIR + red).

    Parameters
    ----------
    red, nir : array_like
        Bands of equal shape (reflectance, or DNs with ``scale``/``offset``).
    scale, offset : float
        Applied to both bands first: ``value = DN * scale + offset``.
    nodata : float, optional
        DN marking missing cells in either band.
    valid : array of bool, optional
        False where a pixel is masked (cloud, shadow, ...).

    Returns
    -------
    numpy.ndarray
        float32, NaN where masked, no data, or where red + NIR <= 0; clipped to [-1, 1].

    Examples
    --------
    >>> ndvi(np.array([[1.0, 2.0]]), np.array([[3.0, 2.0]]))
    array([[0.5, 0. ]], dtype=float32)
    >>> ndvi(np.array([[0.0]]), np.array([[0.0]]))
    array([[nan]], dtype=float32)
    """
    r = np.asarray(red)
    n = np.asarray(nir)
    if r.shape != n.shape:
        raise InputError(f"red and nir must have the same shape; got {r.shape} and {n.shape}")
    if valid is not None and np.shape(valid) != r.shape:
        raise InputError(f"valid must have the bands' shape {r.shape}; got {np.shape(valid)}")
    bad = np.zeros(r.shape, dtype=bool)
    if nodata is not None:
        bad |= (r == nodata) | (n == nodata)
    rf = r.astype(np.float64) * scale + offset
    nf = n.astype(np.float64) * scale + offset
    total = rf + nf
    bad |= ~np.isfinite(total) | (total <= 0)
    if valid is not None:
        bad |= ~np.asarray(valid, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (nf - rf) / np.where(bad, 1.0, total)
    out = np.clip(out, -1.0, 1.0)
    out[bad] = np.nan
    return out.astype(np.float32)


def _check_threshold(threshold: float, name: str) -> float:
    try:
        t = float(threshold)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a number in [-1, 1], got {threshold!r}") from exc
    if not -1.0 <= t <= 1.0:
        raise InputError(f"{name} must be an NDVI value in [-1, 1], got {t}")
    return t


def green_mask(ndvi: np.ndarray, *, threshold: float = DEFAULT_GREEN_NDVI) -> np.ndarray:
    """Return True where NDVI >= ``threshold`` (default 0.3: vegetated), False where lower or NaN.

    Examples
    --------
    >>> green_mask(np.array([0.1, 0.3, np.nan, 0.8]))
    array([False,  True, False,  True])
    """
    t = _check_threshold(threshold, "threshold")
    a = np.asarray(ndvi, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.isfinite(a) & (a >= t)


def tree_mask(ndvi: np.ndarray, *, threshold: float = DEFAULT_TREE_NDVI) -> np.ndarray:
    """Return a tree-canopy proxy: True where NDVI >= ``threshold`` (default 0.6: dense vegetation).

    Examples
    --------
    >>> tree_mask(np.array([0.5, 0.65]))
    array([False,  True])
    """
    return green_mask(ndvi, threshold=threshold)


# --------------------------------------------------------------------------- land cover

#: Pixel status of :meth:`LandCoverScheme.snap`: the value is a class code, was snapped to one, or is
#: within tolerance of none (no data is NaN).
STATUS_EXACT, STATUS_SNAPPED, STATUS_UNASSIGNED = 0, 1, 2
_CLASS_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")


@dataclass(frozen=True)
class LandCoverScheme:
    """The classes of a land-cover raster: their names, which are green, tree or masked.

    Classes that are in none of the sets count as valid and not green. Bundled schemes
    (``scl``, ``worldcover``, ``rbi``) are TOML files in ``profiles/landcover``; see
    :func:`landcover_scheme`.

    Parameters
    ----------
    name : str
        Scheme name; its slug prefixes the class columns (``<name>_<class>_pct``).
    green, tree : frozenset of int
        Codes of green (vegetated) and tree classes (``tree`` None: the scheme has none).
    invalid : frozenset of int
        Masked codes (no data, cloud, ...): not part of the valid area.
    known : frozenset of int, optional
        Every class code of the scheme; a pixel with another value is not valid (no class),
        not "not green". None: every value is a class.
    names : tuple of (int, str)
        Class names by code (lower-case, ``a-z0-9_``); a code without one is ``class_<code>``.
    snap_tolerance : float, default 0
        Largest distance at which a pixel value is snapped to the nearest class code (for
        lossy-compressed copies such as JPEG2000 written with default settings). 0: values
        must match a code exactly. Must stay under half the smallest gap between codes, so a
        value is never within reach of two classes.
    """

    name: str
    green: frozenset[int]
    tree: frozenset[int] | None = None
    invalid: frozenset[int] = frozenset()
    known: frozenset[int] | None = None
    names: tuple[tuple[int, str], ...] = ()
    snap_tolerance: float = 0.0

    def __post_init__(self) -> None:
        try:
            tol = float(self.snap_tolerance)
        except (TypeError, ValueError) as exc:
            raise ProfileError(f"land-cover scheme {self.name!r}: snap_tolerance must be a number, "
                               f"got {self.snap_tolerance!r}") from exc
        if not math.isfinite(tol) or tol < 0:
            raise ProfileError(f"land-cover scheme {self.name!r}: snap_tolerance must be >= 0, got {tol}")
        if tol > 0:
            if self.known is None:
                raise ProfileError(f"land-cover scheme {self.name!r}: snap_tolerance needs the list of class codes")
            codes = np.array(sorted(self.known), dtype=float)
            gap = float(np.diff(codes).min()) if len(codes) > 1 else math.inf
            if tol >= gap / 2:
                raise ProfileError(
                    f"land-cover scheme {self.name!r}: snap_tolerance {tol:g} reaches two classes (the closest "
                    f"codes are {gap:g} apart); expected a tolerance under {gap / 2:g}"
                )
        if not _slug(self.name):
            raise ProfileError(f"land-cover scheme name {self.name!r} has no letter or digit to name columns by")
        for code, label in self.names:
            if not _CLASS_NAME.match(label):
                raise ProfileError(f"land-cover scheme {self.name!r}: class {code} name {label!r} must be "
                                   "lower-case letters, digits and _ (it becomes a column name)")
        labels = [label for _, label in self.names]
        dup = sorted({x for x in labels if labels.count(x) > 1})
        if dup:
            raise ProfileError(f"land-cover scheme {self.name!r}: class names used twice: {dup}")
        object.__setattr__(self, "snap_tolerance", tol)

    @property
    def prefix(self) -> str:
        """Column prefix: the slug of ``name`` (``"my classes"`` -> ``my_classes``)."""
        return _slug(self.name)

    @property
    def codes(self) -> list[int]:
        """The class codes, ascending (empty when the scheme lists none)."""
        return sorted(self.known) if self.known is not None else []

    def class_name(self, code: int) -> str:
        """Name of class ``code`` (``class_<code>`` when the scheme gives none)."""
        return dict(self.names).get(int(code), f"class_{int(code)}")

    def snap(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Snap pixel values to the nearest class code within ``snap_tolerance``.

        Returns
        -------
        (numpy.ndarray, numpy.ndarray)
            ``codes`` (float32: the class code, NaN where no data or no code within
            tolerance) and ``status`` (float32: :data:`STATUS_EXACT`, :data:`STATUS_SNAPPED`,
            :data:`STATUS_UNASSIGNED`, NaN where no data).

        Examples
        --------
        >>> s = LandCoverScheme("x", green=frozenset({10}), known=frozenset({0, 10}), snap_tolerance=2)
        >>> codes, status = s.snap(np.array([10.0, 9.0, 5.0, np.nan]))
        >>> codes.tolist()[:3], status.tolist()[:3]
        ([10.0, 10.0, nan], [0.0, 1.0, 2.0])
        """
        a = np.asarray(values, dtype=np.float64)
        finite = np.isfinite(a)
        if self.known is None:
            status = np.where(finite, np.float32(STATUS_EXACT), np.float32(np.nan)).astype(np.float32)
            return np.where(finite, a, np.nan).astype(np.float32), status
        k = np.array(self.codes, dtype=np.float64)
        filled = np.where(finite, a, k[0])
        hi = np.clip(np.searchsorted(k, filled), 0, len(k) - 1)
        lo = np.clip(hi - 1, 0, len(k) - 1)
        nearest = np.where(np.abs(k[lo] - filled) <= np.abs(k[hi] - filled), k[lo], k[hi])
        dist = np.abs(nearest - filled)
        assigned = finite & (dist <= self.snap_tolerance)
        status = np.full(a.shape, np.nan, dtype=np.float32)
        status[finite] = STATUS_UNASSIGNED
        status[assigned & (dist > 0)] = STATUS_SNAPPED
        status[assigned & (dist == 0)] = STATUS_EXACT
        return np.where(assigned, nearest, np.nan).astype(np.float32), status

    def classify(self, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Return ``(valid, green, tree)`` boolean arrays (``tree`` None when the scheme has none).

        Values are first snapped to the class codes (:meth:`snap`); values within tolerance of
        no code are not valid.
        """
        a = np.asarray(classes)
        if self.known is not None or np.issubdtype(a.dtype, np.floating):
            a = self.snap(a)[0]
        valid = np.isfinite(a) if np.issubdtype(a.dtype, np.floating) else np.ones(a.shape, bool)
        valid &= ~np.isin(a, list(self.invalid))
        green = valid & np.isin(a, list(self.green))
        tree = valid & np.isin(a, list(self.tree)) if self.tree is not None else None
        return valid, green, tree


def _int_classes(values: Any, where: str) -> frozenset[int]:
    try:
        return frozenset(int(v) for v in values)
    except (TypeError, ValueError) as exc:
        raise ProfileError(f"{where}: expected a list of integer class values, got {values!r}") from exc


_CLASS_KEYS = frozenset({"name", "green", "tree", "nodata"})
_SCHEME_KEYS = frozenset({"name", "classes", "tree", "nodata", "snap_tolerance"})
_SCHEME_ALIASES = {"sentinel2_scl": "scl", "esa_worldcover": "worldcover"}


def _scheme_from_toml(path: Path) -> LandCoverScheme:
    """Read a land-cover class file.

    ``[classes]`` maps codes to true/false (green) or to a table of ``name``, ``green``, ``tree``,
    ``nodata``; top-level keys are ``name``, ``nodata``, ``tree`` and ``snap_tolerance``.
    """
    from .profiles import check_keys, read_toml

    where = f"land-cover classes {path.name}"
    data = read_toml(path)
    check_keys(data, _SCHEME_KEYS, where=where, required={"classes"})
    classes = data["classes"]
    if not isinstance(classes, dict) or not classes:
        raise ProfileError(f"{where}: [classes] must map class numbers to true (green), false, or a table")
    green, tree, nodata, names = set(), set(), set(), []
    for key, spec in classes.items():
        (code,) = _int_classes([key], f"{where} [classes]")
        if isinstance(spec, bool):
            spec = {"green": spec}
        if not isinstance(spec, dict):
            raise ProfileError(f"{where}: class {key} must be true/false or a table of {sorted(_CLASS_KEYS)}")
        check_keys(spec, _CLASS_KEYS, where=f"{where} class {key}")
        for flag, into in (("green", green), ("tree", tree), ("nodata", nodata)):
            if not isinstance(spec.get(flag, False), bool):
                raise ProfileError(f"{where}: class {key} {flag} must be true or false, got {spec[flag]!r}")
            if spec.get(flag, False):
                into.add(code)
        if "name" in spec:
            names.append((code, str(spec["name"])))
    tree_set = None
    if "tree" in data or tree:
        tree_set = frozenset(tree) | _int_classes(data.get("tree", []), f"{where} tree")
    invalid = frozenset(nodata) | _int_classes(data.get("nodata", []), f"{where} nodata")
    known = frozenset(int(k) for k in classes) | invalid | (tree_set or frozenset())
    return LandCoverScheme(
        str(data.get("name", path.stem)), green=frozenset(green), tree=tree_set, invalid=invalid, known=known,
        names=tuple(sorted(names)), snap_tolerance=data.get("snap_tolerance", 0.0),
    )


def _bundled_schemes() -> list[str]:
    from .profiles import list_profiles

    return list_profiles("landcover")


def _bundled_scheme(name: str) -> LandCoverScheme:
    from .profiles import PROFILE_DIR

    key = _SCHEME_ALIASES.get(name.lower(), name.lower())
    if key not in _BUNDLED:
        path = PROFILE_DIR / "landcover" / f"{key}.toml"
        if not path.is_file():
            raise InputError(
                f"landcover kind must be one of {_bundled_schemes()}, a dict or a .toml class file; got {name!r}"
            )
        _BUNDLED[key] = _scheme_from_toml(path)
    return _BUNDLED[key]


_BUNDLED: dict[str, LandCoverScheme] = {}
SCL_SCHEME = _bundled_scheme("scl")
#: Sentinel-2 SCL classes dropped as no data, saturated, cloud shadow, cloud or cirrus (the masked
#: classes of ``profiles/landcover/scl.toml``: 0, 1, 3, 8, 9, 10); also the cloud mask under NDVI.
SCL_INVALID_CLASSES = SCL_SCHEME.invalid
WORLDCOVER_SCHEME = _bundled_scheme("worldcover")
RBI_SCHEME = _bundled_scheme("rbi")


def landcover_scheme(kind: str | os.PathLike[str] | Mapping[Any, Any] | LandCoverScheme) -> LandCoverScheme:
    """Return the class scheme of a land-cover raster.

    Parameters
    ----------
    kind : str, path, dict or LandCoverScheme
        A bundled scheme (``profiles/landcover/<name>.toml``): ``"scl"`` (Sentinel-2 SCL,
        class 4 vegetation), ``"worldcover"`` (ESA WorldCover: 10 tree, 20 shrub, 30 grass,
        90 wetland, 95 mangrove are green, 10 is tree, 0 no data; snap tolerance 2),
        ``"rbi"`` (a rasterised RBI land-cover map, codes 10-110); a dict
        ``{class: True/False}`` (True = green; classes named ``class_<code>``); or the path
        of a small TOML file::

            name = "my classes"
            snap_tolerance = 2          # optional, default 0 (no snapping)
            nodata = [0]                # optional: masked codes
            tree = [1]                  # optional
            [classes]
            1 = true                    # green, named class_1
            2 = { name = "kebun", green = true }
            3 = { name = "permukiman" } # not green
            0 = { name = "no_data", nodata = true }

    Examples
    --------
    >>> sorted(landcover_scheme("worldcover").green)
    [10, 20, 30, 90, 95]
    >>> landcover_scheme({1: True, 2: False}).green
    frozenset({1})
    >>> landcover_scheme("worldcover").class_name(50)
    'built_up'
    """
    if isinstance(kind, LandCoverScheme):
        return kind
    if isinstance(kind, Mapping):
        try:
            green = frozenset(int(k) for k, v in kind.items() if bool(v))
            known = frozenset(int(k) for k in kind)
        except (TypeError, ValueError) as exc:
            raise InputError(f"a land-cover mapping needs integer class keys, got {list(kind)}") from exc
        return LandCoverScheme("custom", green=green, known=known)
    if not isinstance(kind, (str, os.PathLike)):
        raise InputError(f"landcover kind must be a name, a .toml path, a dict or a LandCoverScheme, "
                         f"got {type(kind).__name__}")
    s = os.fspath(kind)
    if s.lower().endswith(".toml"):
        return _scheme_from_toml(Path(s))
    return _bundled_scheme(s)


# --------------------------------------------------------------------------- Sentinel-2 folders


def _pick(files: list[Path], pattern: str, what: str) -> Path | None:
    rx = re.compile(pattern, flags=re.IGNORECASE)
    found: list[tuple[int, Path]] = []
    for f in files:
        m = rx.search(f.name)
        if m:
            found.append((int(m.group(1)) if m.group(1) else 0, f))
    if not found:
        return None
    best = min(res for res, _ in found)
    chosen = sorted(f for res, f in found if res == best)
    if len(chosen) > 1:
        raise InputError(
            f"several {what} files at the same resolution: {[str(c) for c in chosen]}; "
            "point at one product (one .SAFE or one granule folder)"
        )
    return chosen[0]


def find_sentinel2_bands(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """Find the red, NIR and SCL files of one Sentinel-2 L2A product.

    Accepts a ``.SAFE`` folder or any folder holding the usual names
    (``*B04_10m.jp2``, ``*B08_10m.jp2``, ``*SCL_20m.jp2``, or ``B04.tif``/``B08.tif``/
    ``SCL.tif`` as on Earth Search). The finest resolution of each band is taken.

    Returns
    -------
    dict
        ``red``, ``nir`` (str paths), ``scl`` (str or None), ``metadata`` (the
        ``MTD_MSIL2A.xml`` or None), ``processing_baseline`` (str or None) and
        ``boa_offset`` (float or None: what the metadata says for B04).
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputFileError(
            f"Sentinel-2 folder not found: {root} (expected a .SAFE or a folder of band files)"
        )
    files = [p for p in root.rglob("*") if p.is_file()]
    ext = r"\.(?:jp2|tiff?)$"
    red = _pick(files, r"B04(?:_(\d+)m)?" + ext, "red (B04)")
    nir = _pick(files, r"B08(?:_(\d+)m)?" + ext, "NIR (B08)")
    scl = _pick(files, r"SCL(?:_(\d+)m)?" + ext, "SCL")
    if red is None or nir is None:
        raise InputFileError(
            f"no Sentinel-2 red/NIR bands in {root}: expected files named like *B04_10m.jp2 and "
            "*B08_10m.jp2 (or B04.tif/B08.tif)"
        )
    mtds = sorted(root.rglob("MTD_MSIL2A.xml"))
    mtd = mtds[0] if mtds else _find_mtd(red)
    baseline, boa = None, None
    if mtd is not None:
        meta = _parse_mtd(mtd)
        baseline = meta["baseline"]
        if meta["offsets"]:
            boa = meta["offsets"].get(_S2_BAND_IDS["B04"], next(iter(meta["offsets"].values())))
        elif baseline:
            boa = _baseline_offset(baseline)
    log.info("Sentinel-2 bands in %s: red %s, nir %s, scl %s", root, red.name, nir.name,
             scl.name if scl else "none")
    return {
        "red": str(red), "nir": str(nir), "scl": str(scl) if scl else None,
        "metadata": str(mtd) if mtd else None, "processing_baseline": baseline, "boa_offset": boa,
    }


def sentinel2_sources(
    folder: str | os.PathLike[str], *, boa_offset: float | None = None, date: str | None = None
) -> Any:
    """Return :class:`~bandung_mapping.study_area.RasterSources` for a Sentinel-2 product folder."""
    from .study_area import RasterSources

    found = find_sentinel2_bands(folder)
    return RasterSources(
        red=found["red"], nir=found["nir"], scl=found["scl"], sensor="sentinel2",
        boa_offset=boa_offset if boa_offset is not None else found["boa_offset"], date=date,
    )


# --------------------------------------------------------------------------- NDVI on a grid, writing


def ndvi_on_grid(
    red: BandRef,
    nir: BandRef,
    grid: Grid,
    *,
    red_scaling: Scaling,
    nir_scaling: Scaling,
    mask: BandRef | None = None,
    mask_kind: str = "scl",
) -> np.ndarray:
    """Return the NDVI of one grid (a window or a block): read, align, scale, mask; NaN where invalid."""
    r = read_values(red, grid, nodata=red_scaling.nodata, use_file_nodata=False)
    n = read_values(nir, grid, nodata=nir_scaling.nodata, use_file_nodata=False)
    r = r * np.float32(red_scaling.scale) + np.float32(red_scaling.offset)
    n = n * np.float32(nir_scaling.scale) + np.float32(nir_scaling.offset)
    valid = read_valid_mask(mask, grid, kind=mask_kind) if mask is not None else None
    return ndvi(r, n, valid=valid)


def _cog_available() -> bool:
    import rasterio

    with rasterio.Env() as env:
        return "COG" in env.drivers()


def write_ndvi(
    red: str | os.PathLike[str],
    nir: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    sensor: str = "generic",
    scale: float | None = None,
    offset: float | None = None,
    nodata: float | None = None,
    boa_offset: float | None = None,
    mask: str | os.PathLike[str] | None = None,
    mask_kind: str | None = None,
    area: Any = None,
    block_size: int = _BLOCK,
) -> Path:
    """Write NDVI as a Cloud-Optimized GeoTIFF (float32, NaN nodata), block by block, atomically.

    Parameters
    ----------
    red, nir : str or path
        ``PATH`` or ``PATH:BAND``. NIR is aligned onto the red grid when they differ.
    out_path : str or path
        The GeoTIFF to write; its folder must exist.
    sensor, scale, offset, nodata, boa_offset
        See :func:`resolve_scaling`; the same scale/offset apply to both bands.
    mask : str or path, optional
        Cloud mask layer (SCL for Sentinel-2, QA_PIXEL for Landsat), aligned onto
        the red grid by nearest resampling.
    mask_kind : {"scl", "qa_pixel", "binary"}, optional
        Default: ``qa_pixel`` for Landsat, ``scl`` otherwise.
    area : GeoDataFrame or GeoSeries, optional
        Write only the window covering it; default the full red extent.
    block_size : int
        Cells per block side (memory stays near a few blocks whatever the extent).

    Returns
    -------
    pathlib.Path
        ``out_path``. Uses GDAL's ``COG`` driver when available, else a tiled
        GeoTIFF with internal overviews.
    """
    import rasterio
    import rasterio.shutil
    from rasterio.enums import Resampling

    red_ref, nir_ref = parse_band_ref(red), parse_band_ref(nir)
    mask_ref = parse_band_ref(mask) if mask is not None else None
    kind = mask_kind or default_mask_kind(sensor)
    check_choice(kind, name="mask_kind", choices=MASK_KINDS)
    if not isinstance(block_size, int) or block_size < 16:
        raise InputError(f"block_size must be an integer >= 16, got {block_size!r}")
    block_size = max(256, (block_size // 256) * 256) if block_size >= 256 else block_size
    out = Path(out_path)
    if not out.parent.is_dir():
        raise OutputError(f"output folder does not exist: {out.parent}")
    kw = {"sensor": sensor, "scale": scale, "offset": offset, "nodata": nodata, "boa_offset": boa_offset}
    red_sc, nir_sc = resolve_scaling(red_ref, **kw), resolve_scaling(nir_ref, **kw)
    grid = area_grid(red_ref, area) if area is not None else raster_grid(red_ref)
    tile = 512 if min(grid.width, grid.height) >= 512 else 256
    tags = {
        "DESCRIPTION": "NDVI = (NIR - red) / (NIR + red); NaN where masked or no data",
        "SENSOR": sensor, "RED": Path(red_ref.path).name + f":{red_ref.band}",
        "NIR": Path(nir_ref.path).name + f":{nir_ref.band}",
        "SCALE": repr(red_sc.scale), "OFFSET": repr(red_sc.offset),
        "MASK": (Path(mask_ref.path).name + f" ({kind})") if mask_ref else "none",
    }
    profile = {
        "driver": "GTiff", "width": grid.width, "height": grid.height, "count": 1, "dtype": "float32",
        "crs": grid.crs.to_wkt(), "transform": grid.transform, "nodata": float("nan"),
        "tiled": True, "blockxsize": tile, "blockysize": tile, "compress": "deflate", "predictor": 3,
        "BIGTIFF": "IF_SAFER",
    }
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part.tif", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    n_valid = n_negative = 0
    try:
        with rasterio.Env(GDAL_CACHEMAX=256), rasterio.open(tmp, "w", **profile) as dst:
            for window, sub in grid.blocks(block_size):
                block = ndvi_on_grid(red_ref, nir_ref, sub, red_scaling=red_sc, nir_scaling=nir_sc,
                                     mask=mask_ref, mask_kind=kind)
                n_valid += int(np.isfinite(block).sum())
                n_negative += int((block < 0).sum())
                dst.write(block, 1, window=window)
            dst.update_tags(**tags)
            dst.set_band_description(1, "NDVI")
        if n_valid == 0:
            raise RasterCoverageError(
                f"NDVI of {Path(red_ref.path).name} and {Path(nir_ref.path).name} has no valid pixel (all no data "
                f"or masked{' in the area' if area is not None else ''}); nothing written to {out.name}"
            )
        warn_if_swapped(n_negative, n_valid, red=red_ref.path, nir=nir_ref.path)
        with atomic_path(out) as final_tmp:
            if _cog_available():
                with rasterio.Env(GDAL_CACHEMAX=256):
                    rasterio.shutil.copy(tmp, final_tmp, driver="COG", COMPRESS="DEFLATE", PREDICTOR="YES",
                                         BLOCKSIZE=str(tile), OVERVIEWS="AUTO", RESAMPLING="AVERAGE",
                                         BIGTIFF="IF_SAFER")
            else:  # pragma: no cover - GDAL < 3.1
                factors = [f for f in (2, 4, 8, 16, 32, 64) if min(grid.width, grid.height) // f >= tile // 2]
                with rasterio.open(tmp, "r+") as ds:
                    if factors:
                        ds.build_overviews(factors, Resampling.average)
                rasterio.shutil.copy(tmp, final_tmp, driver="GTiff", TILED="YES", COPY_SRC_OVERVIEWS="YES",
                                     COMPRESS="DEFLATE", PREDICTOR="3", BLOCKXSIZE=str(tile),
                                     BLOCKYSIZE=str(tile))
    except BandungMappingError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    log.info("wrote NDVI %s (%d x %d px, %s valid)", out, grid.width, grid.height, f"{n_valid:,}")
    return out
