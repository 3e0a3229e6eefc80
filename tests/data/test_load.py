"""Loaders: every format, physical line numbers, composite labels, reported removals."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tailtune.data import load_line_aligned, load_table, summary_lines

pytestmark = pytest.mark.unit


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_line_is_physical_line_of_record_start(tmp_path):
    p = write(
        tmp_path / "c.csv",
        'text,label\n"first\nspans\nthree lines",a\nsecond,b\n\n"third ""q""",a\n',
    )
    r = load_table(p)
    assert list(r.frame.columns) == ["id", "text", "label", "line"]
    assert r.frame["line"].tolist() == [2, 5, 7]
    assert r.frame["id"].tolist() == ["c:2", "c:5", "c:7"]
    assert r.frame["text"].tolist() == ["first\nspans\nthree lines", "second", 'third "q"']
    assert r.report["rows"] == 3 and r.report["classes"] == 2


def test_skip_rows_and_several_files_concatenate_with_distinct_ids(tmp_path):
    a = write(tmp_path / "a.csv", "Archive: x.zip\n  inflating: x.csv\nt,y\nhello,p\nworld,q\n")
    b = write(tmp_path / "b.csv", "t,y\nagain,p\n")
    r = load_table([a, b], skip_rows=[2, 0], text_columns=["t"], label_columns=["y"])
    assert r.frame["id"].tolist() == ["a:4", "a:5", "b:2"]
    assert r.report["files"][0]["rows_read"] == 2 and r.report["rows_read"] == 3


def test_composite_label_and_joined_text_columns(tmp_path):
    p = write(tmp_path / "c.csv", "title,body,product,issue\nT,B,Card,Fees\n,only body,Loan,Late\n")
    r = load_table(p, text_columns=["title", "body"], label_columns=["product", "issue"])
    assert r.frame["label"].tolist() == ["Card | Fees", "Loan | Late"]
    assert r.frame["text"].tolist() == ["T\nB", "only body"]


def test_empty_text_and_label_rows_are_removed_and_listed(tmp_path):
    p = write(tmp_path / "c.csv", "text,label\nok,a\n,a\nfine,\n  ,b\ngood,b\n")
    r = load_table(p)
    assert r.frame["line"].tolist() == [2, 6]
    assert r.report["removed"]["empty_text"] == {"count": 2, "first": ["c.csv:3", "c.csv:5"]}
    assert r.report["removed"]["empty_label"] == {"count": 1, "first": ["c.csv:4"]}
    assert sorted(r.removed["line"].tolist()) == [3, 4, 5]
    lines = summary_lines(r.report)
    assert lines[0] == "read 5 rows, kept 2 in 2 classes"
    assert "removed 2 rows with empty text: c.csv:3, c.csv:5" in lines


def test_tsv_without_header_label_names_and_multi_label(tmp_path):
    p = write(tmp_path / "g.tsv", 'hi there\t0\tid1\n"quoted ""x"""\t1,2\tid2\nyo\t2\tid3\n')
    names = write(tmp_path / "labels.txt", "joy\nanger\nneutral\n")
    common = dict(column_names=["text", "labels", "cid"], label_columns="labels", label_names=names)
    keep = load_table(p, multi_label_separator=",", **common)
    assert keep.frame["label"].tolist() == ["joy", "anger,neutral", "neutral"]
    assert keep.frame["text"].tolist()[1] == 'quoted "x"'
    single = load_table(p, multi_label_separator=",", multi_label="single", **common)
    assert single.frame["label"].tolist() == ["joy", "neutral"]
    assert single.report["removed"]["multi_label"] == {"count": 1, "first": ["g.tsv:2"]}


def test_jsonl_with_list_and_int_labels(tmp_path):
    rows = [{"text": "a b", "label": 1}, {"text": "c", "label": [0]}, {"text": "d", "label": 1.0}]
    p = write(tmp_path / "d.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n\n")
    r = load_table(p)
    assert r.frame["label"].tolist() == ["1", "0", "1"]
    assert r.frame["line"].tolist() == [1, 2, 3]


def test_parquet_rows_are_numbered(tmp_path):
    p = tmp_path / "d.parquet"
    pd.DataFrame({"review": ["x", "y", "z"], "stars": [1, 5, 1]}).to_parquet(p)
    r = load_table(p, text_columns="review", label_columns="stars")
    assert r.frame.to_dict("list") == {
        "id": ["d:1", "d:2", "d:3"],
        "text": ["x", "y", "z"],
        "label": ["1", "5", "1"],
        "line": [1, 2, 3],
    }


