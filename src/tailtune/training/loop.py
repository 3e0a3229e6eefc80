"""The training loop: one function, readable top to bottom, on 🤗 Accelerate.

Entry point::

    result = fit_classifier(
        model,                # nn.Module; model(**batch) returns logits or an output with .logits
        train_items,          # list of dicts, e.g. {"input_ids": [...], "labels": 3}
        collate=collate,      # list of items -> dict of tensors, "labels" included
        loss_fn=loss_fn,      # (logits, targets) -> scalar, e.g. objectives.losses.build_loss(...)
        num_classes=K,
        settings=TrainSettings(...),
        eval_items=val_items, # optional; metrics_fn(logits, labels) -> dict scores them
        work_dir=run_tmp_dir, # optional; history.jsonl and checkpoints go here
    )
    result.history, result.info   # one dict per evaluation; throughput and best-step figures

The model ends with the weights of the best evaluation (early stopping on
``settings.early_stopping_metric``). Each process of ``accelerate launch`` / ``torchrun`` trains
on its own share of every epoch (``batching.epoch_batches``); all processes evaluate the whole
validation set, so their early-stopping decisions agree without communication.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tailtune._extras import require
from tailtune.objectives.losses import uniform_loss
from tailtune.objectives.samplers import example_probabilities
from tailtune.training import checkpoints as ckpt
from tailtune.training import preflight
from tailtune.training.batching import epoch_batches
from tailtune.training.early_stopping import EarlyStopping
from tailtune.training.guards import (
    NonFiniteLossError,
    NotLearningGuard,
    TrainingInterrupted,
    nonfinite_message,
)
from tailtune.training.inference import model_logits, predict_logits
from tailtune.training.progress import progress_bar
from tailtune.training.schedule import build_scheduler, warmup_steps
from tailtune.training.settings import TrainSettings

__all__ = ["FitResult", "classification_metrics", "fit_classifier"]


@dataclass
class FitResult:
    """What a fit returns: the evaluation history and the run's figures."""

    history: list[dict] = field(default_factory=list)
    info: dict = field(default_factory=dict)


