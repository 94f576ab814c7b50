"""Hostile text in inputs: no template code runs, the literal text comes out, no formula in tables.

Every text field that reaches an HTML page (zone, kecamatan and park names, OSM tag values)
is replaced by template-injection and HTML payloads in a copy of the synthetic sample; the
map, the report, the per-kecamatan pages and the comparison are written, and the tests
check that no payload was evaluated and that each shows as the text it was.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest

import bandung_mapping as bm
from bandung_mapping import sample
from bandung_mapping.compare import compare_runs
from bandung_mapping.outputs import spreadsheet_text

MARKER = "bm_pwned_marker"
PAYLOADS = [
    "{{7*7}}",
    "{% if 1 %}JINJA_RAN{% endif %}",
    "${7*7}",
    "</script><b>bold</b>",
    "<img src=x onerror=alert(1)>",
    "{{ lipsum.__globals__.os.mkdir('" + MARKER + "') }}",
    "{# comment #}x",
    '=HYPERLINK("http://x","y")',
    "@SUM(A1)",
    "`${7*7}`",
]


def _payload(i: int) -> str:
    return PAYLOADS[i % len(PAYLOADS)]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, sample_dir: Path) -> dict:
    """A copy of the sample whose names and tags are payloads, and its report written."""
    root = tmp_path_factory.mktemp("hostile")
    src = root / "in"
    shutil.copytree(sample_dir, src)
    osm = (src / "sample_city.osm").read_text(encoding="utf-8")
    names: list[str] = []

    def rename(match: re.Match[str]) -> str:
        text = f"Taman {_payload(len(names))} {len(names)}"
        names.append(text)
        return 'k="name" v="' + html.escape(text, quote=True) + '"'

    osm = re.sub(r'k="name" v="Taman[^"]*"', rename, osm)
    osm = osm.replace(
        '<tag k="leisure" v="park"/>',
        '<tag k="leisure" v="park"/><tag k="operator" v="' + html.escape(PAYLOADS[0]) + '"/>',
        1,
    )
    (src / "sample_city.osm").write_text(osm, encoding="utf-8")
    gj = json.loads((src / "sample_kelurahan.geojson").read_text(encoding="utf-8"))
    zone_names = []
    for j, f in enumerate(gj["features"]):
        f["properties"]["nama_kelurahan"] = f"{_payload(j)} KEL{j}"
        code = f["properties"]["kode_kecamatan"]  # one name per kecamatan code
        f["properties"]["nama_kecamatan"] = f"KEC {_payload(int(code.rsplit('.', 1)[-1]) + 2)} {code}"
        zone_names.append(f["properties"]["nama_kelurahan"])
    (src / "sample_kelurahan.geojson").write_text(json.dumps(gj), encoding="utf-8")

    study = bm.load_study_area(
        city="sample",
        synthetic=True,
        boundaries=src / "sample_kelurahan.geojson",
        osm=[src / "sample_city.osm"],
        population=src / "sample_penduduk_kelurahan.csv",
        red=src / "sample_S2_B04_10m.tif",
        nir=src / "sample_S2_B08_10m.tif",
        sensor="sentinel2",
    )
    out = root / "out"
    bm.run_report(study, out, per_zone_level="kecamatan")
    plain = root / "plain"
    bm.run_report(sample.load_sample(sample_dir), plain)
    cmp_dir = root / "cmp"
    compare_runs(out, plain, cmp_dir)
    return {"root": root, "out": out, "cmp": cmp_dir, "park_names": names, "zone_names": zone_names}


def _pages(h: dict) -> list[Path]:
    return [*h["out"].glob("*.html"), *(h["out"] / "per_kecamatan").glob("*.html"), *h["cmp"].glob("*.html")]


def test_payload_names_reached_the_outputs(hostile):
    assert len(hostile["park_names"]) >= 3
    text = (hostile["out"] / "indicators_kelurahan.csv").read_text(encoding="utf-8")
    assert "{{7*7}} KEL0" in text


def test_no_template_code_ran(hostile, tmp_path):
    assert not any(p.name == MARKER for p in hostile["root"].rglob(MARKER)), "payload created a folder"
    assert not Path(MARKER).exists()
    for page in _pages(hostile):
        text = html.unescape(page.read_text(encoding="utf-8").replace("\\u0026", "&"))
        # evaluated, {% if 1 %}JINJA_RAN{% endif %} leaves "JINJA_RAN KEL1" and {{7*7}} "49 KEL0"
        for evaluated in ("JINJA_RAN KEL", "Taman JINJA_RAN", "49 KEL0", "Taman 49 ", "KEC 49"):
            assert evaluated not in text, (page.name, evaluated)


def _map_properties(page: Path) -> list[dict]:
    """Every GeoJSON feature's properties embedded in the map page, JSON-decoded."""
    text = page.read_text(encoding="utf-8")
    props = []
    for m in re.finditer(r'"properties": (\{[^{}]*\})', text):
        props.append(json.loads(m.group(1)))
    return props


def test_map_shows_the_literal_text(hostile):
    props = _map_properties(hostile["out"] / "map.html")
    shown_zones = {html.unescape(p["zone_name"]) for p in props if "zone_name" in p and p["zone_name"]}
    assert set(hostile["zone_names"]) <= shown_zones
    shown_parks = {html.unescape(p["name"]) for p in props if p.get("name")}
    mapped = set(gpd.read_file(hostile["out"] / "indicators.gpkg", layer="green_spaces")["name"].dropna())
    hostile_parks = {n for n in mapped if n.startswith("Taman ") and n in hostile["park_names"]}
    assert len(hostile_parks) >= 3 and hostile_parks <= shown_parks
    raw = (hostile["out"] / "map.html").read_text(encoding="utf-8")
    # no data text can close the script or open a tag or template block
    assert "<img src=x" not in raw and "</script><b>" not in raw
    for p in props:
        for v in p.values():
            if isinstance(v, str):
                assert "{" not in v and "}" not in v and "<" not in v and "`" not in v and "$" not in v


def test_report_pages_show_the_literal_text(hostile):
    report = html.unescape((hostile["out"] / "report.html").read_text(encoding="utf-8"))
    for name in hostile["zone_names"]:
        assert name in report
    for page in (hostile["out"] / "per_kecamatan").glob("kecamatan_*.html"):
        text = page.read_text(encoding="utf-8")
        assert "<img src=x" not in text and "</script><b>" not in text
        assert "KEC " in html.unescape(text)
    raw = (hostile["out"] / "report.html").read_text(encoding="utf-8")
    assert "<img src=x" not in raw and "</script><b>" not in raw


def test_formula_text_is_text_in_csv_and_xlsx(hostile):
    csv = pd.read_csv(hostile["out"] / "indicators_kelurahan.csv", dtype=str)
    formula_like = [v for v in csv["zone_name"] if v.lstrip("'").startswith(("=", "@"))]
    assert formula_like and all(v.startswith("'") for v in formula_like)
    wb = openpyxl.load_workbook(hostile["out"] / "indicators.xlsx")
    seen = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} is a formula: {cell.value!r}"
                if isinstance(cell.value, str) and cell.value.startswith("=HYPERLINK"):
                    seen += 1
    assert seen >= 1


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@x", "\t=1", "\r=1"])
def test_spreadsheet_text_marks_every_formula_start(text):
    out = spreadsheet_text(pd.DataFrame({"a": [text, "ok"], "n": [-1.0, 2.0]}))
    assert out["a"].tolist() == ["'" + text, "ok"]
    assert out["n"].tolist() == [-1.0, 2.0]
