"""The HTML report and the terminal summaries of diagnosis, noise floor and error analysis."""

from tailtune.report.build import build_report, report_context
from tailtune.report.terminal import print_comparison, print_diagnosis, print_errors, print_noise

__all__ = [
    "build_report",
    "print_comparison",
    "print_diagnosis",
    "print_errors",
    "print_noise",
    "report_context",
]
