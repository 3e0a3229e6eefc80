"""Where will more labels help? Per-class learning curves, a diagnosis, and a labelling plan.

``advise(CONFIG | RUN, AdviseSettings(budget=N))`` trains the config on nested fractions of its training split,
fits each class's F1 against its training count (F1(n) = a − b·n^(−c)), diagnoses every class
(data-starved, saturated low, noise-limited, confusable), and shares a labelling budget across
classes to maximise predicted macro F1, with intervals. See docs/advise.md.
"""

from tailtune.advise.allocate import allocation_gain, curve_gain, greedy_allocation
from tailtune.advise.confusable import confusable_pairs, merged_macro_f1, name_similarity
from tailtune.advise.curves import CurveFit, fit_power_law, power_law
from tailtune.advise.diagnose import examples_to_target, validation_needed
from tailtune.advise.output import print_advice
from tailtune.advise.plan import naive_allocations
from tailtune.advise.report import advice_fragment
from tailtune.advise.run import Advice, advise
from tailtune.advise.settings import FRACTIONS, AdviseSettings

__all__ = [
    "FRACTIONS",
    "Advice",
    "AdviseSettings",
    "CurveFit",
    "advice_fragment",
    "advise",
    "allocation_gain",
    "confusable_pairs",
    "curve_gain",
    "examples_to_target",
    "fit_power_law",
    "greedy_allocation",
    "merged_macro_f1",
    "naive_allocations",
    "name_similarity",
    "power_law",
    "print_advice",
    "validation_needed",
]
