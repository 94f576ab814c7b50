"""Maps: what a person would see in the rendered HTML (layers, legend, bounds, credits, escaping)."""
# ruff: noqa: D103

from __future__ import annotations

import json
import re

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from _helpers import EVIL_PARK, EVIL_ZONE, tiny_zones
from hypothesis import given, settings
from hypothesis import strategies as st

from bandung_mapping import maps
from bandung_mapping.errors import CRSError, InputError, OutputError, RasterCoverageError, RasterError
from bandung_mapping.profiles import load_city

# The map offers these indicators: RTH share, public share, per person (smaller values than
# RTH_COLUMNS, for other class breaks), satellite green cover (all NaN) and building cover.
MAP_COLUMNS = {
    "kelurahan": {
        "rth_pct": [0.0, 10.0, 20.0, 30.0],
        "rth_public_pct": [0.0, 5.0, 5.0, 10.0],
        "rth_per_capita_m2": [0.0, 5.0, np.nan, 7.5],
        "green_cover_pct": [np.nan] * 4,
        "building_coverage_pct": [40.0, 30.0, 20.0, 10.0],
    },
    "kecamatan": {
        "rth_pct": [5.0, 25.0],
        "rth_public_pct": [2.5, 7.5],
        "rth_per_capita_m2": [3.3, 7.1],
        "building_coverage_pct": [35.0, 15.0],
    },
    "kota": {"rth_pct": [15.0]},
}


def tiny_tables() -> dict[str, gpd.GeoDataFrame]:
    """Four kelurahan (2 x 2 cells of 0.01 degree), two kecamatan, one kota."""
    return tiny_zones(MAP_COLUMNS)


def tiny_green() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "osmid": ["way/1", "way/2"],
            "rth_jenis": ["taman", "pemakaman"],
            "is_public": [True, False],
            "area_m2": [4900.0, 1200.0],
            "name": [EVIL_PARK, None],
            "leisure": ["park", None],
        },
        geometry=[
            shapely.box(107.601, -6.899, 107.602, -6.898),
            shapely.box(107.611, -6.889, 107.612, -6.888),
        ],
        crs="EPSG:4326",
    )


@pytest.fixture(scope="module")
def bandung():
    return load_city("bandung")


def fit_bounds(page: str) -> list[list[float]]:
    found = re.search(r"\.fitBounds\(\s*(\[\[[-0-9.e, ]+\], \[[-0-9.e, ]+\]\])", page)
    assert found, "no fitBounds call in the page"
    return json.loads(found.group(1))


def layer_names(page: str) -> list[str]:
    """Names listed in the Leaflet layer control (base layers and overlays)."""
    found = re.search(r"var layer_control_\w+_layers = \{(.*?)\};\s*let layer_control", page, re.S)
    assert found, "no layer control in the page"
    return [json.loads(f'"{n}"') for n in re.findall(r'"([^"]+)"\s*:\s*\w+', found.group(1))]


def in_js(text: str, page: str) -> bool:
    """Whether ``text`` appears in the page as a JavaScript string literal (as Jinja's tojson writes it)."""
    from jinja2.utils import htmlsafe_json_dumps

    return str(htmlsafe_json_dumps(text))[1:-1] in page


# --------------------------------------------------------------------------- coordinates


def test_latlon_bounds_turns_xy_into_latlon():
    g = gpd.GeoSeries([shapely.box(107.5, -7.0, 107.7, -6.8)], crs="EPSG:4326")
    assert maps.latlon_bounds(g) == [[-7.0, 107.5], [-6.8, 107.7]]
    utm = g.to_crs("EPSG:32748")
    (s, w), (n, e) = maps.latlon_bounds(utm)
    assert s == pytest.approx(-7.0, abs=1e-3) and w == pytest.approx(107.5, abs=1e-3)


def test_latlon_bounds_refuses_missing_crs():
    with pytest.raises(CRSError):
        maps.latlon_bounds(gpd.GeoSeries([shapely.box(0, 0, 1, 1)]))


# --------------------------------------------------------------------------- zone map


