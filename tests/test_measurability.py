"""A rule whose input the run cannot measure reads "not measurable", never "not met"."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pandas as pd
import pytest

from bandung_mapping import cli, compliance
from bandung_mapping.profiles import load_standard

LEVELS = ["kelurahan", "kecamatan", "kota"]


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {"zone_id": ["a", "b", "c"], "area_ha": [100.0, 100.0, 100.0], "rth_area_ha": [35.0, 12.0, np.nan],
         "rth_public_ha": [25.0, 5.0, np.nan], "rth_pct": [35.0, 12.0, np.nan],
         "rth_public_pct": [25.0, 5.0, np.nan], "rth_private_pct": [10.0, 7.0, np.nan]},
    )


def test_measurability_from_the_green_sources():
    m = compliance.measurability(["osm"])
    assert m["rth_private_pct"] == {"status": "not_measurable", "reason": "private_green_unmapped"}
    assert m["rth_pct"]["status"] == "lower_bound"
    assert m["tree_cover_pct"]["status"] == "not_measurable"  # no raster
    assert "rth_public_pct" not in m
    assert "tree_cover_pct" not in compliance.measurability(["osm"], ["red_nir"])
    assert "rth_private_pct" not in compliance.measurability(["osm", "inventory"])
    assert compliance.measurability(["parks"])["rth_private_pct"]["status"] == "not_measurable"


def test_not_measurable_and_lower_bound_rules():
    std = load_standard("uu_26_2007")
    out = compliance.compliance_indicators(_table(), "kota", [std], city_levels=LEVELS,
                                           measurable=compliance.measurability(["osm"]))
    # private RTH: never met nor not met from OSM, whatever the value
    assert out["result__uu_26_2007__rth_private_10pct"].tolist() == ["not_measurable"] * 3
    assert out["ok__uu_26_2007__rth_private_10pct"].isna().all()
    # total RTH is a lower bound: 35 % meets 30 % for sure, 12 % says nothing
    assert out["result__uu_26_2007__rth_30pct"].tolist() == ["met", "not_measurable", "no_data"]
    assert out["ok__uu_26_2007__rth_30pct"].tolist()[0] is True
    assert pd.isna(out["ok__uu_26_2007__rth_30pct"].iloc[1])
    gap = out["rth_gap_to_30pct_ha"]
    assert gap.iloc[0] == 0.0 and gap.iloc[1:].isna().all()  # a gap from a lower bound is unknown
    # public RTH is measured: 5 % is "not met"
    assert out["result__uu_26_2007__rth_public_20pct"].tolist() == ["met", "not_met", "no_data"]
    assert out.attrs["measurability"]["ok__uu_26_2007__rth_private_10pct"] == "private_green_unmapped"
    # without a measurability the old behaviour stands
    plain = compliance.compliance_indicators(_table(), "kota", [std], city_levels=LEVELS)
    assert plain["result__uu_26_2007__rth_private_10pct"].tolist() == ["met", "not_met", "no_data"]


@pytest.mark.parametrize("lang, nm, not_met", [("id", "Tidak dapat diukur", "Tidak terpenuhi"),
                                                ("en", "Not measurable", "Not met")])
def test_osm_run_reads_private_rth_as_not_measurable(sample_dir, tmp_path, lang, nm, not_met):
    out = tmp_path / "out"
    code = cli.main(["report", "--city", "sample", "--boundaries", str(sample_dir / "sample_kelurahan.geojson"),
                     "--osm", str(sample_dir / "sample_city.osm"), "--population",
                     str(sample_dir / "sample_penduduk_kelurahan.csv"), "--lang", lang, "--out", str(out)])
    assert code == 0
    for level in LEVELS:
        t = pd.read_csv(out / f"indicators_{level}.csv")
        assert (t["result__uu_26_2007__rth_private_10pct"] == "not_measurable").all()
        assert t["ok__uu_26_2007__rth_private_10pct"].isna().all()
        # the sample's RTH is under 30 % everywhere: from OSM that is not "not met"
        assert set(t["result__uu_26_2007__rth_30pct"]) <= {"not_measurable", "met"}
    page = html.unescape((out / "report.html").read_text())
    rows = dict(re.findall(r'<tr data-flag="([^"]+)">.*?<td class="\w+">(.*?)</td>\s*<td class="num">', page, re.S))
    assert rows["ok__uu_26_2007__rth_private_10pct"].startswith(nm)
    assert rows["ok__uu_26_2007__rth_30pct"].startswith(nm)
    assert rows["ok__uu_26_2007__rth_public_20pct"] == not_met  # measured from OSM
    run = json.loads((out / "run.json").read_text())
    assert run["methods"]["measurability"]["rth_private_pct"]["reason"] == "private_green_unmapped"
    xlsx = pd.read_excel(out / "indicators.xlsx", sheet_name=None)
    sheet = next(df for df in xlsx.values() if "result__uu_26_2007__rth_private_10pct" in df.columns)
    assert (sheet["result__uu_26_2007__rth_private_10pct"] == "not_measurable").all()

    cmp_out = tmp_path / "cmp"
    assert cli.main(["compare", str(out), str(out), "--out", str(cmp_out), "--lang", lang]) == 0
    table = pd.read_csv(cmp_out / "comparison.csv")
    private = table[(table["indicator"] == "rth_private_pct")]
    assert not private["measured"].astype(bool).any()
    assert private["note"].str.startswith(nm).all()
    assert private["city_meets"].isna().all()


def test_completeness_flags_beside_the_headline(sample_dir, tmp_path):
    out = tmp_path / "out"
    code = cli.main(["report", "--city", "sample", "--boundaries", str(sample_dir / "sample_kelurahan.geojson"),
                     "--osm", str(sample_dir / "sample_city.osm"), "--red", str(sample_dir / "sample_S2_B04_10m.tif"),
                     "--nir", str(sample_dir / "sample_S2_B08_10m.tif"), "--population",
                     str(sample_dir / "sample_penduduk_kelurahan.csv"), "--lang", "en", "--out", str(out)])
    assert code == 0
    for level in LEVELS:
        t = pd.read_csv(out / f"indicators_{level}.csv")
        expect = 100 * t["rth_area_ha"] / (t["green_cover_pct"] / 100 * t["area_ha"])
        assert np.allclose(t["green_mapped_vs_satellite_pct"], expect, equal_nan=True)
        flagged = np.where(expect.isna(), "", np.where(expect < 50, "incomplete", "ok"))
        assert (t["green_input_flag"].fillna("").to_numpy() == flagged).all()
    city = pd.read_csv(out / "indicators_kota.csv").iloc[0]
    page = html.unescape((out / "report.html").read_text())
    card = re.search(r'data-indicator="rth_pct">(.*?)</div>\s*</div>', page, re.S).group(1)
    if city["green_input_flag"] == "incomplete":
        assert "Input incomplete: mapped green is only" in card
    building = re.search(r'data-indicator="building_coverage_pct">(.*?)</div>\s*</div>', page, re.S)
    if building:
        assert "completeness not checked" in building.group(1)
    access = re.search(r'data-indicator="pop_within_300m_green_0_5ha_pct">(.*?)</div>\s*</div>', page, re.S)
    method = json.loads((out / "run.json").read_text())["methods"]["distance"]
    assert access and (("Straight-line distances (no walk network)" in access.group(1)) == (method == "euclidean"))
