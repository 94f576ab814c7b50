"""Folium maps of zones, green spaces, buildings, access gaps, candidate sites and rasters.

Every function returns a :class:`folium.Map` and takes ``m=None`` to stack layers on a
map made earlier; :func:`study_map` stacks them all. Maps speak Bahasa Indonesia by
default (``lang="en"`` or ``"ko"`` for others; see :mod:`bandung_mapping.i18n`), always
credit their sources, and are written by :func:`save_map`, by default as one
self-contained HTML file: Leaflet's script and stylesheet are inlined from the copies
vendored in ``bandung_mapping/static/`` so that the map opens without internet access
(basemap tiles aside).

Size is kept in check so that a whole city fits in a few megabytes: boundaries are
simplified with a tolerance of :data:`SIMPLIFY_TOLERANCE_M` metres in the city's metric
CRS, coordinates are rounded to :data:`COORD_DECIMALS` decimals (about 0.1 m), the
choropleth draws each zone's geometry once whatever the number of indicators (a
selector in the legend restyles it), and more than :data:`MAX_BUILDING_POLYGONS`
buildings are drawn as a :data:`BUILDING_CELL_M` metre grid of building density instead
of one polygon each.

All text that comes from data (zone names, OSM tags, file names) is HTML-escaped before
it reaches the page, with the characters of template syntax (``{ } $ `` and backquote) as
character references too: folium and branca compile the script of every element as a
Jinja template a second time, so text that still held ``{{`` would run as code. The
elements of this module render their parts once, as literal text (:class:`_Literal`).

Examples
--------
>>> from bandung_mapping import maps, sample                      # doctest: +SKIP
>>> study = sample.load_sample()                                  # doctest: +SKIP
>>> m = maps.zone_map(tables, city=study.city, synthetic=True)    # doctest: +SKIP
>>> m = maps.green_space_layer(study.green_spaces, m=m)           # doctest: +SKIP
>>> maps.save_map(m, "map.html")                                  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import html
import math
import os
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from branca.element import Element, Figure, MacroElement
from folium.template import Template

from . import i18n
from ._log import get_logger
from ._validate import check_gdf
from .errors import CRSError, EmptyAreaError, InputError, OutputError, RasterCoverageError, RasterError
from .outputs import atomic_write
from .profiles import CityProfile
from .projection import STORAGE_CRS

log = get_logger(__name__)

__all__ = [
    "DEFAULT_INDICATORS",
    "SIMPLIFY_TOLERANCE_M",
    "COORD_DECIMALS",
    "BUILDING_CELL_M",
    "MAX_BUILDING_POLYGONS",
    "OSM_CREDIT",
    "COPERNICUS_CREDIT",
    "zone_map",
    "green_space_layer",
    "building_layer",
    "building_grid",
    "access_gap_layer",
    "candidate_site_layer",
    "raster_overlay",
    "study_map",
    "save_map",
    "render_html",
    "latlon_bounds",
]

#: Indicators offered by :func:`zone_map` when ``indicators`` is None (those present).
DEFAULT_INDICATORS: tuple[str, ...] = (
    "rth_pct",
    "rth_public_pct",
    "rth_per_capita_m2",
    "green_cover_pct",
    "pop_within_300m_green_0_5ha_pct",
    "building_coverage_pct",
)
#: Douglas-Peucker tolerance (metres, in the metric CRS) applied to drawn polygons.
SIMPLIFY_TOLERANCE_M: float = 5.0
#: Decimals kept in drawn coordinates (6 decimals of a degree is about 0.1 m).
COORD_DECIMALS: int = 6
#: Side of the building-density grid cell (metres).
BUILDING_CELL_M: float = 250.0
#: Above this many buildings, :func:`building_layer` draws the density grid.
MAX_BUILDING_POLYGONS: int = 5000
OSM_CREDIT = "© OpenStreetMap contributors (ODbL)"
COPERNICUS_CREDIT = "Contains modified Copernicus Sentinel data"

STATIC_DIR = Path(__file__).parent / "static"
LEAFLET_VERSION = "1.9.4"
_LEAFLET_JS_URL = f"https://cdn.jsdelivr.net/npm/leaflet@{LEAFLET_VERSION}/dist/leaflet.js"
_LEAFLET_CSS_URL = f"https://cdn.jsdelivr.net/npm/leaflet@{LEAFLET_VERSION}/dist/leaflet.css"
# file name in a script/stylesheet URL -> vendored file inlined in its place
_VENDORED = {"leaflet.js": "leaflet.js", "leaflet.css": "leaflet.css"}
# folium's default assets that none of these layers needs; dropped from self-contained maps
_UNNEEDED = {
    "jquery-3.7.1.min.js",
    "bootstrap.bundle.min.js",
    "leaflet.awesome-markers.js",
    "bootstrap.min.css",
    "bootstrap-glyphicons.css",
    "all.min.css",
    "leaflet.awesome-markers.css",
    "leaflet.awesome.rotate.min.css",
}

NODATA_COLOR = "#d9d9d9"
_PALETTES = {
    "greens": ["#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c"],
    "oranges": ["#feedde", "#fdbe85", "#fd8d3c", "#e6550d", "#a63603"],
    "reds": ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"],
    "blues": ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"],
    "purples": ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"],
}
_INDICATOR_PALETTE = {
    "building_coverage_pct": "oranges",
    "building_count": "oranges",
    "building_footprint_ha": "oranges",
    "rth_gap_to_30pct_ha": "reds",
    "population": "blues",
    "pop_within_300m_green_0_5ha_pct": "purples",
    "pop_within_400m_public_open_space_pct": "purples",
}
_JENIS_COLORS = {
    "taman": "#1a9850",
    "taman_kota": "#1a9850",
    "hutan_kota": "#00441b",
    "hutan": "#00441b",
    "jalur_hijau": "#66bd63",
    "jalur_hijau_jalan": "#66bd63",
    "taman_pribadi": "#b8e186",
    "halaman_institusi": "#4d9221",
    "kebun_bibit": "#7fbc41",
    "lahan_rumput": "#d9f0a3",
    "sempadan_rel": "#8c8c8c",
    "tegangan_tinggi": "#bababa",
    "vegetasi_alami": "#238443",
    "lapangan_olahraga": "#a6d96a",
    "taman_bermain": "#d9ef8b",
    "pemakaman": "#8c6bb1",
    "pertanian": "#bf812d",
    "kebun": "#7fbc41",
    "semak": "#b8e186",
    "sempadan_sungai": "#4393c3",
}
_EXTRA_COLORS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"]
_ACCESS_BREAKS_M = (300.0, 500.0, 1000.0)
_ACCESS_COLORS = ["#fdae61", "#f46d43", "#d73027", "#a50026"]
_BUILDING_BREAKS_PCT = (5.0, 15.0, 30.0, 50.0, 100.0)


# --------------------------------------------------------------------------- coordinates


def latlon_bounds(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> list[list[float]]:
    """Bounds of ``gdf`` as folium wants them: ``[[south, west], [north, east]]`` in degrees.

    This is the one place where shapely's x/y (lon/lat) order turns into folium's lat/lon.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoSeries([shapely.box(107.5, -7.0, 107.7, -6.8)], crs="EPSG:4326")
    >>> latlon_bounds(g)
    [[-7.0, 107.5], [-6.8, 107.7]]
    """
    if gdf.crs is None:
        raise CRSError("layer has no CRS; cannot place it on a map (set one with .set_crs())")
    west, south, east, north = (float(v) for v in gdf.to_crs(STORAGE_CRS).total_bounds)
    return _latlon_box(west, south, east, north)


def _latlon_box(west: float, south: float, east: float, north: float) -> list[list[float]]:
    return [[south, west], [north, east]]


def _metric_crs(gdf: gpd.GeoDataFrame, city: CityProfile | None) -> pyproj.CRS:
    if city is not None:
        return pyproj.CRS.from_user_input(city.metric_crs)
    return gdf.estimate_utm_crs()


def _drawable(
    gdf: gpd.GeoDataFrame,
    *,
    city: CityProfile | None,
    tolerance_m: float = SIMPLIFY_TOLERANCE_M,
    decimals: int = COORD_DECIMALS,
) -> np.ndarray:
    """Geometries of ``gdf`` simplified in metres, in EPSG:4326, 2D, coordinates rounded."""
    geo = gdf.geometry
    if tolerance_m > 0 and len(geo):
        crs = _metric_crs(gdf, city)
        geo = geo.to_crs(crs).simplify(tolerance_m, preserve_topology=True).to_crs(STORAGE_CRS)
    else:
        geo = geo.to_crs(STORAGE_CRS)
    arr = shapely.force_2d(np.asarray(geo.values, dtype=object))
    return shapely.transform(arr, lambda c: np.round(c, decimals))


# --------------------------------------------------------------------------- GeoJSON building


# Characters of template syntax (Jinja ``{{ }}``/``{% %}``, JavaScript ``${}`` and backquoted
# strings) written as HTML character references: they show as themselves in the page.
_TEMPLATE_CHARS = str.maketrans({"{": "&#123;", "}": "&#125;", "$": "&#36;", "`": "&#96;"})


def _esc(value: Any) -> str:
    """``value`` as HTML text that no template engine reads as code (see the module notes)."""
    return html.escape(str(value), quote=True).translate(_TEMPLATE_CHARS)


def _prop(value: Any, decimals: int = 2) -> Any:
    """One property value, safe to embed: strings escaped, NaN as null, floats rounded."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        x = float(value)
        return None if math.isnan(x) or math.isinf(x) else round(x, decimals)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return _esc(value)


