"""The answers of correct_compact; only the notebook's metadata differs (see expected.json)."""
