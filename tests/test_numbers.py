"""Numbers in tables read right or refused: Indonesian and English separators, ambiguity, bad rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bandung_mapping import population
from bandung_mapping._numbers import parse_numbers
from bandung_mapping.errors import InputError


def _fmt(x: float, style: str, decimals: int) -> str:
    text = f"{x:,.{decimals}f}"
    if style == "id":
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return text


@given(
    st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=20),
    st.sampled_from(["id", "en"]),
    st.integers(min_value=0, max_value=2),
)
def test_round_trip_with_the_style_given(values, style, decimals):
    texts = pd.Series([_fmt(v / 10**decimals, style, decimals) for v in values])
    got = parse_numbers(texts, column="n", where="t.csv", style=style)
    assert got.tolist() == pytest.approx([v / 10**decimals for v in values])


@given(
    st.lists(st.integers(min_value=1_000_000, max_value=10**9), min_size=1, max_size=10), st.sampled_from(["id", "en"])
)
def test_style_found_from_unambiguous_values(values, style):
    texts = pd.Series([_fmt(v, style, 0) for v in values] + ["1" + (".234" if style == "id" else ",234")])
    got = parse_numbers(texts, column="n", where="t.csv")
    assert got.tolist() == [float(v) for v in values] + [1234.0]


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["2.530.448", "12"], [2530448.0, 12.0]),
        (["1976,4", "1.650,1"], [1976.4, 1650.1]),
        (["1976.4", "1650.1"], [1976.4, 1650.1]),
        (["2,530,448", "7"], [2530448.0, 7.0]),
        ([" 2 530 448 ", None, ""], [2530448.0, float("nan"), float("nan")]),
        ([5, 6.5], [5.0, 6.5]),
    ],
)
def test_examples(texts, expected):
    got = parse_numbers(pd.Series(texts, dtype=object), column="n", where="t.csv")
    assert got.fillna(-1).tolist() == [-1 if pd.isna(e) else e for e in expected]


def test_ambiguous_column_names_column_and_lines():
    with pytest.raises(InputError, match=r"'jumlah'.*ambiguous in file line\(s\) 3, 4"):
        parse_numbers(pd.Series(["12", "2.530", "1.200"]), column="jumlah", where="t.csv")


def test_mixed_styles_and_text_are_errors():
    with pytest.raises(InputError, match="mixes number styles"):
        parse_numbers(pd.Series(["1.234.567", "1,234,567"]), column="n", where="t.csv")
    with pytest.raises(InputError, match=r"no number in file line\(s\) 3.*'dua ribu'"):
        parse_numbers(pd.Series(["12", "dua ribu"]), column="n", where="t.csv")


BANDUNG_HEADER = (
    "kemendagri_nama_desa_kelurahan,bps_desa_kelurahan,kemendagri_nama_kecamatan,KODE_KD,"
    "kemendagri_kode_kecamatan,jenis_kelamin,jumlah_penduduk,semester,tahun\n"
)


def _bandung(tmp_path: Path, rows: list[str]) -> Path:
    p = tmp_path / "penduduk.csv"
    p.write_text(BANDUNG_HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return p


def _row(name: str, code: str, sex: str, value: str) -> str:
    return f'{name},{name},KEC,{code},32.73.01,{sex},"{value}",1,2024'


def test_population_with_indonesian_thousands(tmp_path):
    rows = [
        _row("A", "32.73.01.1001", "L", "12.345"),
        _row("A", "32.73.01.1001", "P", "1.002.000"),
        _row("B", "32.73.01.1002", "L", "999"),
    ]
    t = population.read_population(_bandung(tmp_path, rows), city="bandung")
    assert dict(zip(t["name"], t["population"])) == {"A": 1_014_345.0, "B": 999.0}


def test_population_ambiguous_negative_text_duplicates(tmp_path):
    # 12.345 reads two ways; Bandung's profile says number_format = "id", so it is 12,345 people
    amb = [_row("A", "32.73.01.1001", "L", "12.345"), _row("B", "32.73.01.1002", "L", "999")]
    t = population.read_population(_bandung(tmp_path, amb), city="bandung")
    assert t["population"].tolist() == [12345.0, 999.0]
    english = [_row("A", "32.73.01.1001", "L", "1,234.5"), _row("B", "32.73.01.1002", "L", "999")]
    with pytest.raises(InputError, match=r"not in the 'id' number style in file line\(s\) 2"):
        population.read_population(_bandung(tmp_path, english), city="bandung")
    neg = [_row("A", "32.73.01.1001", "L", "-5"), _row("B", "32.73.01.1002", "L", "999")]
    with pytest.raises(InputError, match=r"negative population.*\['A'\]"):
        population.read_population(_bandung(tmp_path, neg), city="bandung")
    txt = [_row("A", "32.73.01.1001", "L", "banyak"), _row("B", "32.73.01.1002", "L", "999")]
    with pytest.raises(InputError, match=r"no number in file line\(s\) 2"):
        population.read_population(_bandung(tmp_path, txt), city="bandung")
    clash = [_row("A", "32.73.01.1001", "L", "10"), _row("A", "32.73.01.1001", "L", "11")]
    with pytest.raises(InputError, match=r"same zone.*file lines 2, 3"):
        population.read_population(_bandung(tmp_path, clash), city="bandung")
    exact = [
        _row("A", "32.73.01.1001", "L", "10"),
        _row("A", "32.73.01.1001", "L", "10"),
        _row("A", "32.73.01.1001", "P", "11"),
    ]
    t = population.read_population(_bandung(tmp_path, exact), city="bandung")
    assert t["population"].tolist() == [21.0]
    assert t.attrs["duplicate_rows_dropped"] == 1


def test_leading_zero_is_a_decimal_and_text_can_be_nan():
    assert parse_numbers(pd.Series(["0.123", "1"]), column="n", where="t.csv").tolist() == [0.123, 1.0]
    assert parse_numbers(pd.Series(["0,5", "7"]), column="n", where="t.csv").tolist() == [0.5, 7.0]
    got = parse_numbers(pd.Series(["-", "1.976,4", "n/a"]), column="n", where="t.csv", text="nan")
    assert got.fillna(-1).tolist() == [-1, 1976.4, -1]
