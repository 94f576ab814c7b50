"""Open the map and the report in headless Chromium and check what a person sees."""
# ruff: noqa: D103

from __future__ import annotations

import os
import shutil
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from _helpers import EVIL_PARK, EVIL_ZONE, tiny_zones

from bandung_mapping import maps, report
from bandung_mapping.profiles import load_city

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    found = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
    if not found:
        msg = "Chromium not installed (apt-get install chromium); needed for the browser test"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return found


def small_study():
    """The tiny study and one park named with an image tag."""
    green = gpd.GeoDataFrame(
        {
            "osmid": ["way/1"],
            "rth_jenis": ["taman"],
            "is_public": [True],
            "area_m2": [12000.0],
            "name": [EVIL_PARK],
            "leisure": ["park"],
        },
        geometry=[shapely.box(107.613, -6.887, 107.617, -6.883)],
        crs="EPSG:4326",
    )
    return tiny_zones(), green


@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=ARGS)
        yield b
        b.close()


def open_page(browser, url: str):
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    events = {"errors": [], "dialogs": []}
    page.on("console", lambda m: events["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: events["errors"].append(str(e)))

    def on_dialog(d):
        events["dialogs"].append(d.message)
        d.dismiss()

    page.on("dialog", on_dialog)
    page.goto(url)
    page.wait_for_load_state("load")
    return page, events


def test_map_in_browser(browser, tmp_path):
    zones, green = small_study()
    m = maps.study_map(zones, green, city=load_city("bandung"), synthetic=True, tiles=None)
    path = maps.save_map(m, tmp_path / "map.html")
    page, events = open_page(browser, path.as_uri())
    page.wait_for_selector("path.leaflet-interactive")
    assert page.locator("path.leaflet-interactive").count() >= 5  # 4 kelurahan + the park
    legend = page.locator(".bm-choropleth-legend")
    assert legend.is_visible()
    assert "RTH (% luas wilayah) [%]" in legend.inner_text()
    assert page.locator("#bm-synthetic-banner").inner_text().startswith("SYNTHETIC / data sintetis")
    controls = page.locator(".leaflet-control-layers").inner_text()
    assert "Kelurahan" in controls and "RTH (OpenStreetMap)" in controls
    assert "OpenStreetMap contributors" in page.locator(".leaflet-control-attribution").inner_text()

    # the malicious zone: hover shows its name as text, nothing ran
    first = page.locator("path.leaflet-interactive").first
    first.hover()
    tip = page.locator(".leaflet-tooltip")
    tip.wait_for()
    assert EVIL_ZONE in tip.inner_text()
    assert tip.locator("script").count() == 0
    # the malicious park: hover and click, text only
    park = page.locator("path.leaflet-interactive").nth(4)
    park.hover()
    page.wait_for_function(
        "Array.from(document.querySelectorAll('.leaflet-tooltip')).some(t => t.innerText.includes('onerror'))"
    )
    assert any(EVIL_PARK in t for t in page.locator(".leaflet-tooltip").all_inner_texts())
    park.click()
    page.locator(".leaflet-popup-content").wait_for()
    assert EVIL_PARK in page.locator(".leaflet-popup-content").inner_text()
    assert page.locator(".leaflet-popup-content img, .leaflet-tooltip img").count() == 0

    # switching the indicator restyles the zones and swaps the legend
    page.select_option(".bm-choropleth-legend select", "rth_per_capita_m2")
    assert page.locator('.bm-legend-body[data-indicator="rth_per_capita_m2"]').is_visible()
    assert not page.locator('.bm-legend-body[data-indicator="rth_pct"]').is_visible()
    fills = page.eval_on_selector_all(
        "path.leaflet-interactive", "els => els.map(e => e.getAttribute('fill'))"
    )
    assert fills[2] == maps.NODATA_COLOR  # Sukaluyu has no per-capita value

    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert events["dialogs"] == []
    assert events["errors"] == []
    shot = tmp_path / "map.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 0
    page.close()


def test_report_in_browser(browser, tmp_path):
    zones, green = small_study()
    path = report.write_report(
        zones, tmp_path / "report.html", city=load_city("bandung"), synthetic=True, green_spaces=green
    )
    page, events = open_page(browser, path.as_uri())
    assert page.locator("#synthetic-banner").is_visible()
    assert EVIL_ZONE in page.locator("#rankings").inner_text()
    assert page.locator("#rankings script").count() == 0
    assert page.locator("#charts img").count() == 2
    assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert events["dialogs"] == [] and events["errors"] == []
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    page.close()