def _feature_collection(geoms: np.ndarray, props: Mapping[str, Sequence[Any]], *, decimals: int = 2) -> dict:
    keys = list(props)
    columns = [list(props[k]) for k in keys]
    features = []
    for i, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            continue
        features.append(
            {
                "type": "Feature",
                "id": str(i),
                "properties": {k: _prop(col[i], decimals) for k, col in zip(keys, columns, strict=False)},
                "geometry": shapely.geometry.mapping(geom),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _column(gdf: pd.DataFrame, name: str) -> list[Any]:
    return gdf[name].tolist() if name in gdf.columns else [None] * len(gdf)


def _rounded_column(gdf: pd.DataFrame, name: str) -> list[Any]:
    """Column ``name`` as whole numbers (NaN where not a number), or None everywhere when missing."""
    return pd.to_numeric(gdf[name], errors="coerce").round(0).tolist() if name in gdf else [None] * len(gdf)


def _rounded_4326(geo: gpd.GeoSeries) -> np.ndarray:
    """Geometries in EPSG:4326, not simplified, coordinates rounded to :data:`COORD_DECIMALS`."""
    return shapely.transform(
        np.asarray(geo.to_crs(STORAGE_CRS).values, dtype=object),
        lambda c: np.round(c, COORD_DECIMALS),
    )


# --------------------------------------------------------------------------- map elements


class _Literal(Element):
    """Finished text placed in the page as it is (never compiled as a template)."""

    def __init__(self, text: str):
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:
        return self._text


class _PageElement(MacroElement):
    """A :class:`MacroElement` whose header, html and script parts are rendered once.

    branca's ``MacroElement.render`` wraps each rendered part in ``Element(text)``, which
    compiles the text (data included) as a Jinja template again. Here each part is placed
    as a :class:`_Literal` instead, so that escaped text stays text.
    """

    def render(self, **kwargs: Any) -> None:
        figure = self.get_root()
        if not isinstance(figure, Figure):
            raise OutputError(f"{type(self).__name__} must be added to a map before it is rendered")
        macros = self._template.module.__dict__
        for part in ("header", "html", "script"):
            macro = macros.get(part)
            if macro is not None:
                getattr(figure, part).add_child(_Literal(str(macro(self, kwargs))), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)


class _Credits(_PageElement):
    """Adds source credits to the map's attribution control (text is escaped)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {% for c in this.credits %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ c|tojson }});
        {% endfor %}
        {% endmacro %}
        """
    )

    def __init__(self, credits: Iterable[str]):
        super().__init__()
        self._name = "Credits"
        self.credits = [_esc(c) for c in credits]


class _Header(_PageElement):
    """Title box and, for synthetic data, a banner that cannot be missed."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
        .bm-header {position: fixed; top: 8px; left: 50%; transform: translateX(-50%); z-index: 1000;
            text-align: center; font: 14px/1.3 sans-serif; pointer-events: none;}
        .bm-title {background: rgba(255,255,255,0.9); padding: 4px 10px; border-radius: 4px;
            box-shadow: 0 1px 4px rgba(0,0,0,0.3); font-weight: bold;}
        .bm-synthetic {background: #b2182b; color: #fff; padding: 4px 10px; margin-top: 4px;
            border-radius: 4px; font-weight: bold; letter-spacing: 0.03em;}
        </style>
        {% endmacro %}
        {% macro html(this, kwargs) %}
        <div class="bm-header" id="{{ this.get_name() }}">
        {% if this.title %}<div class="bm-title">{{ this.title|e }}</div>{% endif %}
        {% if this.synthetic %}
        <div class="bm-synthetic" id="bm-synthetic-banner">{{ this.synthetic|e }}</div>
        {% endif %}
        </div>
        {% endmacro %}
        """
    )

    def __init__(self, title: str | None, synthetic: str | None):
        super().__init__()
        self._name = "Header"
        self.title = title
        self.synthetic = synthetic


_LEGEND_CSS = """
<style>
.bm-legend {background: rgba(255,255,255,0.92); padding: 6px 8px; font: 12px/1.35 sans-serif;
    border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,0.3); max-width: 280px;}
.bm-legend-title {font-weight: bold; display: block; margin-bottom: 3px;}
.bm-legend select {max-width: 260px; margin-bottom: 4px; font-size: 12px;}
.bm-legend-row {white-space: nowrap;}
.bm-swatch {display: inline-block; width: 14px; height: 12px; margin-right: 5px;
    vertical-align: middle; border: 1px solid #888;}
</style>
"""


# Templates of legend elements start with these: the legend style for the page header
# and ``legend_rows(entries)``, one colour swatch and escaped label per ``(color, label)``.
_LEGEND_MACROS = (
    "{% macro header(this, kwargs) %}"
    + _LEGEND_CSS
    + """{% endmacro %}
        {% macro legend_rows(entries) %}
          {%- for color, label in entries %}
          <div class="bm-legend-row"><span class="bm-swatch"
               style="background:{{ color|e }}"></span>{{ label|e }}</div>
          {%- endfor %}
        {% endmacro %}"""
)

# Script lines adding the element's ``div`` to ``map`` as a Leaflet control at ``this.position``.
_CONTROL_JS = """            var Ctl = L.Control.extend({
                options: {position: {{ this.position|tojson }}},
                onAdd: function() {
                    L.DomEvent.disableClickPropagation(div);
                    L.DomEvent.disableScrollPropagation(div);
                    return div;
                }
            });
            new Ctl().addTo(map);
"""


