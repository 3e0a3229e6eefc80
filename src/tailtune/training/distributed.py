"""One run for all the processes of a multi-process launch (``torchrun``, ``accelerate launch``).

Every process of ``torchrun --nproc_per_node N -m tailtune train CONFIG`` runs the whole
workflow, but only the main process (global rank 0) owns the run: it creates the run folder and
writes every artifact, the index entry included. The other processes train their share of each
step with their checkpoints and best weights read from that folder, and write nothing.

The folder's name is agreed on through the process group: rank 0 creates the folder and
broadcasts its path (``torch.distributed.broadcast_object_list``). Deriving a name from the
launcher's environment (``TORCHELASTIC_RUN_ID``, ``MASTER_PORT``) would need every node to agree
on a time stamp and would break under launchers that set neither; the broadcast works under any
launcher that sets up ``torch.distributed``, on one node or several (with a folder every node
can read).
"""

from __future__ import annotations

import os

from tailtune._extras import require

__all__ = ["Launch", "is_main_process", "launch", "world_size"]


def world_size() -> int:
    """Processes of this launch, from the launcher's environment (1 without a launcher)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def is_main_process() -> bool:
    """Whether this process is global rank 0 (true without a launcher)."""
    return os.environ.get("RANK", "0") == "0"


class Launch:
    """This process's place in a multi-process launch; :meth:`share` passes rank 0's value on."""

    def __init__(self, device: str = "auto"):
        from tailtune.backends._hf import pick_device

        accelerate = require("accelerate")
        # the same shared state the training loop's Accelerator uses: one process group
        self.state = accelerate.PartialState(cpu=pick_device(device) == "cpu")
        self.rank = self.state.process_index
        self.world = self.state.num_processes
        self.is_main = self.state.is_main_process

    def share(self, value=None):
        """Rank 0's ``value`` on every process (a collective: every process must call it)."""
        torch = require("torch")
        box = [value if self.is_main else None]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def close(self) -> None:
        """Tear the process group down on every process once the run is written.

        Left to interpreter exit, gloo's process group is destroyed while its threads still run
        and a process that outlives its peer can abort ("terminate called without an active
        exception", SIGABRT), so torchrun reports a finished run as failed. A barrier first (no
        process tears down while another still talks), then ``destroy_process_group``. Called
        on the normal path only: after an error the other process may never reach the barrier.
        """
        torch = require("torch")
        dist = torch.distributed
        if dist.is_available() and dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()


def launch(device: str = "auto") -> Launch | None:
    """A :class:`Launch` (the process group set up) under a multi-process launcher, else None."""
    return Launch(device) if world_size() > 1 else None
