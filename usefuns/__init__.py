"""usefuns: helpers for the two-layer neural network assignment (PyTorch).

Modules, one job each:

* ``usefuns.grad``: numeric gradients and the relative error (gradient checks).
* ``usefuns.data``: toy data, minibatches, the digits and CIFAR-10 data sets.
* ``usefuns.vis``: figures of training curves, first-layer weights and example images.
* ``usefuns.model``: the ``TwoLayerNet`` object over the notebook's functions, checkpoints.
* ``usefuns.utils``: seeds, the device to compute on, deterministic numerics.
* ``usefuns.selfcheck``: not for the notebook: the nbgrader validator that the course's and
  the students' ``nbgrader_config.py`` install (it needs nbgrader, which the notebook does not).
* ``usefuns.stderr``: not for the notebook: the rule that a test cell fails on its own errors,
  not on stderr, for autograde and the self-check alike (both configs call it).

Importing the package loads nothing: each module is imported when it is first used
(``usefuns.data`` or ``from usefuns.data import ...``), so that ``nbgrader_config.py`` can
import ``usefuns.selfcheck`` without PyTorch. Matplotlib and scikit-learn are imported when a
figure or the digits data set is first asked for.
"""
import importlib

__all__ = ["data", "grad", "model", "utils", "vis"]


def __getattr__(name):
    """``usefuns.<module>``: import the module on first use (PEP 562)."""
    if name in __all__ or name in ("selfcheck", "stderr"):
        return importlib.import_module(f"usefuns.{name}")
    raise AttributeError(f"module 'usefuns' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
