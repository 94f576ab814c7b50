"""The StudyArea: an immutable record of what was loaded, and nothing more."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import pyproj

from .profiles import CityProfile

__all__ = ["StudyArea", "RasterSources"]


@dataclass(frozen=True)
class RasterSources:
    """Raster inputs of a study area (paths; nothing is read until measured).

    ``red`` and ``nir`` take ``PATH`` or ``PATH:BAND``. ``sensor`` is one of
    ``"generic"``, ``"sentinel2"``, ``"landsat"``; ``boa_offset`` overrides the
    Sentinel-2 BOA_ADD_OFFSET when the product metadata does not give it.
    """

    red: str | None = None
    nir: str | None = None
    scl: str | None = None
    landcover: str | None = None
    landcover_kind: str = "worldcover"
    sensor: str = "generic"
    boa_offset: float | None = None
    date: str | None = None

    @property
    def any(self) -> bool:
        """True when at least one raster is given."""
        return any([self.red and self.nir, self.scl, self.landcover])


@dataclass(frozen=True)
class StudyArea:
    """What was loaded for one city: zones per level, green spaces, buildings, network, rasters.

    Vector layers are stored in EPSG:4326; use :meth:`metric` to get any of them
    in the city's projected CRS. Build one with :func:`bandung_mapping.load_study_area`
    or :func:`bandung_mapping.sample.load_sample`.

    Attributes
    ----------
    city : CityProfile
    zones : dict of level -> GeoDataFrame
        Columns ``zone_id``, ``zone_name``, ``parent_id``, ``population``, ``geometry``;
        ordered lowest level first, as ``city.levels``.
    green_spaces : GeoDataFrame
        Polygons with ``rth_jenis``, ``is_public``, ``area_m2`` and their OSM tags.
    green_points : GeoDataFrame
        Point features (a park mapped as a node, or a park list with ``area_m2``).
    buildings : GeoDataFrame or None
    network : networkx.MultiDiGraph or None
        Walk network (osmnx graph, EPSG:4326).
    rasters : RasterSources
    candidates : GeoDataFrame or None
        Land that could become a park (vacant OSM landuse, land-cover classes, user parcels).
    excluded : dict
        Counts of excluded or repaired features by reason.
    inputs : list of dict
        ``{"role", "path", "sha256"}`` of each input file.
    synthetic : bool
        True for the built-in synthetic sample.
    notes : list of str
    park_kinds : tuple of str or None
        RTH kinds counted as public parks (``park = true`` in the rules); None reads them
        from ``rth_rules_source``.
    qa : dict
        Quality checks of the inputs (e.g. ``boundaries``: validity, overlaps and gaps).
    """

    city: CityProfile
    zones: dict[str, gpd.GeoDataFrame]
    green_spaces: gpd.GeoDataFrame
    green_points: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame | None = None
    network: Any = None
    rasters: RasterSources = field(default_factory=RasterSources)
    candidates: gpd.GeoDataFrame | None = None
    excluded: dict[str, int] = field(default_factory=dict)
    inputs: list[dict[str, str]] = field(default_factory=list)
    synthetic: bool = False
    notes: list[str] = field(default_factory=list)
    rth_rules_source: str = ""
    park_kinds: tuple[str, ...] | None = None
    qa: dict[str, Any] = field(default_factory=dict)

    @property
    def metric_crs(self) -> pyproj.CRS:
        """The projected CRS in which every area and distance is computed."""
        return pyproj.CRS.from_user_input(self.city.metric_crs)

    @property
    def lowest_level(self) -> str:
        """Name of the lowest zone level."""
        return self.city.lowest_level

    def metric(self, layer: str) -> gpd.GeoDataFrame | None:
        """Return layer ``layer`` (a zone level, ``green_spaces``, ``green_points``, ``buildings``) in metres."""
        if layer in self.zones:
            gdf = self.zones[layer]
        else:
            gdf = getattr(self, layer)
        if gdf is None:
            return None
        return gdf.to_crs(self.metric_crs)

    def replace(self, **changes: Any) -> StudyArea:
        """Return a copy with some fields replaced (the StudyArea itself never changes)."""
        return replace(self, **changes)
