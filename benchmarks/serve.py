"""Load test of ``tailtune serve`` on 127.0.0.1: PyTorch backend vs the ONNX int8 export.

    python benchmarks/serve.py --run runs/atis-minilm-encoder-YYYYmmdd-HHMMSS

For each of (PyTorch run, ONNX int8 export of it) a server subprocess starts on a free loopback
port with ``--threads`` model threads; after a short warm-up, clients send one-text requests
(texts from the run's validation split, cycled) — ``--requests`` in all per scenario, 1 and 8
concurrent clients, each scenario cut at ``--duration`` seconds — and the script prints texts/s,
p50/p99 latency and failed requests. Bounded in count and time; it stops its servers itself.
Figures on a shared machine are contended: compare the two paths within one run.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def main() -> None:
    args = parse_args()
    import httpx

    from tailtune.runs import read_run

    texts = read_run(args.run).split_predictions("val")["text"].astype(str).tolist()
    if not texts:
        sys.exit(f"error: {args.run} has no validation texts")
    onnx_dir = args.onnx or export_int8(args.run)
    results = []
    for name, extra in (("pytorch", []), ("onnx-int8", ["--onnx", str(onnx_dir)])):
        server = start_server(args.run, extra, args.threads)
        try:
            wait_healthy(httpx, server["url"], server["proc"])
            for concurrency in args.concurrency:
                load(httpx, server["url"], texts[:20], 20, 1, 60.0)  # warm-up, not counted
                row = load(httpx, server["url"], texts, args.requests, concurrency, args.duration)
                results.append({"server": name, "concurrency": concurrency, **row})
                print_row(results[-1])
        finally:
            stop(server["proc"])
    summary = {"run": str(args.run), "threads": args.threads, "results": results}
    for c in args.concurrency:
        by = {r["server"]: r for r in results if r["concurrency"] == c}
        ratio = by["onnx-int8"]["texts_per_s"] / max(by["pytorch"]["texts_per_s"], 1e-9)
        summary[f"onnx_int8_over_pytorch_c{c}"] = round(ratio, 2)
        print(f"concurrency {c}: ONNX int8 / PyTorch texts/s = {ratio:.2f}x")
    if args.out:
        Path(args.out).write_text(json.dumps(summary, indent=2) + "\n")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", type=Path, required=True, help="a MiniLM encoder run directory")
    p.add_argument("--onnx", type=Path, help="an ONNX int8 export of RUN (default: export one)")
    p.add_argument("--requests", type=int, default=400, help="requests per scenario")
    p.add_argument("--duration", type=float, default=60.0, help="seconds per scenario, at most")
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    p.add_argument("--threads", type=int, default=2, help="model threads in the server")
    p.add_argument("--out", type=Path, help="write the figures as JSON here")
    return p.parse_args()


def export_int8(run: Path) -> Path:
    from tailtune.export import export_run

    out = Path(tempfile.mkdtemp(prefix="tailtune-bench-")) / "onnx-int8"
    report = export_run(run, "onnx", out, quantize="int8")
    a = report["agreement"]
    print(f"exported ONNX int8: top-1 agreement {a['top1_agreement']:.2%} on {a['n']} val texts")
    return out


def start_server(run: Path, extra: list[str], threads: int) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "tailtune", "serve", str(run), "--port", str(port)]
    cmd += [*extra, "--threads", str(threads)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL)
    return {"proc": proc, "url": f"http://127.0.0.1:{port}"}


def wait_healthy(httpx, url: str, proc, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"error: the server exited with {proc.returncode}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    sys.exit("error: the server did not become healthy in time")


def load(httpx, url: str, texts: list[str], n: int, concurrency: int, duration: float) -> dict:
    """``n`` one-text requests from ``concurrency`` clients, stopped at ``duration`` seconds."""
    counter = iter(range(n))
    lock = threading.Lock()
    latencies: list[float] = []
    failed = [0]
    stop_at = time.monotonic() + duration

    def client() -> None:
        with httpx.Client(timeout=30) as http:
            while time.monotonic() < stop_at:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                t0 = time.perf_counter()
                try:
                    ok = http.post(url + "/predict", json={"texts": [texts[i % len(texts)]]})
                    good = ok.status_code == 200
                except httpx.HTTPError:
                    good = False
                dt = time.perf_counter() - t0
                with lock:
                    (latencies.append(dt) if good else failed.__setitem__(0, failed[0] + 1))

    start = time.perf_counter()
    with cf.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda _: client(), range(concurrency)))
    elapsed = time.perf_counter() - start
    lat = np.asarray(latencies) * 1000
    return {
        "requests": len(latencies) + failed[0],
        "failed": failed[0],
        "elapsed_s": round(elapsed, 2),
        "texts_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(float(np.percentile(lat, 50)), 1) if len(lat) else None,
        "p99_ms": round(float(np.percentile(lat, 99)), 1) if len(lat) else None,
    }


def print_row(r: dict) -> None:
    print(
        f"{r['server']:>9}  clients {r['concurrency']}: {r['texts_per_s']:7.1f} texts/s  "
        f"p50 {r['p50_ms']} ms  p99 {r['p99_ms']} ms  {r['requests']} requests, "
        f"{r['failed']} failed, {r['elapsed_s']} s"
    )


def stop(proc) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
