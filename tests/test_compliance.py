"""Standards files and compliance flags: hand-made tables with known gaps."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from bandung_mapping import compliance
from bandung_mapping.errors import ProfileError
from bandung_mapping.profiles import PROFILE_DIR, list_profiles, load_standard

LEVELS = ["kelurahan", "kecamatan", "kota"]
MINE = ["uu_26_2007", "permen_pu_05_2008", "who_2016", "sdg_11_7_1", "rule_3_30_300"]


@pytest.mark.parametrize("name", MINE)
def test_bundled_standards_load(name):
    std = load_standard(name)
    assert std["id"] == name
    assert std["citation"]


def test_every_bundled_standard_is_valid():
    for name in list_profiles("standards"):
        load_standard(name)


def _table():
    return pd.DataFrame(
        {
            "area_ha": [100.0, 50.0, 10.0],
            "population": [10000.0, 2000.0, np.nan],
            "rth_area_ha": [12.0, 20.0, 3.0],
            "rth_public_ha": [5.0, 11.0, 2.0],
            "rth_pct": [12.0, 40.0, 30.0],
            "rth_public_pct": [5.0, 22.0, 20.0],
            "rth_private_pct": [7.0, 18.0, 10.0],
            "rth_per_capita_m2": [12.0, 100.0, np.nan],
            "pop_within_300m_green_0_5ha_pct": [40.0, 100.0, np.nan],
        },
        index=pd.Index(["a", "b", "c"], name="zone_id"),
    )


def test_uu_26_gaps_flags_and_status():
    stds = [load_standard("uu_26_2007")]
    kel = compliance.compliance_indicators(_table(), "kelurahan", stds, city_levels=LEVELS)
    assert kel["rth_gap_to_30pct_ha"].tolist() == pytest.approx([18.0, 0.0, 0.0])
    assert kel["rth_public_gap_to_20pct_ha"].tolist() == pytest.approx([15.0, 0.0, 0.0])
    assert kel["ok__uu_26_2007__rth_30pct"].tolist() == [False, True, True]  # 30 >= 30
    assert kel["ok__uu_26_2007__rth_public_20pct"].tolist() == [False, True, True]
    assert kel["ok__uu_26_2007__rth_private_10pct"].tolist() == [False, True, True]
    assert (kel["status__uu_26_2007"] == "diagnostic").all()
    assert kel.attrs["rule_status"]["rth_gap_to_30pct_ha"] == "diagnostic"
    kota = compliance.compliance_indicators(_table(), "kota", stds, city_levels=LEVELS)
    assert (kota["status__uu_26_2007"] == "legal").all()
    assert kota.attrs["rule_status"]["ok__uu_26_2007__rth_30pct"] == "legal"
    assert "rth_gap_to_30pct_ha" not in _table()  # input untouched


def test_per_capita_deficit_and_missing_values():
    out = compliance.compliance_indicators(_table(), "kelurahan", [load_standard("permen_pu_05_2008")],
                                           city_levels=LEVELS)
    assert out["rth_per_capita_deficit_m2"].iloc[:2].tolist() == pytest.approx([8.0, 0.0])
    assert np.isnan(out["rth_per_capita_deficit_m2"].iloc[2])
    flag = out["ok__permen_pu_05_2008__rth_per_capita"]
    assert flag.tolist()[:2] == [False, True]
    assert flag.isna().iloc[2]
    # access columns are absent from this table: flags are NA, with a note
    assert out["ok__permen_pu_05_2008__taman_rt"].isna().all()
    assert any("pop_within_rt_radius_pct" in n for n in out.attrs["notes"])


def test_3_30_300_needs_tree_data():
    std = load_standard("rule_3_30_300")
    out = compliance.compliance_indicators(_table(), "kelurahan", [std], city_levels=LEVELS)
    assert out["ok__rule_3_30_300__trees_3"].isna().all()
    assert out["ok__rule_3_30_300__canopy_30"].isna().all()
    assert any("tree-cover raster" in n for n in out.attrs["notes"])
    assert out["ok__rule_3_30_300__park_300"].tolist()[:2] == [False, True]
    assert pd.isna(out["ok__rule_3_30_300__park_300"].iloc[2])
    with_trees = _table().assign(tree_cover_pct=[31.0, 29.9, np.nan])
    out = compliance.compliance_indicators(with_trees, "kelurahan", [std], city_levels=LEVELS)
    assert out["ok__rule_3_30_300__canopy_30"].tolist()[:2] == [True, False]


def test_top_alias_and_unknown_legal_level():
    std = dict(load_standard("uu_26_2007"), legal_level="top")
    assert compliance.rule_status(std, "si", city_levels=["dong", "gu", "si"]) == "legal"
    out = compliance.compliance_indicators(_table(), "si", [load_standard("uu_26_2007")],
                                           city_levels=["dong", "gu", "si"])
    assert (out["status__uu_26_2007"] == "diagnostic").all()
    assert any("not a level of this city" in n for n in out.attrs["notes"])


def test_hierarchy_table_of_permen_pu():
    h = compliance.hierarchy_table(load_standard("permen_pu_05_2008"))
    assert h.loc["rt", ["population", "min_area_m2", "radius_m"]].tolist() == [250, 250, 300]
    assert h.loc["rw", ["population", "min_area_m2", "radius_m"]].tolist() == [2500, 1250, 1000]
    assert h["population"].tolist() == [250, 2500, 30000, 120000, 480000]
    assert h["m2_per_capita"].sum() == pytest.approx(2.3)


def test_typo_in_a_standards_file_names_the_key(tmp_path):
    src = PROFILE_DIR / "standards" / "who_2016.toml"
    bad = tmp_path / "who_2016.toml"
    text = src.read_text(encoding="utf-8")
    bad.write_text(text.replace("radius_m = 300", "radius = 300", 1), encoding="utf-8")
    expected = r"who_2016\.toml.*unknown key 'radius' \(did you mean 'radius_m'\?\)"
    with pytest.raises(ProfileError, match=expected):
        load_standard(bad)
    bad2 = tmp_path / "x.toml"
    shutil.copy(src, bad2)
    bad2.write_text(src.read_text(encoding="utf-8").replace('op = ">="', 'op = "=>"', 1), encoding="utf-8")
    with pytest.raises(ProfileError, match="op must be one of"):
        load_standard(bad2)
    bad3 = tmp_path / "y.toml"
    bad3.write_text(src.read_text(encoding="utf-8").replace("legal_level", "legal_lvl"), encoding="utf-8")
    with pytest.raises(ProfileError, match="unknown key 'legal_lvl'"):
        load_standard(bad3)


def test_conflicting_column_definitions_are_refused():
    a = {"id": "a", "per_capita": [{"id": "x", "indicator": "rth_per_capita_m2", "target_m2": 20.0,
                                    "column": "rth_per_capita_deficit_m2"}]}
    b = {"id": "b", "per_capita": [{"id": "y", "indicator": "rth_per_capita_m2", "target_m2": 6.0,
                                    "column": "rth_per_capita_deficit_m2"}]}
    with pytest.raises(ProfileError, match="defined differently"):
        compliance.compliance_indicators(_table(), "kota", [a, b], city_levels=LEVELS)
