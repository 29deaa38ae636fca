"""The rules every record of a leaderboard follows, defined once (used by ``check_regime`` and ``submit``).

* one epoch report per budget epoch (the initialization, epoch 0, is measured by the harness);
* at most the budget's training examples: ``budget_used <= 1 + BUDGET_TOLERANCE`` (the tolerance
  absorbs floating-point rounding only: every regime shipped here uses exactly 1.0).
"""

from __future__ import annotations

from suite.records import Record

BUDGET_TOLERANCE = 1e-6


def reported_epochs(record: Record) -> int:
    """Epochs the regime reported (the harness's epoch-0 measurement excluded)."""
    return max(len(record.history) - 1, 0)


def epochs_problem(record: Record, budget_epochs: int) -> str | None:
    """Why the record's epoch reports break the one-report-per-epoch rule, or None."""
    reported = reported_epochs(record)
    if reported != budget_epochs:
        return f"reported {reported} epochs for a budget of {budget_epochs} (call ctx.report_epoch once per epoch, or use ctx.fit)"
    return None


def budget_problem(record: Record) -> str | None:
    """Why the record overran (or did not account for) its budget, or None."""
    used = record.summary.get("budget_used")
    if used is None:
        return "the record has no budget_used"
    if used > 1.0 + BUDGET_TOLERANCE:
        return f"used {used:.2f} x the budget's training examples (limit 1.00)"
    return None
