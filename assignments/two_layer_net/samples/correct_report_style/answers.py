"""Sample answers 'correct_report_style': Correct answers in the seed report's step-by-step style
(with a correct max shift).
"""
import torch


def nn_forward_pass(params, X):
    W1, b1 = params['W1'], params['b1']
    W2, b2 = params['W2'], params['b2']
    score1 = X @ W1 + b1
    hidden = torch.max(torch.zeros_like(score1), score1)
    score2 = hidden @ W2 + b2
    scores = score2
    return scores, hidden


def nn_forward_backward(params, X, y=None, reg=0.0):
    W1, b1 = params['W1'], params['b1']
    W2, b2 = params['W2'], params['b2']
    N, D = X.shape

    scores, h1 = nn_forward_pass(params, X)
    if y is None:
        return scores

    grads = {}
    scores = scores - scores.max(dim=1, keepdim=True).values
    sy = scores[range(N), y]
    s_exp = torch.exp(scores)
    loss = -torch.sum(sy) + torch.sum(torch.log(torch.sum(s_exp, dim=1)))
    p = s_exp / torch.sum(s_exp, dim=1).reshape(-1, 1)
    p[range(N), y] -= 1
    loss /= N
    loss += reg * (torch.sum(W1 * W1) + torch.sum(W2 * W2))

    dscore = p
    dscore /= N
    dw2 = h1.t() @ dscore
    db2 = torch.sum(dscore, dim=0)
    dh1 = dscore @ W2.t()
    dh1[h1 <= 0] = 0
    dw1 = X.t() @ dh1
    db1 = torch.sum(dh1, dim=0)
    dw2 += reg * W2 * 2
    dw1 += reg * W1 * 2
    grads['W1'] = dw1
    grads['W2'] = dw2
    grads['b1'] = db1
    grads['b2'] = db2
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
        W1, b1 = params['W1'], params['b1']
        W2, b2 = params['W2'], params['b2']
        W1 -= learning_rate * grads['W1']
        W2 -= learning_rate * grads['W2']
        b1 -= learning_rate * grads['b1']
        b2 -= learning_rate * grads['b2']
        params['W1'], params['b1'] = W1, b1
        params['W2'], params['b2'] = W2, b2
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
    W1, b1 = params['W1'], params['b1']
    W2, b2 = params['W2'], params['b2']
    # Compute the forward pass
    score1 = X @ W1 + b1
    hidden = torch.max(torch.zeros_like(score1), score1)
    score2 = hidden @ W2 + b2
    scores = score2
    _, y_pred = torch.max(scores, dim=1)
    return y_pred


def nn_get_search_params():
    learning_rates = [0.3, 1.0, 2.0]
    hidden_sizes = [100, 200]
    regularization_strengths = [0.0, 1e-3]
    learning_rate_decays = [0.98, 1.0]
    return learning_rates, hidden_sizes, regularization_strengths, learning_rate_decays


def find_best_net(data_dict, get_param_set_fn):
    best_net, best_stat, best_val_acc = None, None, -1.0
    search_results = {}
    input_size = data_dict["X_train"].shape[1]
    num_classes = int(data_dict["y_train"].max().item()) + 1
    grid = list(itertools.product(*get_param_set_fn()))
    for lr, hidden_size, reg, decay in tqdm(grid, desc="search"):
        # the report's style: read the accuracy from the training history
        net = TwoLayerNet(input_size, hidden_size, num_classes)
        stat = net.train(data_dict["X_train"], data_dict["y_train"], data_dict["X_val"],
                         data_dict["y_val"], num_iters=SEARCH_ITERS, batch_size=200,
                         learning_rate=lr, learning_rate_decay=decay, reg=reg)
        acc = stat["val_acc_history"][-1]
        search_results[(lr, hidden_size, reg, decay)] = acc
        if acc > best_val_acc:
            best_val_acc = acc
            best_net = net
            best_stat = stat
    if best_stat is not None:
        best_stat = dict(best_stat, search_results=search_results)
    return best_net, best_stat, best_val_acc
