"""``tailtune calc``: LoRA parameter, training-step and token calculators (nothing is trained)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tailtune.cli._common import command, load_data, reads_data
from tailtune.cli._print import console, rows_table

app = typer.Typer(help="LoRA parameter, training-step and token calculators.", no_args_is_help=True)


@command(app, "lora", "Exact LoRA trainable parameters per module and in total.")
def calc_lora(
    model: Annotated[
        str, typer.Option(help="transformers name/dir, config.json, .gguf or smollm2.")
    ],
    rank: Annotated[int, typer.Option(help="LoRA rank r.")] = 16,
    targets: Annotated[
        str, typer.Option(help="attention, all-linear, or module names a,b,c.")
    ] = "attention",
    num_labels: Annotated[int | None, typer.Option(help="Classes of the head.")] = None,
) -> None:
    """Exact LoRA trainable parameters per module type, per layer and in total (meta device).

    Examples:
    tailtune calc lora --model smollm2 --rank 16
    tailtune calc lora --model Qwen/Qwen2.5-0.5B --targets all-linear --rank 8
    """
    from tailtune.calc import format_lora, lora_params

    rep = lora_params(model, rank, _targets(targets), num_labels)
    rows_table(format_lora(rep), title=f"LoRA r={rank} on {model}")
    console.print(
        f"The common shortcut (2·d_model·r per module) gives {rep.shortcut_total:,}: "
        f"{rep.why_differ}"
    )


@command(app, "steps")
def calc_steps(
    samples: Annotated[int, typer.Option(help="Training examples.")],
    batch: Annotated[int, typer.Option(help="Per-device batch size.")],
    grad_accum: Annotated[int, typer.Option(help="Gradient accumulation steps.")] = 1,
    gpus: Annotated[int, typer.Option(help="Devices (processes).")] = 1,
    epochs: Annotated[float, typer.Option(help="Epochs.")] = 1.0,
) -> None:
    """Effective batch, optimizer steps per epoch and in total.

    Examples:
    tailtune calc steps --samples 10003 --batch 16 --grad-accum 4 --epochs 3
    tailtune calc steps --samples 500000 --batch 8 --gpus 8
    """
    from tailtune.calc import format_steps, training_steps

    plan = training_steps(samples, batch, grad_accum=grad_accum, gpus=gpus, epochs=epochs)
    rows_table(format_steps(plan), header=False, title="training steps")


@command(app, "tokens", "Token statistics under a tokenizer; the param:token ratio.")
@reads_data
def calc_tokens(
    data: Annotated[Path, typer.Argument(help="Data file (read like `data stats`).")],
    model: Annotated[str, typer.Option(help="Tokenizer: transformers name/dir or minilm/smollm2.")],
    max_length: Annotated[int | None, typer.Option(help="Report the share truncated here.")] = None,
    rank: Annotated[int | None, typer.Option(help="LoRA rank, for the param:token ratio.")] = None,
    targets: Annotated[str, typer.Option(help="LoRA targets for the ratio.")] = "attention",
    cfg=None,  # from the reading options @reads_data adds
) -> None:
    """Token statistics of a data set under a tokenizer, and the trainable-param:token ratio.

    Examples:
    tailtune calc tokens train.csv --model minilm --max-length 128
    tailtune calc tokens train.csv --model smollm2 --rank 16
    """
    from tailtune.calc import format_tokens, lora_params, token_stats

    frame, _ = load_data(cfg, [data])
    trainable = None
    if rank is not None:
        trainable = lora_params(
            model, rank, _targets(targets), frame["label"].nunique()
        ).trainable_total
    stats = token_stats(frame["text"].tolist(), model, max_length, trainable_params=trainable)
    rows_table(format_tokens(stats), header=False, title=f"tokens under {model}")


def _targets(targets: str):
    """A preset name as is, otherwise comma-separated module names."""
    return targets if targets in ("attention", "all-linear", "qv") else targets.split(",")