def test_zone_map_layers_legend_and_bounds(bandung):
    tables = tiny_tables()
    m = maps.zone_map(tables, city=bandung, tiles=None)
    page = maps.render_html(m)
    assert layer_names(page) == ["Kelurahan", "Kecamatan", "Kota"]
    # indicators offered: those present with data, in the default order; green cover is all NaN
    options = re.findall(r'<option value="([^"]+)"', page)
    assert options == ["rth_pct", "rth_public_pct", "rth_per_capita_m2", "building_coverage_pct"]
    # four distinct RTH values -> four classes, labelled with the unit, Indonesian decimals
    for label in ("RTH (% luas wilayah) [%]", "0,0 %", "0,0 – 10,0 %", "10,0 – 20,0 %", "20,0 – 30,0 %"):
        assert label in page
    assert "RTH per penduduk [m²/jiwa]" in page
    assert "Tidak ada data" in page  # rth_per_capita_m2 has a NaN
    (s, w), (n, e) = fit_bounds(page)
    assert (s, w, n, e) == pytest.approx((-6.90, 107.60, -6.88, 107.62))


def test_zone_map_class_breaks_are_shared_by_levels(bandung):
    m = maps.zone_map(tiny_tables(), city=bandung, tiles=None)
    page = maps.render_html(m)
    cfg = json.loads(re.search(r"var cfg = (\{.*?\});\n", page).group(1))
    assert cfg["indicators"]["rth_pct"]["bins"] == [0.0, 10.0, 20.0, 30.0]
    assert len(cfg["indicators"]["rth_pct"]["colors"]) == 4
    assert cfg["indicators"]["rth_per_capita_m2"]["bins"] == [0.0, 5.0, 7.5]


def test_zone_map_many_zones_gives_k_classes():
    rng = np.random.default_rng(0)
    n = 40
    geoms = [shapely.box(107.6 + 0.001 * i, -6.9, 107.601 + 0.001 * i, -6.899) for i in range(n)]
    kel = gpd.GeoDataFrame(
        {"zone_id": [str(i) for i in range(n)], "zone_name": "x", "rth_pct": rng.uniform(0, 50, n)},
        geometry=geoms,
        crs="EPSG:4326",
    )
    for scheme in ("fisher_jenks", "quantiles", "equal_interval"):
        page = maps.render_html(maps.zone_map({"kelurahan": kel}, scheme=scheme, k=5, tiles=None))
        cfg = json.loads(re.search(r"var cfg = (\{.*?\});\n", page).group(1))
        bins = cfg["indicators"]["rth_pct"]["bins"]
        assert len(bins) == 5 and bins == sorted(bins)
        assert bins[-1] == pytest.approx(kel["rth_pct"].max(), abs=1e-6)


def test_zone_map_english_and_korean_labels(bandung):
    page = maps.render_html(maps.zone_map(tiny_tables(), city=bandung, lang="en", tiles=None))
    assert layer_names(page) == ["Urban village (kelurahan)", "District (kecamatan)", "City"]
    assert "Green open space (% of area) [%]" in page
    assert "0.0 – 10.0 %" in page
    assert "Green space per person [m² per person]" in page
    assert "RTH (% luas wilayah)" not in page
    daegu = load_city("daegu")
    t = tiny_tables()
    zones = {"dong": t["kelurahan"], "gu": t["kecamatan"], "si": t["kota"]}
    page = maps.render_html(maps.zone_map(zones, city=daegu, lang="ko", tiles=None))
    assert layer_names(page) == ["행정동", "구·군", "시"]


def test_zone_map_escapes_names_and_credits_sources(bandung):
    page = maps.render_html(
        maps.zone_map(tiny_tables(), city=bandung, tiles=None, sources=["Batas: <b>BIG</b>"])
    )
    assert EVIL_ZONE not in page
    assert "window.__pwned=1" in page  # kept, as escaped text
    assert "\\u0026lt;script\\u0026gt;window.__pwned=1" in page
    assert in_js("© OpenStreetMap contributors (ODbL)", page)
    assert "<b>BIG</b>" not in page and in_js("Batas: &lt;b&gt;BIG&lt;/b&gt;", page)


