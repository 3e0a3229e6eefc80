"""Ingredient ablation of the cpu-longtail recipe: one change at a time, paired against the recipe.

    nice -n 10 python benchmarks/ingredients.py --datasets cfpb,goemotions \
        --variants prototype,carves3 [--out benchmarks/RESULTS.md]
    nice -n 5 python benchmarks/ingredients.py --datasets cfpb --seeds 42,43,44 \
        --variants carves3,combo --threads 1 --workdir /tmp/ingred/cells [--out FILE]

Each variant is the shipped recipe (``tailtune train --recipe cpu-longtail``, built by
``build_backend`` from its YAML) with ONE change, given as a partial config merged over it
(:data:`VARIANTS`). Every model trains on the same training split with the same seed, and so on
the same 90/10 carve: whatever a variant chooses (blend weights, τ, its own settings) is chosen
on that carve, never on test. The test split is read once per model, to score it; the
difference to the recipe is a paired stratified bootstrap over the test rows
(``tailtune.evaluation.noise.paired_bootstrap``, Koehn 2004), which measures test-sample noise
only (a different seed or carve moves CFPB macro F1 by about ±0.012: benchmarks/RESULTS.md,
"cfpb: refit").

One seed cannot rank ingredients: another seed (another carve) moves the recipe's own test
figure by more than the test-row interval. With ``--seeds`` every model runs at each seed (at one
seed every model sees the same carve), is paired against the recipe of its seed, and the summary
gives each variant's mean difference over seeds with an interval counting seed and test-row
noise (:func:`seed_summary`). ``--workdir`` keeps each (seed, variant)'s predictions and figures
on disk: a stopped run resumes without refitting them. Before the first fit the whole training
split and the test split are embedded once (:func:`embed_whole_split`), so every seed's carve
reads the embedding memo, also in a resumed process.

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
    "contrastive": (
        members(
            TFIDF,
            {
                "model": {
                    "backend": "embedding_head",
                    "embedding": {"body_steps": 400, "body_lr": 1e-4, "body_tokens": 300_000},
                }
            },
        ),
        "head on a MiniLM body tuned contrastively first (SetFit's cosine-similarity pairs): "
        "400 PK steps of 32 texts at lr 1e-4, at most 300,000 tokens read",
    ),  # fmt: skip
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


def recipe_config(args):
    """The shipped recipe's config at ``--threads``."""
    from tailtune.config import load_config, recipe_path

    sets = [f"train.num_threads={args.threads}", *(getattr(args, "recipe_set", None) or [])]
    return load_config(recipe_path("cpu-longtail"), sets)


def load_split(name: str) -> dict:
    """One data set's training and test rows, its class counts and tier thresholds."""
    train, test = load_dataset(name, data_root())
    y = train["label"].astype(str).to_numpy()
    head_min, tail_max = tier_thresholds(name)
    return {
        "X": train["text"].tolist(), "y": y,
        "Xt": test["text"].tolist(), "yt": test["label"].astype(str).to_numpy(),
        "counts": dict(zip(*np.unique(y, return_counts=True), strict=True)),
        "head_min": head_min, "tail_max": tail_max,
    }  # fmt: skip


def fit_cell(variant: str, cfg, data: dict) -> tuple[dict, np.ndarray]:
    """One model (the recipe with ``variant``'s change, config ``cfg``) fitted on the training
    rows and scored on test: its row (no Δ yet) and its test predictions."""
    from tailtune.backends import build_backend
    from tailtune.evaluation import compute_metrics

    t0, c0 = time.perf_counter(), time.process_time()
    ens = build_backend(cfg)
    texts, labels = with_label_names(data["X"], data["y"], cfg.objective.label_name_examples)
    ens.fit(texts, labels)
    fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
    t1 = time.perf_counter()
    pred = ens.predict(data["Xt"])
    predict_s = time.perf_counter() - t1
    m = compute_metrics(data["yt"], pred, train_counts=data["counts"],
                        head_min=data["head_min"], tail_max=data["tail_max"])  # fmt: skip
    info = ens.info_
    # seconds the head spent embedding (0 when every text came from the cache or the memo)
    embed = [(mm.info_ or {}).get("embed_s") for mm in ens.members_]
    row = {
        "variant": variant,
        "seed": cfg.seed,
        "macro_f1": m["macro_f1"],
        "accuracy": m["accuracy"],
        "tail_f1": m.get("tiers", {}).get("tail", {}).get("mean_f1"),
        "tune_f1": info.get("tune_macro_f1"),
        "members": info.get("member_tune_macro_f1"),
        "choice": f"w={'/'.join(f'{w:g}' for w in info['weights'])}, τ={info['posthoc_tau']:g}",
        "fit_s": fit_s,
        "fit_cpu": fit_cpu,
        "embed_s": sum(e for e in embed if e is not None),
        "predict_s": predict_s,
        "n_test": len(data["Xt"]),
    }
    return row, np.asarray(pred, dtype=str)


