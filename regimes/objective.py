"""A functional model trained on any objective computed from its outputs, on every Keras backend.

Regimes whose loss is not "a Keras loss per output" (forward-forward's goodness, HSIC terms, feedback
signals) build a functional graph whose outputs are everything the objective needs, and hand the
objective to :class:`ObjectiveModel`. Keras calls :meth:`ObjectiveModel.compute_loss` inside its own
train step on TensorFlow, JAX and PyTorch alike, so no backend-specific training loop is needed and
``TrainContext.fit`` works unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import keras
from keras import ops

#: ``objective(x, y, outputs) -> scalar loss``: ``x`` and ``y`` are the batch, ``outputs`` the dict of the
#: model's outputs for it.
Objective = Callable[[Any, Any, Mapping[str, Any]], Any]


class ObjectiveModel(keras.Model):
    """A functional model whose training loss is ``objective(x, y, outputs)``.

    If the outputs contain class scores under ``scores_key``, the training accuracy (``accuracy``) and
    the cross-entropy of those scores (``task_loss``) are tracked as metrics, so a regime can report
    the same training loss as end-to-end training whatever its own objective is.

    Args:
        inputs: the functional inputs (usually ``network.input``).
        outputs: a dict of named symbolic outputs.
        objective: the loss, see :data:`Objective`; layer losses (regularizers) are added to it.
        scores_key: the output holding class logits, if any.

    Example::

        model = ObjectiveModel(net.input, {"scores": logits, "h1": h1}, my_objective)
        model.compile(optimizer=ctx.make_optimizer())
        ctx.fit(model, x, y, epochs=ctx.budget.epochs, loss_key="task_loss")
    """

    def __init__(self, inputs: Any, outputs: Mapping[str, Any], objective: Objective,
                 scores_key: str | None = "scores", **kwargs: Any) -> None:
        super().__init__(inputs=inputs, outputs=dict(outputs), **kwargs)
        self.objective = objective
        self.scores_key = scores_key if scores_key in outputs else None
        self.train_accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        self.task_loss = keras.metrics.Mean(name="task_loss")

    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None,
                     training: bool = True) -> Any:
        loss = self.objective(x, y, y_pred)
        if self.losses:
            loss = loss + ops.sum(self.losses)
        return loss

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None) -> dict[str, Any]:
        if self.scores_key is not None:
            scores = y_pred[self.scores_key]
            self.train_accuracy.update_state(y, scores)
            self.task_loss.update_state(cross_entropy(y, scores))
        return self.get_metrics_result()


def cross_entropy(y: Any, logits: Any) -> Any:
    """Mean sparse categorical cross-entropy of integer labels ``y`` under ``logits``."""
    return ops.mean(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))


def flatten(t: Any) -> Any:
    """``t`` reshaped to ``(batch, features)`` (the trailing dimensions must be known)."""
    features = 1
    for d in t.shape[1:]:
        features *= int(d)
    return ops.reshape(t, (-1, features))
