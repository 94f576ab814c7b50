"""OSM XML that is valid but unsorted (as Overpass may write it), empty or truncated files."""

from __future__ import annotations

import gzip
from pathlib import Path

import geopandas as gpd
import pyproj
import pytest
import shapely

from bandung_mapping import osm
from bandung_mapping.errors import InputFileError

UTM = "EPSG:32748"
X0, Y0 = 790_000.0, 9_236_000.0  # a point in Kota Bandung, UTM 48S
_TO_LL = pyproj.Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)


def _square(x: float, y: float, size: float) -> list[tuple[float, float]]:
    return [(x, y), (x + size, y), (x + size, y + size), (x, y + size)]


def _elements() -> list[tuple[str, int, str]]:
    """The fixture's elements as (type, id, XML), in sorted order.

    A leisure=park closed way (60 m square), a building multipolygon (100 m square outer,
    40 m square inner), a tagged node, a street and a route relation over the street.
    """
    out: list[tuple[str, int, str]] = []
    next_id = [1]

    def node(x: float, y: float, tags: dict[str, str] | None = None) -> int:
        nid = next_id[0]
        next_id[0] += 1
        lon, lat = _TO_LL.transform(X0 + x, Y0 + y)
        tag_xml = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in (tags or {}).items())
        out.append(("node", nid, f'<node id="{nid}" lat="{lat:.7f}" lon="{lon:.7f}">{tag_xml}</node>'))
        return nid

    def way(wid: int, coords: list[tuple[float, float]], tags: dict[str, str], closed: bool) -> None:
        refs = [node(x, y) for x, y in coords]
        refs += refs[:1] if closed else []
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        tag_xml = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        out.append(("way", wid, f'<way id="{wid}">{nds}{tag_xml}</way>'))

    def relation(rid: int, members: list[tuple[int, str]], tags: dict[str, str]) -> None:
        mem = "".join(f'<member type="way" ref="{w}" role="{r}"/>' for w, r in members)
        tag_xml = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        out.append(("relation", rid, f'<relation id="{rid}">{mem}{tag_xml}</relation>'))

    way(100, _square(0, 0, 100), {}, closed=True)  # outer ring, untagged
    way(101, _square(30, 30, 40), {}, closed=True)  # inner ring, untagged
    way(102, _square(200, 0, 60), {"leisure": "park", "name": "Taman Persegi"}, closed=True)
    way(103, [(0, -50), (300, -50)], {"highway": "residential"}, closed=False)
    node(400, 400, {"amenity": "bench"})
    relation(200, [(100, "outer"), (101, "inner")], {"type": "multipolygon", "building": "yes"})
    relation(201, [(103, "")], {"type": "route", "route": "bus", "ref": "K1"})
    rank = {"node": 0, "way": 1, "relation": 2}
    return sorted(out, key=lambda e: (rank[e[0]], e[1]))


def _write(path: Path, elements: list[tuple[str, int, str]]) -> Path:
    body = "\n".join(xml for _, _, xml in elements)
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="test">\n{body}\n</osm>\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture()
def sorted_and_shuffled(tmp_path: Path) -> tuple[Path, Path]:
    elements = _elements()
    rank = {"relation": 0, "way": 1, "node": 2}  # relations first, then ways, then nodes
    shuffled = sorted(elements, key=lambda e: (rank[e[0]], -e[1]))  # ids descending
    assert shuffled[0][0] == "relation" and shuffled[-1][:2] == ("node", 1)
    return _write(tmp_path / "sorted.osm", elements), _write(tmp_path / "shuffled.osm", shuffled)


def _areas(g: gpd.GeoDataFrame) -> dict[str, float]:
    metric = g.to_crs(UTM)
    return {oid: float(a) for oid, a in zip(metric["osmid"], metric.area, strict=True)}


def test_unsorted_xml_reads_like_sorted_xml(sorted_and_shuffled: tuple[Path, Path]) -> None:
    sorted_osm, shuffled_osm = sorted_and_shuffled
    a = osm.features_from_file(sorted_osm)
    b = osm.features_from_file(shuffled_osm)
    expected = ["node/15", "way/102", "way/103", "relation/200"]
    assert a["osmid"].tolist() == expected
    assert b["osmid"].tolist() == expected
    assert a["element"].tolist() == b["element"].tolist()
    geom_types = dict(zip(b["osmid"], b.geometry.geom_type, strict=True))
    assert geom_types == {
        "node/15": "Point",
        "way/102": "Polygon",
        "way/103": "LineString",
        "relation/200": "Polygon",
    }
    building = b.set_index("osmid").loc["relation/200", "geometry"]
    assert len(building.interiors) == 1
    area_a, area_b = _areas(a), _areas(b)
    assert area_a.keys() == area_b.keys()
    for oid in area_a:
        assert area_b[oid] == pytest.approx(area_a[oid], abs=0.01), oid
    # coordinates are kept to 1e-7 degrees (about 1 cm): the areas to within 1 m2
    assert area_b["relation/200"] == pytest.approx(100 * 100 - 40 * 40, abs=1.0)
    assert area_b["way/102"] == pytest.approx(60 * 60, abs=1.0)
    assert shapely.equals_exact(a.geometry.values, b.geometry.values, tolerance=0).all()
    cols = [c for c in a.columns if c not in ("source", "geometry")]
    assert a[cols].equals(b[cols])
    # the route relation is left out and counted, in both orders
    for g in (a, b):
        assert g.attrs["excluded"].get("non_area_relation") == 1
        assert "relation/201" not in set(g["osmid"])


