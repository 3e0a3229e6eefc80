"""How the cpu-longtail ensemble should choose its blend weights: a study on real data.

    python benchmarks/blend_rule.py --datasets atis,banking77

Fits the shipped recipe once per data set (same split as benchmarks/quality.py), then scores on
the test split three ways of choosing the blend weights on the recipe's carved 10%: macro F1
(what ships), the blend's negative log-likelihood (a proper scoring rule, smoother on a small
carve), and fixed equal weights; τ is then tuned on the carve by macro F1 in every case.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402  (the data sets and label-name helper of the quality benchmark)


def study(name: str, threads: int) -> list[str]:
    from tailtune.backends import build_backend
    from tailtune.backends.ensemble import blend, weight_grid
    from tailtune.config import load_config, recipe_path
    from tailtune.evaluation import compute_metrics
    from tailtune.objectives.adjust import adjust_probabilities, tune_tau

    train, test = quality.load_dataset(name, quality.data_root())
    X, y = train["text"].tolist(), train["label"].astype(str).to_numpy()
    Xt, yt = test["text"].tolist(), test["label"].astype(str).to_numpy()
    ens = build_backend(load_config(recipe_path("cpu-longtail"), [f"train.num_threads={threads}"]))
    texts, labels = quality.with_label_names(X, y, 1)
    ens.fit(texts, labels)
    # the same carve the recipe tuned on (split_frame is seeded)
    _, _, (carve_x, carve_y) = ens._carve(texts, np.asarray(labels, dtype=object).astype(str), None)
    gold = ens.space_.encode(carve_y)
    p_carve = [ens._member_proba(m, carve_x) for m in ens.members_]
    p_test = [ens._member_proba(m, Xt) for m in ens.members_]

    def scored(rule, w, tau):
        p = adjust_probabilities(blend(p_test, w), ens.prior_, tau)
        m = compute_metrics(yt, ens.classes_[p.argmax(axis=1)])
        weights = "/".join(f"{x:g}" for x in w)
        return (
            f"| {name} | {rule} | {weights} | {tau:g} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} |"
        )

    rows = [scored("macro F1 (shipped)", tuple(ens.weights_), ens.tau_)]
    rows_idx = np.arange(len(gold))
    nll = {w: -np.mean(np.log(blend(p_carve, w)[rows_idx, gold] + 1e-12)) for w in weight_grid(2)}
    w_nll = min(nll, key=nll.get)
    rows.append(scored("NLL", w_nll, tune_tau(blend(p_carve, w_nll), gold, ens.prior_)[0]))
    equal = (0.5, 0.5)
    rows.append(scored("equal", equal, tune_tau(blend(p_carve, equal), gold, ens.prior_)[0]))
    return rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="atis,banking77")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    print("| data set | weights chosen by | TF-IDF/MiniLM | τ | test accuracy | test macro F1 |")
    print("|---|---|---|---|---|---|")
    for name in args.datasets.split(","):
        for row in study(name.strip(), args.threads):
            print(row, flush=True)


if __name__ == "__main__":
    main()