def test_zone_map_synthetic_banner_only_when_synthetic(bandung):
    assert "SYNTHETIC / data sintetis" in maps.render_html(
        maps.zone_map(tiny_tables(), city=bandung, synthetic=True, tiles=None)
    )
    assert "SYNTHETIC" not in maps.render_html(maps.zone_map(tiny_tables(), city=bandung, tiles=None))


def test_zone_map_copernicus_credit_with_satellite_indicator(bandung):
    t = tiny_tables()
    t["kelurahan"]["green_cover_pct"] = [10.0, 20.0, 30.0, 40.0]
    page = maps.render_html(maps.zone_map(t, city=bandung, tiles=None))
    assert in_js("Contains modified Copernicus Sentinel data", page)
    assert "Tutupan hijau citra satelit [%]" in page


def test_zone_map_basemaps_are_base_layers(bandung):
    page = maps.render_html(maps.zone_map(tiny_tables(), city=bandung))
    assert layer_names(page)[0] == "OpenStreetMap"
    assert "tile.openstreetmap.org" in page


def test_zone_map_does_not_mutate_inputs(bandung):
    t = tiny_tables()
    before = {k: v.copy() for k, v in t.items()}
    maps.zone_map(t, city=bandung, tiles=None)
    for k in t:
        pd.testing.assert_frame_equal(t[k], before[k])


def test_zone_map_validates(bandung):
    t = tiny_tables()
    with pytest.raises(InputError, match="lang"):
        maps.zone_map(t, city=bandung, lang="fr")
    with pytest.raises(InputError, match="not in city"):
        maps.zone_map({"dong": t["kelurahan"]}, city=bandung)
    with pytest.raises(InputError, match="indicator 'nope'"):
        maps.zone_map(t, city=bandung, indicators=["nope"])
    with pytest.raises(InputError, match="zone_name"):
        maps.zone_map({"kelurahan": t["kelurahan"].drop(columns="zone_name")})
    with pytest.raises(CRSError):
        maps.zone_map({"kelurahan": t["kelurahan"].set_crs(None, allow_override=True)})
    with pytest.raises(InputError):
        maps.zone_map([t["kelurahan"]])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- green spaces


def test_green_space_layer_escapes_and_colours_by_kind(bandung):
    m = maps.zone_map(tiny_tables(), city=bandung, tiles=None)
    m = maps.green_space_layer(tiny_green(), m=m, city=bandung)
    page = maps.render_html(m)
    assert layer_names(page) == ["Kelurahan", "Kecamatan", "Kota", "RTH (OpenStreetMap)"]
    assert EVIL_PARK not in page
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in page
    assert re.search(r'<span class="bm-legend-title">Jenis RTH</span>.*Pemakaman.*Taman', page, re.S)
    assert '"fillColor": "#1a9850"' in page and '"fillColor": "#8c6bb1"' in page  # taman, pemakaman
    assert '"dashArray": "3 3"' in page  # the private one


def test_green_space_layer_english(bandung):
    page = maps.render_html(maps.green_space_layer(tiny_green(), lang="en", tiles=None))
    assert "Green open space (OpenStreetMap)" in page and "Cemetery" in page and "Private" in page


def test_green_space_layer_refuses_points():
    g = tiny_green()
    g = g.set_geometry(shapely.centroid(np.asarray(g.geometry.values)))
    with pytest.raises(InputError):
        maps.green_space_layer(g)


# --------------------------------------------------------------------------- buildings


def test_building_grid_by_hand():
    b = gpd.GeoDataFrame(
        {"footprint_m2": [100.0, 300.0, 50.0]},
        geometry=[shapely.box(10, 10, 20, 20), shapely.box(30, 30, 40, 60), shapely.box(150, 10, 155, 20)],
        crs="EPSG:32748",
    )
    g = maps.building_grid(b, cell_m=100).sort_values("footprint_m2")
    assert g["building_count"].tolist() == [1, 2]
    assert g["footprint_m2"].tolist() == [50.0, 400.0]
    assert g["footprint_pct"].tolist() == [0.5, 4.0]
    assert [tuple(c.bounds) for c in g.geometry] == [(100, 0, 200, 100), (0, 0, 100, 100)]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 5000), st.floats(0, 5000), st.floats(1, 400)), min_size=1, max_size=60)
)
def test_building_grid_keeps_every_building(rows):
    xs, ys, fs = (np.array(v) for v in zip(*rows, strict=False))
    b = gpd.GeoDataFrame({"footprint_m2": fs}, geometry=shapely.box(xs, ys, xs + 2, ys + 2), crs="EPSG:32748")
    g = maps.building_grid(b, cell_m=250)
    assert g["building_count"].sum() == len(b)
    assert g["footprint_m2"].sum() == pytest.approx(fs.sum())
    assert (g["footprint_pct"] <= 100).all()


