"""Report section ``table``: the suite's results table (mean ± standard deviation over seeds)."""

from __future__ import annotations

from suite.reports.core import ReportContext, section
from suite.tables import DEFAULT_METRICS, leaderboard_table


@section("table")
def table_section(ctx: ReportContext) -> str:
    """The results table: accuracy, time to target, wall time, best accuracy and learning-curve area."""
    table = leaderboard_table(ctx.results, DEFAULT_METRICS + ("best_test_accuracy", "auc"), fmt="md")
    return "## Results\n\nMean ± standard deviation over seeds; ↑ higher is better, ↓ lower is better.\n\n" + table + "\n"
