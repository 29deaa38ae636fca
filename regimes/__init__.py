"""Training regimes. Importing this package registers every built-in regime.

A regime trains a task's blocks within a budget and reports each epoch; see ``suite/api.py``.
"""

from regimes import e2e, layerwise, layerwise_seq  # noqa: F401  (registers the regimes)
from regimes import (  # noqa: E402
    direct_feedback_alignment,  # noqa: F401
    feedback_alignment,  # noqa: F401
    forward_forward,  # noqa: F401
    hsic_bottleneck,  # noqa: F401
    local_losses,  # noqa: F401
)
from regimes import modular  # noqa: F401,E402  (modular, modular-finetune, module-isolation)
