"""Sample model_corrupt: correct code; only the submitted checkpoint differs."""
import torch
