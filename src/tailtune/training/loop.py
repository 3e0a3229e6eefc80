"""The training loop, readable top to bottom, on 🤗 Accelerate.

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

Everything the loop changes lives in one :class:`LoopState`; a resumable checkpoint is that
state (with the RNG states) plus the weights, the optimizer and the scheduler, saved after every
evaluation and when SIGINT / SIGTERM arrive. Resuming restores all of it, and the batches of an
epoch depend only on ``(seed, epoch)``, so a resumed run repeats the uninterrupted one exactly.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import signal
import time
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from tailtune._atomic import write_text
from tailtune._extras import require
from tailtune.objectives.losses import uniform_loss
from tailtune.objectives.samplers import example_probabilities, set_example_probabilities
from tailtune.runs import layout
from tailtune.training import checkpoints as ckpt
from tailtune.training import preflight
from tailtune.training.batching import epoch_batches, item_lengths, take_batch
from tailtune.training.budget import budget_spent_message, parse_duration
from tailtune.training.early_stopping import EarlyStopping
from tailtune.training.guards import (
    NonFiniteLossError,
    NotLearningGuard,
    StopSignals,
    TrainingInterrupted,
    nonfinite_message,
)
from tailtune.training.inference import model_logits, predict_logits
from tailtune.training.progress import Progress
from tailtune.training.schedule import build_scheduler, warmup_steps
from tailtune.training.settings import TrainSettings
from tailtune.training.setup import (
    enable_checkpointing,
    fit_info,
    make_accelerator,
    make_optimizer,
    precision_used,
)
from tailtune.training.step import clip_gradients, optimizer_step, zero_grad
from tailtune.training.watch import Watch

__all__ = ["FitResult", "LoopState", "classification_metrics", "evaluate", "fit_classifier"]


@dataclass
class FitResult:
    """What a fit returns: the evaluation history and the run's figures."""

    history: list[dict] = field(default_factory=list)
    info: dict = field(default_factory=dict)


@dataclass
class LoopState:
    """Everything the loop changes while it trains (a checkpoint stores :meth:`state_dict`)."""

    step: int = 0  # optimizer steps done
    epoch: int = 0  # current epoch, 0-based
    pos: int = 0  # micro-batches of this epoch consumed
    history: list[dict] = field(default_factory=list)
    loss_sum: float = 0.0  # training loss summed over the steps since the last evaluation
    loss_n: int = 0
    uniform_sum: float = 0.0  # the same sums for the uniform and the prior predictor (guards)
    prior_sum: float = 0.0
    examples: int = 0
    tokens: int = 0
    train_s: float = 0.0  # time inside optimizer steps, all sessions
    elapsed_s: float = 0.0  # wall time of earlier sessions (before a resume)
    best_step: int | None = None
    out_of_time: bool = False  # train.time_budget was spent
    stop_requested: bool = False  # a STOP file appeared in the work folder (layout.STOP_REQUEST)
    stopper: EarlyStopping = field(default_factory=EarlyStopping)
    guard: NotLearningGuard = field(default_factory=NotLearningGuard)
    findings: list = field(default_factory=list)  # guard findings so far (tailtune.guards)
    rng: dict = field(default_factory=dict)  # generator states after the last completed step
    settled: bool = field(default=True, repr=False)  # False while a step or evaluation is applied

    def finished(self) -> bool:  # early stopping, the time budget or a STOP file ended it
        return self.stopper.should_stop or self.out_of_time or self.stop_requested

    def state_dict(self) -> dict:
        """Plain JSON data: the counters, history, early-stopping and guard state, RNG states."""
        plain = {f.name: getattr(self, f.name) for f in fields(self)}
        del plain["settled"]
        plain.update(
            stopper=self.stopper.state_dict(),
            guard=self.guard.state_dict(),
            rng=ckpt.rng_to_data(self.rng),
        )
        return plain

    def load_state_dict(self, state: dict) -> None:
        """Restore from :meth:`state_dict`."""
        state = dict(state)
        self.stopper.load_state_dict(state.pop("stopper"))
        self.guard.load_state_dict(state.pop("guard"))
        self.rng = ckpt.rng_from_data(state.pop("rng"))
        for key, value in state.items():
            setattr(self, key, value)


