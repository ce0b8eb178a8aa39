"""Sample answers 'search_over_budget': 81 combinations where at most 48 are allowed."""
import torch


def nn_get_search_params():
    learning_rates = [0.3, 1.0, 2.0]
    hidden_sizes = [64, 128, 256]
    regularization_strengths = [0.0, 1e-4, 1e-3]
    learning_rate_decays = [0.95, 0.99, 1.0]
    return learning_rates, hidden_sizes, regularization_strengths, learning_rate_decays
