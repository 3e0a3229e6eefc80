"""evaluate --data and predict --input read new files as the run read its training files.

A run trained from two CSV files (the first with two junk lines before its header, so
``skip_rows: [2, 0]``) is scored on one new file; every bad input is one ``error:`` line, exit
code 1, no traceback and nothing written.
"""

import json
import random
import sys

import pytest

from tailtune import cli

pytestmark = pytest.mark.integration

WORDS = {"a": "card charge fee bank", "b": "loan mortgage rate house", "c": "phone debt collector"}


def _rows(n, seed):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        label = rng.choice("aabc")
        out.append((" ".join(rng.choice(WORDS[label].split()) for _ in range(6)), label))
    return out


def _csv(path, rows, junk=""):
    path.write_text(junk + "text,label\n" + "".join(f"{t},{lab}\n" for t, lab in rows))
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from tailtune.config import load_config
    from tailtune.workflow import train

    root = tmp_path_factory.mktemp("apply")
    one = _csv(root / "one.csv", _rows(60, 1), junk="unzip output\nmore output\n")
    two = _csv(root / "two.csv", _rows(60, 2))
    cfg = load_config(
        None,
        [
            "model.backend=tfidf",
            f"data.path={json.dumps([str(one), str(two)])}",
            "data.skip_rows=[2, 0]",
            f"runs_dir={root / 'runs'}",
        ],
    )
    return train(cfg)


def _main(monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, "argv", ["tailtune", *map(str, args)])
    with pytest.raises(SystemExit) as info:
        cli.main()
    out, err = capsys.readouterr()
    return info.value.code, out, err


def _one_line_error(code, out, err, *fragments):
    assert code == 1, out + err
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    for f in fragments:
        assert f in lines[0], (f, lines[0])


def test_evaluate_a_new_file_of_a_multi_file_run(run, tmp_path, monkeypatch, capsys):
    rows = _rows(30, 3) + [("card fee bank", "zzz"), ("loan rate", "yyy"), ("fee", "zzz")]
    new = _csv(tmp_path / "new.csv", rows)
    out_file = tmp_path / "eval" / "e.json"
    code, out, err = _main(monkeypatch, capsys, "evaluate", run, "--data", new,
                           "--output", out_file)  # fmt: skip
    assert code in (0, None), err
    assert "skip_rows=0" in err  # the per-file list does not bind the new file, and it says so
    assert "2 label(s) in new.csv were never seen in training (3 rows" in err
    assert "yyy, zzz" in err
    record = json.loads(out_file.read_text())
    assert record["unseen_labels"] == {"count": 2, "rows": 3, "labels": ["yyy", "zzz"]}
    assert record["metrics"]["unseen_labels"]["count"] == 2
    assert record["data_options"]["skip_rows"] == 0
    # 33 rows scored; the three of unseen labels can only be misses
    metrics = record["metrics"]
    assert metrics["accuracy"] <= 30 / 33 + 1e-9


def test_library_evaluate_is_the_command_path(run, tmp_path):
    """``tailtune.evaluate`` reads a new file of a multi-file run the way the command does."""
    from tailtune.workflow import evaluate

    new = _csv(tmp_path / "lib.csv", _rows(30, 5), junk="x\n")
    scored = evaluate(run, new, ["data.skip_rows=1"])
    assert scored["data_options"]["skip_rows"] == 1
    assert len(scored["predictions"]) == 30  # the one junk line skipped, every row scored
    assert 0.0 <= scored["metrics"]["macro_f1"] <= 1.0


def test_evaluate_honours_set_data_fields(run, tmp_path, monkeypatch, capsys):
    new = _csv(tmp_path / "junk.csv", _rows(20, 4), junk="one junk line\n")
    code, out, err = _main(monkeypatch, capsys, "evaluate", run, "--data", new)
    _one_line_error(code, out, err, "junk.csv", "skip_rows")  # header not on line 1
    code, out, err = _main(monkeypatch, capsys, "evaluate", run, "--data", new,
                           "--set", "data.skip_rows=1", "--json")  # fmt: skip
    assert code in (0, None), err
    assert json.loads(out)["metrics"]["macro_f1"] > 0.5


def test_evaluate_refuses_non_data_overrides(run, tmp_path, monkeypatch, capsys):
    new = _csv(tmp_path / "n.csv", _rows(10, 5))
    res = _main(monkeypatch, capsys, "evaluate", run, "--data", new, "--set", "model.backend=x")
    _one_line_error(*res, "model.backend", "data.*")


