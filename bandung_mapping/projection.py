"""Coordinate reference systems: store in EPSG:4326, compute in metres."""

from __future__ import annotations

from typing import TypeVar

import geopandas as gpd
import pyproj

from .errors import CRSError, EmptyAreaError

__all__ = ["STORAGE_CRS", "estimate_utm_crs", "to_metric", "to_storage", "check_metric"]

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