@dataclass(frozen=True)
class _Parts:
    """What a fit trains with; fixed for the whole fit."""

    accelerator: object
    model: object  # as prepared by Accelerate (wrapped in DDP on several processes)
    optimizer: object
    scheduler: object
    settings: TrainSettings
    root: Path | None  # work_dir/checkpoints, or None: the best weights stay in ``memory``
    work: Path | None
    memory: dict = field(default_factory=dict)
    watch: Watch | None = None


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
    torch, accelerate = require("torch"), require("accelerate")
    s = settings or TrainSettings()
    metrics_fn = metrics_fn or classification_metrics
    work = Path(work_dir) if work_dir is not None else None
    if s.num_threads:
        torch.set_num_threads(s.num_threads)
    accelerator = make_accelerator(accelerate, s, work)
    accelerate.utils.set_seed(s.seed)  # dropout masks; the caller seeded head init the same way
    rank, world = accelerator.process_index, accelerator.num_processes
    log = accelerator.print
    precision = precision_used(accelerator, s, log)

    labels, val_labels = preflight.check_inputs(
        train_items, eval_items, num_classes, metrics_fn, s.early_stopping_metric, log
    )
    trainable = preflight.check_head_trainable(model)
    if lengths is None:
        lengths = item_lengths(train_items)
    lengths = np.asarray(lengths if lengths is not None else np.ones(len(train_items)))
    sample_probs = None if s.sampler == "none" else _sample_probs(labels, s.sampler)
    watch = Watch(labels, sample_probs, num_classes)  # class indices or 0/1 label-set rows

    checkpointing = enable_checkpointing(model, s, log)
    optimizer = make_optimizer(model, s, head_prefixes, optimizer_cls)
    batches = _batches(lengths, s, 0, rank, world, sample_probs)
    total = s.max_steps or max(1, math.ceil(s.epochs * math.ceil(len(batches) / s.grad_accum)))
    scheduler = build_scheduler(optimizer, s.scheduler, warmup_steps(total, s.warmup_ratio), total)
    model, optimizer = accelerator.prepare(model, optimizer)
    model.train()
    root = work / layout.CHECKPOINTS if work is not None else None
    parts = _Parts(accelerator, model, optimizer, scheduler, s, root, work, watch=watch)

    state = LoopState(
        stopper=EarlyStopping(s.early_stopping_metric, s.patience, s.min_delta),
        guard=NotLearningGuard(s.not_learning_steps),
        rng=ckpt.capture_rng(),
    )
    if s.resume and root is not None:
        _resume(parts, state, log)
    if accelerator.is_main_process and work is not None:
        _write_history(work, state.history)
    score = None  # model -> validation scores; None without validation data
    if eval_items is not None:
        score = functools.partial(evaluate, items=eval_items, labels=val_labels, collate=collate,
                                  loss_fn=loss_fn, metrics_fn=metrics_fn,
                                  batch_size=s.eval_batch_size, accelerator=accelerator,
                                  watch=watch)  # fmt: skip

    # -- the loop --------------------------------------------------------------------------------
    t0 = time.perf_counter()
    budget = parse_duration(s.time_budget)
    left = None if budget is None else (lambda: budget - _spent(state, t0))
    main = accelerator.is_main_process
    show = Progress(total, enabled=s.progress and main, completed=state.step,
                    log_every_s=s.log_every_s, time_left=left,
                    log_file=work / layout.TRAIN_LOG if main and work is not None else None)  # fmt: skip
    try:
        with StopSignals() as signals, show:
            while state.step < total and not state.finished():
                batches = _batches(lengths, s, state.epoch, rank, world, sample_probs)
                while state.pos < len(batches) and state.step < total:
                    if left is not None and _out_of_time(parts, left() <= 0):
                        state.out_of_time = True
                        text = budget_spent_message(s.time_budget, _spent(state, t0), state.step)
                        log(text)
                        show.note(text)
                        break
                    t_step = time.perf_counter()
                    group = batches[state.pos : state.pos + s.grad_accum]
                    stats = accumulate(parts, group, train_items, collate, loss_fn, state)
                    _optimizer_step(parts, state, stats, len(group), time.perf_counter() - t_step)
                    if warning := state.guard.observe(state.step, stats[0], stats[1]):
                        warnings.warn(warning, stacklevel=2)
                        log(f"warning: {warning}")
                    show.update(
                        state.step, _epoch(state, len(batches)), stats[0], _speed(state, world)
                    )
                    if s.eval_every and state.step % s.eval_every == 0:
                        _evaluate_and_save(parts, state, score, len(batches), t0, show)
                        if state.finished():
                            break
                    if _stop_requested(parts, signals):
                        _stop(parts, state, signals.received, t0, log)
                if state.pos >= len(batches):
                    state.epoch, state.pos = state.epoch + 1, 0
                    if not s.eval_every:
                        _evaluate_and_save(parts, state, score, len(batches), t0, show)
            if not state.history or state.history[-1]["step"] != state.step:
                # the last step is always evaluated (max_steps, fractional epochs)
                _evaluate_and_save(parts, state, score, len(batches), t0, show)
            if not state.stop_requested:  # training ended: no guard waits for a trend now
                _watch(parts, state, show, final=True)
    except KeyboardInterrupt:  # a second Ctrl-C, or no handler outside the main thread
        _stop(parts, state, signal.SIGINT, t0, log, save=signals.received is None)

    # -- restore the best evaluation's weights ---------------------------------------------------
    if state.best_step is not None:
        best = parts.memory["best"] if root is None else ckpt.load_weights(_best_path(root))
        accelerator.unwrap_model(model).load_state_dict(best)
    model.eval()
    info = fit_info(state, s, trainable, accelerator, total)
    info.update(precision_used=precision, gradient_checkpointing=checkpointing)
    return FitResult(state.history, info)


