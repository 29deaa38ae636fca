"""e2ebench's harness: suite files, registry, cell planning, execution, metrics, records, tables, CLI.

The contract for tasks and regimes is in :mod:`suite.api`.
"""

__version__ = "0.1.0"
