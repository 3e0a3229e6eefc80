"""A process that forks training processes on request, for the fault-injection tests.

Importing torch and transformers takes seconds (a minute on a loaded machine); forking a process
that has already imported them takes milliseconds. This zygote imports once, never runs a torch
operation itself (so no thread pool is forked), then reads one JSON command per stdin line:

    {"action": "train" | "resume", "config": {...}, "runs_dir": "...", "fault": "kill@mid-step:7",
     "log": "path/of/the/child/log"}

and for each forks a child that trains through the real library (``workflow.train`` with
``train.resume`` as asked, or ``workflow.resume``) with ``TAILTUNE_FAULT`` set, maps the outcome
to an exit status as the CLI does (0, 1 for a user error, 128 + signal for an interrupt), and
answers one JSON line: ``{"pid": ..., "exit": code, "signal": n or null}``. A child killed with
SIGKILL really dies mid-work: nothing in it runs afterwards.
"""

from __future__ import annotations

import json
import os
import sys
import traceback


def child(cmd: dict) -> int:
    from tailtune.config import config_from_dict
    from tailtune.errors import TailtuneError
    from tailtune.workflow import resume, train

    if cmd.get("fault"):
        os.environ["TAILTUNE_FAULT"] = cmd["fault"]
    else:
        os.environ.pop("TAILTUNE_FAULT", None)
    try:
        if cmd["action"] == "resume":
            resume(cmd["name"], runs_dir=cmd["runs_dir"], quiet=False)
        else:
            train(config_from_dict(cmd["config"]), runs_dir=cmd["runs_dir"], quiet=False)
    except TailtuneError as exc:
        print(f"error: {exc}", flush=True)
        return getattr(exc, "exit_code", 1)
    except BaseException:
        traceback.print_exc()
        return 2
    return 0


def main() -> None:
    import accelerate  # noqa: F401  (imported here once, for every child)
    import torch
    import transformers  # noqa: F401

    import tailtune.backends.encoder  # noqa: F401
    import tailtune.workflow  # noqa: F401

    torch.set_num_threads(1)
    print(json.dumps({"ready": os.getpid()}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        pid = os.fork()
        if pid == 0:  # the child: its output goes to its log, never into the protocol
            fd = os.open(cmd["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            code = 2
            try:
                code = child(cmd)
            finally:
                sys.stdout.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + sig
        print(json.dumps({"pid": pid, "exit": code, "signal": sig}), flush=True)


if __name__ == "__main__":
    main()