def fit_classifier(
    model,
    train_items,
    *,
    collate,
    loss_fn,
    num_classes: int,
    settings: TrainSettings | None = None,
    eval_items=None,
    metrics_fn=None,
    work_dir: str | Path | None = None,
    head_prefixes: tuple[str, ...] = ("classifier", "score"),
    lengths=None,
    optimizer_cls=None,
) -> FitResult:
    """Train ``model`` in place and return its history and figures (see the module docstring).

    ``optimizer_cls`` replaces AdamW (``train.optimizer=adamw_8bit`` picks bitsandbytes' one).
    ``lengths`` (tokens per item) enable length-grouped batches; taken from ``input_ids`` when
    items have them. Parameters whose names start with one of ``head_prefixes`` get ``head_lr``.
    """
    torch = require("torch")
    accelerate = require("accelerate")
    s = settings or TrainSettings()
    metrics_fn = metrics_fn or classification_metrics
    work = Path(work_dir) if work_dir is not None else None
    if s.num_threads:
        torch.set_num_threads(s.num_threads)
    accelerator = _accelerator(accelerate, s, work)
    accelerate.utils.set_seed(s.seed)  # dropout masks; the caller seeded head init the same way
    rank, world = accelerator.process_index, accelerator.num_processes
    log = accelerator.print

    # -- preflight: fail before the first step, not hours in -----------------------------------
    labels = np.asarray([it["labels"] for it in train_items], dtype=np.int64)
    preflight.check_labels(labels, num_classes, "training labels")
    val_labels = None
    if eval_items is not None:
        val_labels = np.asarray([it["labels"] for it in eval_items], dtype=np.int64)
        preflight.check_labels(val_labels, num_classes, "validation labels")
        preflight.check_metric(metrics_fn, val_labels, num_classes, s.early_stopping_metric)
        unseen = preflight.unseen_classes(labels, val_labels)
        if unseen:
            log(f"warning: {len(unseen)} validation classes never occur in training: {unseen[:10]}")
    trainable = preflight.check_head_trainable(model)
    if lengths is None and "input_ids" in train_items[0]:
        lengths = [len(it["input_ids"]) for it in train_items]
    lengths = np.asarray(lengths if lengths is not None else np.ones(len(train_items)))
    sample_probs = None if s.sampler == "none" else example_probabilities(labels, s.sampler)

    # -- model, optimizer, schedule --------------------------------------------------------------
    if s.gradient_checkpointing and hasattr(model, "gradient_checkpointing_enable"):
        model.gradient_checkpointing_enable()
    if optimizer_cls is None and s.optimizer == "adamw_8bit":
        # 8-bit AdamW states (Dettmers et al. 2022) cut optimizer memory 4x; CUDA only.
        optimizer_cls = require("bitsandbytes", "train.optimizer=adamw_8bit").optim.AdamW8bit
    optimizer_cls = optimizer_cls or torch.optim.AdamW
    optimizer = optimizer_cls(_param_groups(model, s, head_prefixes), lr=s.lr)
    batches = _batches(lengths, s, 0, rank, world, sample_probs)
    steps_per_epoch = max(1, math.ceil(len(batches) / s.grad_accum))
    total = s.max_steps or max(1, math.ceil(s.epochs * steps_per_epoch))
    scheduler = build_scheduler(optimizer, s.scheduler, warmup_steps(total, s.warmup_ratio), total)
    model, optimizer = accelerator.prepare(model, optimizer)
    model.train()

    st = {
        "step": 0,
        "epoch": 0,
        "pos": 0,
        "history": [],
        "tokens": 0,
        "examples": 0,
        "train_s": 0.0,
        "elapsed_s": 0.0,
        "loss_sum": 0.0,
        "loss_n": 0,
        "best_step": None,
    }
    stopper = EarlyStopping(s.early_stopping_metric, s.patience, s.min_delta)
    guard = NotLearningGuard(s.not_learning_steps)
    root = work / "checkpoints" if work is not None else None
    best_mem: dict | None = None  # best weights in memory when there is no work_dir
    rng = ckpt.capture_rng()
    if s.resume and root is not None and (last := ckpt.latest_checkpoint(root)) is not None:
        st, rng = ckpt.load_resumable(last, accelerator.unwrap_model(model), optimizer, scheduler)
        stopper.load_state_dict(st.pop("stopper"))
        guard.load_state_dict(st.pop("guard"))
        ckpt.restore_rng(rng)
        log(f"resuming from {last} (step {st['step']})")
    if accelerator.is_main_process and work is not None:
        _write_history(work, st["history"])

    def save_resumable():
        """Checkpoint the state at the last completed step (used at evals, Ctrl-C and NaN)."""
        accelerator.wait_for_everyone()
        if accelerator.is_main_process and root is not None:
            state = {
                **st,
                "stopper": stopper.state_dict(),
                "guard": guard.state_dict(),
                "elapsed_s": st["elapsed_s"] + time.perf_counter() - t0,
            }
            weights = accelerator.unwrap_model(model).state_dict()
            ckpt.save_resumable(
                root,
                st["step"],
                model_state=weights,
                optimizer=optimizer,
                scheduler=scheduler,
                state=state,
                rng=rng,
            )
            ckpt.prune_checkpoints(root, s.keep_checkpoints)

    def evaluate():
        """One history line; early stopping and the best checkpoint."""
        nonlocal best_mem
        loss_mean = accelerator.reduce(
            torch.tensor(st["loss_sum"] / max(1, st["loss_n"]), device=accelerator.device), "mean"
        ).item()
        record = {
            "step": st["step"],
            "epoch": round(st["epoch"] + st["pos"] / max(1, len(batches)), 4),
            "train_loss": loss_mean,
        }
        if eval_items is not None:
            logits = predict_logits(
                accelerator.unwrap_model(model),
                eval_items,
                collate=collate,
                batch_size=s.eval_batch_size,
                device=accelerator.device,
                lengths=[len(it.get("input_ids", ())) for it in eval_items],
                autocast=accelerator.autocast,
            )
            record["val_loss"] = float(loss_fn(logits, torch.as_tensor(val_labels)))
            scores = metrics_fn(logits.numpy(), val_labels)
            record.update({k: v for k, v in scores.items() if isinstance(v, int | float)})
        record["lr"] = scheduler.get_last_lr()[0]
        record["elapsed_s"] = round(st["elapsed_s"] + time.perf_counter() - t0, 3)
        st["history"].append(record)
        st["loss_sum"], st["loss_n"] = 0.0, 0
        if eval_items is not None and stopper.update(record[s.early_stopping_metric], st["step"]):
            st["best_step"] = st["step"]
            weights = {
                k: v.detach().cpu().clone()
                for k, v in accelerator.unwrap_model(model).state_dict().items()
            }
            if root is None:
                best_mem = weights
            elif accelerator.is_main_process:
                ckpt.save_weights(root / "best" / "model.pt", weights)
        if accelerator.is_main_process and work is not None:
            _write_history(work, st["history"], append=True)
        if s.tracker != "none":
            accelerator.log(record, step=st["step"])
        save_resumable()

    # -- the loop ----------------------------------------------------------------------------
    t0 = time.perf_counter()
    on_main = accelerator.is_main_process
    try:
        with progress_bar(total, s.progress and on_main, st["step"]) as show:
            while st["step"] < total and not stopper.should_stop:
                batches = _batches(lengths, s, st["epoch"], rank, world, sample_probs)
                while st["pos"] < len(batches) and st["step"] < total:
                    t_step = time.perf_counter()
                    group = batches[st["pos"] : st["pos"] + s.grad_accum]
                    step_loss, uniform, n_ex, n_tok = 0.0, 0.0, 0, 0
                    for i, idx in enumerate(group):
                        batch = {
                            k: v.to(accelerator.device)
                            for k, v in collate([train_items[j] for j in idx]).items()
                        }
                        targets = batch.pop("labels")
                        sync = i == len(group) - 1
                        quiet = not sync and world > 1  # no all-reduce until the last micro-batch
                        with accelerator.no_sync(model) if quiet else contextlib.nullcontext():
                            with accelerator.autocast():
                                logits = model_logits(model(**batch))
                            loss = loss_fn(logits, targets)
                            accelerator.backward(loss / len(group))
                        step_loss += loss.detach().float().item() / len(group)
                        if guard.active:
                            uniform += uniform_loss(loss_fn, logits.detach(), targets).item() / len(
                                group
                            )
                        n_ex += len(idx)
                        n_tok += (
                            int(batch["attention_mask"].sum()) if "attention_mask" in batch else 0
                        )
                    norm = accelerator.clip_grad_norm_(
                        model.parameters(), s.grad_clip or float("inf")
                    )
                    if not (math.isfinite(step_loss) and math.isfinite(float(norm))):
                        what = "loss" if not math.isfinite(step_loss) else "gradient norm"
                        kept = str(root / "best") if root is not None and st["best_step"] else None
                        raise NonFiniteLossError(
                            nonfinite_message(st["step"] + 1, st["epoch"], what, kept)
                        )
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad(set_to_none=True)
                    st["step"] += 1
                    st["pos"] += len(group)
                    st["loss_sum"] += step_loss
                    st["loss_n"] += 1
                    st["examples"] += n_ex
                    st["tokens"] += n_tok
                    st["train_s"] += time.perf_counter() - t_step
                    rng = ckpt.capture_rng()
                    if warning := guard.observe(st["step"], step_loss, uniform):
                        warnings.warn(warning, stacklevel=2)
                        log(f"warning: {warning}")
                    show(st["step"], step_loss, st["examples"] * world / max(st["train_s"], 1e-9))
                    if s.eval_every and st["step"] % s.eval_every == 0:
                        evaluate()
                        if stopper.should_stop:
                            break
                if st["pos"] >= len(batches):
                    st["epoch"], st["pos"] = st["epoch"] + 1, 0
                    if not s.eval_every:
                        evaluate()
            if not st["history"] or st["history"][-1]["step"] != st["step"]:
                evaluate()  # the last step is always evaluated (max_steps, fractional epochs)
    except KeyboardInterrupt:
        save_resumable()
        where = "; a resumable checkpoint was saved" if root is not None else ""
        raise TrainingInterrupted(
            f"training interrupted at step {st['step']}{where}; run the same command again "
            "with --set train.resume=true"
        ) from None

    # -- restore the best evaluation's weights -------------------------------------------------
    if st["best_step"] is not None:
        best = best_mem if root is None else ckpt.load_weights(root / "best" / "model.pt")
        accelerator.unwrap_model(model).load_state_dict(best)
    if s.tracker != "none":
        accelerator.end_training()
    model.eval()
    return FitResult(st["history"], _info(st, s, trainable, stopper, guard, accelerator, total))


