"""HSIC-bottleneck training: every block maximizes its dependence on the labels and minimizes it on the input."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from regimes.kernels import dependence, gaussian_kernel, linear_kernel
from regimes.losses import one_hot
from regimes.objective import ObjectiveModel, cross_entropy
from regimes.parts import detached_blocks
from suite.api import Params, Regime, TrainContext
from suite.registry import regimes


class HSICBottleneckParams(Params):
    lam: float = Field(default=0.1, ge=0.0, description="weight lambda of HSIC(X; T) in HSIC(Y; T) - lambda HSIC(X; T)")
    sigma: float = Field(default=5.0, gt=0, description="Gaussian kernel width (variance 2 sigma^2 d)")
    estimator: Literal["cka", "hsic", "nhsic"] = Field(default="cka", description="dependence estimator on each batch")
    label_kernel: Literal["linear", "gaussian"] = Field(default="linear", description="kernel on one-hot labels")


@regimes.register
class HSICBottleneck(Regime):
    """HSIC-bottleneck training (Ma, Lewis & Kleijn 2020, "The HSIC Bottleneck: Deep Learning without
    Back-Propagation", AAAI).

    Every block ``l`` (its input gradient-stopped, so no error crosses blocks) minimizes on each batch
    ``lambda * D(X; T_l) - D(Y; T_l)``, i.e. maximizes ``D(Y; T_l) - lambda D(X; T_l)``, where ``D`` is a
    kernel dependence estimate between the batch's inputs ``X``, one-hot labels ``Y`` and the block's
    output ``T_l``: Gaussian kernels ``exp(-||a - b||^2 / (2 sigma^2 d))`` on flattened features, a linear
    (or Gaussian) kernel on labels, and the estimator ``cka`` (normalized HSIC, default), ``hsic`` (the
    biased HSIC) or ``nhsic`` (the normalized-CCA HSIC with epsilon = 1e-5, as in the probe).

    The network's head learns by cross-entropy on the detached last block at the same time (the paper
    trains this output layer afterwards; training it alongside keeps the budget to one forward pass per
    example per epoch). The reported training loss is that head's cross-entropy. Runs on every
    architecture; kernel matrices are batch x batch, so cost grows with the square of the batch size.
    """

    name = "hsic-bottleneck"
    version = "1.0"
    family = "layer-wise"
    description = "every block maximizes HSIC(Y;T) - lambda HSIC(X;T) on each batch; the head learns on the detached last block"
    citation = "Ma, Lewis & Kleijn (2020), The HSIC Bottleneck: Deep Learning without Back-Propagation, AAAI"
    Params = HSICBottleneckParams

    def train(self, ctx: TrainContext) -> None:
        net, p = ctx.network, self.params
        num_classes = net.num_classes
        features, scores = detached_blocks(net)
        outputs = {f"t{i + 1}": t for i, t in enumerate(features)} | {"scores": scores}

        def objective(x, y, out):
            k_x = gaussian_kernel(x, p.sigma)
            y_onehot = one_hot(y, num_classes)
            k_y = linear_kernel(y_onehot) if p.label_kernel == "linear" else gaussian_kernel(y_onehot, p.sigma)
            loss = cross_entropy(y, out["scores"])
            for i in range(len(net.blocks)):
                k_t = gaussian_kernel(out[f"t{i + 1}"], p.sigma)
                loss = loss + p.lam * dependence(k_x, k_t, p.estimator) - dependence(k_y, k_t, p.estimator)
            return loss

        model = ObjectiveModel(net.input, outputs, objective, name="hsic_bottleneck")
        model.compile(optimizer=ctx.make_optimizer())
        ctx.fit(model, ctx.data.train.x, ctx.data.train.y, epochs=ctx.budget.epochs,
                predictor=net.composed(), loss_key="task_loss")
