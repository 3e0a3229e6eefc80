"""Quality benchmark on real long-tail data: scikit-learn anchors vs tailtune recipes.

    python benchmarks/quality.py --datasets atis,cfpb [--out benchmarks/RESULTS.md]
    python benchmarks/quality.py --refit-only [--out benchmarks/RESULTS.md]

``--refit`` (or ``--refit-only``) adds the refit comparison: for TF-IDF with τ chosen on
validation and for the cpu-longtail recipe, test scores of the selection model (trained without
the validation rows) and of the refit model (``tailtune.workflow.refit.refit_backend``, the code
``train.refit`` runs: every validation choice frozen, retrained on train + validation), with the
paired-bootstrap interval of the difference (``tailtune.evaluation.noise.paired_bootstrap``, the
machinery of ``tailtune noise``).

For each data set every model trains on the SAME split and is scored on the same test split with
``tailtune.evaluation.compute_metrics``. Anchors are built directly with scikit-learn; recipes go
through tailtune's backends. Anything tuned (post-hoc τ, temperature, early stopping, the
combination's τ) uses a 10% stratified validation split carved from the training data, never the
test split; recipes without tuning train on the full training split, like the anchors.

Memory: peak process RSS (psutil, sampled every 20 ms in a thread) minus RSS when the model
started, so it counts numpy/torch allocations that tracemalloc cannot see.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil

REPO = Path(__file__).resolve().parents[1]
DATASETS = ("banking77", "atis", "goemotions", "cfpb")
# Tier thresholds by training count; the CFPB sample is small (as in configs/cfpb-tfidf.yaml).
TIERS = {"cfpb": (500, 20)}
MAX_LENGTH = {"banking77": 64, "atis": 64, "goemotions": 64, "cfpb": 256}


def tier_thresholds(name: str) -> tuple[int, int]:
    """(head_min, tail_max) of a data set: its own, else tailtune's fixed defaults."""
    from tailtune.evaluation.tiers import DEFAULT_HEAD_MIN, DEFAULT_TAIL_MAX

    return TIERS.get(name, (DEFAULT_HEAD_MIN, DEFAULT_TAIL_MAX))


def data_root() -> Path:
    """``$TAILTUNE_SHARED_DATA`` or ``../shared/data`` next to the repository."""
    return Path(os.environ.get("TAILTUNE_SHARED_DATA") or REPO / ".." / "shared" / "data")


def load_dataset(name: str, root: Path, seed: int = 42):
    """(train, test) frames of one data set, as benchmarks/README.md describes (never a holdout);
    ``seed`` draws cfpb's test split (the other sets ship theirs)."""
    from tailtune.data import load_table
    from tailtune.data.clean import clean
    from tailtune.data.split import split_frame

    if name == "banking77":
        kw = {"text_columns": ["text"], "label_columns": ["category"]}
        return tuple(load_table(root / f"banking77/{s}.csv", **kw).frame for s in ("train", "test"))
    if name == "atis":
        # '#' joins multi-intent labels; read as sets, flight#airfare and airfare#flight are one
        # class (as configs/atis-*.yaml read them).
        kw = {"format": "lines", "multi_label_separator": "#"}
        return tuple(load_table(root / f"atis/{s}", **kw).frame for s in ("train", "test"))
    if name == "goemotions":
        kw = {
            "format": "tsv",
            "column_names": ["text", "labels", "id"],
            "text_columns": ["text"],
            "label_columns": ["labels"],
            "label_names": root / "goemotions/labels.txt",
            "multi_label_separator": ",",
            "multi_label": "single",
        }
        return tuple(
            load_table(root / f"goemotions/{s}.tsv", **kw).frame for s in ("train", "test")
        )
    if name == "cfpb":
        files = [
            root / "cfpb/bdm_complaints_sample_2015-2020.csv",
            root / "cfpb/payday_personal_loan_narratives_2023.csv",
        ]
        frame = load_table(
            files,
            skip_rows=[2, 0],
            text_columns=["Consumer complaint narrative"],
            label_columns=["Issue"],
        ).frame
        frame, _ = clean(frame, min_class_size=2)
        parts = split_frame(frame, val=0.0, test=0.2, seed=seed)
        return parts.train, parts.test
    raise SystemExit(
        f"--datasets: unknown data set '{name}', expected one of {', '.join(DATASETS)}"
    )


class PeakRss:
    """Context manager: peak RSS growth (MB) over the block, sampled by a thread (psutil)."""

    def __enter__(self):
        self.proc = psutil.Process()
        self.base = self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        self.t0 = time.perf_counter()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.02)

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)
        self.mb = (self.peak - self.base) / 2**20


