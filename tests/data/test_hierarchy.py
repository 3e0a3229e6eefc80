"""Hierarchical labels: the tree, its JSON, path helpers, node probabilities and decoding.

Every number below is worked out by hand in the comments beside it.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tailtune.data import load_table
from tailtune.data.hierarchy import Hierarchy, level_stats
from tailtune.data.hierarchy_proba import consistent_paths, node_proba
from tailtune.errors import DataError

pytestmark = pytest.mark.unit

# "x" under A and "x" under B are two different nodes; C is a path that stops at level 1.
LABELS = ["B | x", "A | x", "A | y", "C", "A | x"]


@pytest.fixture
def tree() -> Hierarchy:
    return Hierarchy.from_labels(LABELS, ["Product", "Issue"])


def test_tree_from_labels(tree):
    assert tree.levels == ("Product", "Issue") and tree.depth == 2
    assert tree.leaves == (("A", "x"), ("A", "y"), ("B", "x"), ("C",))
    assert tree.classes == ["A | x", "A | y", "B | x", "C"] == sorted(set(LABELS))
    assert tree.nodes(1) == (("A",), ("B",), ("C",))
    assert tree.nodes(2) == (("A", "x"), ("A", "y"), ("B", "x"))
    assert tree.children() == (("A",), ("B",), ("C",))
    assert tree.children(("A",)) == (("A", "x"), ("A", "y"))
    assert tree.children(("C",)) == () and tree.is_leaf(("C",)) and not tree.is_leaf(("A",))


def test_path_helpers(tree):
    assert tree.parse("A | x") == ("A", "x") and tree.label(("A", "x")) == "A | x"
    assert tree.parse("") == () and tree.label(()) == ""
    assert tree.ancestors(("A", "x")) == [("A",), ("A", "x")]
    assert tree.ancestors(("A", "x"), include_self=False) == [("A",)]
    assert tree.truncate(("A", "x"), 1) == ("A",) and tree.truncate(("C",), 2) == ("C",)
    assert tree.level_labels(["A | x", "C"], 2) == ["A | x", None]
    with pytest.raises(ValueError, match="depth must be in 1..2"):
        tree.truncate(("A", "x"), 3)


def test_levels_default_to_numbers_and_order_is_by_label_string():
    h = Hierarchy(levels=["a", "b"], leaves=[("b", "c"), ("a", "z"), ("a", "z")])
    assert h.leaves == (("a", "z"), ("b", "c")) and h.levels == ("a", "b")
    assert Hierarchy.from_labels(["p > q", "r"], separator=" > ").levels == ("level 1", "level 2")
    with pytest.raises(ValueError, match="every leaf path needs 1..1 names"):
        Hierarchy(levels=["a"], leaves=[("b", "c")])


def test_json_round_trip(tree):
    record = json.loads(json.dumps(tree.to_dict()))
    assert record == {
        "levels": ["Product", "Issue"],
        "separator": " | ",
        "leaves": ["A | x", "A | y", "B | x", "C"],
        "children": {"": ["A", "B", "C"], "A": ["A | x", "A | y"], "B": ["B | x"]},
    }
    assert Hierarchy.from_dict(record) == tree


def test_json_errors_name_the_record(tree):
    record = tree.to_dict()
    record["children"]["A"] = ["A | x"]
    with pytest.raises(DataError, match=r"^labels.json: children do not match the leaf paths$"):
        Hierarchy.from_dict(record, where="labels.json")
    with pytest.raises(DataError, match="labels.json: expected an object with levels"):
        Hierarchy.from_dict({"levels": ["a"]}, where="labels.json")


def test_bad_paths_are_one_line_data_errors():
    with pytest.raises(DataError, match="label 'a | b | c' has 3 levels, expected at most 2"):
        Hierarchy.from_labels(["a | b | c"], ["P", "I"], where="train.csv")
    with pytest.raises(DataError, match="train.csv: label 'a |  | c' has an empty level"):
        Hierarchy.from_labels(["a |  | c"], where="train.csv")


def test_level_stats(tree):
    p, i = level_stats(LABELS, tree, head_min=2, tail_max=2)
    # level 1: A 3 rows, B 1, C 1; the root has 3 children; C ends there (a leaf)
    assert (p["classes"], p["rows"], p["largest"]) == (3, 5, {"label": "A", "count": 3})
    assert p["children_per_parent"] == {"min": 3, "median": 3.0, "max": 3}
    assert (p["leaves"], p["names_under_several_parents"]) == (1, 0)
    assert p["tiers"]["head"] == {"classes": 1, "rows": 3}
    # level 2: the 4 rows that reach it; A has 2 children, B 1; 'x' repeats under A and B
    assert (i["classes"], i["rows"], i["counts"]) == (3, 4, {"A | x": 2, "A | y": 1, "B | x": 1})
    assert i["children_per_parent"] == {"min": 1, "median": 1.5, "max": 2}
    assert (i["parents"], i["leaves"], i["names_under_several_parents"]) == (2, 3, 1)


# -- probabilities ------------------------------------------------------------------------------

# columns: A|x, A|y, B|x, C
PROBA = np.array(
    [
        [0.3, 0.3, 0.4, 0.0],  # argmax leaf B|x (0.4), but A holds 0.6
        [0.1, 0.1, 0.2, 0.6],  # C, a path that stops at level 1
        [0.5, 0.1, 0.4, 0.0],
    ]
)


def test_node_proba_sums_leaves(tree):
    top, issue = node_proba(tree, PROBA)
    np.testing.assert_allclose(top, [[0.6, 0.4, 0.0], [0.2, 0.2, 0.6], [0.6, 0.4, 0.0]])
    np.testing.assert_allclose(issue, PROBA[:, :3])  # level 2 nodes are the leaves A|x A|y B|x


def test_leaf_decoding_is_the_argmax_leaf(tree):
    paths, p = consistent_paths(tree, PROBA, method="leaf")
    assert paths == [("B", "x"), ("C",), ("A", "x")]
    np.testing.assert_allclose(p, [[0.4, 0.4], [0.6, np.nan], [0.6, 0.5]])


def test_top_down_decoding_follows_summed_parents(tree):
    paths, p = consistent_paths(tree, PROBA, method="top_down")
    # row 0: A (0.6) beats B (0.4), then A's best child x (0.3; ties go to sorted order)
    assert paths == [("A", "x"), ("C",), ("A", "x")]
    np.testing.assert_allclose(p, [[0.6, 0.3], [0.6, np.nan], [0.6, 0.5]])


def test_top_down_stops_where_stopping_is_more_probable():
    h = Hierarchy.from_labels(["A", "A | x", "A | y", "B"])  # A is a class and a parent
    proba = np.array([[0.5, 0.2, 0.2, 0.1], [0.2, 0.5, 0.2, 0.1]])
    paths, p = consistent_paths(h, proba, method="top_down")
    # row 0: A (0.9); stop 0.5 > best child 0.2; row 1: child x 0.5 > stop 0.2
    assert paths == [("A",), ("A", "x")]
    np.testing.assert_allclose(p, [[0.9, np.nan], [0.9, 0.5]])


def test_columns_follow_the_given_classes(tree):
    order = [3, 1, 0, 2]
    classes = [tree.classes[j] for j in order]
    paths, p = consistent_paths(tree, PROBA[:, order], classes, method="top_down")
    assert paths == consistent_paths(tree, PROBA, method="top_down")[0]
    with pytest.raises(ValueError, match="not leaves of the hierarchy"):
        node_proba(tree, PROBA, ["A | x", "A | y", "B | x", "D"])


# -- loading ------------------------------------------------------------------------------------


def test_load_hierarchy_keeps_paths_that_stop_early(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("text,P,I\none,A,x\ntwo,C,\nthree,,y\nfour,B,x\n")
    r = load_table(p, label_columns=["P", "I"], hierarchy=True)
    assert r.frame["label"].tolist() == ["A | x", "C", "B | x"]
    # a gap (level 1 empty, level 2 filled) is still an empty label, reported with its line
    assert r.report["removed"]["empty_label"]["first"] == ["c.csv:4"]
    flat = load_table(p, label_columns=["P", "I"])
    assert flat.frame["label"].tolist() == ["A | x", "B | x"]
    assert flat.report["removed"]["empty_label"]["count"] == 2


def test_load_hierarchy_reads_a_none_level_as_missing(tmp_path):
    # CFPB's payday file writes an absent Sub-issue as the word None: the path ends at Issue
    p = tmp_path / "c.csv"
    p.write_text("text,P,I,S\none,A,x,None\ntwo,A,x,s1\nthree,B,None,None\nfour,None,y,z\n")
    r = load_table(p, label_columns=["P", "I", "S"], hierarchy=True)
    assert r.frame["label"].tolist() == ["A | x", "A | x | s1", "B"]
    assert r.report["removed"]["empty_label"]["first"] == ["c.csv:5"]  # a gap, reported
    kept = load_table(p, label_columns=["P", "I", "S"], hierarchy=True, missing_levels=[])
    assert kept.frame["label"].tolist()[0] == "A | x | None"
    flat = load_table(p, label_columns=["P", "I", "S"])  # not a hierarchy: a name like any
    assert flat.frame["label"].tolist()[0] == "A | x | None"


def test_load_a_path_in_one_column_reads_its_levels_as_level_columns(tmp_path):
    # "A > " (read as "A >" once the cell's outer spaces go) and "A > None" end at A, as empty
    # trailing level columns do; "A >  > c" and " > b" have a gap: removed, with their lines
    p = tmp_path / "c.csv"
    p.write_text("text,path\none,A > x > s\ntwo,A > \nthree,A >  > c\nfour,A > x > None\n"
                 "five, > b\nsix,A  >  x\n")  # fmt: skip
    r = load_table(p, label_columns=["path"], hierarchy=True, label_separator=" > ")
    assert r.frame["label"].tolist() == ["A > x > s", "A", "A > x", "A > x"]
    assert r.report["removed"]["empty_label"]["first"] == ["c.csv:4", "c.csv:6"]
    flat = load_table(p, label_columns=["path"], label_separator=" > ")  # not a hierarchy
    assert flat.frame["label"].tolist()[1] == "A >"


# -- config -------------------------------------------------------------------------------------


def test_config_builds_the_hierarchy():
    from tailtune.config import load_config
    from tailtune.workflow.prepare import build_hierarchy, read_options

    cols = 'data.label_columns=["Product", "Issue"]'
    cfg = load_config(None, [cols, "data.hierarchy=true"])
    assert read_options(cfg.data)["hierarchy"] is True
    assert build_hierarchy(cfg.data, LABELS) == Hierarchy.from_labels(LABELS, ["Product", "Issue"])
    one = load_config(None, ["data.hierarchy=true", 'data.label_separator=" > "'])
    tree = build_hierarchy(one.data, ["a > b", "c"])
    assert (tree.levels, tree.leaves) == (("level 1", "level 2"), (("a", "b"), ("c",)))
    named = load_config(None, ["data.hierarchy=true", 'data.level_names=["dept", "cat"]'])
    assert build_hierarchy(named.data, ["a | b"]).levels == ("dept", "cat")
    assert build_hierarchy(load_config(None, [cols]).data, LABELS) is None


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (['data.level_names=["a"]'], "data.level_names: names levels of a hierarchy; set data."),
        (
            ["data.hierarchy=true", "data.multi_label_separator=,"],
            "data.hierarchy: a label is a path or a set of labels, not both",
        ),
        (
            ["data.hierarchy=true", 'data.label_columns=["P", "I"]', 'data.level_names=["a"]'],
            "data.level_names: got 1 names for 2 label columns",
        ),
        # in a config file, an unquoted > is YAML's empty folded block
        (["data.hierarchy=true", 'data.label_separator=""'], "data.label_separator: empty"),
    ],
)
def test_config_errors_name_the_field(sets, message):
    from tailtune.config import load_config
    from tailtune.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        load_config(None, sets)


def test_an_unquoted_separator_on_the_command_line_is_taken_literally():
    from tailtune.config import load_config

    # --set 'data.label_separator= > ': YAML alone would read an empty folded block
    cfg = load_config(None, ["data.hierarchy=true", "data.label_separator= > "])
    assert cfg.data.label_separator == " > "