class _Legend(_PageElement):
    """A legend shown while its layer is on the map."""

    _template = Template(
        _LEGEND_MACROS
        + """
        {% macro html(this, kwargs) %}
        <div id="{{ this.get_name() }}" class="bm-legend leaflet-control"
             data-layer="{{ this.layer_title|e }}">
          <span class="bm-legend-title">{{ this.title|e }}</span>
          {{- legend_rows(this.entries) }}
        </div>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }};
            var layer = {{ this.layer_name }};
            var div = document.getElementById({{ this.get_name()|tojson }});
"""
        + _CONTROL_JS
        + """            function sync() { div.style.display = map.hasLayer(layer) ? "" : "none"; }
            map.on("overlayadd overlayremove", sync);
            sync();
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self, layer: Any, title: str, entries: Sequence[tuple[str, str]], *, position: str = "bottomleft"
    ):
        super().__init__()
        self._name = "Legend"
        self.layer_name = layer.get_name()
        self.layer_title = getattr(layer, "layer_name", "")
        self.title = title
        self.entries = list(entries)
        self.position = position


class _ChoroplethControl(_PageElement):
    """Indicator selector and legend; restyles the zone layers from per-indicator class breaks."""

    _template = Template(
        _LEGEND_MACROS
        + """
        {% macro html(this, kwargs) %}
        <div id="{{ this.get_name() }}" class="bm-legend bm-choropleth-legend leaflet-control">
          <label class="bm-legend-title"
                 for="{{ this.get_name() }}_select">{{ this.select_label|e }}</label>
          <select id="{{ this.get_name() }}_select">
          {% for key, ind in this.indicators.items() %}
            <option value="{{ key|e }}"
              {%- if key == this.default %} selected{% endif %}>{{ ind.title|e }}</option>
          {% endfor %}
          </select>
          {% for key, ind in this.indicators.items() %}
          <div class="bm-legend-body" data-indicator="{{ key|e }}"
               {%- if key != this.default %} style="display:none"{% endif %}>
            <span class="bm-legend-title">{{ ind.title|e }}</span>
            {{- legend_rows(ind.entries) }}
          </div>
          {% endfor %}
        </div>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }};
            var cfg = {{ this.config|tojson }};
            var layers = [
                {% for name, weight in this.layers %}[{{ name }}, {{ weight|tojson }}],{% endfor %}
            ];
            var div = document.getElementById({{ this.get_name()|tojson }});
            var select = document.getElementById({{ (this.get_name() ~ "_select")|tojson }});
            function cls(v, bins) {
                if (typeof v !== "number" || isNaN(v)) { return -1; }
                for (var i = 0; i < bins.length; i++) { if (v <= bins[i]) { return i; } }
                return bins.length - 1;
            }
            function styler(key, weight) {
                var c = cfg.indicators[key];
                return function(feature) {
                    var i = cls(feature.properties[key], c.bins);
                    return {fillColor: i < 0 ? cfg.nodata : c.colors[i], fillOpacity: 0.75,
                            color: "#333333", weight: weight, opacity: 0.9};
                };
            }
            function apply(key) {
                layers.forEach(function(pair) {
                    var s = styler(key, pair[1]);
                    pair[0].options.style = s;
                    pair[0].setStyle(s);
                });
                div.querySelectorAll(".bm-legend-body").forEach(function(el) {
                    el.style.display = el.getAttribute("data-indicator") === key ? "" : "none";
                });
            }
            layers.forEach(function(pair) {
                pair[0].on("mouseover", function(e) {
                    var f = e.propagatedFrom || e.layer;
                    f.setStyle({weight: pair[1] + 2, color: "#000000"});
                });
                pair[0].on("mouseout", function(e) { pair[0].resetStyle(e.propagatedFrom || e.layer); });
            });
"""
        + _CONTROL_JS
        + """            select.addEventListener("change", function() { apply(select.value); });
            apply(select.value);
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        layers: Sequence[tuple[str, float]],
        indicators: dict[str, dict[str, Any]],
        *,
        default: str,
        select_label: str,
    ):
        super().__init__()
        self._name = "ChoroplethControl"
        self.layers = list(layers)
        self.indicators = indicators
        self.default = default
        self.select_label = select_label
        self.position = "bottomright"
        self.config = {
            "nodata": NODATA_COLOR,
            "indicators": {k: {"bins": v["bins"], "colors": v["colors"]} for k, v in indicators.items()},
        }


def _new_map(bounds: list[list[float]], *, tiles: str | Sequence[str] | None) -> folium.Map:
    (south, west), (north, east) = bounds
    m = folium.Map(
        location=[(south + north) / 2, (west + east) / 2],
        tiles=None,
        zoom_start=12,
        control_scale=True,
    )
    # Only Leaflet is needed by these layers; folium's other defaults (jQuery, Bootstrap,
    # Font Awesome, awesome-markers) are left out so that the page stays small and offline.
    m.default_js = [("leaflet", _LEAFLET_JS_URL)]
    m.default_css = [("leaflet_css", _LEAFLET_CSS_URL)]
    if tiles is not None:
        names = [tiles] if isinstance(tiles, str) else list(tiles)
        for i, name in enumerate(names):
            folium.TileLayer(name, name=_esc(name), overlay=False, control=True, show=i == 0).add_to(m)
    m.fit_bounds(bounds)
    m.get_root().header.add_child(
        folium.Element('<meta name="generator" content="bandung-mapping">'), name="bm_generator"
    )
    return m


def _finish(m: folium.Map, *, credits: Iterable[str]) -> folium.Map:
    """Add credits and (re)place the layer control last, so that it sees every layer."""
    _Credits(credits).add_to(m)
    for key, child in list(m._children.items()):
        if isinstance(child, folium.LayerControl):
            del m._children[key]
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    return m


def _ensure_map(m: folium.Map | None, gdf: gpd.GeoDataFrame, *, tiles: str | Sequence[str] | None) -> folium.Map:
    if m is None:
        return _new_map(latlon_bounds(gdf), tiles=tiles)
    if not isinstance(m, folium.Map):
        raise InputError(f"m must be a folium.Map (or None for a new map), got {type(m).__name__}")
    return m


def _check_4326able(
    gdf: object, *, name: str, columns: Iterable[str] = (), geom_types=None
) -> gpd.GeoDataFrame:
    gdf = check_gdf(gdf, name=name, columns=columns, geom_types=geom_types)
    if gdf.crs is None:
        raise CRSError(f"{name} has no CRS; expected EPSG:4326 or any CRS it can be reprojected from")
    return gdf


_DEFAULT_TILES = ("OpenStreetMap",)


def _empty_layer(m: folium.Map | None, name: str) -> folium.Map:
    """Return ``m`` unchanged for an empty layer; without a map there is nothing to place."""
    if m is None:
        raise EmptyAreaError(f"{name} is empty and no map was given; nothing to draw")
    log.info("%s is empty; no layer drawn", name)
    return m


def _layer_input(
    data: object,
    m: folium.Map | None,
    *,
    name: str,
    tiles: str | Sequence[str] | None,
    columns: Iterable[str] = (),
    geom_types=None,
) -> tuple[gpd.GeoDataFrame | None, folium.Map]:
    """Check one layer's input and pick the map to draw it on.

    Returns ``(None, m)`` for an empty layer (``m`` unchanged; an error when there is no
    map), else the checked GeoDataFrame and ``m`` (a new map fitted to the layer when None).
    """
    gdf = _check_4326able(data, name=name, columns=columns, geom_types=geom_types)
    if len(gdf) == 0:
        return None, _empty_layer(m, name)
    return gdf, _ensure_map(m, gdf, tiles=tiles)


def _geojson_layer(
    m: folium.Map,
    data: dict,
    *,
    name: str,
    fields: Sequence[str],
    aliases: Sequence[str],
    show: bool = True,
    style_function: Callable[[dict], dict] | None = None,
    legend: tuple[str, Sequence[tuple[str, str]]] | None = None,
    **kwargs: Any,
) -> folium.GeoJson:
    """Add a GeoJSON layer with a tooltip (and, when given, a legend) to ``m``.

    ``name`` and ``aliases`` are plain text and are escaped here; each alias gets a colon.
    ``legend`` is ``(title, [(color, label), ...])``, escaped by the legend template.
    Other keywords (``popup``, ``marker``) go to :class:`folium.GeoJson`.
    """
    layer = folium.GeoJson(
        data,
        name=_esc(name),
        show=show,
        style_function=style_function,
        tooltip=folium.GeoJsonTooltip(fields=list(fields), aliases=[_esc(a + ":") for a in aliases], sticky=True),
        **kwargs,
    )
    layer.add_to(m)
    if legend is not None:
        _Legend(layer, *legend).add_to(m)
    return layer


