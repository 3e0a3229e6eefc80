"""Tiers: the fixed thresholds when they mean something, a data-driven rule when they do not."""

from __future__ import annotations

import pytest

from tailtune.evaluation import compute_metrics, data_driven_tiers, per_class_table, resolve_tiers

pytestmark = pytest.mark.unit


def _n(tiers: dict[str, str]) -> tuple[int, int, int]:
    return tuple(sum(v == t for v in tiers.values()) for t in ("head", "mid", "tail"))


def test_flat_150_classes_fall_back_to_the_data_driven_rule():
    flat = {f"c{i:03d}": 100 for i in range(150)}
    t = resolve_tiers(flat)
    assert t.kind == "data-driven" and t.head_min is None and t.tail_max is None
    # every class holds 1/150 of the examples: the first 75 reach half, the last 15 hold 10%
    assert _n(t.tiers) == (75, 60, 15)
    assert t.tiers["c000"] == "head" and t.tiers["c074"] == "head" and t.tiers["c075"] == "mid"
    assert t.tiers["c134"] == "mid" and t.tiers["c135"] == "tail"
    assert t.rule.startswith("data-driven (head and tail empty under head >= 2,000 / tail < 100)")
    assert "first 50% of training examples" in t.rule and "equal counts split by rank" in t.rule


def test_classic_long_tail_keeps_the_fixed_rule():
    counts = {"big": 5000, "large": 2400, "m1": 800, "m2": 150, "t1": 60, "t2": 3}
    t = resolve_tiers(counts)
    assert t.kind == "fixed" and (t.head_min, t.tail_max) == (2000, 100)
    assert t.tiers == {"big": "head", "large": "head", "m1": "mid", "m2": "mid",
                       "t1": "tail", "t2": "tail"}  # fmt: skip
    assert t.rule == "fixed (head >= 2,000, tail < 100)"


def test_explicit_thresholds_win_even_when_degenerate():
    flat = {f"c{i:03d}": 100 for i in range(150)}
    t = resolve_tiers(flat, head_min=2000, tail_max=100)
    assert t.kind == "fixed" and _n(t.tiers) == (0, 150, 0)
    assert t.rule == "fixed (head >= 2,000, tail < 100; set in eval)"
    # one explicit threshold is enough to keep the fixed rule (the other takes its default)
    only_head = resolve_tiers(flat, head_min=500)
    assert only_head.kind == "fixed" and (only_head.head_min, only_head.tail_max) == (500, 100)
    assert _n(only_head.tiers) == (0, 150, 0)


def test_no_head_class_falls_back_and_names_the_empty_tier():
    # a long tail whose largest class is far below 2,000: 10 classes, 400 down to 5
    counts = {"a": 400, "b": 200, "c": 120, "d": 90, "e": 60, "f": 40, "g": 30, "h": 20,
              "i": 10, "j": 5}  # fmt: skip
    t = resolve_tiers(counts)
    # total 975: a + b = 600 cross half (a alone 41%); the 10% tail (<= 97.5 rows): g, h, i, j
    assert t.kind == "data-driven"
    assert [c for c, v in t.tiers.items() if v == "head"] == ["a", "b"]
    assert [c for c, v in t.tiers.items() if v == "tail"] == ["g", "h", "i", "j"]
    assert "(head empty under head >= 2,000 / tail < 100)" in t.rule
    assert "(200-400 each)" in t.rule and "split by rank" not in t.rule


def test_data_driven_keeps_every_tier_on_few_classes():
    # 4 flat classes: the head would be 2 classes, and nothing starts after 90%; the least
    # frequent class is taken as the tail so that no tier is empty
    assert _n(data_driven_tiers({"a": 5, "b": 5, "c": 5, "d": 5})) == (2, 1, 1)
    # one class holding almost everything: head 1, mid keeps one class, the rest is tail
    dom = data_driven_tiers({"a": 950, "b": 20, "c": 20, "d": 10})
    assert dom == {"a": "head", "b": "mid", "c": "tail", "d": "tail"}
    # two classes cannot make three tiers: the fixed rule stays
    assert resolve_tiers({"a": 5, "b": 5}).kind == "fixed"


def test_metrics_use_the_resolved_tiers():
    counts = {f"c{i}": 100 for i in range(10)}
    gold = [f"c{i}" for i in range(10)]
    pred = gold[:9] + ["c0"]  # c9 (a tail class by rank) is never right
    m = compute_metrics(gold, pred, train_counts=counts)
    assert (m["tiers"]["head"]["n_classes"], m["tiers"]["tail"]["n_classes"]) == (5, 1)
    assert m["tiers"]["tail"]["mean_f1"] == 0.0 and m["tiers"]["tail"]["zero_f1"] == 1
    table = per_class_table(gold, pred, train_counts=counts)
    assert table.set_index("label")["tier"].to_dict() == data_driven_tiers(counts)
    explicit = compute_metrics(gold, pred, train_counts=counts, head_min=2000, tail_max=100)
    assert explicit["tiers"]["mid"]["n_classes"] == 10


@pytest.mark.integration
def test_a_run_records_the_rule_in_labels_and_metrics(tmp_path, capsys):
    from tailtune.cli._print import print_run_summary
    from tailtune.config import config_from_dict
    from tailtune.runs import read_run
    from tailtune.workflow import train

    cfg = {"name": "tiers", "seed": 3, "runs_dir": str(tmp_path / "runs"),
           "data": {"synthetic": "tiny"}, "split": {"val": 0.25, "test": 0.15},
           "model": {"backend": "tfidf"}}  # fmt: skip
    run = read_run(train(config_from_dict(cfg)))
    # 8 classes, none with 100 training rows: the fixed defaults would put all of them in tail
    assert run.config["eval"]["head_min"] is None
    expected = resolve_tiers(run.labels["train_counts"])
    assert expected.kind == "data-driven"
    assert run.labels["tiers"] == expected.tiers and run.labels["tiers_rule"] == expected.rule
    assert run.metrics["tiers_rule"] == expected.rule == run.metrics["test"]["tiers_rule"]
    per_class = run.per_class_for("test").set_index("label")["tier"].to_dict()
    assert per_class == {c: expected.tiers[c] for c in per_class}
    assert all(run.metrics["val"]["tiers"][t]["n_classes"] > 0 for t in ("head", "mid", "tail"))
    assert run.data["train_stats"]["tiers_rule"] == expected.rule
    capsys.readouterr()
    print_run_summary(run.path)  # the console summary after tailtune train
    out = " ".join(capsys.readouterr().out.split())
    assert "tiers by training count: data-driven (head and mid empty" in out
    n = expected.n_classes()
    assert all(f"│ {t} │ {n[t]} " in out for t in ("head", "mid", "tail"))
    explicit = read_run(train(config_from_dict({**cfg, "eval": {"head_min": 60, "tail_max": 20}})))
    assert explicit.labels["tiers_rule"] == "fixed (head >= 60, tail < 20; set in eval)"
    assert (explicit.labels["head_min"], explicit.labels["tail_max"]) == (60, 20)
