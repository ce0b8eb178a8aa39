"""usefuns: helpers for the two-layer neural network assignment (PyTorch).

Modules, one job each:

* ``usefuns.grad``: numeric gradients and the relative error (gradient checks).
* ``usefuns.data``: toy data, minibatches, the digits and CIFAR-10 data sets.
* ``usefuns.vis``: figures of training curves, first-layer weights and example images.
* ``usefuns.model``: the ``TwoLayerNet`` object over the notebook's functions, checkpoints.
* ``usefuns.utils``: seeds, the device to compute on, deterministic numerics.

Importing the package loads PyTorch only: matplotlib and scikit-learn are imported when a
figure or the digits data set is first asked for.
"""
from usefuns import data, grad, model, utils, vis

__all__ = ["data", "grad", "model", "utils", "vis"]
