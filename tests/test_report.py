"""Report: headline figures, compliance, rankings, sources, caveats, escaping, languages, batch."""
# ruff: noqa: D103

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from _helpers import EVIL_ZONE, RTH_COLUMNS, tiny_zones

from bandung_mapping import report
from bandung_mapping.errors import EmptyAreaError, InputError, OutputError
from bandung_mapping.profiles import load_city

# The flag of the 30 % RTH check of UU 26/2007: only K4 meets it.
OK_30PCT = {"kelurahan": [False, False, False, True], "kecamatan": [False, False], "kota": [False]}


def tables() -> dict[str, pd.DataFrame]:
    """The tiny study without geometry, with the 30 % RTH flag."""
    columns = {level: {**cols, "ok__uu_26_2007__rth_30pct": OK_30PCT[level]} for level, cols in RTH_COLUMNS.items()}
    return tiny_zones(columns, geometry=False)


STANDARDS = {
    "uu_26_2007": {
        "name": "UU 26/2007 Penataan Ruang",
        "citation": "Undang-Undang No. 26 Tahun 2007, Pasal 29",
        "checks": {
            "rth_30pct": {"label": {"id": "RTH ≥ 30% luas kota", "en": "Green space ≥ 30% of city area"}}
        },
    }
}


@pytest.fixture(scope="module")
def bandung():
    return load_city("bandung")


def text_of(page: str) -> str:
    """Visible text, roughly: tags removed, whitespace collapsed."""
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def card(page: str, key: str) -> str:
    found = re.search(rf'data-indicator="{key}">(.*?)</div>\s*</div>', page, re.S)
    assert found, f"no card {key}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def test_report_headline_compliance_and_sources(tmp_path, bandung):
    out = report.write_report(
        tables(),
        tmp_path / "report.html",
        city=bandung,
        standards=STANDARDS,
        run_info={"osm_date": "2025-06-16"},
    )
    page = out.read_text(encoding="utf-8")
    assert card(page, "area_ha") == "Luas wilayah 4,0 km²"
    assert card(page, "population") == "Jumlah penduduk 10.000 jiwa"
    # without a satellite raster the completeness of OSM green cannot be checked: the headline says so
    unchecked = " Kelengkapan tidak diperiksa (tanpa citra satelit): RTH dari OpenStreetMap adalah batas bawah"
    assert card(page, "rth_pct") == "RTH (% luas wilayah) 15,0 %" + unchecked
    assert card(page, "rth_per_capita_m2") == "RTH per penduduk 60,0 m²/jiwa" + unchecked
    text = text_of(page)
    assert "UU 26/2007 Penataan Ruang" in text
    assert "Sumber: Undang-Undang No. 26 Tahun 2007, Pasal 29" in text
    assert "RTH ≥ 30% luas kota Tidak terpenuhi 1 / 4" in text
    assert "© OpenStreetMap contributors, ODbL 2025-06-16" in text
    assert "Copernicus" not in text  # no satellite indicator in these tables
    assert "Keterbatasan" in text and "OpenStreetMap tidak lengkap" in text
    assert "SYNTHETIC" not in text
    assert not re.search(r"""(src|href)=["']?https?://""", page)  # self-contained


def test_report_rankings_by_hand(tmp_path, bandung):
    page = report.render_report(tables(), city=bandung)
    blocks = re.findall(r"<tbody>(.*?)</tbody>", page, re.S)
    names = [re.findall(r"<td>([^<]*)</td><td>", b) for b in blocks]
    # by RTH %: top, bottom; by m² per person (NaN left out): top, bottom
    assert names[1] == ["Tamansari", "Sukaluyu", "Cihapit", "&lt;script&gt;window.__pwned=1&lt;/script&gt;"]
    assert names[2][0] == "&lt;script&gt;window.__pwned=1&lt;/script&gt;"
    assert names[3] == ["Tamansari", "Cihapit", "&lt;script&gt;window.__pwned=1&lt;/script&gt;"]
    assert "<td>Coblong</td>" in page  # parent names from the kecamatan table


def test_report_escapes_data_text(bandung):
    t = tables()
    t["kota"]["zone_name"] = ["<b>Kota</b>"]
    page = report.render_report(t, city=bandung, run_info={"note": "<img src=x onerror=alert(1)>"})
    assert EVIL_ZONE not in page and "<b>Kota</b>" not in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_report_synthetic_banner_and_english(bandung):
    page = report.render_report(tables(), city=bandung, lang="en", synthetic=True, standards=STANDARDS)
    text = text_of(page)
    assert 'id="synthetic-banner"' in page and "SYNTHETIC / data sintetis" in text
    assert "Green open space report: Kota Bandung" in text
    assert "Compliance with standards" in text and "Green space ≥ 30% of city area Not met 1 / 4" in text
    assert "Urban village (kelurahan) rankings" in text
    assert "Population 10,000 people" in text
    assert "Caveats" in text and "Ringkasan" not in text