def pair(row: dict, yt, recipe_pred, pred, n_boot: int) -> dict:
    """``row`` with its macro-F1 difference to the recipe of the same seed (paired bootstrap)."""
    from tailtune.evaluation.noise import paired_bootstrap

    if recipe_pred is None:
        return {**row, "diff": None, "low": None, "high": None, "meaningful": False}
    b = paired_bootstrap(yt, recipe_pred, pred, n_boot=n_boot, seed=0)["macro_f1"]
    return {**row, "diff": b["diff"], "low": b["low"], "high": b["high"],
            "meaningful": b["meaningful"]}  # fmt: skip


def run_dataset(name: str, variants: list[str], args, write=lambda rows: None) -> list[dict]:
    """The recipe and each variant on one data set; one row each, paired against the recipe."""
    import warnings

    warnings.filterwarnings("ignore")
    reuse_identical_member_fits()
    _FITTED.clear()  # one data set's fits at a time
    data = load_split(name)
    print(f"\n== {name}: train {len(data['y'])} ({len(data['counts'])} classes), "
          f"test {len(data['yt'])}", flush=True)  # fmt: skip
    base = recipe_config(args)
    rows, recipe_pred = [], None
    for variant in ["recipe", *[v for v in variants if v != "recipe"]]:
        row, pred = fit_cell(variant, base.merged(VARIANTS[variant][0]), data)
        rows.append(pair(row, data["yt"], recipe_pred, pred, args.n_boot))
        recipe_pred = pred if recipe_pred is None else recipe_pred
        print(format_row(rows[-1]), flush=True)
        write(rows)
    return rows


def embed_whole_split(cfg, data: dict) -> None:
    """Embed every training text (class names included) and every test text once, before any
    carve: the embedding memo then serves each seed's carves, also in a resumed process (the
    disk cache is keyed by a whole list of texts, so a carve not seen before would miss it).
    A row is the same whichever list computed it, up to float rounding (the memo's contract)."""
    from tailtune.backends import build_backend

    heads = [m for m in build_backend(cfg).members if hasattr(m, "_embed")]
    texts, _ = with_label_names(data["X"], data["y"], cfg.objective.label_name_examples)
    c0 = time.process_time()
    for head in heads[:1]:  # the recipe's members share one encoder reading
        head._embed(list(texts))
        head._embed(list(data["Xt"]))
    print(f"embedded the whole split once: {time.process_time() - c0:.0f} CPU s", flush=True)


def config_digest(cfg) -> str:
    """Hash of a resolved config: a stored cell is reused only for the same config."""
    import hashlib
    import json

    from tailtune.config import config_to_dict

    d = config_to_dict(cfg)
    embedding = d.get("model", {}).get("embedding", {})
    if not embedding.get("body_steps"):  # body tuning off: its settings change nothing, and
        for key in [k for k in embedding if k.startswith("body_")]:  # cells stored before they
            del embedding[key]  # existed stay valid
    body = json.dumps(d, sort_keys=True, default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]


