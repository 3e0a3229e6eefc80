"""A hierarchy tailtune was not built on, as a new user runs it: GoEmotions by sentiment.

    python benchmarks/hierarchy_new_user.py [--train-rows 8000] [--out DIR] [--models flat,...]

GoEmotions comments with exactly one emotion, each labelled with a three-level path written in
one column, ``sentiment > Ekman category > emotion``, the groupings of Demszky et al. (2020,
"GoEmotions: A dataset of fine-grained emotions", ACL, Table 2 / Appendix): positive, negative
and ambiguous sentiments over Ekman's six basic emotions, and ``neutral`` as a path that stops
at the top level. ``negative > disgust`` has one child. The folder (a temporary one outside the
repository unless ``--out``) holds train.csv (a seeded sample of ``--train-rows`` of the
training split), val.csv and test.csv (the data set's own dev and test, whole) and one config
per model; each model is trained with ``python -m tailtune train MODEL.yaml`` from that folder,
so the command line, relative paths and the refit on train + validation (a test file is given)
are the user's. Every stage is the ``tfidf`` backend with its defaults. Printed per model, on
test: each level's accuracy and macro F1, hierarchical P/R/F1 (Kiritchenko et al. 2006), the
wrong paths that stayed under the right parent, and for the back-off model coverage and
precision per level.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
LEVELS = ["sentiment", "category", "emotion"]
# Demszky et al. 2020: sentiment groups and the Ekman mapping of the 27 emotions
EKMAN = {
    "positive > joy": ["admiration", "amusement", "approval", "caring", "desire", "excitement",
                       "gratitude", "joy", "love", "optimism", "pride", "relief"],
    "negative > anger": ["anger", "annoyance", "disapproval"],
    "negative > disgust": ["disgust"],
    "negative > fear": ["fear", "nervousness"],
    "negative > sadness": ["sadness", "disappointment", "embarrassment", "grief", "remorse"],
    "ambiguous > surprise": ["surprise", "realization", "confusion", "curiosity"],
}  # fmt: skip
MODELS = {
    "flat": {"strategy": "flat"},
    "top-down-level": {"strategy": "top_down", "per": "level"},
    "top-down-parent": {"strategy": "top_down", "per": "parent"},
    "back-off-0.8": {"strategy": "top_down", "per": "parent", "backoff_precision": 0.8},
}


def emotion_paths() -> dict[str, str]:
    """Emotion name -> its path ``sentiment > category > emotion`` (``neutral`` alone)."""
    out = {e: f"{group} > {e}" for group, names in EKMAN.items() for e in names}
    out["neutral"] = "neutral"
    return out


def write_folder(folder: Path, root: Path, train_rows: int, seed: int = 0) -> dict[str, int]:
    """train.csv / val.csv / test.csv of single-emotion comments with their paths."""
    names = (root / "labels.txt").read_text(encoding="utf-8").split()
    paths = emotion_paths()
    sizes = {}
    for split, name in (("train", "train.csv"), ("dev", "val.csv"), ("test", "test.csv")):
        frame = pd.read_csv(root / f"{split}.tsv", sep="\t", header=None, quoting=3,
                            names=["comment", "ids", "id"], dtype=str)  # fmt: skip
        frame = frame[~frame["ids"].str.contains(",")]
        frame["path"] = [paths[names[int(i)]] for i in frame["ids"]]
        if split == "train" and train_rows < len(frame):
            frame = frame.sample(n=train_rows, random_state=seed).sort_index()
        frame[["comment", "path"]].to_csv(folder / name, index=False)
        sizes[name] = len(frame)
    return sizes


def write_config(folder: Path, key: str) -> Path:
    hierarchy = "\n".join(f"    {k}: {v}" for k, v in MODELS[key].items())
    path = folder / f"{key}.yaml"
    path.write_text(f"""# tailtune train {key}.yaml
name: {key}
runs_dir: runs
data:
  path: train.csv
  val_path: val.csv
  test_path: test.csv
  text_columns: [comment]
  label_columns: [path]
  hierarchy: true
  label_separator: " > "
  level_names: [{", ".join(LEVELS)}]
model:
  backend: tfidf
  hierarchy:
{hierarchy}
""")
    return path


def train(folder: Path, key: str) -> tuple[dict, float]:
    """``tailtune train KEY.yaml`` in ``folder``; the run's metrics.json and the wall time."""
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src")}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tailtune", "train", f"{key}.yaml"], cwd=folder,
                          env=env, capture_output=True, text=True)  # fmt: skip
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{key}: tailtune train failed:\n{done.stderr[-2000:]}")
    (run,) = [p for p in (folder / "runs").iterdir() if p.name.startswith(f"{key}-")]
    return json.loads((run / "metrics.json").read_text()), seconds


def print_row(key: str, metrics: dict, seconds: float) -> None:
    h = metrics["test"]["hierarchy"]
    levels = "  ".join(
        f"{lvl}: acc {h['levels'][lvl]['accuracy']:.3f} mF1 {h['levels'][lvl]['macro_f1']:.3f}"
        for lvl in LEVELS
    )
    hier, err = h["hierarchical"], h["errors"]
    print(f"{key:<16} {levels}  hF1 {hier['h_f1']:.3f}  train {seconds:.0f} s")
    wrong = err["sibling"] + err["wrong_branch"]
    print(f"{'':<16} wrong paths {wrong}: sibling {err['sibling']}, wrong branch "
          f"{err['wrong_branch']}; first wrong level {err['first_wrong_level']}")  # fmt: skip
    if h.get("backoff"):
        b = h["backoff"]
        cov = "  ".join(f"{lvl}: cov {v['coverage']:.3f} prec "
                        + ("-" if v["precision"] is None else f"{v['precision']:.3f}")
                        for lvl, v in b["levels"].items())  # fmt: skip
        print(f"{'':<16} back-off {cov}  unknown {b['unknown']:.3f}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-rows", type=int, default=8000)
    parser.add_argument("--out", type=Path, help="the user's folder (default: a temporary one)")
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from quality import data_root

    root = data_root() / "goemotions"
    with tempfile.TemporaryDirectory(prefix="tailtune-user-") as tmp:
        folder = args.out or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        sizes = write_folder(folder, root, args.train_rows)
        print(f"== GoEmotions, sentiment > category > emotion, in {folder}: {sizes}")
        for key in args.models.split(","):
            write_config(folder, key)
            metrics, seconds = train(folder, key)
            print_row(key, metrics, seconds)


if __name__ == "__main__":
    main()
