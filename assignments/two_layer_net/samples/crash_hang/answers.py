"""Sample answers 'crash_hang': find_best_net sorts the learning rates with a bubble sort that
never resets its flag, so it loops forever (until Execute.timeout stops the cell).
"""


def find_best_net(data_dict, get_param_set_fn):
    best_net, best_stat, best_val_acc = None, None, -1.0
    search_results = {}
    input_size = data_dict["X_train"].shape[1]
    num_classes = int(data_dict["y_train"].max().item()) + 1
    learning_rates, hidden_sizes, regs, decays = get_param_set_fn()
    learning_rates = list(learning_rates)
    swapped = True
    while swapped:  # never ends: `swapped = False` is missing at the top of the loop
        for i in range(len(learning_rates) - 1):
            if learning_rates[i] > learning_rates[i + 1]:
                learning_rates[i], learning_rates[i + 1] = learning_rates[i + 1], learning_rates[i]
                swapped = True
    grid = list(itertools.product(learning_rates, hidden_sizes, regs, decays))
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
