"""``tailtune export`` and ``tailtune serve``: thin commands over export_run and serve_run
(tailtune.export, tailtune.serve; docs/deploy.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tailtune.cli._common import JsonOpt, RunArg, command
from tailtune.cli._print import console, err_console
from tailtune.errors import TailtuneError

__all__ = ["app"]

app = typer.Typer()


@command(app, "export", "Export a run as transformers, ONNX or a scikit-learn pipeline.")
def export_cmd(
    run: RunArg,
    fmt: Annotated[str, typer.Option("--format", "-f", help="hf, onnx or sklearn.")],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="New (or empty) output folder; --force replaces one."),
    ],
    quantize: Annotated[
        str | None, typer.Option("--quantize", help="int8: dynamic int8 quantization (onnx).")
    ] = None,
    push: Annotated[
        str | None,
        typer.Option("--push", help="Then upload the folder to this Hugging Face model repo."),
    ] = None,
    as_json: JsonOpt = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a non-empty -o folder (never the run).")
    ] = False,
) -> None:
    """Export a run's model as a transformers folder, ONNX, or a scikit-learn pipeline, with a
    model card (README.md), and report how closely it reproduces tailtune predict on the run's
    validation texts; --push uploads the folder to the Hugging Face Hub.

    Examples:
    tailtune export runs/atis-minilm-encoder-20261201-101500 --format hf -o exports/atis-hf
    tailtune export runs/atis-minilm-encoder-20261201-101500 --format onnx
      --quantize int8 -o exports/atis-onnx-int8
    tailtune export runs/atis-tfidf-20261201-101500 --format sklearn -o exports/atis-sk
    tailtune export runs/atis-minilm-encoder-20261201-101500 --format hf -o exports/atis-hf
      --push my-org/atis-minilm
    """
    from tailtune.export import export_run

    report = export_run(run, fmt, out, quantize=quantize, force=force)
    if as_json:
        console.print_json(json.dumps(report, default=str))
    else:
        files = ", ".join(report["files"])
        console.print(
            f"exported {report['backend']} run as {fmt} to {out}: {files}", soft_wrap=True
        )
        console.print(agreement_line(report["agreement"]), soft_wrap=True)
    if push:
        from tailtune.export.push import push_export

        console.print(f"pushed to {push_export(out, push)}", soft_wrap=True)


def agreement_line(a: dict) -> str:
    """One line: agreement with tailtune predict on the validation texts."""
    if not a.get("n"):
        return "agreement: the run has no validation texts to compare on"
    line = (
        f"agreement with {a['against']} on {a['n']} validation texts: top-1 "
        f"{a['top1_agreement']:.2%}, largest probability difference {a['max_abs_diff']:.2g}"
    )
    if "path_agreement" in a:  # a top-down hierarchy, read through the decoder it ships
        line += f"; paths {a['path_agreement']:.2%}, back-off answers {a['answer_agreement']:.2%}"
    if a.get("label_set_agreement") is not None:
        line += f"; label sets {a['label_set_agreement']:.2%}"
    if a.get("within_tolerance") is False:
        line += " (outside the target: check this export before using it)"
    return line


@command(app, "serve", "Serve a run's model over HTTP (POST /predict, GET /health).")
def serve_cmd(
    run: Annotated[
        Path,
        typer.Argument(help="Run directory (or an ONNX export folder, or a top-down one)."),
    ],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
    onnx: Annotated[
        Path | None, typer.Option("--onnx", help="Serve this ONNX export of RUN instead.")
    ] = None,
    max_batch: Annotated[int, typer.Option(help="Most texts per model call.")] = 32,
    max_wait_ms: Annotated[
        float, typer.Option(help="How long a batch waits for more requests.")
    ] = 5.0,
    max_text_chars: Annotated[int, typer.Option(help="Longest text accepted.")] = 10_000,
    max_texts: Annotated[int, typer.Option(help="Most texts per request.")] = 256,
    threads: Annotated[
        int | None, typer.Option(help="CPU threads per worker for the model.")
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="TAILTUNE_API_KEY",
            show_envvar=True,
            help="Require this key (Authorization: Bearer KEY) on every request but /health.",
        ),
    ] = None,
) -> None:
    """Serve a run's model over HTTP: POST /predict, GET /health, GET /labels, docs at /docs.

    Examples:
    tailtune serve runs/atis-minilm-encoder-20261201-101500
    tailtune serve runs/atis-minilm-encoder-20261201-101500 --port 8080 --workers 2
    tailtune serve runs/atis-minilm-encoder-20261201-101500 --onnx exports/atis-onnx-int8
      --max-batch 64
    """
    from tailtune.cli._options import check_float, check_int, check_port
    from tailtune.serve import serve_run

    # checked before anything claims to serve
    check_port("--port", port)
    for opt, value in (("--workers", workers), ("--max-batch", max_batch),
                       ("--max-text-chars", max_text_chars), ("--max-texts", max_texts),
                       ("--threads", threads)):  # fmt: skip
        check_int(opt, value, 1)
    check_float("--max-wait-ms", max_wait_ms, 0)
    source = onnx if onnx is not None else run
    if onnx is not None:
        _check_onnx_of(run, onnx)
    else:
        _check_source(run)
    if api_key is not None and not api_key.strip():
        raise TailtuneError("--api-key: empty; give a key or leave the option out")

    def announce() -> None:
        if api_key is None and not _loopback(host):
            err_console.print(
                f"warning: --host {host} serves anyone who can reach this machine, without a "
                "key; add --api-key KEY (or set TAILTUNE_API_KEY)",
                style="yellow", soft_wrap=True, markup=False,
            )  # fmt: skip
        console.print(f"serving {source} on http://{host}:{port} (docs at /docs)", soft_wrap=True)

    serve_run(
        source,
        host=host,
        port=port,
        workers=workers,
        announce=announce,
        api_key=api_key,
        max_batch=max_batch,
        max_wait_ms=max_wait_ms,
        max_text_chars=max_text_chars,
        max_texts=max_texts,
        threads=threads,
    )


def _loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_source(path: Path) -> None:
    """A finished run or an export folder, checked before anything is printed or loaded."""
    from tailtune.export._files import read_export_json
    from tailtune.runs import read_run

    if (path / "export.json").is_file():
        read_export_json(path)
    else:
        read_run(path)


def _check_onnx_of(run: Path, onnx: Path) -> None:
    """``--onnx`` must be an ONNX export of RUN (export.json names its run)."""
    from tailtune.errors import TailtuneError
    from tailtune.export._files import read_export_json

    meta = read_export_json(onnx)
    if meta.get("format") != "onnx":
        raise TailtuneError(f"--onnx {onnx}: a {meta.get('format')} export, not an ONNX one")
    if Path(meta["run"]).resolve() != run.resolve():
        raise TailtuneError(f"--onnx {onnx}: exported from {meta['run']}, not from {run}")