def test_building_layer_polygons_or_grid(bandung):
    rng = np.random.default_rng(1)
    x = rng.uniform(107.60, 107.62, 50)
    y = rng.uniform(-6.90, -6.88, 50)
    b = gpd.GeoDataFrame(
        {"footprint_m2": np.full(50, 100.0), "use": "residential", "levels": 2.0},
        geometry=shapely.box(x, y, x + 1e-4, y + 1e-4),
        crs="EPSG:4326",
    )
    page = maps.render_html(maps.building_layer(b, city=bandung, tiles=None))
    assert "Bangunan" in layer_names(page)
    page = maps.render_html(maps.building_layer(b, city=bandung, max_features=10, tiles=None))
    assert "Kepadatan bangunan (grid 250 m)" in layer_names(page)
    assert "Tapak bangunan (% sel)" in page and "0,0 – 5,0 %" in page


# --------------------------------------------------------------------------- access, sites


def test_access_gap_and_candidate_layers(bandung):
    pts = gpd.GeoDataFrame(
        {"zone_id": ["K1", "K2"], "pop": [120.0, 40.0], "dist_to_green_m": [250.0, 1200.0]},
        geometry=shapely.points([[107.605, -6.895], [107.615, -6.885]]),
        crs="EPSG:4326",
    )
    sites = gpd.GeoDataFrame(
        {"rank": [1], "area_m2": [6000.0], "new_pop_served": [850.0]},
        geometry=[shapely.box(107.603, -6.897, 107.604, -6.896)],
        crs="EPSG:4326",
    )
    m = maps.zone_map(tiny_tables(), city=bandung, tiles=None)
    m = maps.access_gap_layer(pts, m=m)
    m = maps.candidate_site_layer(sites, m=m, city=bandung)
    page = maps.render_html(m)
    names = layer_names(page)
    assert names[-2:] == ["Penduduk tanpa akses RTH", "Usulan lokasi RTH baru"]
    assert "&gt; 1.000 m" in page or "> 1.000 m" in page
    assert '"fillColor": "#fdae61"' in page and '"fillColor": "#a50026"' in page


# --------------------------------------------------------------------------- raster


@pytest.fixture
def ndvi_tif(tmp_path):
    import rasterio
    from rasterio.transform import from_origin

    path = tmp_path / "ndvi.tif"
    x0, y0 = 786000.0, 9238000.0  # near Bandung in EPSG:32748
    data = np.array([[0.1, 0.2, 0.3, 0.4]] * 4, dtype="float32")
    data[0, 0] = -9999
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=4,
        height=4,
        count=1,
        dtype="float32",
        crs="EPSG:32748",
        transform=from_origin(x0, y0, 100, 100),
        nodata=-9999,
    ) as dst:
        dst.write(data, 1)
    return path


def test_raster_overlay_embeds_png_with_legend(ndvi_tif):
    area = gpd.GeoSeries([shapely.box(786000, 9237600, 786400, 9238000)], crs="EPSG:32748")
    m = maps.raster_overlay(ndvi_tif, clip=area, kind="ndvi", tiles=None)
    page = maps.render_html(m)
    assert "data:image/png;base64," in page
    assert "Citra: ndvi" in layer_names(page)
    assert "NDVI" in page and "-0,20" in page and "0,80" in page
    assert in_js("Contains modified Copernicus Sentinel data", page)
    (s, w), (n, e) = fit_bounds(page)
    assert s < n and w < e and 107 < w < 108 and -8 < s < -6


