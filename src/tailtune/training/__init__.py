"""The neural training loop (on 🤗 Accelerate) and its parts.

``fit_classifier`` in :mod:`tailtune.training.loop` is the entry point shared by the encoder,
embedding-head and decoder backends. Importing this package needs torch and accelerate.
"""

from tailtune.training.batching import encode_texts, epoch_batches, pad_collate
from tailtune.training.early_stopping import EarlyStopping, metric_mode
from tailtune.training.guards import NonFiniteLossError, NotLearningGuard, TrainingInterrupted
from tailtune.training.inference import model_logits, predict_logits
from tailtune.training.loop import FitResult, LoopState, classification_metrics, fit_classifier
from tailtune.training.schedule import build_scheduler, lr_factor
from tailtune.training.settings import TrainSettings

__all__ = [
    "EarlyStopping",
    "FitResult",
    "LoopState",
    "NonFiniteLossError",
    "NotLearningGuard",
    "TrainSettings",
    "TrainingInterrupted",
    "build_scheduler",
    "classification_metrics",
    "encode_texts",
    "epoch_batches",
    "fit_classifier",
    "lr_factor",
    "metric_mode",
    "model_logits",
    "pad_collate",
    "predict_logits",
]