def classification_metrics(logits: np.ndarray, labels: np.ndarray) -> dict:
    """Default evaluation: :func:`tailtune.evaluation.compute_metrics` on the argmax."""
    from tailtune.evaluation.metrics import compute_metrics

    return compute_metrics(labels, np.asarray(logits).argmax(axis=1))


def _accelerator(accelerate, s: TrainSettings, work: Path | None):
    """An Accelerator for this run (CPU when asked or when no GPU is present)."""
    from tailtune.backends._hf import pick_device

    cpu = pick_device(s.device) == "cpu"
    tracker = None if s.tracker == "none" else s.tracker
    state = accelerate.state.AcceleratorState._shared_state
    if state and state.get("_mixed_precision", s.precision) != s.precision:
        # a second fit in one process with another precision: Accelerate keeps global state
        accelerate.state.AcceleratorState._reset_state(True)
    acc = accelerate.Accelerator(
        cpu=cpu,
        mixed_precision=s.precision,
        log_with=tracker,
        project_dir=str(work) if work is not None else None,
    )
    if tracker:
        acc.init_trackers("tailtune", config={k: str(v) for k, v in vars(s).items()})
    return acc


def _param_groups(model, s: TrainSettings, head_prefixes) -> list[dict]:
    """AdamW groups: no weight decay on biases and norms; ``head_lr`` for the head."""
    groups: dict[tuple[bool, bool], list] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        head = s.head_lr is not None and name.startswith(tuple(head_prefixes))
        decay = p.ndim >= 2 and "norm" not in name.lower()
        groups.setdefault((head, decay), []).append(p)
    return [
        {
            "params": ps,
            "lr": s.head_lr if head else s.lr,
            "weight_decay": s.weight_decay if decay else 0.0,
        }
        for (head, decay), ps in groups.items()
    ]


