"""Refit on train + validation after model selection: the auto rule, what the refit model saw,
what the run records, and ``split.val: 0`` for backends that choose nothing on validation."""

import json
import types

import numpy as np
import pytest

from tailtune.backends import load_backend
from tailtune.config import config_from_dict
from tailtune.errors import ConfigError
from tailtune.runs import read_run
from tailtune.training.settings import TrainSettings
from tailtune.workflow import predict, train
from tailtune.workflow.refit import _scale_steps, refit_decision

pytestmark = pytest.mark.integration


def _cfg(tmp_path, split=None, model=None, train_=None, objective=None):
    return config_from_dict(
        {
            "name": "refit",
            "seed": 3,
            "runs_dir": str(tmp_path / "runs"),
            "data": {"synthetic": "tiny"},
            "split": split or {"val": 0.25, "test": 0.15},
            "model": model or {"backend": "tfidf"},
            "train": train_ or {},
            "objective": objective or {},
            "eval": {"head_min": 60, "tail_max": 20},
        }
    )


@pytest.fixture
def fits(monkeypatch):
    """Every TfidfBackend.fit call: (rows, whether it had an eval set)."""
    from tailtune.backends.tfidf import TfidfBackend

    calls, real = [], TfidfBackend.fit

    def spy(self, texts, labels, eval_set=None, work_dir=None):
        calls.append((len(texts), eval_set is not None))
        return real(self, texts, labels, eval_set=eval_set, work_dir=work_dir)

    monkeypatch.setattr(TfidfBackend, "fit", spy)
    return calls


def test_auto_refit_with_a_test_split_trains_on_train_plus_val(tmp_path, fits):
    path = train(_cfg(tmp_path))
    run = read_run(path)
    n_train, n_val = run.metrics["train_size"], len(run.split_predictions("val"))
    block = run.metrics["refit"]
    assert block["enabled"] and block["why"].startswith("auto: a test split")
    assert fits == [(n_train, True), (n_train + n_val, False)]
    assert block["rows"] == n_train + n_val and block["selection_rows"] == n_train
    # the SVM temperature chosen on validation is carried over, and recorded
    saved = json.loads((path / "model" / "backend.json").read_text())
    assert block["choices"]["temperature"] == pytest.approx(saved["params"]["temperature"])
    assert "selection_test" in block and "macro_f1" in block["selection_test"]
    # the saved model is the refit one: it reproduces the test predictions, and predict uses it
    test = run.split_predictions("test")
    _, proba = run.probabilities("test")
    again = load_backend(path / "model").predict_proba(test["text"].tolist())
    assert np.allclose(again, proba, atol=1e-6)
    assert list(predict(path, test["text"].tolist())["pred"]) == list(test["pred"])
    assert "refit: on (auto: a test split" in (path / "log.txt").read_text()


def test_refit_off_without_a_test_split_or_when_asked(tmp_path, fits):
    run = read_run(train(_cfg(tmp_path / "a", split={"val": 0.25})))
    assert run.metrics["refit"] == {
        "enabled": False,
        "why": "auto: no test split, so validation stays held out to measure the model",
    }
    assert len(fits) == 1
    run = read_run(train(_cfg(tmp_path / "b", train_={"refit": False})))
    assert run.metrics["refit"]["enabled"] is False and len(fits) == 2
    run = read_run(train(_cfg(tmp_path / "c", split={"val": 0.25}, train_={"refit": True})))
    assert run.metrics["refit"]["enabled"] is True
    assert run.metrics["refit"]["why"] == "train.refit: true"


def test_ensemble_members_see_every_row_at_refit(tmp_path, fits):
    model = {
        "backend": "ensemble",
        "ensemble": {
            "members": [{"backend": "tfidf"}, {"backend": "tfidf", "char_ngrams": [2, 4]}],
            "carve": 0.2,
        },
    }
    run = read_run(train(_cfg(tmp_path, model=model)))
    n_train, n_val = run.metrics["train_size"], len(run.split_predictions("val"))
    block = run.metrics["refit"]
    carved = block["selection_info"]["fit_size"]
    assert carved < n_train
    # selection: both members on the carve's fit part, tuned on the carve; refit: all rows
    assert fits == [(carved, True)] * 2 + [(n_train + n_val, False)] * 2
    assert block["choices"]["carve"] == 0.0
    assert block["choices"]["weights"] == pytest.approx(block["selection_info"]["weights"])
    assert run.metrics["info"]["fit_size"] == n_train + n_val


def test_val_zero_trains_on_everything_for_a_backend_that_needs_no_validation(tmp_path, fits):
    run = read_run(train(_cfg(tmp_path, split={"val": 0, "test": 0.15})))
    assert "val" not in run.metrics and "test" in run.metrics
    assert fits == [(run.metrics["train_size"], False)]
    assert run.metrics["refit"]["enabled"] is False


def test_val_zero_is_refused_in_one_line_when_validation_is_needed(tmp_path):
    cfg = _cfg(tmp_path, split={"val": 0, "test": 0.15}, objective={"tune_posthoc_tau": True})
    with pytest.raises(ConfigError) as err:
        train(cfg)
    assert str(err.value) == (
        "split.val: 0 leaves no validation split, but objective.tune_posthoc_tau chooses τ on "
        "validation"
    )
    assert not (tmp_path / "runs").exists() or not any(
        p.name.startswith("refit-") for p in (tmp_path / "runs").iterdir()
    )


def test_refit_steps_keep_the_epochs_the_selection_chose():
    """best step 40 on 800 rows -> 50 steps on 1000 rows (the same passes over the data)."""
    from tailtune.backends.encoder import EncoderBackend

    fitted = EncoderBackend()
    fitted.info_ = {"best_step": 40}  # what early stopping chose (no fit needed for the rule)
    frozen = EncoderBackend(train=TrainSettings(max_steps=40))
    out = _scale_steps(fitted, frozen, n_refit=1000, n_fit=800)
    assert frozen.train.max_steps == 50
    assert out == [{"stage": "model", "selected_step": 40, "refit_steps": 50}]


def test_refit_decision_rule():
    import pandas as pd

    def prep(val, test):
        frame = pd.DataFrame({"text": ["a"] * val, "label": ["x"] * val})
        return types.SimpleNamespace(val=frame, test=frame.head(test) if test else None)

    cfg = types.SimpleNamespace(train=TrainSettings())
    assert refit_decision(cfg, prep(5, 3))[0] is True
    assert refit_decision(cfg, prep(5, 0))[0] is False
    assert refit_decision(cfg, prep(0, 3))[0] is False  # nothing held out: nothing to refit
