"""Report section ``table``: the suite's results table (mean ± standard deviation over seeds)."""

from __future__ import annotations

from suite.reports.core import ReportContext, section
from suite.tables import DEFAULT_METRICS, leaderboard_table


@section("table")
def table_section(ctx: ReportContext) -> str:
    """The results table: test accuracy (final and validation-selected), time to target, training time, validation accuracy, curve area."""
    table = leaderboard_table(ctx.results, DEFAULT_METRICS + ("val_accuracy", "auc"), fmt="md")
    return ("## Results\n\nMean ± half-width of the 95% interval over seeds (Student t; accuracies floored at the "
            "binomial error of their split), n = seeds with a value; ↑ higher is better, ↓ lower is better. Time to "
            "target and selection read the validation split; test accuracy is reported at the end of the budget and "
            "at the validation-selected epoch.\n\n" + table + "\n")
