"""A run with ``data.hierarchy``: labels.json holds the tree, metrics.json scores every level."""

from __future__ import annotations

import pytest

from tailtune.config import config_from_dict
from tailtune.data import Hierarchy
from tailtune.errors import DataError
from tailtune.runs import read_run
from tailtune.workflow import train

pytestmark = pytest.mark.integration

# Product -> Issue; "fee" is an Issue under both products (two classes). Texts name the product
# and, in half the rows, the issue: the Product level is easy, the Issue level is not.
WORDS = {("bank", "fee"): "overdraft", ("bank", "fraud"): "stolen", ("card", "fee"): "annual"}


def _csv(tmp_path):
    lines = ["text,Product,Issue"]
    for (product, issue), word in WORDS.items():
        for i in range(24):
            text = f"my {product} account {word} {i}" if i % 2 else f"my {product} account {i}"
            lines.append(f"{text},{product},{issue}")
    path = tmp_path / "d.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _cfg(tmp_path, path, **data):
    return config_from_dict(
        {
            "name": "hier",
            "seed": 1,
            "runs_dir": str(tmp_path / "runs"),
            "data": {"path": str(path), "label_columns": ["Product", "Issue"], "hierarchy": True,
                     **data},
            "split": {"val": 0.25},
            "model": {"backend": "tfidf"},
        }
    )  # fmt: skip


def test_run_records_the_tree_and_scores_every_level(tmp_path):
    run = read_run(train(_cfg(tmp_path, _csv(tmp_path))))
    tree = Hierarchy.from_dict(run.labels["hierarchy"])
    assert tree.levels == ("Product", "Issue")
    assert tree.classes == ["bank | fee", "bank | fraud", "card | fee"] == run.labels["classes"]
    val = run.split_predictions("val")
    gold = [tree.parse(g) for g in val["gold"]]
    pred = [tree.parse(p) for p in val["pred"]]
    h = run.metrics["val"]["hierarchy"]
    product_acc = sum(g[0] == p[0] for g, p in zip(gold, pred, strict=True)) / len(gold)
    assert h["levels"]["Product"]["accuracy"] == pytest.approx(product_acc)
    assert h["levels"]["Issue"]["accuracy"] == pytest.approx(run.metrics["val"]["accuracy"])
    # hierarchical F1: common prefix lengths over 2 nodes per path on each side
    overlap = sum((g[0] == p[0]) + (g == p) for g, p in zip(gold, pred, strict=True))
    assert h["hierarchical"]["h_f1"] == pytest.approx(overlap / (2 * len(gold)))
    assert h["errors"]["correct"] == sum(g == p for g, p in zip(gold, pred, strict=True))
    assert h["levels"]["Product"]["tiers_rule"]
    assert run.metrics["val"]["accuracy"] < h["levels"]["Product"]["accuracy"]


def test_a_path_deeper_than_the_levels_fails_before_training(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(
        "text,Product,Issue\n" + "".join(f"t {i},a | b,x\nu {i},c,y\n" for i in range(4))
    )
    with pytest.raises(DataError, match="training labels: label 'a | b | x' has 3 levels"):
        train(_cfg(tmp_path, path))
    assert not list((tmp_path / "runs").glob("hier-*"))


@pytest.mark.parametrize("per", ["level", "parent"])
def test_top_down_run_keeps_paths_consistent_and_saves_its_backoff_rule(tmp_path, per):
    import json

    from tailtune.backends import load_backend
    from tailtune.evaluation.hierarchy import backoff_table

    hier = {"strategy": "top_down", "per": per, "backoff_precision": 0.9}
    cfg = _cfg(tmp_path, _csv(tmp_path)).merged({"model": {"hierarchy": hier}})
    run = read_run(train(cfg))
    tree = Hierarchy.from_dict(run.labels["hierarchy"])
    meta = json.loads((run.path / "model" / "backend.json").read_text())
    assert meta["backend"] == "hierarchical" and meta["params"]["strategy"] == "top_down"
    state = json.loads((run.path / "model" / "state.json").read_text())
    assert state["rule"] == "path" and state["decision"]["decode"] == "top_down"
    rule = state["decision"]["backoff"]
    assert rule["rule"] == "backoff" and rule["target_precision"] == [0.9, 0.9]
    val = run.split_predictions("val")
    assert all(tree.is_leaf(tree.parse(p)) for p in val["pred"])
    # the answer is the predicted path cut at a level boundary, or unknown
    for pred, answer in zip(val["pred"], val["answer"], strict=True):
        assert answer == "unknown" or pred == answer or pred.startswith(answer + " | ")
    gold = [tree.parse(g) for g in val["gold"]]
    answered = [() if a == "unknown" else tree.parse(a) for a in val["answer"]]
    h = run.metrics["val"]["hierarchy"]
    assert h["backoff"] == backoff_table(gold, answered, tree.levels)
    # chosen on this validation split for precision 0.9: met there at every answered level
    for level in h["backoff"]["levels"].values():
        assert level["precision"] is None or level["precision"] >= 0.9
    levels_eval = run.metrics["info"]["levels_eval"]
    assert levels_eval["Issue"]["routing_lost"] == sum(
        g[0] != tree.parse(p)[0] for g, p in zip(gold, val["pred"], strict=True)
    )
    back = load_backend(run.path / "model")
    assert back.backoff_.to_dict() == rule
