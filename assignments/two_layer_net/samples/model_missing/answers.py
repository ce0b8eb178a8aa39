"""Sample model_missing: correct code; only the submitted checkpoint differs."""
import torch