def test_report_korean_labels_for_daegu():
    daegu = load_city("daegu")
    t = tables()
    page = report.render_report(
        {"dong": t["kelurahan"], "gu": t["kecamatan"], "si": t["kota"]}, city=daegu, lang="ko"
    )
    assert "행정동 순위" in text_of(page)


def test_report_summary_summed_when_top_level_missing(bandung):
    t = tables()
    page = report.render_report({"kelurahan": t["kelurahan"]}, city=bandung)
    assert card(page, "rth_pct").startswith("RTH (% luas wilayah) 15,0 % ")  # 60 ha of 400 ha, not a mean of %
    assert card(page, "rth_per_capita_m2").startswith("RTH per penduduk 60,0 m²/jiwa ")


def test_report_satellite_source_and_missing_columns(bandung):
    t = tables()
    t["kota"]["green_cover_pct"] = [np.nan]
    t["kelurahan"]["green_cover_pct"] = [1.0, 2.0, 3.0, 4.0]
    text = text_of(report.render_report(t, city=bandung, charts=False))
    assert "Contains modified Copernicus Sentinel data" in text
    assert "Tutupan hijau citra satelit –" in text
    minimal = {"kelurahan": pd.DataFrame({"zone_id": ["a"], "zone_name": ["A"]})}
    assert "Tidak ada hasil kepatuhan" in text_of(report.render_report(minimal, city=bandung))


def test_report_charts_are_embedded_png(bandung):
    page = report.render_report(tables(), city=bandung)
    assert page.count('src="data:image/png;base64,') == 2
    assert "RTH (% luas wilayah) per Kecamatan" in page


def test_report_validates(tmp_path, bandung):
    with pytest.raises(InputError, match="CityProfile"):
        report.write_report(tables(), tmp_path / "r.html", city="bandung")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="not in city"):
        report.write_report({"dong": tables()["kelurahan"]}, tmp_path / "r.html", city=bandung)
    with pytest.raises(EmptyAreaError):
        report.write_report({"kelurahan": tables()["kelurahan"].iloc[:0]}, tmp_path / "r.html", city=bandung)
    with pytest.raises(InputError, match="lang"):
        report.write_report(tables(), tmp_path / "r.html", city=bandung, lang="fr")
    with pytest.raises(OutputError):
        report.write_report(tables(), tmp_path / "missing" / "r.html", city=bandung)


def test_report_pdf_skipped_without_renderer(tmp_path, bandung):
    pytest.importorskip  # noqa: B018 - weasyprint is optional; without it only the HTML is written
    try:
        import weasyprint  # noqa: F401
    except ImportError:
        out = report.write_report(tables(), tmp_path / "r.html", city=bandung, pdf=True)
        assert out.exists() and not (tmp_path / "r.pdf").exists()
    else:  # pragma: no cover
        report.write_report(tables(), tmp_path / "r.html", city=bandung, pdf=True)
        assert (tmp_path / "r.pdf").stat().st_size > 0


def test_batch_reports_per_kecamatan(tmp_path, bandung):
    index = report.write_batch_reports(
        tables(), tmp_path / "per_kecamatan", by_level="kecamatan", city=bandung, synthetic=True
    )
    files = sorted(p.name for p in index.parent.iterdir())
    assert files == ["index.html", "kecamatan_C1.html", "kecamatan_C2.html"]
    idx = index.read_text(encoding="utf-8")
    assert re.findall(r'<a href="([^"]+)">([^<]+)</a>', idx) == [
        ("kecamatan_C1.html", "Coblong"),
        ("kecamatan_C2.html", "Sumur Bandung"),
    ]
    assert "SYNTHETIC" in idx and "2 Kecamatan" in text_of(idx)
    c2 = (index.parent / "kecamatan_C2.html").read_text(encoding="utf-8")
    assert "Sukaluyu" in c2 and "Tamansari" in c2 and "Cihapit" not in c2
    assert card(c2, "rth_pct").startswith("RTH (% luas wilayah) 25,0 % Kelengkapan tidak diperiksa")
    with pytest.raises(InputError, match="above the lowest"):
        report.write_batch_reports(tables(), tmp_path / "x", by_level="kelurahan", city=bandung)