def accumulate(parts: _Parts, group, train_items, collate, loss_fn, state: LoopState) -> tuple:
    """Forward and backward over one optimizer step's micro-batches; gradients add up.

    Returns ``(mean loss, mean uniform-prediction loss, mean prior-prediction loss, examples,
    tokens)``. Each micro-batch's
    loss is divided by the number of micro-batches before backward, so the step's gradient is the
    mean over them. On several processes, gradients are all-reduced only on the last one.
    """
    accelerator, model = parts.accelerator, parts.model
    step_loss, uniform, prior, n_ex, n_tok = 0.0, 0.0, 0.0, 0, 0
    for i, idx in enumerate(group):
        batch = {
            k: v.to(accelerator.device) for k, v in take_batch(train_items, idx, collate).items()
        }
        targets = batch.pop("labels")
        quiet = i < len(group) - 1 and accelerator.num_processes > 1
        with accelerator.no_sync(model) if quiet else contextlib.nullcontext():
            with accelerator.autocast():
                logits = model_logits(model(**batch))
            loss = loss_fn(logits, targets)
            accelerator.backward(loss / len(group))
        step_loss += loss.detach().float().item() / len(group)
        if parts.watch is not None:
            u, p = parts.watch.reference_losses(loss_fn, logits.detach(), targets)
            uniform, prior = uniform + u / len(group), prior + p / len(group)
        elif state.guard.active:
            uniform += uniform_loss(loss_fn, logits.detach(), targets).item() / len(group)
        n_ex += len(idx)
        n_tok += int(batch["attention_mask"].sum()) if "attention_mask" in batch else 0
        if i == 0:
            ckpt.fault_point("mid-step", state.step + 1)
    return step_loss, uniform, prior, n_ex, n_tok


def evaluate(
    model, items, labels, *, collate, loss_fn, metrics_fn, batch_size, accelerator, watch=None
):
    """Validation loss and the numeric scores of ``metrics_fn`` on ``items`` (all of them),
    with the guards' figures (chance macro F1, bootstrap low, coverage) when ``watch`` is given."""
    torch = require("torch")
    logits = predict_logits(
        accelerator.unwrap_model(model),
        items,
        collate=collate,
        batch_size=batch_size,
        device=accelerator.device,
        lengths=item_lengths(items),
        autocast=accelerator.autocast,
    )
    scores = {"val_loss": float(loss_fn(logits, torch.as_tensor(labels)))}
    metrics = metrics_fn(logits.numpy(), labels)
    scores.update({k: v for k, v in metrics.items() if isinstance(v, int | float)})
    if watch is not None:
        scores.update(watch.figures(labels, logits.numpy(), loss_fn, metrics.get("predicted")))
    return scores


