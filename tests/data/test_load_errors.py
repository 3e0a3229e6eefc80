"""Bad input: each case is one DataError line naming the file and the line or column."""

from __future__ import annotations

import pytest

from tailtune.data import load_line_aligned, load_table
from tailtune.errors import DataError

pytestmark = pytest.mark.unit


def raises(match, *args, **kwargs) -> str:
    with pytest.raises(DataError, match=match) as info:
        load_table(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message  # one line, always
    return message


def test_missing_file(tmp_path):
    msg = raises("file not found", tmp_path / "nope.csv")
    assert str(tmp_path / "nope.csv") in msg


def test_unknown_column_lists_columns_and_suggests_closest(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("Consumer complaint narrative,Issue,Product\nx,y,z\n")
    msg = raises(
        "no column 'Isue'", p, text_columns=["Consumer complaint narrative"], label_columns="Isue"
    )
    assert "did you mean 'Issue'?" in msg
    assert "(columns: 'Consumer complaint narrative', 'Issue', 'Product')" in msg
    assert str(p) in msg


def test_unknown_column_hints_skip_rows_when_header_is_one_field(tmp_path):
    p = tmp_path / "z.csv"
    p.write_text("Archive:  complaints.csv.zip\ntext,label\na,b\n")
    raises(r"set skip_rows", p)


@pytest.mark.parametrize("content", ["", "text,label\n"])
def test_empty_file(tmp_path, content):
    p = tmp_path / "e.csv"
    p.write_text(content)
    raises(f"{p}: empty file", p)


def test_empty_jsonl(tmp_path):
    p = tmp_path / "e.jsonl"
    p.write_text("\n\n")
    raises("empty file", p)


def test_label_column_entirely_empty(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("text,label\na,\nb, \n")
    raises(f"{p}: label column 'label' is empty in every row", p)


def test_only_one_class(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("text,label\na,x\nb,x\nc,\n")
    raises(r"has 1 class \('x'\).*at least 2", p)
    assert load_table(p, min_classes=1).report["classes"] == 1


def test_undecodable_bytes_name_line_and_encoding(tmp_path):
    p = tmp_path / "c.csv"
    p.write_bytes(b"text,label\nfine,a\ncaf\xe9,b\n")
    msg = raises(r"line 3: bytes b'\\xe9,b\\n' at column 4 are not valid utf-8", p)
    assert str(p) in msg


def test_wrong_field_count_names_the_line(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text('text,label\n"multi\nline",a\none,two,three\n')
    raises(rf"{p}: line 4: expected 2 fields, found 3", p)


def test_unclosed_quote_is_reported_where_the_row_starts(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text('text,label\nok,a\n"never closed,b\nmore,c\n')
    raises(r"line 3: expected 2 fields, found 1 \(a quote opened on this line", p)


def test_bad_jsonl_line(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text('{"text": "a", "label": "x"}\n{"text": "b", "label": \n')
    raises(rf"{p}: line 2: not valid JSON", p)


def test_label_index_outside_label_names(tmp_path):
    p = tmp_path / "g.tsv"
    p.write_text("a\t0\nb\t7\n")
    names = tmp_path / "labels.txt"
    names.write_text("x\ny\n")
    raises(
        r"line 2: label '7' is not an index into the 2 label names \(0..1\)",
        p,
        column_names=["text", "label"],
        label_names=names,
    )


def test_unknown_suffix_and_format(tmp_path):
    p = tmp_path / "d.txt"
    p.write_text("x")
    raises("cannot tell the format from the suffix '.txt'", p)
    raises("format: got 'xlsx'", p, format="xlsx")


def test_misaligned_line_files(tmp_path):
    (tmp_path / "seq.in").write_text("a\nb\nc\n")
    (tmp_path / "label").write_text("x\ny\n")
    with pytest.raises(DataError, match="2 lines, but .*seq.in has 3"):
        load_line_aligned(tmp_path / "seq.in", tmp_path / "label")


def test_skip_rows_list_must_match_files(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("text,label\na,x\nb,y\n")
    raises("skip_rows has 1 entries for 2 files", [p, p], skip_rows=[0])
