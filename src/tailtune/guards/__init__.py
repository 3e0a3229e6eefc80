"""Guards: the failures people actually have, named with their evidence and what to do.

Pure functions over a training history, label counts and texts; the training loop calls them
after every evaluation (one warning line per finding, recorded in metrics.json ``guards``) and
``tailtune diagnose`` reads a finished run with the same functions, the guard's verdict first.
Each guard's trigger, evidence and advice: docs/evaluation.md, "Guards".
"""

from tailtune.guards.curve import WHAT_TO_DO, check_history
from tailtune.guards.final import check_predictions, check_set_predictions
from tailtune.guards.finding import GUARDS, Finding, first_finding
from tailtune.guards.leakage import check_leakage, normalise_text, overlap
from tailtune.guards.reference import (
    chance_macro_f1,
    coverage,
    evaluation_figures,
    prior_entropy,
)
from tailtune.guards.sets import bernoulli_entropy, set_chance_macro_f1, set_evaluation_figures

__all__ = [
    "GUARDS",
    "WHAT_TO_DO",
    "bernoulli_entropy",
    "Finding",
    "chance_macro_f1",
    "check_history",
    "check_leakage",
    "check_predictions",
    "check_set_predictions",
    "coverage",
    "evaluation_figures",
    "first_finding",
    "normalise_text",
    "overlap",
    "prior_entropy",
    "set_chance_macro_f1",
    "set_evaluation_figures",
]
