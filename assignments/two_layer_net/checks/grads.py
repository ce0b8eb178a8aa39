"""The gradients against the reference, with the likely cause of each mismatch."""

from .cases import _GRAD_CASE
from .support import (own_forward_first, _BACKWARD_ORDER, _check_grads_dict, _close, _F64, _fail,
                      _fb, _KEYS, _move, _rel_error, _setup, _shape)

__all__ = ["check_grads"]


@own_forward_first
def check_grads(nn_forward_backward, device=None, forward=None):
    """The four gradients against the reference in float64, with a cause per parameter."""
    device = _setup(device)
    name, case = "nn_forward_backward", _GRAD_CASE
    params, X, y = (_move(case[k], device, _F64) for k in ("params", "X", "y"))
    N = _shape(X)[0]
    grads = _fb(nn_forward_backward, device, params, X, y, case["reg"], forward)[1]
    _check_grads_dict(grads, params, device, _F64)
    P, expected = case["pieces"], case["grads"]
    G, R = P["G"], P["R"]

    def close(k, target):
        return _close(grads[k], target, 1e-6, 1e-9)

    if all(close(k, expected[k]) for k in _KEYS):
        return
    regular = {k: R[k] if k[0] == "W" else 0 * R[k] for k in _KEYS}
    if all(close(k, N * G[k] + regular[k]) for k in _KEYS):
        _fail(f"{name}: all gradients are N times too large: divide dscores by N (the loss "
              f"averages over the N samples)")
    if all(close(k, P["uniform"][k] + regular[k]) for k in _KEYS):
        _fail(f"{name}: the gradients are those of a uniform softmax (probabilities 1/C): does "
              f"your max shift replace the scores instead of subtracting the row maximum?")
    for k in _BACKWARD_ORDER:
        if close(k, expected[k]):
            continue
        d, r = f"d{k}", regular[k]
        causes = [(N * G[k] + r, f"{d} is N times too large: divide dscores by N"),
                  (G[k] / N + r, f"{d} is divided by N twice: dscores already includes the 1/N")]
        if k[0] == "W":
            causes += [
                (G[k] + 0.5 * R[k], f"{d}: the regularisation gradient is off by a factor of 2 "
                                    f"(the loss has reg * sum({k}**2), so its gradient is "
                                    f"2 * reg * {k})"),
                (G[k], f"{d}: the regularisation gradient is missing: add 2 * reg * {k}"),
                (G[k] + 2 * R[k], f"{d}: the regularisation gradient is twice too large: it is "
                                  f"2 * reg * {k}"),
                (G[k] + R[k] / N, f"{d}: don't divide the regularisation gradient by N")]
        else:
            causes += [(G[k] + c * R[k], f"{d}: the biases are not regularised: drop the reg "
                                         f"term from {d} (and from the loss)") for c in (1, 0.5)]
        if k in ("W1", "b1"):
            causes += [(P["nomask"][k] + r, f"{d}: the ReLU backward never masks anything: after "
                                            f"the ReLU hidden is never < 0, so zero dhidden where "
                                            f"hidden <= 0 (or keep it where hidden > 0)"),
                       (P["gradmask"][k] + r, f"{d}: the ReLU mask must come from the forward "
                                              f"pass (hidden > 0), not from the sign of the "
                                              f"gradient")]
        for target, cause in causes:
            if close(k, target):
                _fail(cause)
        error = _rel_error(grads[k], expected[k])
        if k in ("W2", "b2"):
            _fail(f"{d} is wrong (relative error {error:.1e}): dscores is the softmax "
                  f"probabilities minus 1 at each correct class, divided by N; dW2 = hidden.T @ "
                  f"dscores + 2 * reg * W2 and db2 = dscores summed over the samples")
        _fail(f"{d} is wrong (relative error {error:.1e}) although dW2 and db2 are right: "
              f"dhidden = dscores @ W2.T, zeroed where hidden <= 0; dW1 = X.T @ dhidden + "
              f"2 * reg * W1 and db1 = dhidden summed over the samples")
