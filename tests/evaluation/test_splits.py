"""Any split in every analysis: test by default when present, a missing split is one error line."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from rich.console import Console

from tailtune import cli
from tailtune.errors import DataError
from tailtune.evaluation.diagnose import diagnose_many, diagnose_run
from tailtune.evaluation.errors import error_report
from tailtune.evaluation.noise import noise_report
from tailtune.evaluation.splits import pick_split, shared_split
from tailtune.report import print_diagnosis, print_errors, print_noise
from tailtune.runs import read_run

pytestmark = pytest.mark.unit

COUNTS = {"H": 3000, "M1": 500, "M2": 300, "T1": 40, "T2": 8}
HISTORY = [
    {"step": 10 * i, "epoch": i, "train_loss": 1.6 / i, "val_loss": 1.5 / i + 0.05 * i,
     "accuracy": 0.5 + 0.05 * i, "macro_f1": 0.3 + 0.05 * i}
    for i in range(1, 5)
]  # fmt: skip


def _split(seed: int, n_per: dict[str, int], p_right: float, prefix: str = "x"):
    """gold/pred for one split: every gold class right with probability ``p_right``, else H."""
    rng = np.random.default_rng(seed)
    gold = np.array([c for c, n in n_per.items() for _ in range(n)])
    pred = np.where(rng.random(len(gold)) < p_right, gold, "H")
    return {"gold": gold, "pred": pred, "ids": [f"{prefix}:{i}" for i in range(len(gold))]}


VAL = {"H": 30, "M1": 12, "M2": 8, "T1": 4, "T2": 2}
TEST = {"H": 60, "M1": 25, "M2": 15, "T1": 8, "T2": 4}


@pytest.fixture
def both(make_run):
    """A run with val and test predictions (test much worse on the tail), refit on."""
    val = _split(0, VAL, 0.9)
    test = _split(1, TEST, 0.5, prefix="t")
    refit = {"enabled": True, "why": "auto", "rows": 4000, "selection_rows": 3600}
    return make_run("both", gold=val["gold"], pred=val["pred"], ids=val["ids"],
                    train_counts=COUNTS, test=test, refit=refit, history=HISTORY)  # fmt: skip


@pytest.fixture
def val_only(make_run):
    val = _split(0, VAL, 0.9)
    return make_run("valonly", gold=val["gold"], pred=val["pred"], ids=val["ids"],
                    train_counts=COUNTS)  # fmt: skip


def test_default_split_is_test_when_present(both, val_only):
    assert pick_split(read_run(both)) == "test"
    assert pick_split(read_run(val_only)) == "val"
    assert error_report(both).split == "test" and error_report(val_only).split == "val"
    assert noise_report(both, n_boot=50).split == "test"


def test_errors_and_noise_read_the_chosen_split(both):
    run = read_run(both)
    test, val = error_report(run), error_report(run, split="val")
    assert test.confusion.to_numpy().sum() == sum(TEST.values())
    assert val.confusion.to_numpy().sum() == sum(VAL.values())
    # the per-tier table is the split's own per-class file
    assert test.tiers.set_index("tier")["support"].sum() == sum(TEST.values())
    nt, nv = noise_report(run, n_boot=50), noise_report(run, split="val", n_boot=50)
    assert nt.support["n_examples"] == 112 and nv.support["n_examples"] == 56
    assert nt.ci["macro_f1"]["value"] == pytest.approx(run.metrics["test"]["macro_f1"])
    assert nv.ci["macro_f1"]["value"] == pytest.approx(run.metrics["val"]["macro_f1"])
    # support per tier on the chosen split: tail T1 has 8 test examples, T2 4 (<= 5)
    assert nt.support["by_tier"]["tail"] == {"n_classes": 2, "n_examples": 12, "n_few": 1}
    assert "refit model" in " ".join(nt.notes) and "selection model" in " ".join(nv.notes)


def test_a_missing_split_names_the_run_and_its_splits(val_only):
    with pytest.raises(DataError, match=r"valonly: no 'test' split in this run \(it has val\)"):
        error_report(val_only, split="test")
    with pytest.raises(DataError, match="it has val"):
        noise_report(val_only, split="test")
    with pytest.raises(DataError, match="it has val"):
        diagnose_many([val_only], split="test")


def test_cli_missing_split_is_one_error_line_and_exit_1(val_only, monkeypatch, capsys, tmp_path):
    for cmd in ("errors", "noise", "diagnose", "report"):
        extra = ["-o", str(tmp_path / "r.html")] if cmd == "report" else []
        monkeypatch.setattr(
            sys, "argv", ["tailtune", cmd, str(val_only), "--split", "test", *extra]
        )
        with pytest.raises(SystemExit) as exit_info:
            cli.main()
        out, err = capsys.readouterr()
        assert exit_info.value.code == 1 and out == "", (cmd, out, err)
        assert err.count("\n") == 1 and err.startswith("error: "), (cmd, err)
        assert "no 'test' split" in err and "it has val" in err
    assert not (tmp_path / "r.html").exists()


def test_against_pairs_on_the_shared_split(make_run, both):
    # a second run with the same test examples but no validation split: they share test only
    test = _split(1, TEST, 0.6, prefix="t")
    other = make_run("other", gold=[], pred=[], train_counts=COUNTS, test=test, val=False)
    rep = noise_report(both, against=other, n_boot=50)
    assert rep.split == "test" and rep.paired["split"] == "test"
    assert rep.paired["n_examples"] == sum(TEST.values())
    with pytest.raises(DataError, match="other: no 'val' split"):
        noise_report(both, against=other, split="val", n_boot=50)
    # same split name, different examples: an error, not a silent comparison
    shifted = _split(1, TEST, 0.6, prefix="u")
    third = make_run("third", gold=[], pred=[], train_counts=COUNTS, test=shifted, val=False)
    with pytest.raises(DataError, match="not on the same examples"):
        noise_report(both, against=third, n_boot=50)


def test_shared_split_names_every_run_when_none_is_shared(make_run, val_only):
    test = _split(1, TEST, 0.6)
    only_test = make_run("onlytest", gold=[], pred=[], train_counts=COUNTS, test=test, val=False)
    runs = [read_run(val_only), read_run(only_test)]
    with pytest.raises(
        DataError, match=r"share no val or test split \(valonly: val; onlytest: test\)"
    ):
        shared_split(runs)


def test_diagnose_on_test_says_the_curves_are_validation(both):
    d = diagnose_run(both)
    assert d.figures["split"] == "test" and "refit model" in d.figures["model"]
    console = Console(record=True, width=200)
    print_diagnosis(d, name="both", console=console)
    text = console.export_text()
    assert "curves: validation curves of the selection phase" in text
    m = read_run(both).metrics["test"]
    assert "test figures shown beside them" in text and f"macro F1 {m['macro_f1']:.3f}" in text


def test_printed_tables_name_their_split_and_the_tier_rule(both):
    console = Console(record=True, width=200)
    print_errors(error_report(both, n_hard=3), console=console)
    print_noise(noise_report(both, split="val", n_boot=50), console=console)
    text = console.export_text()
    assert "error analysis (test split)" in text and "per-tier F1 on the test split" in text
    assert "hardest mistakes (test)" in text and "noise floor of the validation split" in text
    assert text.count("tiers by training count: fixed (head >= 2,000, tail < 100)") == 2
