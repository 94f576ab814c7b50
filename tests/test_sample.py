"""The synthetic sample: deterministic, labelled synthetic, truth consistent with its layout."""

from __future__ import annotations

import hashlib
import json

from bandung_mapping import sample


def _digest(folder):
    files = sample.sample_files(folder)
    return {k: hashlib.sha256(p.read_bytes()).hexdigest() for k, p in files.items()}


def test_sample_is_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    sample.write_sample(a)
    sample.write_sample(b)
    assert _digest(a) == _digest(b)


def test_sample_files_are_labelled_synthetic(sample_dir):
    files = sample.sample_files(sample_dir)
    assert "SYNTHETIC" in files["osm"].read_text(encoding="utf-8")[:500]
    assert "sintetis" in files["boundaries"].read_text(encoding="utf-8")
    truth = json.loads(files["truth"].read_text())
    assert truth["synthetic"] is True and "SYNTHETIC" in truth["notice"]
    import rasterio

    with rasterio.open(files["red"]) as src:
        assert src.tags()["BOA_ADD_OFFSET"] == "-1000"
        assert "SYNTHETIC" in src.tags()["SYNTHETIC"].upper() or src.tags()["SYNTHETIC"].startswith("yes")
        assert src.crs.to_epsg() == 32748 and src.res == (10.0, 10.0)


def test_truth_by_hand(sample_truth):
    """Green areas worked out by hand from the layout in sample.py."""
    kel = sample_truth["kelurahan"]
    total = sum(z["rth_area_m2"] for z in kel.values())
    # park 180x180 (playground inside it adds nothing) + park across boundary 80x80 + playground 40x40
    # + cemetery 180x180 + verge 600x10 + wood 280x280 minus 100x100 hole + private garden 80x80
    # + riparian 20x2000 + escaped-name park 80x80
    by_hand = 32400 + 6400 + 1600 + 32400 + 6000 + (78400 - 10000) + 6400 + 40000 + 6400
    assert total == by_hand
    private = sum(z["rth_private_m2"] for z in kel.values())
    assert private == 6400
    # the park across the kelurahan edge at x=800 splits 3200/3200
    assert kel["99.01.01.1001"]["rth_area_m2"] == 32400 + 3200
    assert kel["99.01.01.1003"]["rth_area_m2"] == 3200
    assert sum(z["area_m2"] for z in kel.values()) == 3200 * 2000
    assert 3000 <= sum(z["building_count"] for z in kel.values()) <= 6000


def test_other_seed_gives_another_city_with_its_own_truth(tmp_path):
    from bandung_mapping import measure

    sample.write_sample(tmp_path / "b", seed=7)
    tb = sample.sample_truth(tmp_path / "b")
    sample.write_sample(tmp_path / "c")
    tc = sample.sample_truth(tmp_path / "c")
    assert tb["seed"] == 7 and tc["seed"] == sample.SEED
    pops_b = [z["population"] for z in tb["kelurahan"].values()]
    pops_c = [z["population"] for z in tc["kelurahan"].values()]
    assert pops_b != pops_c
    # the green layout is fixed, so RTH truth is the same; the measured city follows its own truth
    assert [z["rth_area_m2"] for z in tb["kelurahan"].values()] == [z["rth_area_m2"] for z in tc["kelurahan"].values()]
    m = measure(sample.load_sample(tmp_path / "b", seed=7), progress=False)
    kel = m.tables["kelurahan"]
    for zid, z in tb["kelurahan"].items():
        assert kel.loc[zid, "population"] == z["population"]
        assert kel.loc[zid, "building_count"] == z["building_count"]
