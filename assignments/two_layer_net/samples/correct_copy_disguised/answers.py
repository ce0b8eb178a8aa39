"""Sample answers 'correct_copy_disguised': correct_compact copied and disguised as students do it:
every local name renamed, independent statements and the functions reordered, comments
changed, lines split and merged. It grades as correct_compact (whose checkpoint it inherits);
`coursekit similarity` must flag it against correct_compact (tests/similarity/test_similarity.py).
"""
import torch


def nn_predict(params, loss_func, X):
    # the predicted label is the column with the highest score
    class_scores = loss_func(params, X)
    return torch.argmax(class_scores, dim=1)


def nn_get_search_params():
    hs = [64, 128]
    lrs = [0.5, 1.0]
    decays = [0.99, 1.0]
    regs = [1e-4, 1e-3]
    return lrs, hs, regs, decays


def find_best_net(data_dict, get_param_set_fn):
    best_net, best_stat, best_val_acc = None, None, -1.0
    search_results = {}
    num_classes = int(data_dict["y_train"].max().item()) + 1
    input_size = data_dict["X_train"].shape[1]
    grid = list(itertools.product(*get_param_set_fn()))
    for lr, hidden_size, reg, decay in tqdm(grid, desc="search"):
        reset_seed(0)  # same start for every setting
        model = TwoLayerNet(input_size, hidden_size, num_classes)
        history = model.train(data_dict["X_train"], data_dict["y_train"],
                              data_dict["X_val"], data_dict["y_val"],
                              learning_rate=lr, reg=reg,
                              learning_rate_decay=decay,
                              num_iters=SEARCH_ITERS, batch_size=200)
        acc = model.accuracy(data_dict["X_val"], data_dict["y_val"])
        search_results[(lr, hidden_size, reg, decay)] = acc
        if acc > best_val_acc: best_net, best_stat, best_val_acc = model, history, acc
    if best_stat is not None:
        best_stat = dict(best_stat, search_results=search_results)
    return best_net, best_stat, best_val_acc


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
        for key in params: params[key] -= learning_rate * grads[key]  # plain SGD step
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


def nn_forward_backward(params, X, y=None, reg=0.0):
    w_second, bias_second = params["W2"], params["b2"]
    w_first, bias_first = params["W1"], params["b1"]
    out, relu_out = nn_forward_pass(params, X)
    if y is None: return out
    n_samples = X.shape[0]
    # subtract the row maximum so that exp never overflows
    stable = out - out.max(dim=1,
                           keepdim=True).values
    idx = torch.arange(n_samples, device=X.device)
    e = stable.exp()
    prob = e / e.sum(dim=1, keepdim=True)
    data_loss = -torch.log(prob[idx, y]).mean()
    data_loss = data_loss + reg * (torch.sum(w_first * w_first)
                                   + torch.sum(w_second * w_second))
    d_out = prob.clone(); d_out[idx, y] -= 1; d_out /= n_samples
    gradients = {}
    d_relu = d_out @ w_second.t()
    gradients["b2"] = d_out.sum(dim=0)
    gradients["W2"] = relu_out.t() @ d_out + 2 * reg * w_second
    d_relu = d_relu * (relu_out > 0)
    gradients["b1"] = d_relu.sum(dim=0)
    gradients["W1"] = X.t() @ d_relu + 2 * reg * w_first
    return data_loss, gradients


def nn_forward_pass(params, X):
    w_second, bias_second = params["W2"], params["b2"]
    w_first, bias_first = params["W1"], params["b1"]
    relu_out = (X @ w_first + bias_first).clamp(min=0)
    return relu_out @ w_second + bias_second, relu_out