def stored_cell(workdir, name: str, variant: str, cfg, data: dict,
                before_fit=lambda: None) -> tuple[dict, np.ndarray]:  # fmt: skip
    """The (row, test predictions) of one (seed, variant): read from ``workdir`` when a finished
    run of the same config left it there, else fitted now and written there (so a stopped run
    resumes without refitting finished cells)."""
    import json

    from tailtune._atomic import write_text

    path = None if workdir is None else Path(workdir) / name / f"seed{cfg.seed}" / f"{variant}.json"
    digest = config_digest(cfg)
    if path is not None and path.is_file():
        cell = json.loads(path.read_text(encoding="utf-8"))
        if cell.get("config") == digest and len(cell["pred"]) == len(data["yt"]):
            return cell["row"], np.asarray(cell["pred"], dtype=str)
        print(f"{path}: another config or test split; refitting", flush=True)
    before_fit()
    row, pred = fit_cell(variant, cfg, data)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, json.dumps({"config": digest, "row": row, "pred": pred.tolist()}))
    return row, pred


def run_seeds(name, variants, seeds, args, write=lambda rows, summary: None) -> list[dict]:
    """The recipe and each variant at every seed of ``seeds`` (at one seed, every model sees
    the same carve), each paired against the recipe of its own seed; then the summary over
    seeds (:func:`seed_summary`)."""
    import warnings

    warnings.filterwarnings("ignore")
    reuse_identical_member_fits()
    data = load_split(name)
    print(f"\n== {name}: train {len(data['y'])} ({len(data['counts'])} classes), "
          f"test {len(data['yt'])}, seeds {seeds}", flush=True)  # fmt: skip
    base = recipe_config(args)
    order = ["recipe", *[v for v in variants if v != "recipe"]]
    rows, preds, primed = [], {}, []

    def prime():  # before the first fit of this process, not for cells read back
        if not primed:
            embed_whole_split(base, data)
            primed.append(True)

    for seed in seeds:
        _FITTED.clear()  # fits are keyed by seed: none is shared across seeds
        at_seed = base.merged({"seed": seed})
        for variant in order:
            cfg = at_seed.merged(VARIANTS[variant][0])
            row, pred = stored_cell(args.workdir, name, variant, cfg, data, prime)
            preds[seed, variant] = pred
            rows.append(pair(row, data["yt"], preds[seed, "recipe"] if variant != "recipe" else None,
                             pred, args.n_boot))  # fmt: skip
            print(format_row(rows[-1]), flush=True)
            write(rows, seed_summary(data["yt"], preds, seeds, order, args.n_boot))
    return rows


def seed_summary(yt, preds: dict, seeds, variants, n_boot: int, level: float = 0.95) -> list[dict]:
    """Per variant: its macro-F1 difference to the recipe at each finished seed, their mean and
    an interval of the mean that counts seed noise and test-row noise.

    The variance of a mean over n seeds of Δ_s (variant minus recipe, one test set) has two
    parts (Bouthillier et al. 2021, "Accounting for variance in machine learning benchmarks",
    MLSys): the seeds' (another carve, other member seeds), estimated by s²/n from the spread
    of the n observed Δ_s, and the test rows', v_rows, estimated by a paired stratified
    bootstrap over the test rows (Koehn 2004) that scores every seed's pair on the same
    resampled rows and averages them. The interval is mean ± t(df)·√(s²/n + v_rows), Student's
    t with the Welch–Satterthwaite degrees of freedom of the sum (Satterthwaite 1946):
    df = (n−1)·(s²/n + v_rows)² / (s²/n)², between n−1 when the seeds dominate and the normal
    limit when the rows do (the bootstrap's own degrees of freedom taken as unlimited). It is
    a little conservative: s² on one test set already carries some row noise. ``verdict`` is
    win / loss only when the interval excludes 0."""
    from scipy import stats

    from tailtune.evaluation._bootstrap import encode, resampled_scores, stratified_indices

    done = [s for s in seeds if (s, "recipe") in preds]
    out = []
    for variant in variants:
        at = [s for s in done if (s, variant) in preds]
        if not at:
            continue
        classes, g, codes = encode(yt, *[preds[s, "recipe"] for s in at],
                                   *[preds[s, variant] for s in at])  # fmt: skip
        n, full = len(at), np.arange(len(g))[None, :]
        idx = stratified_indices(g, n_boot, 0)

        def f1(c, rows, g=g, k=len(classes)):
            return resampled_scores(g, c, rows, k)[1]

        score = np.array([f1(codes[n + i], full)[0] for i in range(n)])
        delta = score - np.array([f1(codes[i], full)[0] for i in range(n)])
        row = {"variant": variant, "seeds": at, "scores": score.tolist(),
               "deltas": delta.tolist(), "mean": float(delta.mean()),
               "score_mean": float(score.mean()),
               "score_sd": float(score.std(ddof=1)) if n > 1 else None}  # fmt: skip
        if variant != "recipe":
            rows_mean = np.mean([f1(codes[n + i], idx) - f1(codes[i], idx) for i in range(n)], 0)
            v_rows = float(rows_mean.var(ddof=1))
            v_seed = float(delta.var(ddof=1)) / n if n > 1 else None
            row.update(sd_seed=None if v_seed is None else float(delta.std(ddof=1)),
                       se_rows=float(np.sqrt(v_rows)), low=None, high=None, verdict="one seed")  # fmt: skip
            if v_seed is not None:
                df = (n - 1) * (v_seed + v_rows) ** 2 / v_seed**2 if v_seed > 0 else np.inf
                half = stats.t.ppf(0.5 + level / 2, df) * np.sqrt(v_seed + v_rows)
                row["df"] = float(df)
                low, high = row["mean"] - half, row["mean"] + half
                verdict = "win" if low > 0 else "loss" if high < 0 else "within the noise"
                row.update(low=float(low), high=float(high), verdict=verdict)
        out.append(row)
    return out


