"""The workflow, read in call order: prepare -> fit -> score -> refit -> write.

``train(cfg)`` (:mod:`.train`) runs the steps top to bottom, each in its own module:
:mod:`.prepare` (data config -> train / val / test frames), :mod:`.fit` (the backend built and
fitted), :mod:`.score` (metrics, per-class tables and predictions per split), :mod:`.refit`
(the final model on train + validation), :mod:`.write` (the run directory). Beside them,
:mod:`.apply` uses a finished run on new files (``evaluate``, ``predict``) and
:mod:`.checkpoints` scores and promotes the checkpoints a neural run kept.
"""

from tailtune.workflow.apply import evaluate, evaluate_file, predict, predict_file
from tailtune.workflow.fit import fit_backend, training_inputs
from tailtune.workflow.prepare import Prepared, prepare_data
from tailtune.workflow.score import score_split, score_splits
from tailtune.workflow.train import resume, train
from tailtune.workflow.write import write_run

__all__ = [
    "Prepared",
    "evaluate",
    "evaluate_file",
    "fit_backend",
    "predict",
    "predict_file",
    "prepare_data",
    "resume",
    "score_split",
    "score_splits",
    "train",
    "training_inputs",
    "write_run",
]
