"""Hidden test cells that the grader re-runs out of the kernel's reach (see coursekit.engine.verify).

Each entry names the check (a function of ``checks.py`` or ``model_checks.py``) and the
student functions it is given; the grader passes stand-ins that run those functions in a
separate sandboxed process and return only their values, so nothing the student's code does
in the kernel (replacing ``torch.allclose``, the checks, ``sys.modules``, the error reporting)
changes these verdicts. Checks that call back into the student's code with functions of their
own (``check_train``, ``check_predict``, ``check_find_best_net``) or that watch it run
(``check_backprop``) stay in the kernel only; docs/security.md says what that leaves open.
"""
CELLS = {
    "forward_hidden": {"module": "checks", "check": "check_forward",
                       "functions": ["nn_forward_pass"]},
    "loss_hidden": {"module": "checks", "check": "check_loss",
                    "functions": ["nn_forward_backward"]},
    "loss_stability": {"module": "checks", "check": "check_loss_stability",
                       "functions": ["nn_forward_backward"]},
    "grads_hidden": {"module": "checks", "check": "check_grads",
                     "functions": ["nn_forward_backward"]},
    "model_accuracy": {"module": "model_checks", "check": "model_points",
                       "args": ["{submission}/best_model.pt"], "kwargs": {"max_points": 4},
                       "score": True},
}

# The visible test cells, run by the grader itself with the same stand-ins ("cell": True).
CELLS.update({
    "forward_toy": {"cell": True, "functions": ["nn_forward_pass"]},
    "loss_toy": {"cell": True, "functions": ["nn_forward_backward"]},
    "grads_numeric": {"cell": True, "functions": ["nn_forward_backward"]},
    "predict_toy": {"cell": True, "functions": ["nn_predict", "nn_forward_backward"]},
    "search_params": {"cell": True, "functions": ["nn_get_search_params"]},
})

# Checks whose stand-ins call back into the grader (the reference as loss_func) or that take
# the instructor's constants.
CELLS.update({
    "predict_hidden": {"module": "checks", "check": "check_predict",
                       "functions": ["nn_predict"]},
    "search_budget": {"module": "model_checks", "check": "check_search_params",
                      "functions": ["nn_get_search_params"], "constants": ["MAX_COMBINATIONS"]},
})

# nn_train updates its caller's tensors in place and calls the loss and prediction functions it
# is given: the grader's own tensors follow the child's updates, and its functions are called
# back, so check_train and the visible one-step test see what they would see in one process.
CELLS.update({
    "train_step": {"cell": True, "functions": ["nn_train"]},
    "train_hidden": {"module": "checks", "check": "check_train", "functions": ["nn_train"]},
})