# --------------------------------------------------------------------------- classification


def _class_breaks(values: np.ndarray, *, k: int, scheme: str) -> list[float]:
    """Upper bounds of at most ``k`` classes of the finite ``values`` (mapclassify)."""
    import mapclassify

    y = values[np.isfinite(values)]
    uniq = np.unique(y)
    if len(uniq) == 0:
        return []
    if len(uniq) <= k:
        return [float(v) for v in uniq]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if scheme == "fisher_jenks":
            c = mapclassify.FisherJenks(y, k=k)
        elif scheme == "quantiles":
            c = mapclassify.Quantiles(y, k=k)
        elif scheme == "equal_interval":
            c = mapclassify.EqualInterval(y, k=k)
        else:  # pragma: no cover - checked by the caller
            raise InputError(f"unknown scheme {scheme!r}")
    bins = sorted({float(b) for b in c.bins})
    return bins


def _palette(name: str, n: int) -> list[str]:
    full = _PALETTES[name]
    if n >= len(full):
        return list(full)
    idx = np.round(np.linspace(0, len(full) - 1, n)).astype(int) if n > 1 else np.array([len(full) - 1])
    return [full[i] for i in idx]


def _decimals(column: str) -> int:
    if column.startswith("ndvi"):
        return 2
    if column in ("population", "building_count"):
        return 0
    return 1


def _range_entries(
    bins: list[float], lo: float, colors: list[str], column: str, lang: str
) -> list[tuple[str, str]]:
    d = _decimals(column)
    unit = i18n.indicator_unit(column, lang)
    out = []
    prev = lo
    for b, col in zip(bins, colors, strict=False):
        a_s = i18n.format_number(prev, lang, decimals=d)
        b_s = i18n.format_number(b, lang, decimals=d)
        label = b_s if a_s == b_s else f"{a_s} – {b_s}"
        out.append((col, f"{label} {unit}".strip()))
        prev = b
    return out


# --------------------------------------------------------------------------- zones


def _levels_to_draw(zones: Mapping[str, Any], city: CityProfile | None) -> tuple[list[str], str | None]:
    if city is not None:
        unknown = [lv for lv in zones if lv not in city.levels]
        if unknown:
            raise InputError(
                f"zones has level(s) {unknown} not in city {city.id!r} levels {list(city.levels)}"
            )
        ordered = [lv for lv in city.levels if lv in zones]
        top = city.top_level if city.top_level in zones else None
    else:
        ordered = list(zones)
        top = ordered[-1] if len(ordered) > 1 else None
    drawn = [lv for lv in ordered if lv != top]
    return drawn, top


def zone_map(
    zones: Mapping[str, gpd.GeoDataFrame],
    *,
    indicators: Sequence[str] | None = None,
    lang: str = "id",
    m: folium.Map | None = None,
    city: CityProfile | None = None,
    synthetic: bool = False,
    scheme: str = "fisher_jenks",
    k: int = 5,
    tiles: str | Sequence[str] | None = _DEFAULT_TILES,
    title: str | None = None,
    sources: Iterable[str] = (),
) -> folium.Map:
    """Choropleth of zone indicators, one layer per level below the top (city) level.

    Each level is drawn once; a selector in the legend switches the indicator and the
    layer control switches levels (the lowest level is shown first). Classes are computed
    on the lowest level's values (``scheme`` with ``k`` classes, fewer when there are fewer
    distinct values) and shared by every level, so a colour means the same value at every
    level. The top level is drawn as an outline.

    Parameters
    ----------
    zones : dict of level -> GeoDataFrame
        Zone tables (any CRS; EPSG:4326 expected) with ``zone_id``, ``zone_name`` and the
        indicator columns. Missing indicator columns and NaN values are allowed.
    indicators : sequence of str, optional
        Columns to offer; default :data:`DEFAULT_INDICATORS` that are present with data.
    lang : {"id", "en", "ko"}
        Language of labels.
    m : folium.Map, optional
        Map to draw on; a new one is made when None.
    city : CityProfile, optional
        Gives the level order and labels and the metric CRS used to simplify boundaries.
        Without it the dict order is taken as lowest level first.
    synthetic : bool
        Show a "SYNTHETIC / data sintetis" banner.
    scheme : {"fisher_jenks", "quantiles", "equal_interval"}
        mapclassify classification scheme.
    k : int
        Number of classes (at most).
    tiles : str, sequence of str or None
        Basemap tile layers (the first is shown); None for none.
    title : str, optional
        Title shown on the map (default from the city name).
    sources : iterable of str
        Extra credits for the zone data (e.g. the boundary source).

    Returns
    -------
    folium.Map
    """
    lang = i18n.check_lang(lang)
    if scheme not in ("fisher_jenks", "quantiles", "equal_interval"):
        raise InputError(f"scheme must be 'fisher_jenks', 'quantiles' or 'equal_interval', got {scheme!r}")
    if not isinstance(k, int) or k < 1:
        raise InputError(f"k must be a positive integer, got {k!r}")
    if not isinstance(zones, Mapping) or not zones:
        raise InputError("zones must be a non-empty dict of level -> GeoDataFrame")
    for level, gdf in zones.items():
        g = _check_4326able(gdf, name=f"zones[{level!r}]", columns=["zone_id", "zone_name"])
        if len(g) == 0:
            raise EmptyAreaError(f"zones[{level!r}] is empty; expected at least one zone")
    drawn, top = _levels_to_draw(zones, city)
    if not drawn:
        drawn, top = [top], None  # a single level: draw it
    lowest = drawn[0]

    candidates = list(indicators) if indicators is not None else list(DEFAULT_INDICATORS)
    present = []
    for col in candidates:
        if any(col in zones[lv].columns for lv in drawn):
            vals = pd.to_numeric(zones[lowest].get(col, pd.Series(dtype=float)), errors="coerce")
            if indicators is not None or vals.notna().any():
                present.append(col)
        elif indicators is not None:
            raise InputError(
                f"indicator {col!r} is in no zone table; columns are {list(zones[lowest].columns)}"
            )
    if not present:
        log.info("no indicator column with data; zones drawn as outlines")

    m = _ensure_map(m, zones[top or lowest], tiles=tiles)
    city_name = city.name if city is not None else ""
    _Header(
        title if title is not None else (i18n.text("map_title", lang, city=city_name) if city_name else None),
        i18n.text("synthetic", lang) if synthetic else None,
    ).add_to(m)

    # classes from the lowest level, stretched to cover every drawn level
    ind_cfg: dict[str, dict[str, Any]] = {}
    for col in present:
        low_vals = pd.to_numeric(zones[lowest].get(col, pd.Series(dtype=float)), errors="coerce").to_numpy(
            float
        )
        bins = _class_breaks(low_vals, k=k, scheme=scheme)
        all_vals = np.concatenate(
            [
                pd.to_numeric(zones[lv].get(col, pd.Series(dtype=float)), errors="coerce").to_numpy(float)
                for lv in drawn
            ]
        )
        finite = all_vals[np.isfinite(all_vals)]
        if not bins and len(finite):
            bins = _class_breaks(finite, k=k, scheme=scheme)
        lo = float(finite.min()) if len(finite) else math.nan
        if bins and len(finite):
            bins[-1] = max(bins[-1], float(finite.max()))
        colors = _palette(_INDICATOR_PALETTE.get(col, "greens"), len(bins)) if bins else []
        entries = _range_entries(bins, lo, colors, col, lang)
        if np.isnan(all_vals).any() or not bins:
            entries.append((NODATA_COLOR, i18n.text("no_data", lang)))
        ind_cfg[col] = {
            "title": i18n.indicator_title(col, lang),
            "bins": [round(b, 6) for b in bins],
            "colors": colors,
            "entries": entries,
        }

    layers = []
    for i, level in enumerate(drawn):
        gdf = zones[level]
        props: dict[str, Sequence[Any]] = {
            "zone_name": _column(gdf, "zone_name"),
            "zone_id": _column(gdf, "zone_id"),
        }
        for col in present:
            props[col] = (
                pd.to_numeric(gdf[col], errors="coerce").tolist() if col in gdf else [None] * len(gdf)
            )
        data = _feature_collection(_drawable(gdf, city=city), props)
        label = i18n.level_label(level, lang, city=city)
        layer = _geojson_layer(
            m,
            data,
            name=label,
            show=i == 0,
            fields=["zone_name", "zone_id", *present],
            aliases=[label, i18n.text("zone_id", lang), *(i18n.indicator_title(c, lang) for c in present)],
        )
        layers.append((layer.get_name(), 1.0 + 1.5 * i))

    if top is not None:
        outline = _feature_collection(
            _drawable(zones[top], city=city), {"zone_name": _column(zones[top], "zone_name")}
        )
        folium.GeoJson(
            outline,
            name=_esc(i18n.level_label(top, lang, city=city)),
            style_function=lambda f: {"fill": False, "color": "#222222", "weight": 3, "opacity": 0.9},
            interactive=False,
        ).add_to(m)

    if present:
        _ChoroplethControl(
            layers,
            ind_cfg,
            default=present[0],
            select_label=i18n.text("indicator", lang),
        ).add_to(m)
    credits = list(sources)
    if any(c in present for c in ("green_cover_pct", "tree_cover_pct", "ndvi_mean")):
        credits.append(COPERNICUS_CREDIT)
    credits.append(OSM_CREDIT)
    log.info("zone map: %d level(s) %s, %d indicator(s)", len(drawn), drawn, len(present))
    return _finish(m, credits=credits)