def _batches(lengths, s: TrainSettings, epoch, rank, world, sample_probs):
    """This process's micro-batches for ``epoch`` (seeded by the run seed)."""
    return epoch_batches(
        lengths,
        batch_size=s.batch_size,
        seed=s.seed,
        epoch=epoch,
        rank=rank,
        world_size=world,
        group_by_length=s.group_by_length,
        sample_probs=sample_probs,
        epoch_size=s.sampler_epoch_size,
    )


def _write_history(work: Path, history: list[dict], append: bool = False) -> None:
    """history.jsonl: one JSON line per evaluation (rewritten whole on resume)."""
    work.mkdir(parents=True, exist_ok=True)
    path = work / "history.jsonl"
    if append:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(history[-1]) + "\n")
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in history), encoding="utf-8")


def _info(st, s, trainable, stopper, guard, accelerator, total) -> dict:
    """Figures recorded into ``backend.info_``."""
    torch = require("torch")
    world = accelerator.num_processes
    counts = accelerator.reduce(
        torch.tensor([st["tokens"], st["examples"]], device=accelerator.device), "sum"
    )
    tokens, examples = (int(x) for x in counts.tolist())
    train_s = max(st["train_s"], 1e-9)
    return {
        "trainable_params": int(trainable),
        "steps": st["step"],
        "planned_steps": total,
        "epochs_run": st["history"][-1]["epoch"] if st["history"] else 0.0,
        "tokens_seen": tokens,
        "examples_seen": examples,
        "train_s": round(st["train_s"], 3),
        "time_per_step_s": round(train_s / max(1, st["step"]), 5),
        "examples_per_s": round(examples / train_s, 2),
        "tokens_per_s": round(tokens / train_s, 2),
        "best_step": st["best_step"],
        "best_metric": stopper.best,
        "early_stopping_metric": s.early_stopping_metric,
        "stopped_early": bool(stopper.should_stop),
        "not_learning_checked": guard.checked,
        "processes": world,
        "device": str(accelerator.device),
        "precision": s.precision,
    }
