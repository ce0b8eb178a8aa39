"""Sample model_poor: correct code; only the submitted checkpoint differs."""
import torch