def _sample_probs(labels: np.ndarray, sampler: str) -> np.ndarray:
    """Per-item draw probabilities of class-aware sampling (over label sets when the labels are
    0/1 vectors)."""
    if np.ndim(labels) == 2:
        return set_example_probabilities(labels, sampler)
    return example_probabilities(labels, sampler)


def classification_metrics(logits: np.ndarray, labels: np.ndarray) -> dict:
    """Default evaluation: :func:`tailtune.evaluation.compute_metrics` on the argmax."""
    from tailtune.evaluation.metrics import compute_metrics

    return compute_metrics(labels, np.asarray(logits).argmax(axis=1))


# -- the steps of the loop, in call order ------------------------------------------------------


def _resume(parts: _Parts, state: LoopState, log) -> None:
    """Load the newest usable checkpoint into the model, optimizer, scheduler and ``state``."""
    found = ckpt.newest_usable(parts.root)
    if found is None:
        log("no checkpoint to resume from yet: training from the start")
        return
    path, (weights, trainer, loop_state) = found
    parts.accelerator.unwrap_model(parts.model).load_state_dict(weights)
    parts.optimizer.load_state_dict(trainer["optimizer"])
    parts.scheduler.load_state_dict(trainer["scheduler"])
    state.load_state_dict(loop_state)
    ckpt.restore_rng(state.rng)
    log(f"resuming from {path} (step {state.step})")


def _optimizer_step(parts: _Parts, state: LoopState, stats, n_micro: int, seconds: float) -> None:
    """Clip, check for NaN/inf, step the optimizer and scheduler, and count the step."""
    step_loss, uniform, prior, n_ex, n_tok = stats
    norm = clip_gradients(
        parts.accelerator, parts.model.parameters(), parts.settings.grad_clip or float("inf")
    )
    if not (math.isfinite(step_loss) and math.isfinite(float(norm))):
        what = "loss" if not math.isfinite(step_loss) else "gradient norm"
        kept = str(parts.root / layout.BEST) if parts.root is not None and state.best_step else None
        raise NonFiniteLossError(nonfinite_message(state.step + 1, state.epoch, what, kept))
    state.settled = False  # weights move before the counters do: no checkpoint in between
    optimizer_step(parts.optimizer)
    parts.scheduler.step()
    zero_grad(parts.optimizer)
    state.step += 1
    state.pos += n_micro
    state.loss_sum += step_loss
    state.loss_n += 1
    state.uniform_sum += uniform
    state.prior_sum += prior
    state.examples += n_ex
    state.tokens += n_tok
    state.train_s += seconds
    state.rng = ckpt.capture_rng()
    state.settled = True
    ckpt.fault_point("step", state.step)


def _evaluate_and_save(parts: _Parts, state: LoopState, score, epoch_len: int, t0, show=None):
    """One history line; early stopping, the best weights and a resumable checkpoint."""
    torch, acc, s = require("torch"), parts.accelerator, parts.settings
    state.settled = False
    n = max(1, state.loss_n)
    means = torch.tensor([state.loss_sum / n, state.uniform_sum / n, state.prior_sum / n],
                         device=acc.device)  # fmt: skip
    train_loss, uniform, prior = acc.reduce(means, "mean").tolist()
    record = {"step": state.step, "epoch": _epoch(state, epoch_len), "train_loss": train_loss}
    if parts.watch is not None and state.loss_n:
        record.update(uniform_loss=round(uniform, 6), prior_loss=round(prior, 6))
    if score is not None:
        record.update(score(parts.model))
    record["lr"] = parts.scheduler.get_last_lr()[0]
    record["elapsed_s"] = round(state.elapsed_s + time.perf_counter() - t0, 3)
    state.history.append(record)
    state.loss_sum, state.loss_n, state.uniform_sum, state.prior_sum = 0.0, 0, 0.0, 0.0
    _watch(parts, state, show)
    if score is not None and state.stopper.update(record[s.early_stopping_metric], state.step):
        state.best_step = state.step
        _save_best(parts)
    if acc.is_main_process and parts.work is not None:
        _write_history(parts.work, state.history, append=True)
    if show is not None:
        show.evaluation(record, _speed(state, acc.num_processes))
    state.settled = True
    _save_checkpoint(parts, state, t0)
    if _on_any_process(parts, ckpt.stop_requested(parts.work)):
        state.stop_requested = True


