"""Fabricated run pairs for report tests: a vanilla and a re-weighted run with histories."""

from __future__ import annotations

import pytest

from tests.evaluation.conftest import long_tail_case, write_run


def _history(val_losses, f1s, steps_per_epoch=120):
    return [
        {"step": (i + 1) * steps_per_epoch, "epoch": i + 1, "train_loss": 3.0 / (i + 1.2),
         "val_loss": v, "accuracy": 0.5 + f / 3, "macro_f1": f, "zero_f1": 5 - i, "lr": 2e-5,
         "elapsed_s": 10.0 * (i + 1)}
        for i, (v, f) in enumerate(zip(val_losses, f1s, strict=True))
    ]  # fmt: skip


@pytest.fixture(scope="session")
def two_runs(tmp_path_factory):
    """(vanilla, weighted) run directories on the same 807 validation examples, 30 classes."""
    tmp_path = tmp_path_factory.mktemp("report_runs")
    g, p, pr, train, _ = long_tail_case(seed=0)
    texts = [f"complaint {i}: " + "the bank charged a fee twice and would not refund it " * (1 + i % 9)
             for i in range(len(g))]  # fmt: skip
    a = write_run(tmp_path / "runs", "vanilla", gold=g, pred=p, probs=pr, train_counts=train,
                  texts=texts, history=_history([1.9, 1.5, 1.45, 1.5], [0.40, 0.52, 0.56, 0.58]))  # fmt: skip
    g2, p2, pr2, *_ = long_tail_case(seed=0, weighted=True)
    b = write_run(tmp_path / "runs", "sqrt-inverse", gold=g2, pred=p2, probs=pr2, train_counts=train,
                  texts=texts, history=_history([2.0, 1.6, 1.5, 1.52], [0.45, 0.58, 0.63, 0.65]))  # fmt: skip
    return a, b


@pytest.fixture
def make_plain_run(tmp_path):
    """A run without history (a TF-IDF-like run)."""
    g, p, pr, train, _ = long_tail_case(seed=1)
    return write_run(tmp_path / "runs", "tfidf", gold=g, pred=p, probs=pr, train_counts=train)


@pytest.fixture(scope="session")
def built_report(two_runs, tmp_path_factory):
    """The two-run report, built once per session (figures are the slow part)."""
    from tailtune.report import build_report

    return build_report(
        list(two_runs), tmp_path_factory.mktemp("report") / "report.html", n_boot=200
    )
