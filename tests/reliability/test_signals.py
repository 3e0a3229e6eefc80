"""A second and a third Ctrl-C do what docs/failures.md says, with real SIGINTs.

First: noted, a checkpoint of the current step is written, exit 130. Second, while the first is
being handled (here: half-way through that checkpoint): stop at once, no new checkpoint, the
newest complete one stands, exit 130 with a message saying so. Third: ignored while the stop
unwinds. A resume afterwards still gives the uninterrupted run's numbers exactly.
"""

from __future__ import annotations

import os
import signal
import sys

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.skipif(sys.platform == "win32", reason="fork")]


def test_second_sigint_raises_third_is_ignored():
    from tailtune.training.guards import StopSignals

    before = signal.getsignal(signal.SIGINT)
    seen = []
    # on leaving, the noted signal is acted on: KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt), StopSignals() as signals:
        os.kill(os.getpid(), signal.SIGINT)
        seen.append(signals.received)
        try:
            os.kill(os.getpid(), signal.SIGINT)
            seen.append("not raised")
        except KeyboardInterrupt:
            seen.append("second raised")
        os.kill(os.getpid(), signal.SIGINT)  # the third: ignored
        seen.append("third ignored")
    assert seen == [signal.SIGINT, "second raised", "third ignored"]
    assert signal.getsignal(signal.SIGINT) is before


torch = pytest.importorskip("torch")
pytest.importorskip("accelerate")
pytest.importorskip("transformers")

from tests.training.conftest import tiny_bert_dir  # noqa: E402,F401 - fixture
from tests.training.test_faults import (  # noqa: E402,F401 - fixtures and helpers
    assert_same,
    die,
    finish,
    reference,
    resumed_step,
    unfinished,
    zygote,
)


def test_second_ctrl_c_during_the_checkpoint_write(zygote, tiny_bert_dir, reference, tmp_path):  # noqa: F811
    # the first SIGINT after step 6; the second once step 6's checkpoint is half written
    _, log = die(zygote, tiny_bert_dir, tmp_path, "int@step:6,int@checkpoint-writing:6",
                 first=True)  # fmt: skip
    assert "training stopped by a second SIGINT (no new checkpoint) at step 6" in log
    assert "a resumable checkpoint was saved" not in log
    (folder,) = unfinished(tmp_path)
    assert folder.name.startswith(".interrupted-")
    kept = sorted(p.name for p in (folder / "checkpoints").iterdir() if p.name.startswith("step"))
    assert kept == ["step-000004"]  # the half-written step 6 was removed, not restarted
    assert not [p for p in (folder / "checkpoints").iterdir() if p.name.startswith(".tmp")]
    from tailtune.runs import read_run

    path, log = finish(zygote, tiny_bert_dir, tmp_path)
    assert resumed_step(log) == 4
    assert_same(read_run(path), reference)
