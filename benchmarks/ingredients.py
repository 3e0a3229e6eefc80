"""Ingredient ablation of the cpu-longtail recipe: one change at a time, paired against the recipe.

    nice -n 10 python benchmarks/ingredients.py --datasets cfpb,goemotions \
        --variants prototype,carves3 [--out benchmarks/RESULTS.md]

Each variant is the shipped recipe (``tailtune train --recipe cpu-longtail``, built by
``build_backend`` from its YAML) with ONE change, given as a partial config merged over it
(:data:`VARIANTS`). Every model trains on the same training split with the same seed, and so on
the same 90/10 carve: whatever a variant chooses (blend weights, τ, its own settings) is chosen
on that carve, never on test. The test split is read once per model, to score it; the
difference to the recipe is a paired stratified bootstrap over the test rows
(``tailtune.evaluation.noise.paired_bootstrap``, Koehn 2004), which measures test-sample noise
only (a different seed or carve moves CFPB macro F1 by about ±0.012: benchmarks/RESULTS.md,
"cfpb: refit").

Embeddings come from the on-disk cache and, inside one process, from the embedding memo
(``tailtune.backends._embeddings``): a variant that re-reads texts the recipe embedded embeds
nothing. Seconds are the variant's fit and predict wall time in this process (cache state
included), on a machine shared with other jobs: read them as relative costs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality import (  # noqa: E402
    data_root,
    load_dataset,
    machine,
    tier_thresholds,
    with_label_names,
    write_section,
)

TFIDF = {"model": {"backend": "tfidf"}}
HEAD = {"model": {"backend": "embedding_head"}}


def members(*specs) -> dict:
    """A partial config replacing the ensemble's members."""
    return {"model": {"ensemble": {"members": list(specs)}}}


VARIANTS: dict[str, tuple[dict, str]] = {
    "recipe": ({}, "the shipped recipe"),
    "prototype": (
        members(TFIDF, HEAD, {"model": {"backend": "prototype"}}),
        "+ class-centroid prototype member (cosine, temperature 0.05)",
    ),
    "carves3": (
        {"model": {"ensemble": {"carves": 3}}},
        "blend weights and τ chosen on 3 seeded carves pooled (members of the first kept)",
    ),
    "crt": (
        members(
            TFIDF, {**HEAD, "objective": {"class_weights": "none", "sampler": "class_balanced"}}
        ),
        "head trained with class-balanced sampling, unweighted loss (cRT, Kang et al. 2020)",
    ),  # fmt: skip
    "taunorm": (
        members(
            TFIDF, {"model": {"backend": "embedding_head", "embedding": {"tune_tau_norm": True}}}
        ),
        "head rows divided by ‖w‖^τ, τ chosen on the carve (τ-norm, Kang et al. 2020)",
    ),  # fmt: skip
    "nameinit": (
        members(
            TFIDF, {"model": {"backend": "embedding_head", "embedding": {"init": "label_names"}}}
        ),
        "head rows start at the class names' unit embeddings",
    ),  # fmt: skip
    "combo": (
        {
            "model": {
                "ensemble": {
                    "carves": 3,
                    "members": [
                        TFIDF,
                        {
                            "model": {
                                "backend": "embedding_head",
                                "embedding": {"tune_tau_norm": True},
                            }
                        },
                        {"model": {"backend": "prototype"}},
                    ],
                }
            }
        },
        "prototype + taunorm + carves3 together (fixed before their GoEmotions and CFPB rows)",
    ),  # fmt: skip
    # nulls: no ingredient, another seed (so another carve and other member seeds); how far
    # the recipe's test figure moves by the luck of its own carve, the yardstick for the rest
    "seed43": ({"seed": 43}, "null: the recipe with seed 43 (another carve), no ingredient"),
    "seed44": ({"seed": 44}, "null: the recipe with seed 44 (another carve), no ingredient"),
    "chunkmean": (
        members(TFIDF, {"model": {"backend": "embedding_head", "long_text": "chunk_mean"}}),
        "head reads long texts as overlapping 256-token chunks, embeddings averaged",
    ),
}


_FITTED: dict[str, object] = {}


def reuse_identical_member_fits() -> None:
    """Fit each distinct member once per process: a member with the same parameters (seed
    included) trained on the same rows with the same early-stopping rows is the same model, so
    the TF-IDF member of every variant that leaves it alone is the recipe's own fit. Only the
    benchmark's time changes, never a figure; fit seconds in the table then count what each
    variant added to the ones before it."""
    import hashlib

    from tailtune.backends.ensemble import EnsembleBackend

    def digest(*parts) -> str:
        h = hashlib.sha256()
        for part in parts:
            h.update(repr(part).encode("utf-8"))
        return h.hexdigest()

    def fit_member(self, member, texts, labels, tune, work):
        params = sorted((k, repr(v)) for k, v in member.get_params(deep=False).items())
        key = digest(type(member).__name__, params, list(texts), [str(x) for x in labels],
                     None if tune is None else (list(tune[0]), [str(x) for x in tune[1]]))  # fmt: skip
        if key not in _FITTED:
            _FITTED[key] = member.fit(texts, labels, eval_set=tune, work_dir=work)
        return _FITTED[key]

    EnsembleBackend._fit_member = fit_member


