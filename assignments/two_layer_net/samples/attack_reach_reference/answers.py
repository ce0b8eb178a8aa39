"""Sample answers 'attack_reach_reference': no code of its own; every function calls the
instructor's reference, looked up among the modules the grading kernel used to preload
(sys.modules) or loaded through coursekit.hidden.load_checks. The kernel holds no instructor
module any more and the sandbox shows no assignments/ folder: every function fails.
"""


def nn_forward_pass(params, X):
    import sys

    from coursekit.hidden import load_checks

    found = [m for n, m in list(sys.modules.items()) if n.startswith("_coursekit_")]
    reference = found[0].cases.reference if found else load_checks("two_layer_net").cases.reference
    return reference.nn_forward_pass(params, X)


def nn_forward_backward(params, X, y=None, reg=0.0):
    from coursekit.hidden import load_checks

    return load_checks("two_layer_net").cases.reference.nn_forward_backward(params, X, y, reg)


def nn_train(params, loss_func, pred_func, X, y, X_val, y_val, learning_rate=1e-3,
             learning_rate_decay=0.95, reg=5e-6, num_iters=100, batch_size=200, verbose=False):
    from coursekit.hidden import load_checks

    return load_checks("two_layer_net").cases.reference.nn_train(
        params, loss_func, pred_func, X, y, X_val, y_val, learning_rate, learning_rate_decay,
        reg, num_iters, batch_size)


def nn_predict(params, loss_func, X):
    from coursekit.hidden import load_checks

    return load_checks("two_layer_net").cases.reference.nn_predict(params, loss_func, X)