def test_raster_overlay_errors(ndvi_tif, tmp_path):
    far = gpd.GeoSeries([shapely.box(0, 0, 1, 1)], crs="EPSG:4326")
    with pytest.raises(RasterCoverageError, match="does not overlap"):
        maps.raster_overlay(ndvi_tif, clip=far)
    import rasterio

    bad = tmp_path / "nocrs.tif"
    with rasterio.open(bad, "w", driver="GTiff", width=2, height=2, count=1, dtype="float32") as dst:
        dst.write(np.zeros((2, 2), dtype="float32"), 1)
    with pytest.raises(RasterError, match="no CRS"):
        maps.raster_overlay(bad)


# --------------------------------------------------------------------------- saving


def scripts_and_styles(page: str) -> list[str]:
    return re.findall(r'<script[^>]*\bsrc="([^"]+)"', page) + re.findall(r'<link[^>]*\bhref="([^"]+)"', page)


def test_save_map_self_contained_has_no_external_assets(tmp_path, bandung):
    m = maps.study_map(tiny_tables(), tiny_green(), city=bandung, synthetic=True)
    out = maps.save_map(m, tmp_path / "map.html")
    page = out.read_text(encoding="utf-8")
    assert scripts_and_styles(page) == []
    assert not re.search(r"""<(script|link|img)\b[^>]*\b(src|href)=["']?https?://""", page)
    assert 'version="1.9.4"' in page or 't.version="1.9.4"' in page  # Leaflet inlined
    assert "data:image/png;base64," in page  # layer-control icon inlined from leaflet.css
    assert "sourceMappingURL" not in page
    assert [p.name for p in tmp_path.iterdir()] == ["map.html"]  # no temp file left


def test_save_map_linked_mode_uses_cdn(tmp_path, bandung):
    out = maps.save_map(
        maps.zone_map(tiny_tables(), city=bandung, tiles=None), tmp_path / "m.html", self_contained=False
    )
    urls = scripts_and_styles(out.read_text(encoding="utf-8"))
    assert urls == [maps._LEAFLET_JS_URL, maps._LEAFLET_CSS_URL]


def test_save_map_on_a_plain_folium_map_drops_unused_assets(tmp_path, bandung):
    m = folium.Map(location=[-6.9, 107.6], tiles=None)
    m = maps.green_space_layer(tiny_green(), m=m)
    page = maps.save_map(m, tmp_path / "m.html").read_text(encoding="utf-8")
    assert scripts_and_styles(page) == []


def test_save_map_refuses_unknown_external_script(tmp_path, bandung):
    from branca.element import JavascriptLink

    m = maps.zone_map(tiny_tables(), city=bandung, tiles=None)
    m.get_root().header.add_child(JavascriptLink("https://example.org/plugin.js"), name="plugin")
    with pytest.raises(OutputError, match="plugin.js"):
        maps.save_map(m, tmp_path / "m.html")
    assert not (tmp_path / "m.html").exists()
    with pytest.raises(OutputError, match="does not exist"):
        maps.save_map(maps.zone_map(tiny_tables(), city=bandung, tiles=None), tmp_path / "no" / "m.html")


# --------------------------------------------------------------------------- size budget