def run_dataset(name: str, variants: list[str], args, write=lambda rows: None) -> list[dict]:
    """The recipe and each variant on one data set; one row each, paired against the recipe."""
    import warnings

    from tailtune.backends import build_backend
    from tailtune.config import load_config, recipe_path
    from tailtune.evaluation import compute_metrics
    from tailtune.evaluation.noise import paired_bootstrap

    warnings.filterwarnings("ignore")
    reuse_identical_member_fits()
    _FITTED.clear()  # one data set's fits at a time
    train, test = load_dataset(name, data_root())
    X, y = train["text"].tolist(), train["label"].astype(str).to_numpy()
    Xt, yt = test["text"].tolist(), test["label"].astype(str).to_numpy()
    counts = dict(zip(*np.unique(y, return_counts=True), strict=True))
    head_min, tail_max = tier_thresholds(name)
    print(f"\n== {name}: train {len(y)} ({len(counts)} classes), test {len(yt)}", flush=True)
    base = load_config(recipe_path("cpu-longtail"), [f"train.num_threads={args.threads}"])
    rows, recipe_pred = [], None
    for variant in ["recipe", *[v for v in variants if v != "recipe"]]:
        cfg = base.merged(VARIANTS[variant][0])
        t0, c0 = time.perf_counter(), time.process_time()
        ens = build_backend(cfg)
        texts, labels = with_label_names(X, y, cfg.objective.label_name_examples)
        ens.fit(texts, labels)
        fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
        t1 = time.perf_counter()
        pred = ens.predict(Xt)
        predict_s = time.perf_counter() - t1
        m = compute_metrics(yt, pred, train_counts=counts, head_min=head_min, tail_max=tail_max)
        info = ens.info_
        row = {
            "variant": variant,
            "macro_f1": m["macro_f1"],
            "accuracy": m["accuracy"],
            "tail_f1": m.get("tiers", {}).get("tail", {}).get("mean_f1"),
            "tune_f1": info.get("tune_macro_f1"),
            "members": info.get("member_tune_macro_f1"),
            "choice": f"w={'/'.join(f'{w:g}' for w in info['weights'])}, τ={info['posthoc_tau']:g}",
            "fit_s": fit_s,
            "fit_cpu": fit_cpu,
            "predict_s": predict_s,
            "n_test": len(Xt),
        }
        if recipe_pred is None:
            recipe_pred = pred
            row.update(diff=None, low=None, high=None, meaningful=False)
        else:
            b = paired_bootstrap(yt, recipe_pred, pred, n_boot=args.n_boot, seed=0)["macro_f1"]
            row.update(diff=b["diff"], low=b["low"], high=b["high"], meaningful=b["meaningful"])
        rows.append(row)
        print(format_row(row), flush=True)
        write(rows)
    return rows


def format_row(r: dict) -> str:
    """One console line."""
    diff = "" if r["diff"] is None else (
        f"Δ {r['diff']:+.4f} [{r['low']:+.4f}, {r['high']:+.4f}]"
        + (" *" if r["meaningful"] else ""))  # fmt: skip
    return (
        f"{r['variant']:<10} test mF1 {r['macro_f1']:.4f} acc {r['accuracy']:.3f} {diff:<32} "
        f"carve mF1 {r['tune_f1']} members {r['members']} {r['choice']}  "
        f"fit {r['fit_s']:.0f}s ({r['fit_cpu']:.0f} CPU s) predict {r['predict_s']:.1f}s"
    )


def markdown_table(rows: list[dict]) -> str:
    """One data set's rows as a Markdown table."""
    f = lambda v: "–" if v is None else f"{v:.3f}"  # noqa: E731
    out = [
        "| variant | change | test macro F1 | Δ vs recipe [95% paired bootstrap] | accuracy "
        "| tail F1 | carve macro F1 (members) | blend, τ | fit s (CPU s) | predict rows/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        diff = "–" if r["diff"] is None else (
            f"{r['diff']:+.4f} [{r['low']:+.4f}, {r['high']:+.4f}]"
            + (" (meaningful)" if r["meaningful"] else ""))  # fmt: skip
        out.append(
            f"| {r['variant']} | {VARIANTS[r['variant']][1]} | {f(r['macro_f1'])} | {diff} "
            f"| {f(r['accuracy'])} | {f(r['tail_f1'])} | {r['tune_f1']} ({r['members']}) "
            f"| {r['choice']} | {r['fit_s']:.0f} ({r['fit_cpu']:.0f}) "
            f"| {r['n_test'] / max(r['predict_s'], 1e-9):.0f} |"
        )
    return "\n".join(out)


def main(argv=None) -> None:
    """Parse arguments, run every data set, print and optionally write the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="cfpb,goemotions")
    ap.add_argument("--variants", default=",".join(v for v in VARIANTS if v != "recipe"))
    ap.add_argument("--threads", type=int, default=2, help="torch threads (encoder and head)")
    ap.add_argument("--n-boot", type=int, default=1000, help="paired-bootstrap resamples")
    ap.add_argument("--out", default=None, help="Markdown file to write a section of")
    args = ap.parse_args(argv)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"--variants: unknown {unknown}, expected some of {', '.join(VARIANTS)}")
    cmd = "python benchmarks/ingredients.py " + " ".join(sys.argv[1:] if argv is None else argv)
    for name in (d.strip() for d in args.datasets.split(",")):
        t0 = time.perf_counter()

        def write(rows, name=name, t0=t0):  # after every row: a long run keeps what it did
            if not args.out:
                return
            title = f"{name}: ingredients ({','.join(variants)})"
            done = "" if len(rows) == len(set(["recipe", *variants])) else " (unfinished)"
            section = (
                f"## {title}\n\nProduced by `{cmd}` on "
                f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
                f"{time.perf_counter() - t0:.0f} s{done}.\n"
                f"Machine: {machine()}.\n\n{markdown_table(rows)}\n"
            )
            write_section(Path(args.out), title, section)

        run_dataset(name, variants, args, write)
        print(f"-- {name}: {time.perf_counter() - t0:.0f} s in all", flush=True)


if __name__ == "__main__":
    main()
