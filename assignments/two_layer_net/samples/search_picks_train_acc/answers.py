"""Sample answers 'search_picks_train_acc': the search keeps the net with the best TRAINING accuracy."""
import torch


def find_best_net(data_dict, get_param_set_fn):
    best_net, best_stat, best_val_acc = None, None, -1.0
    best_train_acc = -1.0
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
        train_acc = stats["train_acc_history"][-1]
        search_results[(lr, hidden_size, reg, decay)] = val_acc
        if train_acc > best_train_acc:
            best_train_acc = train_acc
            best_net, best_stat, best_val_acc = net, stats, val_acc
    if best_stat is not None:
        best_stat = dict(best_stat, search_results=search_results)
    return best_net, best_stat, best_val_acc
