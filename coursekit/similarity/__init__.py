"""Copy detection: students' code compared with each other and with public solutions.

- ``tokens``: code as normalised tokens, statement by statement (names, comments, layout gone);
- ``fingerprint``: k-grams within statements, chosen by winnowing (MOSS);
- ``code``: a submission's own code (answer and added cells, release lines removed) as units,
  one per function;
- ``compare``: every pair scored overall and per function at once, the lines that match;
- ``section``: the similarity section of ``report.html``;
- ``run``: ``coursekit similarity`` (``reports/<assignment>/similarity.json``).
"""
__all__ = ["THRESHOLD", "code", "compare", "fingerprint", "run", "section", "tokens"]

# Flag pairs from this score (the default of --threshold). Measured (README "Copy detection",
# tests/similarity/test_similarity.py, bench/similarity.py): the three honest correct samples score at
# most 0.29 with each other (find_best_net; 0.21 overall), correct_compact's
# nn_forward_backward 0.54 against reference.py, which it was written from; disguised copies
# (correct_copy_disguised, 1,551 random ones) 1.00. 0.6 leaves room for copies edited after.
THRESHOLD = 0.6
