"""Synthetic breakdown tasks: modular pipelines whose difficulty grows with one knob.

Each task is built from generated or embedded data (offline, deterministic: a fixed generator seed
that never depends on a cell's seed), provides *module targets* (intermediate supervision that only
modular regimes see), states its chance level and a target accuracy, and names the parameter that
is its difficulty knob (``Task.difficulty_knob``). They make the claim of Glasmachers (2017),
"Limits of End-to-End Learning", and the decomposition experiment of Shalev-Shwartz, Shamir &
Shammah (2017), "Failures of Gradient-Based Deep Learning", measurable; see ``docs/breakdown.md``.

* ``parity-of-digits`` (knob ``k``): k embedded 8x8 digits; label = parity of the number of odd digits.
* ``module-chain`` (knob ``m``): m random Boolean modules in series; label = the chain's output.
* ``sparse-parity`` (knob ``k``): n random bits; label = parity of k fixed, hidden bits.
"""

from tasks.breakdown import chain, parity_digits, sparse_parity  # noqa: F401  (registers the tasks)
