"""Sample answers 'crash_exit': nn_get_search_params ends with os._exit(1), which kills the kernel.
"""


def nn_get_search_params():
    import os

    learning_rates = [0.5, 1.0]
    hidden_sizes = [64, 128]
    regularization_strengths = [1e-4, 1e-3]
    learning_rate_decays = [0.99, 1.0]
    os._exit(1)  # a debugging stop left in: it ends the kernel's process, not just this call
    return learning_rates, hidden_sizes, regularization_strengths, learning_rate_decays
