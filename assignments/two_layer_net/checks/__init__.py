"""Hidden-test support for the two-layer-net assignment (instructor only, never shown to students).

One check per graded skill, each in its module: ``forward``, ``loss``, ``grads``, ``backprop``,
``train``, ``predict``, ``search``, ``model``; ``cases`` builds the hidden inputs and what the
reference (``../reference.py``) makes of them, ``support`` holds what the checks share.
``assignments/two_layer_net/manifest.toml`` says which graded cell calls which check with which
student functions. Every check

- builds its inputs on the CPU from a seeded ``torch.Generator`` and computes the expected values
  in float64 with the reference, so nothing depends on the device;
- moves the inputs to ``device`` (default ``usefuns.utils.get_device()``) with TF32 off, and on a
  GPU first runs the answer on a CPU copy, so that an out-of-range index raises a readable error
  instead of a device-side assert that would poison a CUDA context;
- compares on the CPU in float64 with explicit tolerances;
- returns None when the answer passes (``model_points`` returns points) and raises
  ``AssertionError`` with one line that names the mistake when it fails (never the hidden inputs
  nor test code); an exception raised by the student's code becomes such a line too.

Under ``coursekit autograde`` the grader calls the checks outside the kernel with stand-ins
for the student's functions (see ``coursekit.hidden``); in an instructor's run of the solved
notebook, or under plain ``nbgrader autograde``, the hidden cells call them in the kernel.
"""
from .backprop import check_backprop
from .forward import check_forward
from .grads import check_grads
from .loss import check_loss, check_loss_stability
from .model import BARS, model_points
from .predict import check_predict
from .search import check_find_best_net, check_search_params
from .train import check_train

__all__ = ["check_forward", "check_loss", "check_loss_stability", "check_grads",
           "check_backprop", "check_train", "check_predict", "check_search_params",
           "check_find_best_net", "model_points", "BARS"]
