"""The model card an export carries: README.md in the Hugging Face model-card format.

A YAML metadata block (``library_name``, ``pipeline_tag``, ``tags``, ``metrics`` and a
``model-index`` with the figures, which the Hub reads) above a Markdown body: the figures per
split and per frequency tier with their 95% stratified-bootstrap intervals, the labels with
their training counts, the training data's hashes, intended use, and known limits (zero-F1
classes, thin validation support, which model each figure comes from when the run refitted).
Everything is read from the run directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tailtune._atomic import write_text
from tailtune.evaluation.noise import bootstrap_ci
from tailtune.evaluation.tiers import TIERS
from tailtune.runs import Run, read_run

__all__ = ["CARD", "model_card", "write_card"]

CARD = "README.md"
LIBRARY = {"hf": "transformers", "onnx": "onnx", "sklearn": "sklearn"}
SPLIT_NAME = {"val": "validation", "test": "test"}
USAGE = {
    "hf": ('from transformers import pipeline\n'
           'clf = pipeline("text-classification", model="{where}", top_k=None)\n'
           'clf(["my card was charged twice"], truncation=True)'),
    "onnx": ("from tailtune.export import OnnxClassifier\n"
             'clf = OnnxClassifier("{where}")\n'
             'clf.predict_proba(["my card was charged twice"])'),
    "sklearn": ("import skops.io as sio\n"
                'pipe = sio.load("{where}/pipeline.skops", trusted=sio.get_untrusted_types('
                'file="{where}/pipeline.skops"))\n'
                'pipe.predict(["my card was charged twice"])'),
}  # fmt: skip
TOP_DOWN_USAGE = ('import sys; sys.path.insert(0, "{where}")\n'
                  'import hierarchy_runtime  # numpy + the stages\' runtime, no tailtune\n'
                  'model = hierarchy_runtime.load("{where}")\n'
                  'model.predict(["my card was charged twice"])  # path, answer, level_proba')  # fmt: skip


def write_card(folder: str | Path, run_path: str | Path, fmt: str, top_down: bool = False) -> Path:
    """Write ``README.md`` for the export of ``run_path`` as ``fmt`` into ``folder``
    (``top_down``: a folder per stage, read through its ``hierarchy_runtime.py``)."""
    path = Path(folder) / CARD
    return write_text(path, model_card(read_run(run_path), fmt, top_down=top_down))


def model_card(run: Run, fmt: str, where: str = ".", top_down: bool = False) -> str:
    """The card's text (metadata block and body) for ``run`` exported as ``fmt``."""
    figures = _figures(run)
    meta = _metadata(run, fmt, figures)
    body = [
        f"# {run.config.get('name', run.name)}",
        "",
        _summary(run),
        "",
        *_results(run, figures),
        *_labels(run),
        *_data(run),
        *_use(run, fmt, where, top_down),
        *_limits(run, figures),
        *_provenance(run),
    ]
    head = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    return f"---\n{head}---\n\n" + "\n".join(body).rstrip() + "\n"


def _figures(run: Run) -> dict[str, dict[str, Any]]:
    """Per split: the run's metrics and the bootstrap intervals (macro F1, accuracy, tiers)."""
    tiers = run.labels.get("tiers") or None
    out = {}
    for split in ("val", "test"):
        metrics = run.metrics.get(split)
        frame = run.split_predictions(split) if isinstance(metrics, dict) else None
        if frame is None or not len(frame):
            continue
        out[split] = {
            "metrics": metrics,
            "ci": bootstrap_ci(frame["gold"], frame["pred"], tiers=tiers),
        }
    return out


def _metadata(run: Run, fmt: str, figures: dict) -> dict[str, Any]:
    backend = str(run.metrics.get("backend") or "")
    meta: dict[str, Any] = {
        "library_name": LIBRARY.get(fmt, fmt),
        "pipeline_tag": "text-classification",
        "tags": ["tailtune", "text-classification", "long-tail", backend],
        "metrics": ["f1", "accuracy"],
    }
    model = run.config.get("model", {}).get("name")
    if model and not str(model).startswith(("/", ".")) and str(model).count("/") == 1:
        meta["base_model"] = str(model)  # a hub id (local paths and offline names are not)
    results = []
    for split, f in figures.items():
        m = f["metrics"]
        results.append({
            "task": {"type": "text-classification", "name": "Text Classification"},
            "dataset": {"name": _data_name(run), "type": _data_name(run), "split": SPLIT_NAME[split]},
            "metrics": [
                {"type": "f1", "value": round(float(m["macro_f1"]), 4),
                 "name": f"Macro F1 ({SPLIT_NAME[split]})", "args": {"average": "macro"},
                 "verified": False},
                {"type": "accuracy", "value": round(float(m["accuracy"]), 4),
                 "name": f"Accuracy ({SPLIT_NAME[split]})", "verified": False},
            ],
        })  # fmt: skip
    if results:
        meta["model-index"] = [{"name": str(run.config.get("name", run.name)), "results": results}]
    return meta


def _data_name(run: Run) -> str:
    data = run.config.get("data", {})
    path = data.get("path")
    if isinstance(path, list):
        path = path[0] if path else None
    if path:
        return Path(str(path)).stem if Path(str(path)).suffix else Path(str(path)).name
    return f"synthetic-{data.get('synthetic')}" if data.get("synthetic") else "unknown"


def _summary(run: Run) -> str:
    m, labels = run.metrics, run.labels
    model = f" on `{m['model']}`" if m.get("model") else ""
    return (
        f"A text classifier over {len(labels.get('classes', []))} classes, trained with "
        f"tailtune (backend `{m.get('backend')}`{model}) "
        f"on {m.get('train_size', '?'):,} examples whose labels follow a long tail."
    )


