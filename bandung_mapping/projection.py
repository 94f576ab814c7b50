"""Coordinate reference systems: store in EPSG:4326, compute in metres."""

from __future__ import annotations

import math
from typing import TypeVar

import geopandas as gpd
import pyproj

from .errors import CRSError, EmptyAreaError

__all__ = ["STORAGE_CRS", "estimate_utm_crs", "to_metric", "to_storage", "check_metric", "check_coordinates"]

STORAGE_CRS = "EPSG:4326"
G = TypeVar("G", gpd.GeoDataFrame, gpd.GeoSeries)


def estimate_utm_crs(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> pyproj.CRS:
    """Return the UTM zone CRS that contains the centre of ``gdf``.

    Examples
    --------
    >>> from bandung_mapping import sample
    >>> estimate_utm_crs(sample.load_sample().zones["kelurahan"]).to_epsg()
    32748
    """
    if gdf.crs is None:
        raise CRSError("cannot estimate a UTM zone: the input has no CRS; set one with .set_crs()")
    if len(gdf) == 0:
        raise EmptyAreaError("cannot estimate a UTM zone of an empty layer")
    return gdf.estimate_utm_crs()


def to_metric(gdf: G, crs: object, *, name: str = "layer") -> G:
    """Reproject ``gdf`` to the projected CRS ``crs`` (metres), refusing a missing CRS."""
    if gdf.crs is None:
        raise CRSError(
            f"{name} has no CRS; expected one (e.g. EPSG:4326) so it can be reprojected to metres. "
            "Set it with .set_crs()."
        )
    target = pyproj.CRS.from_user_input(crs)
    if target.is_geographic:
        raise CRSError(f"metric CRS expected for {name}, got geographic {target.to_string()}")
    return gdf.to_crs(target)


def to_storage(gdf: G) -> G:
    """Reproject ``gdf`` to EPSG:4326 for storage and maps."""
    if gdf.crs is None:
        raise CRSError("layer has no CRS; cannot reproject to EPSG:4326")
    return gdf.to_crs(STORAGE_CRS)


def check_metric(gdf: gpd.GeoDataFrame | gpd.GeoSeries, *, name: str = "gdf") -> None:
    """Raise :class:`CRSError` unless ``gdf`` has a projected CRS in metres."""
    if gdf.crs is None:
        raise CRSError(
            f"{name} has no CRS; expected a projected CRS in metres (e.g. EPSG:32748). "
            "Use bandung_mapping.projection.to_metric()."
        )
    if not gdf.crs.is_projected:
        raise CRSError(
            f"{name} is in {gdf.crs.to_string()} (degrees); expected a projected CRS in metres "
            "(e.g. EPSG:32748 for Bandung). Use bandung_mapping.projection.to_metric()."
        )
    unit = gdf.crs.axis_info[0].unit_name if gdf.crs.axis_info else "metre"
    if unit not in ("metre", "meter", "m"):
        raise CRSError(f"{name} CRS unit is {unit!r}; expected metres")


def _area_of_use(crs: pyproj.CRS) -> tuple[float, float, float, float] | None:
    aou = crs.area_of_use
    return None if aou is None else (aou.west, aou.south, aou.east, aou.north)


def _inside(lon: float, lat: float, box: tuple[float, float, float, float], margin: float = 1.0) -> bool:
    w, s, e, n = box
    return w - margin <= lon <= e + margin and s - margin <= lat <= n + margin


def check_coordinates(
    gdf: gpd.GeoDataFrame | gpd.GeoSeries, *, name: str, region_crs: str | pyproj.CRS | None = None
) -> None:
    """Raise :class:`CRSError` when the coordinates of ``gdf`` cannot be in its declared CRS.

    Catches the usual mislabelled files: projected metres labelled as degrees (EPSG:4326),
    degrees labelled as a projected CRS (e.g. EPSG:32748), and latitude/longitude swapped.
    The coordinates must lie within the declared CRS's area of use (with a 1° margin); with
    ``region_crs`` (the city's metric CRS) they must also lie within that CRS's area of use,
    and a swap of the two axes that would put them there is named as such.

    Examples
    --------
    >>> import shapely
    >>> pts = gpd.GeoSeries([shapely.Point(107.6, -6.9)], crs="EPSG:32748")
    >>> check_coordinates(pts, name="zones")
    Traceback (most recent call last):
    ...
    bandung_mapping.errors.CRSError: zones: coordinates x 107.6 to 107.6, y -6.9 to -6.9 cannot be in EPSG:32748 ...
    """
    if gdf.crs is None or len(gdf) == 0:
        return
    geo = gdf.geometry if isinstance(gdf, gpd.GeoDataFrame) else gdf
    geo = geo[geo.notna() & ~geo.is_empty]
    if len(geo) == 0:
        return
    x0, y0, x1, y1 = (float(v) for v in geo.total_bounds)
    seen = f"coordinates x {x0:.6g} to {x1:.6g}, y {y0:.6g} to {y1:.6g}"
    crs = pyproj.CRS.from_user_input(gdf.crs)
    label = crs.to_string()
    if crs.is_geographic:
        if max(abs(x0), abs(x1)) <= 90 and 90 < max(abs(y0), abs(y1)) <= 180:
            raise CRSError(
                f"{name}: {seen} look like latitude/longitude swapped (x should be longitude, y latitude); "
                "swap the axes or fix the file's CRS"
            )
        if max(abs(x0), abs(x1)) > 180 or max(abs(y0), abs(y1)) > 90:
            raise CRSError(
                f"{name}: {seen} are not degrees, yet the CRS is {label} (longitude/latitude); they look like "
                "projected metres: set the file's real CRS (e.g. EPSG:32748)"
            )
        lon, lat = (x0 + x1) / 2, (y0 + y1) / 2
    else:
        box = _area_of_use(crs)
        try:
            to_deg = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
            lons, lats = to_deg.transform([x0, x1, x0, x1], [y0, y0, y1, y1])
        except pyproj.exceptions.ProjError:
            lons, lats = [float("nan")], [float("nan")]
        finite = all(map(math.isfinite, [*lons, *lats]))
        if not finite or (box is not None and not all(_inside(a, b, box) for a, b in zip(lons, lats))):
            hint = (
                "; they look like degrees (longitude/latitude): the CRS should be EPSG:4326"
                if max(abs(x0), abs(x1)) <= 180 and max(abs(y0), abs(y1)) <= 90
                else ""
            )
            where = f" (area of use lon {box[0]:g} to {box[2]:g}, lat {box[1]:g} to {box[3]:g})" if box else ""
            raise CRSError(f"{name}: {seen} cannot be in {label}{where}{hint}")
        lon, lat = (lons[0] + lons[-1]) / 2, (lats[0] + lats[-1]) / 2
    if region_crs is None:
        return
    region = _area_of_use(pyproj.CRS.from_user_input(region_crs))
    if region is None or _inside(lon, lat, region):
        return
    if crs.is_geographic and _inside(lat, lon, region):
        raise CRSError(
            f"{name}: {seen} look like latitude/longitude swapped (x should be longitude, y latitude); "
            "swap the axes or fix the file's CRS"
        )
    raise CRSError(
        f"{name}: {seen} (centre lon {lon:.4g}, lat {lat:.4g}) lie outside the city's region "
        f"(area of use of {region_crs}: lon {region[0]:g} to {region[2]:g}, lat {region[1]:g} to {region[3]:g})"
    )
