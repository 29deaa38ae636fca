"""Training regimes. Importing this package registers every built-in regime.

A regime trains a task's blocks within a budget and reports each epoch; see ``suite/api.py``.
"""

from regimes import e2e, layerwise, layerwise_seq  # noqa: F401  (registers the regimes)