def test_predict_reads_every_format(run, tmp_path, monkeypatch, capsys):
    import pandas as pd

    texts = ["card fee bank charge", "loan mortgage house", "phone debt collector"]
    files = {
        "t.txt": "\n".join(texts[:1] + [""] + texts[1:]) + "\n",
        "t.jsonl": "".join(json.dumps({"text": t}) + "\n" for t in texts),
        "t.tsv": "text\n" + "".join(f"{t}\n" for t in texts),
        "t.csv": "text\n" + "".join(f"{t}\n" for t in texts),
    }
    pd.DataFrame({"text": texts}).to_parquet(tmp_path / "t.parquet")
    for name, body in files.items():
        (tmp_path / name).write_text(body)
    for name in [*files, "t.parquet"]:
        out_file = tmp_path / f"{name}.pred.csv"
        code, out, err = _main(monkeypatch, capsys, "predict", run, "--input", tmp_path / name,
                               "--output", out_file)  # fmt: skip
        assert code in (0, None), (name, err)
        frame = pd.read_csv(out_file)
        assert frame["pred"].tolist() == ["a", "b", "c"], name
        if name == "t.txt":  # the blank line is reported, and lines keep their file numbers
            assert "skipped 1 rows with an empty text (lines 2)" in err
            assert frame["line"].tolist() == [1, 3, 4]


BAD_INPUTS = {
    "undecodable.csv": (b"text\ncaf\xe9 fee\n", ["undecodable.csv", "line 2", "utf-8"]),
    "malformed.jsonl": (b'{"text": "a"}\n{"text": \n', ["malformed.jsonl", "line 2", "JSON"]),
    "quote.csv": (b'text\nfee\n"card fee\nloan\n', ["quote.csv", "line 3", "quote"]),
    "empty.csv": (b"", ["empty.csv", "empty"]),
    "nocolumn.csv": (b"body\nfee\n", ["nocolumn.csv", "no column 'text'", "body"]),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_predict_bad_input_is_one_line(run, tmp_path, monkeypatch, capsys, name):
    body, fragments = BAD_INPUTS[name]
    (tmp_path / name).write_bytes(body)
    out_file = tmp_path / "out" / "p.csv"
    res = _main(monkeypatch, capsys, "predict", run, "--input", tmp_path / name,
                "--output", out_file)  # fmt: skip
    _one_line_error(*res, *fragments)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_bad_encoding_name_is_one_line(run, tmp_path, monkeypatch, capsys, command):
    new = _csv(tmp_path / "n.csv", _rows(10, 6))
    flag = "--data" if command == "evaluate" else "--input"
    res = _main(monkeypatch, capsys, command, run, flag, new, "--set", "data.encoding=utf-99",
                "--output", tmp_path / "o" / "x")  # fmt: skip
    _one_line_error(*res, "utf-99", "encoding")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_output_path_is_checked_before_any_work(run, tmp_path, monkeypatch, capsys, command):
    new = _csv(tmp_path / "n.csv", _rows(10, 7))
    flag = "--data" if command == "evaluate" else "--input"
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    res = _main(monkeypatch, capsys, command, run, flag, new, "--output", blocker / "p.csv")
    _one_line_error(*res, "afile", "not a folder")
    res = _main(monkeypatch, capsys, command, run, flag, new, "--output", tmp_path)
    _one_line_error(*res, "is a folder")
    # checked before the input is read: a missing input is not what gets reported
    res = _main(monkeypatch, capsys, command, run, flag, tmp_path / "missing.csv",
                "--output", blocker / "p.csv")  # fmt: skip
    _one_line_error(*res, "afile")
    assert blocker.read_text() == "x"


def test_set_follows_one_rule_with_text_and_with_input(run, tmp_path, monkeypatch, capsys):
    new = _csv(tmp_path / "n.csv", _rows(10, 8))
    # a field outside data.*: the same refusal whether the texts come inline or from a file
    for source in (["--text", "card fee"], ["--input", new]):
        res = _main(monkeypatch, capsys, "predict", run, *source, "--set", "train.num_threads=1")
        _one_line_error(*res, "train.num_threads=1", "only data.* fields")
    # a data.* field reads a file: with --text there is none, which is said, not ignored
    res = _main(
        monkeypatch, capsys, "predict", run, "--text", "x", "--set", "data.encoding=latin-1"
    )
    _one_line_error(*res, "--set data.* reads an --input file")