def summary_table(summary: list[dict], seeds) -> str:
    """The summary over seeds as a Markdown table."""
    f = lambda v: "–" if v is None else f"{v:+.4f}"  # noqa: E731
    cols = " | ".join(f"seed {s}" for s in seeds)
    out = [
        f"| variant | {cols} | mean | 95% interval (seeds + test rows; t, Welch–Satterthwaite df) | sd over seeds "
        "| test-row SE of the mean | verdict |",
        "|---|" + "---|" * (len(seeds) + 6),
    ]
    for r in summary:
        by = dict(
            zip(r["seeds"], r["scores" if r["variant"] == "recipe" else "deltas"], strict=True)
        )
        if r["variant"] == "recipe":
            cells = " | ".join("–" if s not in by else f"{by[s]:.4f}" for s in seeds)
            sd = "–" if r["score_sd"] is None else f"{r['score_sd']:.4f}"
            out.append(
                f"| recipe (test macro F1) | {cells} | {r['score_mean']:.4f} | – | {sd} | – | – |"
            )
            continue
        cells = " | ".join(f(by.get(s)) for s in seeds)
        ci = "–" if r["low"] is None else f"[{r['low']:+.4f}, {r['high']:+.4f}] (df {r['df']:.1f})"
        sd = "–" if r["sd_seed"] is None else f"{r['sd_seed']:.4f}"
        out.append(f"| {r['variant']} (Δ) | {cells} | {r['mean']:+.4f} | {ci} | {sd} "
                   f"| {r['se_rows']:.4f} | {r['verdict']} |")  # fmt: skip
    return "\n".join(out)


def format_row(r: dict) -> str:
    """One console line."""
    diff = "" if r["diff"] is None else (
        f"Δ {r['diff']:+.4f} [{r['low']:+.4f}, {r['high']:+.4f}]"
        + (" *" if r["meaningful"] else ""))  # fmt: skip
    seed = "" if r.get("seed") is None else f"seed {r['seed']} "
    return seed + (
        f"{r['variant']:<10} test mF1 {r['macro_f1']:.4f} acc {r['accuracy']:.3f} {diff:<32} "
        f"carve mF1 {r['tune_f1']} members {r['members']} {r['choice']}  "
        f"fit {r['fit_s']:.0f}s ({r['fit_cpu']:.0f} CPU s) predict {r['predict_s']:.1f}s"
    )