# --------------------------------------------------------------------------- green spaces


def _jenis_colors(kinds: Iterable[str]) -> dict[str, str]:
    out = {}
    extra = iter(_EXTRA_COLORS * 10)
    for kind in sorted(set(kinds)):
        out[kind] = _JENIS_COLORS.get(kind) or next(extra)
    return out


def green_space_layer(
    green_spaces: gpd.GeoDataFrame,
    *,
    m: folium.Map | None = None,
    lang: str = "id",
    city: CityProfile | None = None,
    show: bool = True,
    tiles: str | Sequence[str] | None = _DEFAULT_TILES,
) -> folium.Map:
    """Green open spaces coloured by ``rth_jenis`` (private ones dashed), with escaped names.

    Parameters
    ----------
    green_spaces : GeoDataFrame
        Polygons with ``rth_jenis``; optional ``name``, ``is_public``, ``area_m2``, ``osmid``
        and OSM tag columns (shown in the tooltip and popup as text, never as HTML).
    m : folium.Map, optional
        Map to draw on; a new one fitted to the layer is made when None.
    lang : {"id", "en", "ko"}
        Language of labels.
    city : CityProfile, optional
        Gives the metric CRS for simplification (else the UTM zone is estimated).
    show : bool
        Whether the layer is on when the map opens.
    tiles : str, sequence of str or None
        Basemaps of a new map.

    Returns
    -------
    folium.Map
    """
    lang = i18n.check_lang(lang)
    gs, m = _layer_input(
        green_spaces,
        m,
        name="green_spaces",
        tiles=tiles,
        columns=["rth_jenis"],
        geom_types=["Polygon", "MultiPolygon"],
    )
    if gs is None:
        return m
    kinds = gs["rth_jenis"].fillna("lainnya").astype(str)
    colors = _jenis_colors(kinds)
    public = gs["is_public"] if "is_public" in gs else pd.Series(pd.NA, index=gs.index)
    public_text = [
        "" if pd.isna(p) else i18n.text("public" if bool(p) else "private", lang) for p in public.tolist()
    ]
    props: dict[str, Sequence[Any]] = {
        "name": _column(gs, "name"),
        "_jenis": [i18n.rth_jenis_label(k, lang) for k in kinds],
        "_public": public_text,
        "rth_jenis": kinds.tolist(),
        "_private": [p is not None and not pd.isna(p) and not bool(p) for p in public.tolist()],
        "area_m2": _rounded_column(gs, "area_m2"),
    }
    popup_fields = ["name", "_jenis", "_public", "area_m2"]
    popup_alias = [
        i18n.text("zone_name", lang),
        i18n.text("rth_jenis", lang),
        i18n.text("access", lang),
        i18n.text("area_m2", lang),
    ]
    for tag, alias in (
        ("osmid", i18n.text("osm_id", lang)),
        ("leisure", "leisure"),
        ("landuse", "landuse"),
        ("natural", "natural"),
        ("access", "access"),
    ):
        if tag in gs.columns:
            props[tag] = _column(gs, tag)
            popup_fields.append(tag)
            popup_alias.append(alias)
    data = _feature_collection(_drawable(gs, city=city), props, decimals=0)

    def style(feature: dict) -> dict:
        p = feature["properties"]
        color = colors.get(p["rth_jenis"], _EXTRA_COLORS[-1])
        out = {"fillColor": color, "color": color, "weight": 1, "fillOpacity": 0.6, "opacity": 0.9}
        if p.get("_private"):
            out["dashArray"] = "3 3"
        return out

    _geojson_layer(
        m,
        data,
        name=i18n.text("green_spaces", lang),
        show=show,
        style_function=style,
        fields=["name", "_jenis", "_public"],
        aliases=popup_alias[:3],
        legend=(i18n.text("rth_jenis", lang), [(c, i18n.rth_jenis_label(k, lang)) for k, c in colors.items()]),
        popup=folium.GeoJsonPopup(fields=popup_fields, aliases=[_esc(a + ":") for a in popup_alias]),
    )
    log.info("green-space layer: %d polygons, %d kinds", len(data["features"]), len(colors))
    return _finish(m, credits=[OSM_CREDIT])


# --------------------------------------------------------------------------- buildings


