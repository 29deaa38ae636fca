"""Direct feedback alignment: the output error reaches every block through its own fixed random matrix."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from keras import ops

from regimes.feedback import feedback_matrix
from regimes.losses import inject_gradient, output_error
from regimes.objective import ObjectiveModel, cross_entropy
from regimes.parts import detached_blocks
from suite.api import Params, Regime, TrainContext
from suite.registry import regimes


class DirectFeedbackAlignmentParams(Params):
    feedback_scale: float = Field(default=1.0, gt=0, description="scale of the fixed feedback matrices (Glorot's range x scale)")


@regimes.register
class DirectFeedbackAlignment(Regime):
    """Direct feedback alignment (Nøkland 2016, "Direct Feedback Alignment Provides Learning in Deep
    Neural Networks", NeurIPS).

    The output error ``e = softmax(logits) - onehot(y)`` (the gradient of the cross-entropy with respect
    to the logits) is sent to the output of every block ``l`` through a fixed random matrix ``B_l``
    (``num_classes x`` the block's output size, drawn once per cell from the cell's seed, never
    trained): the block's output receives the error ``e B_l`` and backpropagates it only inside the
    block. For Dense-ReLU blocks this is exactly DFA (``delta a_l = (e B_l) * f'(a_l)``); for blocks of
    several layers it is DFA at block granularity. Blocks are separated by stop-gradients; the head
    learns from the cross-entropy on the last block's output. One optimizer, one forward pass per
    example. Runs on every architecture. The reported training loss is the head's cross-entropy.
    """

    name = "direct-feedback-alignment"
    version = "1.0"
    family = "feedback"
    description = "output error sent to every block through fixed random matrices; no backward pass between blocks"
    citation = "Nøkland (2016), Direct Feedback Alignment Provides Learning in Deep Neural Networks, NeurIPS"
    Params = DirectFeedbackAlignmentParams

    def train(self, ctx: TrainContext) -> None:
        net = ctx.network
        num_classes = net.num_classes
        rng = np.random.default_rng(ctx.seed)
        sizes = [int(np.prod(shape)) for shape in net.block_output_shapes]
        feedback = [feedback_matrix(rng, num_classes, size, self.params.feedback_scale) for size in sizes]

        features, scores = detached_blocks(net)
        outputs = {f"h{i + 1}": t for i, t in enumerate(features)} | {"scores": scores}

        def objective(x, y, out):
            logits = out["scores"]
            error = ops.stop_gradient(output_error(y, logits, num_classes))
            loss = cross_entropy(y, logits)
            for i, b in enumerate(feedback):
                loss = loss + inject_gradient(out[f"h{i + 1}"], ops.matmul(error, ops.convert_to_tensor(b)))
            return loss

        model = ObjectiveModel(net.input, outputs, objective, name="direct_feedback_alignment")
        model.compile(optimizer=ctx.make_optimizer())
        ctx.fit(model, ctx.data.train.x, ctx.data.train.y, epochs=ctx.budget.epochs,
                predictor=net.composed(), loss_key="task_loss")