def _watch(parts: _Parts, state: LoopState, show, final: bool = False) -> None:
    """The guards on the history so far: each new finding once, as a warning line (console and
    train.log), kept in ``state.findings`` (metrics.json ``guards``); ``final`` once training
    has ended (the verdicts that wait for a trend are given then)."""
    if parts.watch is None:
        return
    skip = ("not-learning",) if state.guard.fired else ()  # the step-level guard said it already
    for finding in parts.watch.new_findings(state.history, state.findings, skip, final):
        state.findings.append(finding)
        parts.accelerator.print(f"warning: {finding['line']}")
        if show is not None:
            show.note(f"warning: {finding['line']}")


def _best_path(root: Path) -> Path:
    return root / layout.BEST / layout.CKPT_MODEL


def _save_best(parts: _Parts) -> None:
    """Keep the weights of the best evaluation (on disk, or in memory without a work_dir)."""
    model = parts.accelerator.unwrap_model(parts.model)
    weights = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    if parts.root is None:
        parts.memory["best"] = weights
    elif parts.accelerator.is_main_process:
        ckpt.save_weights(_best_path(parts.root), weights)


def _save_checkpoint(parts: _Parts, state: LoopState, t0) -> None:
    """A resumable checkpoint of the state after the last completed step (main process)."""
    parts.accelerator.wait_for_everyone()
    if not parts.accelerator.is_main_process or parts.root is None:
        return
    saved = state.state_dict()
    saved["elapsed_s"] = state.elapsed_s + time.perf_counter() - t0
    trainer = {
        "optimizer": parts.optimizer.state_dict(),
        "scheduler": parts.scheduler.state_dict(),
    }
    model_state = parts.accelerator.unwrap_model(parts.model).state_dict()
    ckpt.save_resumable(
        parts.root, state.step, model_state=model_state, trainer_state=trainer, state=saved
    )
    ckpt.prune_checkpoints(parts.root, parts.settings.keep_checkpoints)


def _stop_requested(parts: _Parts, signals: StopSignals) -> bool:
    """Whether a stop signal arrived (on any process: all stop at the same step)."""
    return _on_any_process(parts, signals.received is not None)


def _out_of_time(parts: _Parts, spent: bool) -> bool:
    """Whether the time budget is spent (on any process: all stop at the same step)."""
    return _on_any_process(parts, spent)


def _on_any_process(parts: _Parts, flag: bool) -> bool:
    if parts.accelerator.num_processes == 1:
        return flag
    torch = require("torch")
    total = parts.accelerator.reduce(
        torch.tensor(int(flag), device=parts.accelerator.device), "sum"
    )
    return bool(total.item())


def _stop(parts: _Parts, state: LoopState, signum, t0, log, save: bool = True):
    """Save the state (when consistent; not on a second Ctrl-C) and raise TrainingInterrupted."""
    name = signal.Signals(signum or signal.SIGINT).name
    name = name if save else f"a second {name} (no new checkpoint)"
    saved = save and state.settled and parts.root is not None
    if saved:
        newest = ckpt.find_checkpoints(parts.root)
        if not newest or layout.step_of(newest[0]) != state.step:
            log(f"{name}: saving a checkpoint at step {state.step}")
            _save_checkpoint(parts, state, t0)
    where = "; a resumable checkpoint was saved" if saved else ""
    raise TrainingInterrupted(
        f"training stopped by {name} at step {state.step}{where}; run the same command again "
        "with --set train.resume=true",
        signum or signal.SIGINT,
    ) from None


# -- helpers -----------------------------------------------------------------------------------


def _epoch(state: LoopState, epoch_len: int) -> float:
    """Epochs done, fractional (the history's ``epoch``)."""
    return round(state.epoch + state.pos / max(1, epoch_len), 4)


def _spent(state: LoopState, t0: float) -> float:
    """Wall seconds of training in this run: earlier sessions' and this one's."""
    return state.elapsed_s + time.perf_counter() - t0


def _speed(state: LoopState, world: int) -> float:
    """Training examples per second over all processes (time inside optimizer steps)."""
    return state.examples * world / max(state.train_s, 1e-9)


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
    path = work / layout.HISTORY
    if append:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(history[-1]) + "\n")
    else:
        write_text(path, "".join(json.dumps(r) + "\n" for r in history))
