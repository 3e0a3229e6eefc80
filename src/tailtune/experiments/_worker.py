"""Entry point of one local worker process: ``python -m tailtune.experiments._worker JOB RESULT``.

Reads a job JSON, trains it with :func:`tailtune.experiments.executors.execute_job`, and writes the
result JSON atomically; a crash leaves no result file and the driver records the exit code.
The first thing it does is tie its life to the driver's (``die_with_parent``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from tailtune.experiments.executors import die_with_parent, execute_job


def main(job_file: str, result_file: str) -> None:
    """Run the job in ``job_file`` and write its result to ``result_file``."""
    die_with_parent()
    job = json.loads(Path(job_file).read_text(encoding="utf-8"))
    result = execute_job(job)
    tmp = Path(f"{result_file}.tmp")
    tmp.write_text(json.dumps(result), encoding="utf-8")
    os.replace(tmp, result_file)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
