"""Sample answers 'forward_no_relu': nn_forward_pass forgets the ReLU; everything else is right.

One bug costs its points once: the forward tests fail; the loss and gradient checks run
nn_forward_backward with a stand-in forward pass and pass. The visible numeric gradient check
cannot avoid the student's forward pass (its gradients are derivatives through it) and fails
too: the one documented exception.
"""


def nn_forward_pass(params, X):
    W1, b1 = params["W1"], params["b1"]
    W2, b2 = params["W2"], params["b2"]
    hidden = X @ W1 + b1  # (N, H): the ReLU is missing
    scores = hidden @ W2 + b2  # (N, C)
    return scores, hidden