def building_grid(
    buildings: gpd.GeoDataFrame,
    *,
    cell_m: float = BUILDING_CELL_M,
    crs: Any = None,
) -> gpd.GeoDataFrame:
    """Aggregate buildings to a square grid: count and footprint share per cell.

    Each building is counted in the cell holding its centroid, with its whole footprint
    (``footprint_m2``, or its area in ``crs`` when that column is missing). The grid is
    aligned to multiples of ``cell_m`` in the metric CRS, so grids of neighbouring areas
    line up. Only cells with at least one building are returned.

    Parameters
    ----------
    buildings : GeoDataFrame
        Building polygons (any CRS).
    cell_m : float
        Cell side in metres.
    crs : CRS-like, optional
        Metric CRS of the grid; default the UTM zone of the buildings.

    Returns
    -------
    GeoDataFrame
        In the metric CRS with ``building_count``, ``footprint_m2``, ``footprint_pct``
        (share of the cell, 0-100, capped at 100) and ``geometry`` (the cell square).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> b = gpd.GeoDataFrame({"footprint_m2": [100.0, 300.0]},
    ...     geometry=[shapely.box(10, 10, 20, 20), shapely.box(30, 30, 40, 60)], crs="EPSG:32748")
    >>> g = building_grid(b, cell_m=100)
    >>> g["building_count"].tolist(), g["footprint_m2"].tolist(), g["footprint_pct"].tolist()
    ([2], [400.0], [4.0])
    """
    b = _check_4326able(buildings, name="buildings")
    if not (isinstance(cell_m, (int, float)) and cell_m > 0):
        raise InputError(f"cell_m must be a positive number of metres, got {cell_m!r}")
    target = (
        pyproj.CRS.from_user_input(crs)
        if crs is not None
        else (b.crs if b.crs.is_projected else b.estimate_utm_crs())
    )
    if target.is_geographic:
        raise CRSError(f"crs must be a projected CRS in metres, got {target.to_string()}")
    geoms = np.asarray(b.geometry.values, dtype=object)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    cent = shapely.centroid(geoms[ok])
    x, y = shapely.get_x(cent), shapely.get_y(cent)
    if not pyproj.CRS.from_user_input(b.crs).equals(target):
        x, y = pyproj.Transformer.from_crs(b.crs, target, always_xy=True).transform(x, y)
    if "footprint_m2" in b.columns:
        foot = pd.to_numeric(b["footprint_m2"], errors="coerce").to_numpy(float)[ok]
    else:
        foot = b.geometry[ok].to_crs(target).area.to_numpy()
    foot = np.nan_to_num(foot, nan=0.0)
    if len(x) == 0:
        return gpd.GeoDataFrame(
            {"building_count": [], "footprint_m2": [], "footprint_pct": []}, geometry=[], crs=target
        )
    ix = np.floor(np.asarray(x) / cell_m).astype(np.int64)
    iy = np.floor(np.asarray(y) / cell_m).astype(np.int64)
    keys, inverse = np.unique(np.stack([ix, iy], axis=1), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    count = np.bincount(inverse, minlength=len(keys))
    fsum = np.bincount(inverse, weights=foot, minlength=len(keys))
    x0, y0 = keys[:, 0] * cell_m, keys[:, 1] * cell_m
    cells = shapely.box(x0, y0, x0 + cell_m, y0 + cell_m)
    return gpd.GeoDataFrame(
        {
            "building_count": count.astype(int),
            "footprint_m2": fsum,
            "footprint_pct": np.minimum(100.0, 100.0 * fsum / (cell_m * cell_m)),
        },
        geometry=cells,
        crs=target,
    )


def building_layer(
    buildings: gpd.GeoDataFrame,
    *,
    m: folium.Map | None = None,
    lang: str = "id",
    max_features: int = MAX_BUILDING_POLYGONS,
    cell_m: float = BUILDING_CELL_M,
    city: CityProfile | None = None,
    show: bool = False,
    tiles: str | Sequence[str] | None = _DEFAULT_TILES,
) -> folium.Map:
    """Draw buildings: polygons when few, otherwise a density grid (count and footprint share).

    Parameters
    ----------
    buildings : GeoDataFrame
        Building polygons with optional ``footprint_m2``, ``levels``, ``use``.
    max_features : int
        Above this many buildings, draw :func:`building_grid` cells of ``cell_m`` metres.
    cell_m : float
        Grid cell side in metres.
    m, lang, city, show, tiles
        As for :func:`green_space_layer`; the layer is off when the map opens by default.

    Returns
    -------
    folium.Map
    """
    lang = i18n.check_lang(lang)
    b = _check_4326able(buildings, name="buildings")
    if len(b) == 0:
        raise EmptyAreaError("buildings is empty; expected at least one building to draw")
    m = _ensure_map(m, b, tiles=tiles)
    crs = city.metric_crs if city is not None else None
    if len(b) > max_features:
        grid = building_grid(b, cell_m=cell_m, crs=crs)
        colors = _PALETTES["oranges"]

        def cls(v: float) -> str:
            for brk, col in zip(_BUILDING_BREAKS_PCT, colors, strict=False):
                if v <= brk:
                    return col
            return colors[-1]

        props = {
            "building_count": grid["building_count"].tolist(),
            "footprint_pct": grid["footprint_pct"].round(1).tolist(),
        }
        data = _feature_collection(_rounded_4326(grid.geometry), props, decimals=1)
        entries = _range_entries(list(_BUILDING_BREAKS_PCT), 0.0, colors, "building_coverage_pct", lang)
        _geojson_layer(
            m,
            data,
            name=i18n.text("building_density", lang, cell=f"{cell_m:g}"),
            show=show,
            style_function=lambda f: {
                "fillColor": cls(f["properties"]["footprint_pct"] or 0.0),
                "fillOpacity": 0.7,
                "weight": 0,
            },
            fields=["building_count", "footprint_pct"],
            aliases=[i18n.text("building_count", lang), i18n.text("building_share", lang)],
            legend=(i18n.text("building_share", lang), entries),
        )
        log.info("buildings: %d drawn as %d grid cells of %g m", len(b), len(grid), cell_m)
    else:
        props = {
            "use": _column(b, "use"),
            "levels": _column(b, "levels"),
            "footprint_m2": _rounded_column(b, "footprint_m2"),
        }
        data = _feature_collection(_drawable(b, city=city, tolerance_m=0.5), props, decimals=0)
        fields = ["use", "levels", "footprint_m2"]
        _geojson_layer(
            m,
            data,
            name=i18n.text("buildings", lang),
            show=show,
            style_function=lambda f: {
                "fillColor": "#7f7f7f",
                "color": "#4d4d4d",
                "weight": 0.5,
                "fillOpacity": 0.6,
            },
            fields=fields,
            aliases=[i18n.text(k, lang) for k in fields],
        )
        log.info("buildings: %d drawn as polygons", len(b))
    return _finish(m, credits=[OSM_CREDIT])


# --------------------------------------------------------------------------- access and siting


def access_gap_layer(
    access_gaps: gpd.GeoDataFrame,
    *,
    m: folium.Map | None = None,
    lang: str = "id",
    max_points: int = 20000,
    show: bool = False,
    tiles: str | Sequence[str] | None = _DEFAULT_TILES,
) -> folium.Map:
    """Points where people lack access to green space, coloured by distance to it.

    Parameters
    ----------
    access_gaps : GeoDataFrame
        Points with ``dist_to_green_m`` and optional ``pop``, ``zone_id``.
    max_points : int
        Draw at most this many points (those with the most people).
    m, lang, show, tiles
        As for :func:`green_space_layer`.

    Returns
    -------
    folium.Map
    """
    lang = i18n.check_lang(lang)
    pts, m = _layer_input(
        access_gaps, m, name="access_gaps", tiles=tiles, columns=["dist_to_green_m"], geom_types=["Point"]
    )
    if pts is None:
        return m
    if len(pts) > max_points:
        order = pd.to_numeric(pts.get("pop", pd.Series(0, index=pts.index)), errors="coerce").fillna(0)
        pts = pts.loc[order.sort_values(ascending=False).index[:max_points]]
        log.info("access gaps: drawing the %d points with most people of %d", max_points, len(access_gaps))
    dist = pd.to_numeric(pts["dist_to_green_m"], errors="coerce")
    props = {
        "dist_to_green_m": dist.round(0).tolist(),
        "pop": _rounded_column(pts, "pop"),
        "zone_id": _column(pts, "zone_id"),
    }
    data = _feature_collection(_rounded_4326(pts.geometry), props, decimals=0)

    def color(d: float | None) -> str:
        if d is None:
            return NODATA_COLOR
        for brk, col in zip(_ACCESS_BREAKS_M, _ACCESS_COLORS, strict=False):
            if d <= brk:
                return col
        return _ACCESS_COLORS[-1]

    edges = [0.0, *_ACCESS_BREAKS_M]
    entries = [
        (c, f"{i18n.format_number(a, lang, decimals=0)} – {i18n.format_number(b, lang, decimals=0)} m")
        for a, b, c in zip(edges[:-1], edges[1:], _ACCESS_COLORS, strict=False)
    ]
    entries.append((_ACCESS_COLORS[-1], f"> {i18n.format_number(edges[-1], lang, decimals=0)} m"))
    fields = ["pop", "dist_to_green_m", "zone_id"]
    _geojson_layer(
        m,
        data,
        name=i18n.text("access_gaps", lang),
        show=show,
        style_function=lambda f: {
            "fillColor": color(f["properties"]["dist_to_green_m"]),
            "color": color(f["properties"]["dist_to_green_m"]),
            "weight": 1,
            "fillOpacity": 0.8,
        },
        fields=fields,
        aliases=[i18n.text(k, lang) for k in fields],
        legend=(i18n.text("dist_to_green_m", lang), entries),
        marker=folium.CircleMarker(radius=4),
    )
    return _finish(m, credits=[OSM_CREDIT])


def candidate_site_layer(
    candidate_sites: gpd.GeoDataFrame,
    *,
    m: folium.Map | None = None,
    lang: str = "id",
    city: CityProfile | None = None,
    show: bool = True,
    tiles: str | Sequence[str] | None = _DEFAULT_TILES,
) -> folium.Map:
    """Candidate sites for new green space, outlined, with rank and people newly served.

    Parameters
    ----------
    candidate_sites : GeoDataFrame
        Polygons with optional ``rank``, ``area_m2``, ``new_pop_served``.
    m, lang, city, show, tiles
        As for :func:`green_space_layer`.

    Returns
    -------
    folium.Map
    """
    lang = i18n.check_lang(lang)
    cs, m = _layer_input(
        candidate_sites, m, name="candidate_sites", tiles=tiles, geom_types=["Polygon", "MultiPolygon"]
    )
    if cs is None:
        return m
    num = {c: _rounded_column(cs, c) for c in ("rank", "area_m2", "new_pop_served")}
    data = _feature_collection(
        _drawable(cs, city=city, tolerance_m=1.0), {**num, "name": _column(cs, "name")}, decimals=0
    )
    name = i18n.text("candidate_sites", lang)
    fields = ["rank", "area_m2", "new_pop_served"]
    _geojson_layer(
        m,
        data,
        name=name,
        show=show,
        style_function=lambda f: {
            "fillColor": "#e7298a",
            "color": "#7a0177",
            "weight": 2,
            "fillOpacity": 0.35,
        },
        fields=fields,
        aliases=[i18n.text(k, lang) for k in fields],
        legend=(name, [("#e7298a", name)]),
    )
    return _finish(m, credits=[OSM_CREDIT])


# --------------------------------------------------------------------------- raster


def raster_overlay(
    path: str | os.PathLike[str],
    *,
    m: folium.Map | None = None,
    clip: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    band: int = 1,
    kind: str = "ndvi",
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str | None = None,
    max_size: int = 1200,
    opacity: float = 0.75,
    name: str | None = None,
    lang: str = "id",
    show: bool = False,
    credit: str | None = COPERNICUS_CREDIT,
    tiles: str | Sequence[str] | None = _DEFAULT_TILES,
) -> folium.Map:
    """Overlay an NDVI or green-cover raster as a coloured PNG, clipped to the study area.

    The raster (any CRS) is warped to Web Mercator (EPSG:3857, the grid Leaflet draws
    images on, so pixels land where they belong) at most ``max_size`` pixels on its long
    side, masked outside ``clip`` and outside its nodata, coloured with a matplotlib
    colormap and embedded as a PNG; a legend gives the value scale.

    Parameters
    ----------
    path : path-like
        GeoTIFF (or any raster GDAL reads) with a CRS.
    m : folium.Map, optional
    clip : GeoDataFrame or GeoSeries, optional
        Study area (any CRS); the image covers its bounds and is transparent outside it.
    band : int
        Band to show (1-based).
    kind : {"ndvi", "green_cover", "other"}
        Sets the default value range (NDVI -0.2..0.8, cover 0..100, other 2nd-98th
        percentile) and colormap.
    vmin, vmax : float, optional
        Value range of the colormap.
    cmap : str, optional
        Matplotlib colormap name (default ``RdYlGn`` for NDVI, ``Greens`` otherwise).
    max_size : int
        Longest side of the embedded image in pixels.
    opacity : float
    name : str, optional
        Layer name (default from the file name).
    lang : {"id", "en", "ko"}
    show : bool
    credit : str or None
        Credit added to the map (Copernicus Sentinel by default).
    tiles : str, sequence of str or None

    Returns
    -------
    folium.Map
    """
    import matplotlib
    import rasterio
    import rasterio.errors
    import rasterio.features
    import rasterio.transform
    from rasterio.warp import Resampling, reproject, transform_bounds

    from ._validate import check_input_path

    lang = i18n.check_lang(lang)
    if kind not in ("ndvi", "green_cover", "other"):
        raise InputError(f"kind must be 'ndvi', 'green_cover' or 'other', got {kind!r}")
    p = check_input_path(path, what="raster")
    web = pyproj.CRS.from_epsg(3857)
    try:
        src = rasterio.open(p)
    except rasterio.errors.RasterioIOError as exc:
        raise RasterError(f"cannot open raster {p.name}: {exc}") from exc
    with src:
        if src.crs is None:
            raise RasterError(f"raster {p.name} has no CRS; expected a georeferenced GeoTIFF")
        if not 1 <= band <= src.count:
            raise RasterError(f"band must be between 1 and {src.count} for {p.name}, got {band}")
        left, bottom, right, top = transform_bounds(src.crs, web, *src.bounds)
        clip_geom = None
        if clip is not None:
            if clip.crs is None:
                raise CRSError("clip has no CRS; expected the study area in any CRS")
            clip_web = clip.to_crs(web)
            clip_geom = shapely.union_all(np.asarray(clip_web.geometry.values, dtype=object))
            cl, cb, cr, ct = clip_web.total_bounds
            left, bottom, right, top = max(left, cl), max(bottom, cb), min(right, cr), min(top, ct)
            if left >= right or bottom >= top:
                raise RasterCoverageError(
                    f"raster {p.name} does not overlap the study area (raster CRS {src.crs.to_string()}); "
                    "check the CRS of both"
                )
        res = max(right - left, top - bottom) / max_size
        native = abs(src.transform.a) * (1.0 if src.crs.is_projected else 111_320.0)
        res = max(res, native)
        width = max(1, int(math.ceil((right - left) / res)))
        height = max(1, int(math.ceil((top - bottom) / res)))
        dst_transform = rasterio.transform.from_bounds(left, bottom, right, top, width, height)
        out = np.full((height, width), np.nan, dtype="float32")
        reproject(
            rasterio.band(src, band),
            out,
            src_nodata=src.nodata,
            dst_transform=dst_transform,
            dst_crs=web,
            dst_nodata=np.nan,
            resampling=Resampling.average,
        )
    if clip_geom is not None:
        outside = rasterio.features.geometry_mask(
            [clip_geom], out_shape=out.shape, transform=dst_transform, invert=False
        )
        out[outside] = np.nan
    finite = out[np.isfinite(out)]
    if finite.size == 0:
        raise RasterCoverageError(f"raster {p.name} has no valid pixel inside the study area")
    if kind == "ndvi":
        lo, hi, cm = -0.2, 0.8, "RdYlGn"
    elif kind == "green_cover":
        lo, hi, cm = 0.0, 100.0, "Greens"
    else:
        lo, hi, cm = float(np.percentile(finite, 2)), float(np.percentile(finite, 98)), "Greens"
    lo = lo if vmin is None else float(vmin)
    hi = hi if vmax is None else float(vmax)
    if not hi > lo:
        hi = lo + 1.0
    colormap = matplotlib.colormaps[cmap or cm]
    scaled = np.clip((out - lo) / (hi - lo), 0, 1)
    rgba = (colormap(np.nan_to_num(scaled)) * 255).astype(np.uint8)
    rgba[..., 3] = np.where(np.isfinite(out), 255, 0).astype(np.uint8)
    west, south, east, north = transform_bounds(web, STORAGE_CRS, left, bottom, right, top)
    bounds = _latlon_box(west, south, east, north)
    m = m if m is not None else _new_map(bounds, tiles=tiles)
    label = name or i18n.text("raster", lang, name=p.stem)
    layer = folium.raster_layers.ImageOverlay(
        rgba,
        bounds=bounds,
        opacity=opacity,
        name=_esc(label),
        show=show,
        interactive=False,
        mercator_project=False,
    )
    layer.add_to(m)
    steps = np.linspace(lo, hi, 5)
    d = 2 if kind == "ndvi" else 0
    entries = [
        (matplotlib.colors.to_hex(colormap((v - lo) / (hi - lo))), i18n.format_number(v, lang, decimals=d))
        for v in steps
    ]
    title = (
        "NDVI"
        if kind == "ndvi"
        else (i18n.indicator_title("green_cover_pct", lang) if kind == "green_cover" else label)
    )
    _Legend(layer, title, entries).add_to(m)
    log.info("raster overlay %s: %d x %d px", p.name, width, height)
    return _finish(m, credits=[credit] if credit else [])


# --------------------------------------------------------------------------- whole study


def study_map(
    zone_tables: Mapping[str, gpd.GeoDataFrame],
    green_spaces: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    access_gaps: gpd.GeoDataFrame | None = None,
    candidate_sites: gpd.GeoDataFrame | None = None,
    raster: str | os.PathLike[str] | None = None,
    *,
    lang: str = "id",
    city: CityProfile | None = None,
    synthetic: bool = False,
    indicators: Sequence[str] | None = None,
    raster_kind: str = "ndvi",
    tiles: str | Sequence[str] | None = _DEFAULT_TILES,
    title: str | None = None,
    sources: Iterable[str] = (),
) -> folium.Map:
    """Draw the planner's map: zone choropleths, green spaces, buildings, gaps, sites, raster.

    Parameters
    ----------
    zone_tables : dict of level -> GeoDataFrame
        Zone indicator tables (see :func:`zone_map`).
    green_spaces, buildings, access_gaps, candidate_sites : GeoDataFrame, optional
        Layers drawn when given (see the single-layer functions).
    raster : path-like, optional
        NDVI (``raster_kind="ndvi"``) or green-cover raster, clipped to the zones.
    lang : {"id", "en", "ko"}
    city : CityProfile, optional
    synthetic : bool
        Show the "SYNTHETIC / data sintetis" banner.
    indicators : sequence of str, optional
    raster_kind : {"ndvi", "green_cover", "other"}
    tiles : str, sequence of str or None
    title : str, optional
    sources : iterable of str
        Extra credits (boundary and population sources).

    Returns
    -------
    folium.Map
    """
    m = zone_map(
        zone_tables,
        indicators=indicators,
        lang=lang,
        city=city,
        synthetic=synthetic,
        tiles=tiles,
        title=title,
        sources=sources,
    )
    if raster is not None:
        drawn, top = _levels_to_draw(zone_tables, city)
        clip = zone_tables[top or drawn[0]]
        m = raster_overlay(raster, m=m, clip=clip, kind=raster_kind, lang=lang)
    if buildings is not None and len(buildings):
        m = building_layer(buildings, m=m, lang=lang, city=city)
    if green_spaces is not None and len(green_spaces):
        m = green_space_layer(green_spaces, m=m, lang=lang, city=city)
    if candidate_sites is not None and len(candidate_sites):
        m = candidate_site_layer(candidate_sites, m=m, lang=lang, city=city)
    if access_gaps is not None and len(access_gaps):
        m = access_gap_layer(access_gaps, m=m, lang=lang)
    return m


# --------------------------------------------------------------------------- saving

_SCRIPT_SRC = re.compile(r"<script\b[^>]*\bsrc=\"([^\"]+)\"[^>]*>\s*</script>", re.IGNORECASE)
_CSS_LINK = re.compile(r"<link\b[^>]*\brel=\"stylesheet\"[^>]*>", re.IGNORECASE)
_HREF = re.compile(r"\bhref=\"([^\"]+)\"", re.IGNORECASE)
_CSS_URL = re.compile(r"url\((['\"]?)images/([A-Za-z0-9_.-]+\.png)\1\)")


def _vendored_text(name: str) -> str:
    return (STATIC_DIR / name).read_text(encoding="utf-8")


def _inline_js(name: str) -> str:
    js = _vendored_text(name)
    js = re.sub(r"^//# sourceMappingURL=.*$", "", js, flags=re.MULTILINE)
    return "<script>" + js.replace("</script", "<\\/script") + "</script>"


def _inline_css(name: str) -> str:
    css = _vendored_text(name)

    def data_uri(match: re.Match[str]) -> str:
        img = STATIC_DIR / match.group(2)
        if not img.exists():
            return match.group(0)
        return "url(data:image/png;base64," + base64.b64encode(img.read_bytes()).decode("ascii") + ")"

    css = _CSS_URL.sub(data_uri, css)
    return "<style>" + css.replace("</style", "<\\/style") + "</style>"


def _basename(url: str) -> str:
    return url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]


