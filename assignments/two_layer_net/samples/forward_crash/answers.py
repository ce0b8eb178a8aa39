"""Sample answers 'forward_crash': nn_forward_pass multiplies in the wrong order and raises.

The forward tests fail with the matmul error and a hint naming the shapes; the loss and
gradient checks are not affected (stand-in forward pass), and the visible numeric gradient
check says that nn_forward_backward could not be tested because nn_forward_pass raised.
"""


def nn_forward_pass(params, X):
    W1, b1 = params["W1"], params["b1"]
    W2, b2 = params["W2"], params["b2"]
    hidden = (W1 @ X + b1).clamp(min=0)  # (D, H) @ (N, D): the factors are swapped
    scores = hidden @ W2 + b2
    return scores, hidden
