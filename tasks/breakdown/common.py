"""Pieces shared by the breakdown tasks: the fixed data seed, balanced sampling, binary chance."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from suite.api import Task, TaskData

# The generator seed of every breakdown dataset. Fixed: the data of a task never depends on a cell's
# seed (only the network's initialization and the training order do). Changing it changes results:
# bump the task versions.
DATA_SEED = 20170418


def rng_for(task_name: str, *parts: int) -> np.random.Generator:
    """A generator seeded from :data:`DATA_SEED`, the task's name and its structural params.

    Different knob values get independent (but fixed) draws; the same params always the same draw.
    """
    name_key = [ord(c) for c in task_name]
    return np.random.default_rng([DATA_SEED, *name_key, *(int(p) for p in parts)])


def balanced_draw(
    draw: Callable[[np.random.Generator, int], tuple[np.ndarray, ...]],
    labels_of: Callable[[tuple[np.ndarray, ...]], np.ndarray],
    n: int,
    num_classes: int,
    rng: np.random.Generator,
    max_rounds: int = 64,
) -> tuple[np.ndarray, ...]:
    """Draw ``n`` examples with exactly ``n / num_classes`` of each label, in a shuffled order.

    ``draw(rng, count)`` returns a tuple of arrays whose first axis is the example axis;
    ``labels_of(arrays)`` gives their labels. Draws in rounds and keeps the first examples of each
    class until every class has its quota (balanced classes make chance exactly ``1 / num_classes``).
    """
    if n % num_classes:
        raise ValueError(f"n={n} is not a multiple of num_classes={num_classes}")
    quota = n // num_classes
    kept: list[tuple[np.ndarray, ...]] = []
    have = np.zeros(num_classes, dtype=np.int64)
    for _ in range(max_rounds):
        arrays = draw(rng, 2 * n)
        y = labels_of(arrays)
        take = np.zeros(len(y), dtype=bool)
        for c in range(num_classes):
            idx = np.flatnonzero(y == c)[: quota - have[c]]
            take[idx] = True
            have[c] += len(idx)
        kept.append(tuple(a[take] for a in arrays))
        if (have == quota).all():
            break
    else:  # pragma: no cover - a label that (almost) never occurs
        raise RuntimeError(f"could not draw a balanced sample: got {have.tolist()} of {quota} per class")
    merged = tuple(np.concatenate(parts) for parts in zip(*kept))
    order = rng.permutation(n)
    return tuple(a[order] for a in merged)


class BreakdownTask(Task):
    """Base of the breakdown tasks: balanced binary labels, so chance is exactly 1 / num_classes.

    Subclasses set ``difficulty_knob`` to the name of their knob parameter.
    """

    provides_module_targets = True
    data_source = "generated"

    def chance_level(self, data: TaskData) -> float:
        """``1 / num_classes``: every split is drawn with exactly balanced classes."""
        return 1.0 / data.num_classes

    @property
    def knob_value(self) -> int:
        """The value of this task's difficulty knob."""
        return int(getattr(self.params, self.difficulty_knob))