def _make_self_contained(page: str) -> str:
    problems: list[str] = []

    def inline(url: str, tag: str, vendored: Callable[[str], str]) -> str:
        """The vendored copy of ``url`` inlined, nothing for an unneeded asset, else ``tag`` as it was."""
        base = _basename(url)
        if base in _VENDORED:
            return vendored(_VENDORED[base])
        if base in _UNNEEDED:
            log.warning("self-contained map: left out %s (not used by bandung-mapping layers)", url)
            return ""
        problems.append(url)
        return tag

    def script(match: re.Match[str]) -> str:
        return inline(match.group(1), match.group(0), _inline_js)

    def link(match: re.Match[str]) -> str:
        href = _HREF.search(match.group(0))
        return match.group(0) if href is None else inline(href.group(1), match.group(0), _inline_css)

    page = _SCRIPT_SRC.sub(script, page)
    page = _CSS_LINK.sub(link, page)
    if problems:
        raise OutputError(
            f"cannot make the map self-contained: no vendored copy of {problems}; "
            "save with self_contained=False or remove the plugin that needs them"
        )
    return page


def render_html(m: folium.Map, *, self_contained: bool = True) -> str:
    """Render ``m`` to an HTML page, inlining Leaflet when ``self_contained``."""
    if not isinstance(m, folium.Map):
        raise InputError(f"m must be a folium.Map, got {type(m).__name__}")
    page = m.get_root().render()
    return _make_self_contained(page) if self_contained else page


def save_map(m: folium.Map, path: str | os.PathLike[str], *, self_contained: bool = True) -> Path:
    """Write ``m`` as an HTML file, atomically.

    Parameters
    ----------
    m : folium.Map
    path : path-like
        Output file (its folder must exist).
    self_contained : bool
        Inline Leaflet's script and stylesheet (from ``bandung_mapping/static``) so the map
        opens with no internet connection (basemap tiles aside). Folium assets the layers
        do not use (jQuery, Bootstrap, Font Awesome, awesome-markers) are left out; any
        other external script or stylesheet raises :class:`OutputError`. With False,
        assets are linked from a CDN.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    out = Path(path)
    page = render_html(m, self_contained=self_contained)
    atomic_write(out, lambda tmp: tmp.write_bytes(page.encode("utf-8")))
    log.info("wrote map %s (%.1f MB)", out, out.stat().st_size / 1e6)
    return out