def bandung_sized_city():
    """151 kelurahan over ~168 km², 30 kecamatan, 4,000 green rectangles, 300,000 building squares."""
    rng = np.random.default_rng(42)
    to_utm = gpd.GeoSeries([shapely.Point(107.54, -6.97)], crs="EPSG:4326").to_crs("EPSG:32748")
    x0, y0 = to_utm.x.iloc[0], to_utm.y.iloc[0]
    nx, ny, w, h = 13, 12, 1000.0, 1080.0  # 13 km x 12.96 km = 168 km²
    ii, jj = np.meshgrid(np.arange(nx), np.arange(ny))
    ii, jj = ii.ravel()[:151], jj.ravel()[:151]
    cells = shapely.box(x0 + ii * w, y0 + jj * h, x0 + (ii + 1) * w, y0 + (jj + 1) * h)
    # wiggle the edges so that boundaries have many vertices, as real ones do
    cells = shapely.segmentize(cells, 10.0)
    n = len(cells)
    kel = gpd.GeoDataFrame(
        {
            "zone_id": [f"32.73.{k:03d}" for k in range(n)],
            "zone_name": [f"Kelurahan {k}" for k in range(n)],
            "parent_id": [f"32.73.{k % 30:02d}" for k in range(n)],
            "area_ha": w * h / 1e4,
            "population": rng.uniform(5e3, 3e4, n),
            **{c: rng.uniform(0, 60, n) for c in maps.DEFAULT_INDICATORS},
        },
        geometry=cells,
        crs="EPSG:32748",
    ).to_crs("EPSG:4326")
    kec = kel.dissolve("parent_id", aggfunc="mean", numeric_only=True).reset_index()
    kec = kec.rename(columns={"parent_id": "zone_id"}).assign(
        zone_name=lambda d: "Kec " + d.zone_id, parent_id="32.73"
    )
    kota = gpd.GeoDataFrame(
        {"zone_id": ["32.73"], "zone_name": ["Kota"], "parent_id": [""]},
        geometry=[kel.union_all()],
        crs="EPSG:4326",
    )
    gx, gy = rng.uniform(x0, x0 + nx * w, 4000), rng.uniform(y0, y0 + ny * h, 4000)
    gw = rng.uniform(10, 200, 4000)
    green = gpd.GeoDataFrame(
        {
            "osmid": [f"way/{k}" for k in range(4000)],
            "rth_jenis": rng.choice(["taman", "hutan_kota", "pemakaman"], 4000),
            "is_public": rng.random(4000) < 0.5,
            "area_m2": gw * gw,
            "name": [f"Taman {k}" for k in range(4000)],
            "leisure": "park",
        },
        geometry=shapely.box(gx, gy, gx + gw, gy + gw),
        crs="EPSG:32748",
    ).to_crs("EPSG:4326")
    bx, by = rng.uniform(x0, x0 + nx * w, 300_000), rng.uniform(y0, y0 + ny * h, 300_000)
    bw = rng.uniform(5, 15, 300_000)
    buildings = gpd.GeoDataFrame(
        {"footprint_m2": bw * bw}, geometry=shapely.box(bx, by, bx + bw, by + bw), crs="EPSG:32748"
    ).to_crs("EPSG:4326")
    return {"kelurahan": kel, "kecamatan": kec, "kota": kota}, green, buildings


def test_city_sized_map_fits_the_size_budget(tmp_path, bandung):
    zones, green, buildings = bandung_sized_city()
    m = maps.study_map(zones, green, buildings, city=bandung, synthetic=True)
    out = maps.save_map(m, tmp_path / "map.html")
    size_mb = out.stat().st_size / 1e6
    assert size_mb <= 10.0, f"map of a Bandung-sized city is {size_mb:.1f} MB"
    page = out.read_text(encoding="utf-8")
    assert "Kepadatan bangunan (grid 250 m)" in layer_names(page)
    assert page.count('"zone_name": "Kelurahan ') == 151


def test_real_bandung_boundaries_stay_small(shared_data, bandung):
    kel = gpd.read_file(shared_data / "boundaries" / "bandung_kelurahan_satudata.geojson")
    kec = gpd.read_file(shared_data / "boundaries" / "bandung_kecamatan_satudata.geojson")
    rng = np.random.default_rng(3)
    zones = {}
    for level, gdf, name, parent in (
        ("kelurahan", kel, "nama_kelurahan", "nama_kecamatan"),
        ("kecamatan", kec, "nama_kecamatan", "nama_wilayah"),
    ):
        z = gpd.GeoDataFrame(
            {
                "zone_id": gdf[name],
                "zone_name": gdf[name],
                "parent_id": gdf[parent],
                "rth_pct": rng.uniform(0, 40, len(gdf)),
            },
            geometry=gdf.geometry,
            crs=gdf.crs,
        )
        zones[level] = z
    page = maps.render_html(maps.zone_map(zones, city=bandung, tiles=None))
    assert len(page.encode("utf-8")) < 1.5e6
    assert page.count('"zone_id": ') == 151 + 30
    for name in kel["nama_kelurahan"]:
        assert f'"zone_name": "{name}"' in page or name.replace("'", "\\u0027") in page