def _interval(ci: dict | None) -> str:
    return f"{ci['low']:.3f} – {ci['high']:.3f}" if ci else "–"


def _results(run: Run, figures: dict) -> list[str]:
    out = ["## Results", "",
           "95% intervals: stratified bootstrap over the evaluation examples (1,000 resamples; "
           "Efron & Tibshirani 1993), the noise of the evaluation set itself.", "",
           "| split | metric | value | 95% interval |", "|---|---|---|---|"]  # fmt: skip
    for split, f in figures.items():
        m, ci = f["metrics"], f["ci"]
        name = SPLIT_NAME[split]
        out.append(f"| {name} | macro F1 | {m['macro_f1']:.3f} | {_interval(ci['macro_f1'])} |")
        out.append(f"| {name} | accuracy | {m['accuracy']:.3f} | {_interval(ci['accuracy'])} |")
        out.append(f"| {name} | zero-F1 classes | {m.get('zero_f1', 0)} | |")
    out += ["", f"Tiers by training count ({run.labels.get('tiers_rule') or run.metrics.get('tiers_rule', '')}):", "",
            "| split | tier | classes | mean F1 | 95% interval | zero-F1 classes |",
            "|---|---|---|---|---|---|"]  # fmt: skip
    for split, f in figures.items():
        tiers = f["metrics"].get("tiers") or {}
        for tier in TIERS:
            t = tiers.get(tier) or {}
            if not t.get("n_classes"):
                continue
            ci = (f["ci"].get("tiers") or {}).get(tier)
            out.append(
                f"| {SPLIT_NAME[split]} | {tier} | {t['n_classes']} | {t['mean_f1']:.3f} | "
                f"{_interval(ci)} | {t['zero_f1']} |"
            )
    return [*out, ""]


def _labels(run: Run) -> list[str]:
    counts = run.labels.get("train_counts") or {}
    tiers = run.labels.get("tiers") or {}
    classes = run.labels.get("classes") or sorted(counts)
    out = [
        f"## Labels ({len(classes)})",
        "",
        "| label | training examples | tier |",
        "|---|---|---|",
    ]
    for c in sorted(classes, key=lambda c: (-counts.get(c, 0), c)):
        out.append(f"| {_cell(c)} | {counts.get(c, 0)} | {tiers.get(c, '')} |")
    return [*out, ""]


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _data(run: Run) -> list[str]:
    fp = run.data.get("fingerprint") or {}
    out = ["## Training data", ""]
    if fp.get("train_sha256"):
        out.append(
            f"- training rows: {fp['train_rows']:,}; SHA-256 of the (text, label) rows, sorted: "
            f"`{fp['train_sha256']}`"
        )
    for f in fp.get("files", []):
        out.append(f"- `{Path(f['path']).name}`: {f['bytes']:,} bytes, SHA-256 `{f['sha256']}`")
    if len(out) == 2:
        out.append("- (the run recorded no data hashes)")
    return [*out, ""]


def _use(run: Run, fmt: str, where: str, top_down: bool = False) -> list[str]:
    usage = TOP_DOWN_USAGE if top_down else USAGE.get(fmt, "")
    return [
        "## Intended use", "",
        "Routing and triage of texts like the training data, into the labels above, with the "
        "per-tier figures read before trusting a rare class: a tail class with a low F1 is often "
        "predicted wrongly. Not for texts of another domain or language, nor for labels it never "
        "saw (it always answers one of the classes above).", "",
        "```python", usage.format(where=where), "```", "",
    ]  # fmt: skip


def _limits(run: Run, figures: dict) -> list[str]:
    out = ["## Known limits", ""]
    split = "test" if "test" in figures else "val"
    per_class = run.per_class_for(split) if split in figures else None
    if per_class is not None and len(per_class):
        zero = per_class[per_class["f1"] == 0]["label"].astype(str).tolist()
        if zero:
            shown = ", ".join(_cell(z) for z in zero[:30]) + (" …" if len(zero) > 30 else "")
            n = f"{len(zero)} class scores" if len(zero) == 1 else f"{len(zero)} classes score"
            out.append(f"- {n} F1 = 0 on {SPLIT_NAME[split]}: {shown}.")
        thin = int((per_class["support"] <= 5).sum())
        if thin:
            out.append(
                f"- {thin} of {len(per_class)} classes have 5 or fewer {SPLIT_NAME[split]} "
                "examples: their F1 moves by large steps with one example."
            )
    refit = run.metrics.get("refit") or {}
    if refit.get("enabled"):
        out.append(
            "- Validation figures are the selection model's (trained on the training split, "
            "chosen on validation); test figures and this model come from the refit on "
            "training + validation with every choice frozen."
        )
    else:
        out.append("- All figures are of this model, chosen on the validation split.")
    max_len = run.config.get("model", {}).get("max_length")
    if _reads_tokens(run.metrics.get("backend")) and max_len:
        out.append(f"- Texts are cut to {max_len} tokens; words past that are not read.")
    return [*out, ""]


def _provenance(run: Run) -> list[str]:
    env = run.env
    out = ["## Provenance", "", f"- run: `{run.name}`"]
    if env.get("git_sha"):
        out.append(f"- tailtune commit: `{env['git_sha']}`")
    versions = env.get("packages") or env.get("versions") or {}
    if isinstance(versions, dict) and versions:
        out.append("- " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()) if v))
    out.append(f"- seed: {run.config.get('seed')}; the resolved config is the run's config.yaml")
    return out


def _reads_tokens(backend: str | None) -> bool:
    """Whether the backend cuts texts to ``model.max_length`` tokens (it takes a max_length)."""
    from tailtune.backends import BACKENDS, backend_class

    return backend not in BACKENDS or "max_length" in backend_class(backend)._param_names()
