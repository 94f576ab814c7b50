"""Access shares on the sample equal values computed from its construction (straight line)."""

from __future__ import annotations

import numpy as np
import pytest

from bandung_mapping import access, load_standard, sample


def _rect_distance(px, py, rect, hole=None):
    x0, y0, x1, y1 = (v for v in rect)
    dx = np.maximum.reduce([x0 - px, np.zeros_like(px), px - x1])
    dy = np.maximum.reduce([y0 - py, np.zeros_like(py), py - y1])
    d = np.hypot(dx, dy)
    if hole is not None:
        hx0, hy0, hx1, hy1 = hole
        inside = (px > hx0) & (px < hx1) & (py > hy0) & (py < hy1)
        to_edge = np.minimum.reduce([px - hx0, hx1 - px, py - hy0, hy1 - py])
        d = np.where(inside, to_edge, d)
    return d


def _expected_share(study, *, radius_m, min_area_m2, public_only):
    """Population share within ``radius_m`` of a qualifying green rectangle of the layout."""
    b = study.metric("buildings")
    res = b[b["use"] == "residential"]
    pts = res.geometry.representative_point()
    px, py = pts.x.to_numpy() - sample.X0, pts.y.to_numpy() - sample.Y0
    dist = np.full(len(res), np.inf)
    for g in sample.GREENS:
        if not g.rth or (public_only and not g.public):
            continue
        x0, y0, x1, y1 = g.rect
        area = (x1 - x0) * (y1 - y0)
        if g.hole is not None:
            hx0, hy0, hx1, hy1 = g.hole
            area -= (hx1 - hx0) * (hy1 - hy0)
        if area < min_area_m2:
            continue
        dist = np.minimum(dist, _rect_distance(px, py, g.rect, g.hole))
    floor = res["footprint_m2"].to_numpy() * res["levels"].to_numpy()
    kel = study.metric("kelurahan")
    zone = res.geometry.representative_point().apply(lambda p: kel.loc[kel.contains(p), "zone_id"].iloc[0])
    pop = kel.set_index("zone_id")["population"]
    weight = floor / zone.map(lambda z: floor[(zone == z).to_numpy()].sum()).to_numpy() * zone.map(pop).to_numpy()
    served = dist <= radius_m
    ambiguous = np.abs(dist - radius_m) < 0.01
    total = weight.sum()
    return 100 * weight[served].sum() / total, 100 * weight[ambiguous].sum() / total


@pytest.mark.parametrize(("column", "radius", "min_area", "public"), [
    ("pop_within_300m_green_0_5ha_pct", 300, 5000, False),
    ("pop_within_400m_public_open_space_pct", 400, 0, True),
])
def test_sample_euclidean_access_matches_construction(sample_study, column, radius, min_area, public):
    s = sample_study
    levels = list(s.city.levels)
    standards = [load_standard(x) for x in s.city.standards]
    spec = next(sp for sp in access.access_specs(standards) if sp["column"] == column)
    assert (spec["radius_m"], spec["min_area_m2"], spec["green"] == "public") == (radius, min_area, public)
    res = access.access_indicators(
        {lv: s.metric(lv) for lv in levels}, s.metric("green_spaces"), s.metric("green_points"),
        s.metric("buildings"), None, standards, levels=levels,
    )
    assert res.distance_method == "euclidean"
    assert res.population_method == "buildings"
    got = res.tables["kota"][column].iloc[0]
    expected, ambiguous = _expected_share(s, radius_m=radius, min_area_m2=min_area, public_only=public)
    assert expected - 1e-6 <= got <= expected + ambiguous + 1e-6
    # kota = people served / people, the same as summing kelurahan served counts
    kel = res.tables["kelurahan"]
    pop = s.zones["kelurahan"].set_index("zone_id")["population"].reindex(kel.index)
    assert got == pytest.approx((kel[column] * pop).sum() / pop.sum())


def test_network_distance_never_shorter_than_straight_line(sample_study):
    s = sample_study
    b = s.metric("buildings").iloc[::50]
    green = s.metric("green_spaces")
    net = access.distance_to_green(b, green, network=s.network, metric_crs=s.metric_crs)
    euc = access.distance_to_green(b, green, network=None, metric_crs=s.metric_crs)
    ok = np.isfinite(net.to_numpy())
    assert ok.mean() > 0.9
    assert (net.to_numpy()[ok] >= euc.to_numpy()[ok] - 1e-6).all()