def test_hf_dataset_dict_needs_a_split_and_maps_class_labels(tmp_path):
    datasets = pytest.importorskip("datasets")
    feats = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])}
    )
    ds = datasets.Dataset.from_dict(
        {"text": ["bad", "good", "meh"], "label": [0, 1, 0]}, features=feats
    )
    dd = datasets.DatasetDict({"train": ds, "test": ds.select([0, 1])})
    dd.save_to_disk(tmp_path / "dd")
    ds.save_to_disk(tmp_path / "single")
    from tailtune.errors import DataError

    with pytest.raises(DataError, match=r"dd: a DatasetDict with splits train, test; name the one to read \(data.split"):  # fmt: skip
        load_table(tmp_path / "dd")
    r = load_table(tmp_path / "dd", split="test")
    assert r.frame["label"].tolist() == ["neg", "pos"]
    assert load_table(tmp_path / "single", format="hf").frame["line"].tolist() == [1, 2, 3]


def test_line_aligned_files_and_lines_format(tmp_path):
    d = tmp_path / "train"
    d.mkdir()
    write(d / "seq.in", "fly to boston\nfares please\nflight and fare\n")
    write(d / "label", "atis_flight\natis_airfare\natis_flight#atis_airfare\n")
    r = load_table(d, multi_label_separator="#", multi_label="single")
    assert r.frame["id"].tolist() == ["train:1", "train:2"]
    assert r.report["removed"]["multi_label"]["first"] == ["train:3"]
    r2 = load_line_aligned(d / "seq.in", d / "label", name="atis")
    assert r2.frame["label"].tolist()[2] == "atis_flight#atis_airfare"  # no separator: as written
    assert r2.frame["id"].tolist()[0] == "atis:1"


def test_a_multi_label_set_is_one_class_whatever_its_order(tmp_path):
    d = tmp_path / "test"
    d.mkdir()
    write(d / "seq.in", "a\nb\nc\nd\n")
    write(d / "label", "atis_flight#atis_airfare\natis_airfare#atis_flight\nx#x\natis_flight\n")
    r = load_table(d, multi_label_separator="#")
    assert r.frame["label"].tolist() == [
        "atis_airfare#atis_flight",
        "atis_airfare#atis_flight",
        "x",
        "atis_flight",
    ]


def test_id_column_keeps_ids_of_split_files(tmp_path):
    p = write(tmp_path / "train.csv", "id,text,label,line\nsrc:10,a,x,10\nsrc:12,b,y,12\n")
    r = load_table(p, id_column="id")
    assert r.frame["id"].tolist() == ["src:10", "src:12"]
    assert r.frame["line"].tolist() == [2, 3]


def test_utf8_bom_is_not_part_of_the_first_column(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes(b"\xef\xbb\xbftext,label\na,x\nb,y\n")
    assert load_table(p).frame["text"].tolist() == ["a", "b"]


def test_latin1_file_reads_with_its_encoding(tmp_path):
    p = write(tmp_path / "l.csv", "text,label\ncaf\u00e9,x\nna\u00efve,y\n", encoding="latin-1")
    assert load_table(p, encoding="latin-1").frame["text"].tolist() == ["caf\u00e9", "na\u00efve"]


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_texts_to_predict_and_training_data_read_a_file_alike(tmp_path, suffix):
    """One format dispatch: predict's reader sees the texts and lines that training's does."""
    from tailtune.data.texts import load_texts

    rows = pd.DataFrame({"text": ["one\ntwo", "", "three", "four"], "label": ["a", "b", "a", "b"]})
    p = tmp_path / f"d{suffix}"
    if suffix == ".parquet":
        rows.to_parquet(p, index=False)
    elif suffix == ".jsonl":
        p.write_text("".join(json.dumps(r) + "\n" for r in rows.to_dict("records")))
    else:
        rows.to_csv(p, index=False, sep="," if suffix == ".csv" else "\t")
    table = load_table(p).frame
    texts = load_texts(p)
    assert texts.format == suffix[1:] and texts.texts == table["text"].tolist()
    assert texts.lines == table["line"].tolist() and texts.texts == ["one\ntwo", "three", "four"]
    assert len(texts.empty_lines) == 1


def test_a_txt_file_is_texts_to_predict_never_training_data(tmp_path):
    from tailtune.data.texts import load_texts
    from tailtune.errors import DataError

    p = write(tmp_path / "t.txt", "first text\n\nsecond text\n")
    assert load_texts(p).texts == ["first text", "second text"]
    with pytest.raises(DataError, match="set format to csv, tsv, jsonl, parquet, hf or lines"):
        load_table(p)
    with pytest.raises(DataError, match="format: got 'xml', expected auto, text, csv"):
        load_texts(p, format="xml")