def test_unsorted_compressed_xml_and_pbf(sorted_and_shuffled: tuple[Path, Path], tmp_path: Path) -> None:
    import osmium

    sorted_osm, shuffled_osm = sorted_and_shuffled
    expected = osm.features_from_file(sorted_osm)
    gz = tmp_path / "shuffled.osm.gz"
    gz.write_bytes(gzip.compress(shuffled_osm.read_bytes()))
    # a PBF written in the shuffled order (no 'Sort.Type_then_ID' in its header)
    pbf = tmp_path / "shuffled.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(shuffled_osm)):
            writer.add(obj)
    first = next(iter(osmium.FileProcessor(str(pbf))))
    assert first.is_relation()  # the PBF really is unsorted
    for path in (gz, pbf):
        got = osm.features_from_file(path)
        assert got["osmid"].tolist() == expected["osmid"].tolist(), path.name
        for oid, area in _areas(expected).items():
            assert _areas(got)[oid] == pytest.approx(area, abs=0.01), (path.name, oid)
        assert got.attrs["excluded"]["non_area_relation"] == 1


def test_pbf_with_untagged_nodes_after_ways(sorted_and_shuffled: tuple[Path, Path], tmp_path: Path) -> None:
    """Ways before their (untagged) nodes: not seen by the id check, found by the missing locations."""
    import osmium

    sorted_osm, _ = sorted_and_shuffled
    expected = osm.features_from_file(sorted_osm)
    pbf = tmp_path / "nodes_last.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for last in (False, True):  # first all but the untagged nodes, then those
            for obj in osmium.FileProcessor(str(sorted_osm)):
                if (obj.is_node() and len(obj.tags) == 0) == last:
                    writer.add(obj)
    kinds = [o.type_str() for o in osmium.FileProcessor(str(pbf))]
    assert kinds[-1] == "n" and "w" in kinds[: kinds.index("r")]  # the PBF ends with nodes
    got = osm.features_from_file(pbf)
    assert got["osmid"].tolist() == expected["osmid"].tolist()
    for oid, area in _areas(expected).items():
        assert _areas(got)[oid] == pytest.approx(area, abs=0.01), oid
    assert got.attrs["excluded"] == {"non_area_relation": 1}


def test_excluded_counts_summed_over_files(sorted_and_shuffled: tuple[Path, Path]) -> None:
    both = osm.features_from_files(list(sorted_and_shuffled))
    assert both.attrs["duplicates"] == 4
    assert both.attrs["excluded"]["non_area_relation"] == 2


@pytest.mark.parametrize(
    "content, name",
    [
        (b"", "empty.osm"),
        (b"", "empty.osm.pbf"),
        (b'<?xml version="1.0"?>\n<osm version="0.6" generator="test">\n</osm>\n', "no_elements.osm"),
        (b'<?xml version="1.0"?>\n<osm version="0.6"/>\n', "self_closed.osm"),
        (gzip.compress(b'<?xml version="1.0"?><osm version="0.6"></osm>'), "no_elements.osm.gz"),
    ],
)
def test_empty_file_raises(tmp_path: Path, content: bytes, name: str) -> None:
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(InputFileError) as exc:
        osm.features_from_file(p)
    message = str(exc.value)
    assert name in message and "expected" in message
    assert "node, way or relation" in message


def test_pbf_without_elements_raises(tmp_path: Path) -> None:
    import osmium

    pbf = tmp_path / "header_only.osm.pbf"
    with osmium.SimpleWriter(str(pbf)):
        pass
    assert pbf.stat().st_size > 0
    with pytest.raises(InputFileError, match=r"header_only\.osm\.pbf holds no OSM element; expected"):
        osm.features_from_file(pbf)


def test_truncated_files_raise(sorted_and_shuffled: tuple[Path, Path], tmp_path: Path) -> None:
    import osmium

    sorted_osm, shuffled_osm = sorted_and_shuffled
    pbf = tmp_path / "full.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(sorted_osm)):
            writer.add(obj)
    cases = {
        "cut.osm": sorted_osm.read_bytes()[: len(sorted_osm.read_bytes()) // 2],
        "cut_shuffled.osm": shuffled_osm.read_bytes()[:-20],  # inside the last node, no </osm>
        "cut.osm.gz": gzip.compress(sorted_osm.read_bytes())[:-30],
        "cut.osm.pbf": pbf.read_bytes()[: pbf.stat().st_size - 40],
        "malformed.osm": b'<?xml version="1.0"?><osm version="0.6"><node id="1" lat="x" lon="1"/></osm>',
    }
    for name, content in cases.items():
        p = tmp_path / name
        p.write_bytes(content)
        with pytest.raises(InputFileError) as exc:
            osm.features_from_file(p)
        message = str(exc.value)
        assert name in message and "expected" in message, name
