"""Label sets: the three cell layouts, the empty set, statistics and the set-stratified split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tailtune.config import DataSettings
from tailtune.data import load_table
from tailtune.data.labelsets import indicator, join_set, parse_sets, set_stats
from tailtune.data.split_sets import split_sets
from tailtune.errors import ConfigError, DataError

pytestmark = pytest.mark.unit


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_separator_cells_become_sorted_sets(tmp_path):
    p = write(tmp_path / "a.csv", 'text,label\nx,"joy,anger"\ny,joy\nz,"anger, joy,joy"\n')
    r = load_table(p, multi_label="sets", multi_label_separator=",")
    assert r.frame["label"].tolist() == ["anger,joy", "joy", "anger,joy"]
    assert r.report["classes"] == 2  # labels inside the sets, not 2 distinct set strings


def test_json_list_cells_and_the_empty_set(tmp_path):
    p = write(tmp_path / "a.csv", 'text,label\nx,"[""b"", ""a""]"\ny,[]\nz,"[""c""]"\n')
    dropped = load_table(p, multi_label="sets", label_format="json")
    assert dropped.frame["label"].tolist() == ["a,b", "c"]
    assert dropped.report["removed"]["empty_label"]["count"] == 1
    kept = load_table(p, multi_label="sets", label_format="json", keep_empty_set=True)
    assert kept.frame["label"].tolist() == ["a,b", "", "c"]


def test_one_indicator_column_per_label(tmp_path):
    p = write(tmp_path / "a.csv", "text,anger,joy,fear\nx,1,0,1\ny,0,1,0\nz,0,0,0\n")
    r = load_table(
        p, label_columns=["anger", "joy", "fear"], multi_label="sets", label_format="columns",
        multi_label_separator="|", keep_empty_set=True,
    )  # fmt: skip
    assert r.frame["label"].tolist() == ["anger|fear", "joy", ""]


def test_bad_cells_are_one_line_errors_naming_the_line(tmp_path):
    p = write(tmp_path / "a.csv", "text,label\nx,[a\n")
    with pytest.raises(DataError, match=r"a.csv: line 2: .*not a JSON list"):
        load_table(p, multi_label="sets", label_format="json")
    q = write(tmp_path / "b.csv", "text,a,b\nx,1,0\ny,2,0\n")
    with pytest.raises(DataError, match=r"b.csv: line 3: column 'a' holds '2'.*0 or 1"):
        load_table(q, label_columns=["a", "b"], multi_label="sets", label_format="columns")
    s = write(tmp_path / "c.csv", 'text,label\nx,"[""a,b"", ""c""]"\n')
    with pytest.raises(DataError, match="label 'a,b' contains the set separator ','"):
        load_table(s, multi_label="sets", label_format="json")


def test_config_refuses_set_options_without_sets():
    with pytest.raises(ConfigError, match=r"data.label_format: applies to label sets only"):
        DataSettings(label_format="json").validate()
    with pytest.raises(ConfigError, match=r"data.multi_label: sets and data.hierarchy"):
        DataSettings(multi_label="sets", hierarchy=True).validate()
    DataSettings(multi_label="sets", label_format="json", keep_empty_set=True).validate()


def test_parse_indicator_and_join_round_trip():
    sets = parse_sets(["b,a", "", float("nan"), "c"], ",")
    assert sets == [("a", "b"), (), (), ("c",)]
    y, classes = indicator(sets)
    assert classes == ["a", "b", "c"]
    assert y.tolist() == [[1, 1, 0], [0, 0, 0], [0, 0, 0], [0, 0, 1]]
    assert join_set(["b", "a", "b"], "|") == "a|b"
    assert indicator([("a", "z")], ["a", "b"])[0].tolist() == [[1, 0]]  # unknown label ignored


def test_set_stats_hand_computed():
    sets = [("a", "b"), ("a",), ("a", "b", "c"), (), ("b",)]
    st = set_stats(sets, head_min=3, tail_max=2)
    assert st["counts"] == {"a": 3, "b": 3, "c": 1}
    assert st["labels_per_text"] == {"0": 1, "1": 2, "2": 1, "3+": 1}
    assert st["mean_labels_per_text"] == pytest.approx(7 / 5)
    assert st["multi_label_share"] == pytest.approx(2 / 5)
    assert st["label_tiers"] == {"a": "head", "b": "head", "c": "tail"}
    top = st["pairs"][0]
    # a and b: together in 2 texts, a in 3, b in 3 -> 2 / (3 + 3 - 2)
    assert top["labels"] == ["a", "b"] and top["count"] == 2
    assert top["jaccard"] == pytest.approx(0.5)


def _frame(labels):
    n = len(labels)
    return pd.DataFrame(
        {
            "id": [str(i) for i in range(n)],
            "text": [f"t{i}" for i in range(n)],
            "label": labels,
            "line": range(n),
        }  # fmt: skip
    )


@pytest.mark.parametrize("seed", range(5))
def test_split_keeps_every_label_in_train_even_with_one_or_two_examples(seed):
    rng = np.random.default_rng(seed)
    common = [",".join(sorted(set(rng.choice(list("abcd"), size=rng.integers(1, 3))))) for _ in
              range(60)]  # fmt: skip
    labels = common + ["e", "f,a", "f,b", "g,c"]  # e: 1 text; f: 2; g: 1 (sharing with c)
    r = split_sets(_frame(labels), ",", val=0.3, test=0.2, seed=seed)
    train = {lab for s in parse_sets(r.train["label"], ",") for lab in s}
    assert train == set("abcdefg")
    assert len(r.train) + len(r.val) + len(r.test) == 64
    assert r.report["rows"]["val"] == len(r.val)


def test_split_is_seeded_and_keeps_label_shares():
    labels = ["a"] * 40 + ["a,b"] * 20 + ["b"] * 20 + ["c"] * 20
    one = split_sets(_frame(labels), ",", val=0.2, seed=3)
    two = split_sets(_frame(labels), ",", val=0.2, seed=3)
    assert one.val["id"].tolist() == two.val["id"].tolist()
    y, classes = indicator(parse_sets(one.val["label"], ","), ["a", "b", "c"])
    # 60 a, 40 b, 20 c overall: a 20% hold-out keeps about 12, 8 and 4 of them
    assert np.abs(y.sum(axis=0) - np.array([12, 8, 4])).max() <= 1
    # the algorithm deals labels, not rows: 'a,b' texts may go to train while single-label
    # texts fill validation, so the row count is near (not exactly) 20
    assert 18 <= len(one.val) <= 24


@pytest.mark.data
def test_goemotions_sets(shared_data):
    d = shared_data / "goemotions"
    r = load_table(
        d / "train.tsv", column_names=["text", "labels", "id"], label_columns=["labels"],
        label_names=d / "labels.txt", multi_label_separator=",", multi_label="sets",
    )  # fmt: skip
    st = set_stats(parse_sets(r.frame["label"], ","))
    assert st["labels"] == 28 and st["rows"] == 43_410
    assert st["labels_per_text"]["2"] + st["labels_per_text"]["3+"] == 7_102
    assert st["counts"]["neutral"] == 14_219 and st["counts"]["grief"] == 77