def sklearn_anchors(lr_solver: str) -> dict:
    """The three scikit-learn anchors (benchmarks/README.md), as factories of fitted-later pipelines."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.svm import LinearSVC

    lr_kw = (
        {"solver": "saga", "max_iter": 100}
        if lr_solver == "saga"
        else {"solver": "lbfgs", "max_iter": 300}
    )

    def word():
        return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)

    return {
        f"sk: word1-2 + LR ({lr_solver})": lambda: make_pipeline(
            word(), LogisticRegression(**lr_kw)
        ),
        f"sk: word1-2 + LR balanced ({lr_solver})": lambda: make_pipeline(
            word(), LogisticRegression(class_weight="balanced", **lr_kw)
        ),
        "sk: word1-2+char_wb2-5 + LinearSVC balanced": lambda: make_pipeline(
            make_union(
                word(), TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
            ),
            LinearSVC(class_weight="balanced"),
        ),
    }


def run_dataset(name: str, args) -> list[dict]:
    """Train every model on one data set; one result row per model."""
    import warnings

    from tailtune.data.split import split_frame

    warnings.filterwarnings("ignore")
    train, test = load_dataset(name, data_root())
    parts = split_frame(train, val=0.1, seed=42)  # validation carved from training, never test
    fit, val = parts.train, parts.val
    head_min, tail_max = tier_thresholds(name)
    X, y = train["text"].tolist(), train["label"].astype(str).to_numpy()
    Xf, yf = fit["text"].tolist(), fit["label"].astype(str).to_numpy()
    Xv, yv = val["text"].tolist(), val["label"].astype(str).to_numpy()
    Xt, yt = test["text"].tolist(), test["label"].astype(str).to_numpy()
    print(
        f"\n== {name}: train {len(y)} ({len(np.unique(y))} classes; fit {len(yf)} + val {len(yv)}), "
        f"test {len(yt)}",
        flush=True,
    )
    rows: list[dict] = []
    counts_full = dict(zip(*np.unique(y, return_counts=True), strict=True))
    counts_fit = dict(zip(*np.unique(yf, return_counts=True), strict=True))

    def score(label, pred, mem, counts, note=""):
        from tailtune.evaluation import compute_metrics

        m = compute_metrics(yt, pred, train_counts=counts, head_min=head_min, tail_max=tail_max)
        tiers = m.get("tiers", {})
        row = {
            "model": label,
            "accuracy": m["accuracy"],
            "macro_f1": m["macro_f1"],
            "zero_f1": m["zero_f1"],
            **{f"{t}_f1": tiers.get(t, {}).get("mean_f1") for t in ("head", "mid", "tail")},
            "seconds": mem.seconds,
            "mem_mb": mem.mb,
            "note": note,
        }
        rows.append(row)
        print(format_row(row), flush=True)

    for label, factory in sklearn_anchors(args.lr_solver).items():
        with PeakRss() as mem:
            pred = factory().fit(X, y).predict(Xt)
        score(label, pred, mem, counts_full)

    from tailtune.backends import make_backend

    for scheme in ("none", "sqrt_inverse", "inverse", "effective_number"):
        with PeakRss() as mem:
            pred = (
                make_backend("tfidf", char_ngrams=None, class_weights=scheme).fit(X, y).predict(Xt)
            )
        score(f"tt: tfidf word1-2 svc, w={scheme}", pred, mem, counts_full)

    with PeakRss() as mem:
        tf = make_backend(
            "tfidf", char_ngrams=None, class_weights="sqrt_inverse", tune_posthoc_tau=True
        )
        tf.fit(Xf, yf, eval_set=(Xv, yv))
        pred = tf.predict(Xt)
    score("tt: tfidf w=sqrt + posthoc τ (val)", pred, mem, counts_fit, f"τ={tf.tau_:g}")

    with PeakRss() as mem:
        tfc = make_backend(
            "tfidf", char_ngrams=(2, 5), class_weights="sqrt_inverse", tune_posthoc_tau=True
        )
        tfc.fit(Xf, yf, eval_set=(Xv, yv))
        pred = tfc.predict(Xt)
    score("tt: tfidf word+char w=sqrt + τ (val)", pred, mem, counts_fit, f"τ={tfc.tau_:g}")

    with PeakRss() as mem:
        tfn = make_backend("tfidf", char_ngrams=(2, 5), class_weights="sqrt_inverse")
        texts, labels = with_label_names(X, y)
        pred = tfn.fit(texts, labels).predict(Xt)
    score("tt: tfidf word+char w=sqrt + label names", pred, mem, counts_full)

    if args.no_embeddings:
        return rows
    if args.encoder_epochs:
        pred, mem, note = encoder_row(name, args, (Xf, yf), (Xv, yv), Xt)
        score("tt: MiniLM fine-tune w=sqrt + τ (val)", pred, mem, counts_fit, note)

    # The shipped recipe, exactly as `tailtune train --recipe cpu-longtail` builds it: it carves
    # its own tuning split from the full training data. Its members are scored alone as well.
    from tailtune.backends import build_backend
    from tailtune.config import load_config, recipe_path

    cfg = load_config(
        recipe_path("cpu-longtail"),
        [f"train.num_threads={args.threads}"],
    )
    with PeakRss() as mem:
        ens = build_backend(cfg)
        texts, labels = with_label_names(X, y, cfg.objective.label_name_examples)
        ens.fit(texts, labels)
        pred = ens.predict(Xt)
    info = ens.info_
    for i, member in enumerate(ens.members_):
        member_mem = _Fixed(seconds=float("nan"), mb=float("nan"))
        score(
            f"tt: cpu-longtail member {i} ({info['members'][i]}) alone",
            member.predict(Xt),
            member_mem,
            counts_full,
            "trained on the 90% fit part",
        )
    weights = "/".join(f"{w:g}" for w in info["weights"])
    score(
        "tt: recipe cpu-longtail (ensemble + names)",
        pred,
        mem,
        counts_full,
        f"w={weights}, τ={info['posthoc_tau']:g}",
    )
    return rows


def refit_comparison(name: str, args) -> list[dict]:
    """Selection model vs refit model on the test split, per tailtune model; one row each.

    The selection model is what a run without refit keeps: trained on the 90% fit part, τ /
    temperature / blend weights / early-stopping step chosen on the 10% validation carve (the
    recipe carves its own 10% from what it is given). The refit model is
    ``tailtune.workflow.refit.refit_backend`` on the same fitted backend: every choice frozen, retrained on
    fit + validation (the recipe's members on all of it), steps scaled by the rows.
    """
    import warnings

    from tailtune.backends import build_backend, make_backend
    from tailtune.config import load_config, recipe_path
    from tailtune.data.split import split_frame
    from tailtune.evaluation import compute_metrics
    from tailtune.evaluation.noise import paired_bootstrap
    from tailtune.workflow.refit import refit_backend

    warnings.filterwarnings("ignore")
    train, test = load_dataset(name, data_root())
    parts = split_frame(train, val=0.1, seed=42)
    fit, val = parts.train, parts.val
    head_min, tail_max = tier_thresholds(name)
    Xf, yf = fit["text"].tolist(), fit["label"].astype(str).to_numpy()
    Xv, yv = val["text"].tolist(), val["label"].astype(str).to_numpy()
    Xt, yt = test["text"].tolist(), test["label"].astype(str).to_numpy()
    print(f"\n== {name} refit: fit {len(yf)} + val {len(yv)}, test {len(yt)}", flush=True)
    rows: list[dict] = []

    def compare(label, make, *, carve_inside: bool, names: int = 0):
        """Fit the selection model, refit it, score both on test, bootstrap the difference."""
        with PeakRss() as sel_t:
            backend = make()
            if carve_inside:  # the recipe: its own carve out of the fit part, as in a run
                texts, labels = with_label_names(Xf, yf, names)
                backend.fit(texts, labels)
                n_sel = len(texts)
            else:
                backend.fit(Xf, yf, eval_set=(Xv, yv))
                n_sel = len(Xf)
            pred_sel = backend.predict(Xt)
        all_x, all_y = with_label_names(Xf + Xv, np.concatenate([yf, yv]), names)
        with PeakRss() as ref_t:
            refit, block = refit_backend(backend, all_x, all_y, n_sel)
            pred_ref = refit.predict(Xt)
        counts = dict(zip(*np.unique(np.concatenate([yf, yv]), return_counts=True), strict=True))
        m_sel = compute_metrics(yt, pred_sel, train_counts=counts, head_min=head_min,
                                tail_max=tail_max)  # fmt: skip
        m_ref = compute_metrics(yt, pred_ref, train_counts=counts, head_min=head_min,
                                tail_max=tail_max)  # fmt: skip
        boot = paired_bootstrap(yt, pred_sel, pred_ref, n_boot=args.n_boot, seed=0)["macro_f1"]
        steps = "; ".join(
            f"{s['stage'].removeprefix('model') or 'model'} step {s['selected_step']}->"
            f"{s['refit_steps']}"
            for s in block["steps"]
        )
        row = {
            "model": label,
            "acc_sel": m_sel["accuracy"], "acc_ref": m_ref["accuracy"],
            "f1_sel": m_sel["macro_f1"], "f1_ref": m_ref["macro_f1"],
            "tail_sel": m_sel["tiers"]["tail"]["mean_f1"],
            "tail_ref": m_ref["tiers"]["tail"]["mean_f1"],
            "diff": boot["diff"], "low": boot["low"], "high": boot["high"],
            "meaningful": boot["meaningful"], "sel_s": sel_t.seconds, "ref_s": ref_t.seconds,
            "note": steps,
        }  # fmt: skip
        rows.append(row)
        print(
            f"{label:<44} macro F1 {row['f1_sel']:.3f} -> {row['f1_ref']:.3f} "
            f"(diff {row['diff']:+.4f}, 95% [{row['low']:+.4f}, {row['high']:+.4f}]) "
            f"acc {row['acc_sel']:.3f} -> {row['acc_ref']:.3f}  {steps}",
            flush=True,
        )

    compare(
        "tt: tfidf word+char w=sqrt + τ (val)",
        lambda: make_backend(
            "tfidf", char_ngrams=(2, 5), class_weights="sqrt_inverse", tune_posthoc_tau=True
        ),
        carve_inside=False,
    )
    if not args.no_embeddings:
        cfg = load_config(recipe_path("cpu-longtail"), [f"train.num_threads={args.threads}"])
        compare(
            "tt: recipe cpu-longtail",
            lambda: build_backend(cfg),
            carve_inside=True,
            names=cfg.objective.label_name_examples,
        )
    return rows


def refit_table(rows: list[dict]) -> str:
    """The refit comparison of one data set as a Markdown table."""
    f = lambda v: "–" if v is None else f"{v:.3f}"  # noqa: E731
    out = [
        "| model | macro F1 selection | macro F1 refit | refit − selection [95% paired bootstrap] "
        "| accuracy sel → refit | tail F1 sel → refit | fit s sel / refit | steps |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        mark = " (meaningful)" if r["meaningful"] else ""
        out.append(
            f"| {r['model']} | {f(r['f1_sel'])} | {f(r['f1_ref'])} | {r['diff']:+.4f} "
            f"[{r['low']:+.4f}, {r['high']:+.4f}]{mark} | {f(r['acc_sel'])} → {f(r['acc_ref'])} "
            f"| {f(r['tail_sel'])} → {f(r['tail_ref'])} | {r['sel_s']:.0f} / {r['ref_s']:.0f} "
            f"| {r['note'] or '–'} |"
        )
    return "\n".join(out)


class _Fixed:
    """A stand-in for PeakRss where a row has no time or memory of its own."""

    def __init__(self, seconds: float, mb: float):
        self.seconds, self.mb = seconds, mb


def with_label_names(X, y, copies: int = 1):
    """The training texts plus each class name ``copies`` times (objective.label_name_examples)."""
    from tailtune.objectives.label_names import label_name_examples

    extra_x, extra_y = label_name_examples(sorted(set(y)), copies)
    return list(X) + extra_x, np.concatenate([y, np.asarray(extra_y, dtype=object)])


def encoder_row(name, args, fit, val, Xt):
    """Full MiniLM fine-tune with sqrt-inverse weighted CE, early stopping and τ on validation."""
    from tailtune.backends import make_backend

    with PeakRss() as mem:
        enc = make_backend(
            "encoder",
            model_name="minilm",
            max_length=min(MAX_LENGTH[name], 128),
            class_weights="sqrt_inverse",
            tune_posthoc_tau=True,
            epochs=args.encoder_epochs,
            batch_size=16,
            lr=1e-4,
            head_lr=1e-3,
            scheduler="cosine",
            warmup_ratio=0.1,
            patience=2,
            num_threads=args.threads,
            progress=False,
        )
        enc.fit(*fit, eval_set=val)
        pred = enc.predict(Xt)
    return pred, mem, f"τ={enc.tau_:g}; {args.encoder_epochs:g} epochs max"


def format_row(r: dict) -> str:
    """One text line of the console table."""
    f = lambda v: "  -  " if v is None else f"{v:.3f}"  # noqa: E731
    return (
        f"{r['model']:<46} acc {f(r['accuracy'])}  mF1 {f(r['macro_f1'])}  zero {r['zero_f1']:>3}  "
        f"head {f(r['head_f1'])} mid {f(r['mid_f1'])} tail {f(r['tail_f1'])}  "
        f"{_num(r['seconds'], '7.1f')}s {_num(r['mem_mb'], '7.0f')}MB  {r['note']}"
    )


def _num(v: float, fmt: str) -> str:
    return "–" if v != v else format(v, fmt)  # NaN: a row with no time of its own


def markdown_table(rows: list[dict]) -> str:
    """The rows of one data set as a Markdown table."""
    f = lambda v: "–" if v is None else f"{v:.3f}"  # noqa: E731
    out = [
        "| model | accuracy | macro F1 | zero-F1 | head F1 | mid F1 | tail F1 | wall s | peak ΔRSS MB | note |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['model']} | {f(r['accuracy'])} | {f(r['macro_f1'])} | {r['zero_f1']} | "
            f"{f(r['head_f1'])} | {f(r['mid_f1'])} | {f(r['tail_f1'])} | {_num(r['seconds'], '.1f')} | "
            f"{_num(r['mem_mb'], '.0f')} | {r['note']} |"
        )
    return "\n".join(out)


def machine() -> str:
    """Cores, Python and package versions of this run."""
    import sklearn

    vers = [f"python {platform.python_version()}", f"scikit-learn {sklearn.__version__}"]
    for mod in ("numpy", "torch", "transformers", "tailtune"):
        with contextlib.suppress(Exception):  # an absent optional package is just not listed
            vers.append(f"{mod} {__import__(mod).__version__}")
    return f"{os.cpu_count()} CPU cores ({platform.machine()}, {platform.system()}); " + ", ".join(
        vers
    )


def main(argv=None) -> None:
    """Parse arguments, run every data set, print tables and write the Markdown file."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument(
        "--out", default=None, help="Markdown file to write (e.g. benchmarks/RESULTS.md)"
    )
    ap.add_argument("--lr-solver", choices=["saga", "lbfgs"], default="lbfgs")
    ap.add_argument("--threads", type=int, default=1, help="torch threads for the MiniLM head")
    ap.add_argument("--head-epochs", type=float, default=30)
    ap.add_argument(
        "--encoder-epochs", type=float, default=0, help="add a MiniLM full fine-tune (0 = skip)"
    )
    ap.add_argument("--no-embeddings", action="store_true", help="skip the MiniLM rows")
    ap.add_argument("--refit", action="store_true", help="add the refit comparison")
    ap.add_argument("--refit-only", action="store_true", help="only the refit comparison")
    ap.add_argument("--n-boot", type=int, default=1000, help="paired-bootstrap resamples")
    args = ap.parse_args(argv)
    cmd = "python benchmarks/quality.py " + " ".join(sys.argv[1:] if argv is None else argv)
    for name in args.datasets.split(","):
        if args.refit or args.refit_only:
            t0 = time.perf_counter()
            rows = refit_comparison(name.strip(), args)
            total = time.perf_counter() - t0
            if args.out:
                section = (
                    f"## {name.strip()}: refit\n\nProduced by `{cmd}` on "
                    f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {total:.0f} s.\n"
                    f"Machine: {machine()}.\nTest split; selection = trained without the 10% "
                    "validation carve, refit = the same model with its choices frozen, trained "
                    f"on train + validation.\n\n{refit_table(rows)}\n"
                )
                write_section(Path(args.out), f"{name.strip()}: refit", section)
            if args.refit_only:
                continue
        t0 = time.perf_counter()
        rows = run_dataset(name.strip(), args)
        total = time.perf_counter() - t0
        print(f"-- {name}: {total:.0f} s in all", flush=True)
        if args.out:
            section = (
                f"## {name.strip()}\n\nProduced by `{cmd}` on "
                f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {total:.0f} s for the "
                f"whole data set.\nMachine: {machine()}.\n\n{markdown_table(rows)}\n"
            )
            write_section(Path(args.out), name.strip(), section)


def write_section(path: Path, name: str, section: str) -> None:
    """Replace (or append) the ``## name`` section of the results file, keeping the others."""
    head = "# Quality benchmark results\n\nSee benchmarks/README.md for what each row is.\n"
    text = path.read_text(encoding="utf-8") if path.is_file() else head
    parts = text.split("\n## ")
    keep = [parts[0]] + ["## " + p for p in parts[1:] if p.split("\n", 1)[0].strip() != name]
    path.write_text("\n".join(k.rstrip("\n") + "\n" for k in keep + [section]), encoding="utf-8")
    print(f"wrote the {name} section of {path}")


if __name__ == "__main__":
    main()
