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

# Flag pairs from this score (the default of --threshold). Measured on the samples
# (tests/test_similarity.py, README "Copy detection"): honest pairs score at most 0.42 overall
# and 0.33 per function long enough to judge; disguised copies 0.9 or more.
THRESHOLD = 0.6
