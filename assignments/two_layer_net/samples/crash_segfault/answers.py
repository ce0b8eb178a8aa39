"""Sample answers 'crash_segfault': find_best_net reads memory at address 0 through ctypes, and
the kernel dies of a segmentation fault.
"""


def find_best_net(data_dict, get_param_set_fn):
    import ctypes

    ctypes.string_at(0)  # a null pointer dereference: SIGSEGV kills the kernel's process
    best_net, best_stat, best_val_acc = None, None, -1.0
    return best_net, best_stat, best_val_acc
