"""Sample answers 'correct_compact': Correct answers in the reference's compact style.
"""
import torch


def nn_forward_pass(params, X):
    W1, b1 = params["W1"], params["b1"]
    W2, b2 = params["W2"], params["b2"]
    hidden = (X @ W1 + b1).clamp(min=0)  # (N, H)
    scores = hidden @ W2 + b2  # (N, C)
    return scores, hidden


def nn_forward_backward(params, X, y=None, reg=0.0):
    W1, b1 = params["W1"], params["b1"]
    W2, b2 = params["W2"], params["b2"]
    scores, hidden = nn_forward_pass(params, X)
    if y is None:
        return scores
    N = X.shape[0]
    rows = torch.arange(N, device=X.device)
    shifted = scores - scores.max(dim=1, keepdim=True).values  # (N, C)
    exp_scores = shifted.exp()
    probs = exp_scores / exp_scores.sum(dim=1, keepdim=True)  # (N, C)
    loss = -torch.log(probs[rows, y]).mean()
    loss = loss + reg * (torch.sum(W1 * W1) + torch.sum(W2 * W2))
    dscores = probs.clone()  # (N, C)
    dscores[rows, y] -= 1
    dscores /= N
    grads = {}
    grads["W2"] = hidden.t() @ dscores + 2 * reg * W2
    grads["b2"] = dscores.sum(dim=0)
    dhidden = dscores @ W2.t()  # (N, H)
    dhidden = dhidden * (hidden > 0)
    grads["W1"] = X.t() @ dhidden + 2 * reg * W1
    grads["b1"] = dhidden.sum(dim=0)
    return loss, grads


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
            params[k] -= learning_rate * grads[k]
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


def nn_predict(params, loss_func, X):
    scores = loss_func(params, X)  # (N, C)
    return torch.argmax(scores, dim=1)


def nn_get_search_params():
    learning_rates = [0.5, 1.0]
    hidden_sizes = [64, 128]
    regularization_strengths = [1e-4, 1e-3]
    learning_rate_decays = [0.99, 1.0]
    return learning_rates, hidden_sizes, regularization_strengths, learning_rate_decays


def find_best_net(data_dict, get_param_set_fn):
    best_net, best_stat, best_val_acc = None, None, -1.0
    search_results = {}
    input_size = data_dict["X_train"].shape[1]
    num_classes = int(data_dict["y_train"].max().item()) + 1
    grid = list(itertools.product(*get_param_set_fn()))
    for lr, hidden_size, reg, decay in tqdm(grid, desc="search"):
        reset_seed(0)
        net = TwoLayerNet(input_size, hidden_size, num_classes)
        stats = net.train(data_dict["X_train"], data_dict["y_train"],
                          data_dict["X_val"], data_dict["y_val"],
                          learning_rate=lr, reg=reg, learning_rate_decay=decay,
                          num_iters=SEARCH_ITERS, batch_size=200)
        val_acc = net.accuracy(data_dict["X_val"], data_dict["y_val"])
        search_results[(lr, hidden_size, reg, decay)] = val_acc
        if val_acc > best_val_acc:
            best_net, best_stat, best_val_acc = net, stats, val_acc
    if best_stat is not None:
        best_stat = dict(best_stat, search_results=search_results)
    return best_net, best_stat, best_val_acc
