"""Sample answers 'attack_fake_checks': missing_N's wrong loss and sgd_uphill's wrong step,
plus an nn_forward_pass that swaps the hidden-test modules in sys.modules (and
coursekit.hidden.load_checks) for a fake whose checks all pass.
"""
import torch


def nn_forward_pass(params, X):
    import sys
    import types

    import coursekit.hidden

    class _Pass(types.ModuleType):
        def __getattr__(self, name):
            return lambda *args, **kwargs: kwargs.get("max_points")  # None: "passed"

    fake = _Pass("fake_checks")
    for name in [n for n in sys.modules if n.startswith("_coursekit_")]:
        sys.modules[name] = fake
    for module in ("checks", "model_checks"):
        sys.modules[f"_coursekit_two_layer_net_{module}"] = fake
    coursekit.hidden.load_checks = lambda *args, **kwargs: fake
    W1, b1 = params["W1"], params["b1"]
    W2, b2 = params["W2"], params["b2"]
    hidden = (X @ W1 + b1).clamp(min=0)  # (N, H)
    scores = hidden @ W2 + b2  # (N, C)
    return scores, hidden
def nn_train(params, loss_func, pred_func, X, y, X_val, y_val, learning_rate=1e-3,
             learning_rate_decay=0.95, reg=5e-6, num_iters=100, batch_size=200, verbose=False):
    num_train = X.shape[0]
    iterations_per_epoch = max(num_train // batch_size, 1)
    loss_history, train_acc_history, val_acc_history = [], [], []
    for it in range(num_iters):
        idx = torch.randint(num_train, (batch_size,), device=X.device)
        X_batch, y_batch = X[idx], y[idx]
        loss, grads = loss_func(params, X_batch, y=y_batch, reg=reg)
        loss_history.append(loss.item())
        for k in params:
            params[k] += learning_rate * grads[k]
        if verbose and it % 100 == 0:
            print(f"iteration {it} / {num_iters}: loss {loss.item():f}")
        if it % iterations_per_epoch == 0:
            y_train_pred = pred_func(params, loss_func, X_batch)
            train_acc_history.append((y_train_pred == y_batch).float().mean().item())
            y_val_pred = pred_func(params, loss_func, X_val)
            val_acc_history.append((y_val_pred == y_val).float().mean().item())
            learning_rate *= learning_rate_decay
    return {"loss_history": loss_history, "train_acc_history": train_acc_history,
            "val_acc_history": val_acc_history}
