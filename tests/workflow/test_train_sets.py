"""Training on label sets end to end (TF-IDF one-vs-rest): the run's metrics, predictions and
saved model all speak label sets, and the saved thresholds decide after loading."""

from __future__ import annotations

import json
import random

import pandas as pd
import pytest

from tailtune.backends import load_backend
from tailtune.config import Config
from tailtune.workflow import train

pytestmark = pytest.mark.integration

WORDS = {"billing": "invoice charge", "login": "password reset", "refund": "money back"}


def _tickets(path, n=300, seed=0):
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        tags = [
            t for t, p in (("billing", 0.5), ("login", 0.3), ("refund", 0.08)) if rng.random() < p
        ]
        words = [WORDS[t] for t in tags] or ["hello there"]
        rows.append((" ".join(words + [f"w{rng.randint(0, 40)}"]), ",".join(tags) or "other"))
    pd.DataFrame(rows, columns=["text", "tags"]).to_csv(path, index=False)


def test_tfidf_trains_on_label_sets(tmp_path):
    _tickets(tmp_path / "t.csv")
    cfg = Config()
    cfg.data.path, cfg.data.label_columns = str(tmp_path / "t.csv"), ["tags"]
    cfg.data.multi_label, cfg.data.multi_label_separator = "sets", ","
    cfg.split.test, cfg.runs_dir = 0.2, str(tmp_path / "runs")
    cfg.model.tfidf.classifier = "logreg"
    run = train(cfg)
    metrics = json.loads((run / "metrics.json").read_text())
    test = metrics["test"]
    assert test["macro_f1"] > 0.9 and test["n_classes"] == 4
    preds = pd.read_csv(run / "predictions.csv", keep_default_na=False)
    both = preds[preds["gold"].str.contains(",")]
    assert len(both) and (both["pred"] == both["gold"]).mean() > 0.8
    model = load_backend(run / "model")
    state = json.loads((run / "model" / "state.json").read_text())
    assert state["rule"] == "thresholds" and len(state["set_rule"]["thresholds"]) == 4
    # a test split: the final model is refitted on train + val and keeps the thresholds the
    # selection model tuned on val (only a tuned rule records its validation positives)
    assert metrics["refit"]["enabled"] and metrics["refit"]["rows"] > metrics["train_size"]
    assert (
        metrics["refit"]["choices"]["thresholds"] == "chosen on validation by the selection model"
    )
    assert sum(state["set_rule"]["tuned"]["val_positives"]) > 0
    assert state["info"]["thresholds"] == {"global": state["set_rule"]["global_threshold"],
                                           "tuned": True, "kept_from": "selection"}  # fmt: skip
    got = model.predict(["invoice charge password reset w1", "hello there w2"])
    assert [tuple(x) for x in got] == [("billing", "login"), ("other",)]
    from tailtune.evaluation.noise import noise_report

    noise = noise_report(run, against=run, n_boot=200)
    assert noise.ci["macro_f1"]["value"] == pytest.approx(test["macro_f1"])
    assert noise.ci["accuracy"]["value"] == pytest.approx(test["subset_accuracy"])
    assert noise.ci["macro_f1"]["low"] <= test["macro_f1"] <= noise.ci["macro_f1"]["high"]
    assert noise.paired["macro_f1"]["diff"] == 0 and not noise.paired["macro_f1"]["meaningful"]
    from tailtune.evaluation.errors import error_report

    errs = error_report(run)
    assert errs.confusion.shape == (4, 4) and "label sets" in errs.notes[-1]
    from tailtune.export.api import export_run

    # the skops pipeline decides label sets itself, with the tuned thresholds inside it
    report = export_run(run, "sklearn", tmp_path / "sk")
    agree = report["agreement"]
    assert agree["label_set_agreement"] == 1.0 and agree["within_tolerance"] and agree["n"] > 0
    assert report["sklearn"]["set_rule"]["thresholds"] == state["set_rule"]["thresholds"]
    import skops.io as sio

    path = tmp_path / "sk" / "pipeline.skops"
    pipe = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    texts = ["invoice charge password reset w1", "hello there w2", "money back w3"]
    chosen = pipe.predict(texts)
    assert [tuple(c for c, on in zip(pipe.labels_, row, strict=True) if on) for row in chosen] == [
        tuple(x) for x in model.predict(texts)
    ]


def test_train_fraction_of_label_sets_keeps_every_label_and_the_evaluation_splits(tmp_path):
    from tailtune.data.labelsets import parse_sets
    from tailtune.workflow.prepare import prepare_data

    _tickets(tmp_path / "t.csv")
    cfg = Config()
    cfg.data.path, cfg.data.label_columns = str(tmp_path / "t.csv"), ["tags"]
    cfg.data.multi_label, cfg.data.multi_label_separator = "sets", ","
    cfg.split.test = 0.2
    full = prepare_data(cfg)
    cfg.data.train_fraction = 0.25
    part = prepare_data(cfg)
    n = len(full.train)
    assert abs(len(part.train) - round(0.25 * n)) <= 2  # iterative stratification: about 25%
    assert part.reports["train_subsample"]["rows_before"] == n
    assert set(part.train["text"]) <= set(full.train["text"])
    labels = {x for s in parse_sets(part.train["label"], ",") for x in s}
    assert labels == {x for s in parse_sets(full.train["label"], ",") for x in s}
    assert part.val["id"].tolist() == full.val["id"].tolist()  # evaluation rows unchanged
    assert part.test["id"].tolist() == full.test["id"].tolist()
