"""The rules every record of a leaderboard follows, defined once (used by ``check_regime`` and ``submit``).

* one epoch report per budget epoch (the initialization, epoch 0, is measured by the harness);
* at most the budget's training examples: ``budget_used <= declared + BUDGET_TOLERANCE``, where
  ``declared`` is the regime's ``budget_factor`` (1.0 for every regime that keeps to the shared budget;
  the tolerance absorbs floating-point rounding only). A regime that declares more trains for that many
  budget epochs, and every table marks it.
"""

from __future__ import annotations

from suite.records import Record

BUDGET_TOLERANCE = 1e-6


def reported_epochs(record: Record) -> int:
    """Epochs the regime reported (the harness's epoch-0 measurement excluded)."""
    return max(len(record.history) - 1, 0)


def declared_budget(record: Record) -> float:
    """The budget factor the regime declared for this cell (1.0 in records that predate the declaration)."""
    return float(record.summary.get("budget_declared") or 1.0)


def epochs_problem(record: Record, budget_epochs: int) -> str | None:
    """Why the record's epoch reports break the one-report-per-epoch rule, or None."""
    reported, expected = reported_epochs(record), round(budget_epochs * declared_budget(record))
    if reported != expected:
        return f"reported {reported} epochs for a budget of {expected} (call ctx.report_epoch once per epoch, or use ctx.fit)"
    return None


def budget_problem(record: Record) -> str | None:
    """Why the record overran (or did not account for) its budget, or None."""
    used, limit = record.summary.get("budget_used"), declared_budget(record)
    if used is None:
        return "the record has no budget_used"
    if used > limit + BUDGET_TOLERANCE:
        return f"used {used:.2f} x the budget's training examples (limit {limit:.2f})"
    return None


def extra_budget(record: Record | None) -> float | None:
    """The share of the budget a finished record used when it is more than the shared budget, else None."""
    used = record.summary.get("budget_used") if record is not None else None
    return float(used) if used is not None and used > 1.0 + BUDGET_TOLERANCE else None