def markdown_table(rows: list[dict], seeds: bool = False) -> str:
    """One data set's rows as a Markdown table (with a seed column when ``seeds``)."""
    f = lambda v: "–" if v is None else f"{v:.3f}"  # noqa: E731
    out = [
        ("| seed " if seeds else "")
        + "| variant | change | test macro F1 | Δ vs recipe [95% paired bootstrap] | accuracy "
        "| tail F1 | carve macro F1 (members) | blend, τ | fit s (CPU s) | predict rows/s |",
        ("|---" if seeds else "") + "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        diff = "–" if r["diff"] is None else (
            f"{r['diff']:+.4f} [{r['low']:+.4f}, {r['high']:+.4f}]"
            + (" (meaningful)" if r["meaningful"] else ""))  # fmt: skip
        out.append(
            (f"| {r['seed']} " if seeds else "")
            + f"| {r['variant']} | {VARIANTS[r['variant']][1]} | {f(r['macro_f1'])} | {diff} "
            f"| {f(r['accuracy'])} | {f(r['tail_f1'])} | {r['tune_f1']} ({r['members']}) "
            f"| {r['choice']} | {r['fit_s']:.0f} ({r['fit_cpu']:.0f}) "
            f"| {r['n_test'] / max(r['predict_s'], 1e-9):.0f} |"
        )
    return "\n".join(out)


def parse_seeds(text: str | None) -> list[int] | None:
    """``--seeds 42,43,44`` as integers (None: the recipe's own seed, one run)."""
    if text is None:
        return None
    try:
        seeds = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        seeds = []
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise SystemExit(f"--seeds: got {text!r}, expected distinct non-negative integers "
                         "separated by commas, such as 42,43,44")  # fmt: skip
    return seeds


def main(argv=None) -> None:
    """Parse arguments, run every data set, print and optionally write the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="cfpb,goemotions")
    ap.add_argument("--variants", default=",".join(v for v in VARIANTS if v != "recipe"))
    ap.add_argument("--threads", type=int, default=2, help="torch threads (encoder and head)")
    ap.add_argument("--recipe-set", action="append", metavar="KEY=VALUE",
                    help="an override of the recipe every variant starts from (repeatable), "
                    "e.g. model.embedding.body_steps=400 to weigh ingredients on a tuned body")  # fmt: skip
    ap.add_argument("--n-boot", type=int, default=1000, help="paired-bootstrap resamples")
    ap.add_argument("--seeds", default=None,
                    help="comma-separated seeds: every model at each, paired per seed, "
                         "then the summary over seeds")  # fmt: skip
    ap.add_argument("--workdir", default=None,
                    help="with --seeds: folder keeping each (seed, variant)'s predictions and "
                         "figures, so a stopped run resumes without refitting them")  # fmt: skip
    ap.add_argument("--out", default=None, help="Markdown file to write a section of")
    args = ap.parse_args(argv)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"--variants: unknown {unknown}, expected some of {', '.join(VARIANTS)}")
    seeds = parse_seeds(args.seeds)
    seeded = [v for v in variants if "seed" in VARIANTS[v][0]]
    if seeds and seeded:
        raise SystemExit(f"--variants: {seeded} set their own seed; with --seeds every variant "
                         "runs at each seed, so leave the null variants out")  # fmt: skip
    cmd = "python benchmarks/ingredients.py " + " ".join(sys.argv[1:] if argv is None else argv)
    for name in (d.strip() for d in args.datasets.split(",")):
        t0 = time.perf_counter()

        def write(rows, summary=None, name=name, t0=t0):  # after every row: a long run keeps
            if not args.out:  # what it did
                return
            kinds = len(set(["recipe", *variants]))
            if seeds:
                title = f"{name}: ingredients over seeds {','.join(map(str, seeds))} ({','.join(variants)})"  # fmt: skip
                done = "" if len(rows) == kinds * len(seeds) else " (unfinished)"
                tables = (f"Summary over seeds (test macro F1 difference to the recipe of the same "
                          f"seed):\n\n{summary_table(summary, seeds)}\n\nEvery (seed, variant):\n\n"
                          f"{markdown_table(rows, seeds=True)}")  # fmt: skip
            else:
                title = f"{name}: ingredients ({','.join(variants)})"
                done = "" if len(rows) == kinds else " (unfinished)"
                tables = markdown_table(rows)
            section = (
                f"## {title}\n\nProduced by `{cmd}` on "
                f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
                f"{time.perf_counter() - t0:.0f} s{done}.\n"
                f"Machine: {machine()}.\n\n{tables}\n"
            )
            write_section(Path(args.out), title, section)

        if seeds:
            run_seeds(name, variants, seeds, args, write)
        else:
            run_dataset(name, variants, args, write)
        print(f"-- {name}: {time.perf_counter() - t0:.0f} s in all", flush=True)


if __name__ == "__main__":
    main()
