"""Instructor tools for the course kit: find the course, release, autograde, report.

Students never need this package; it holds no secrets either (the reference and the hidden-test
support live in ``assignments/``, which never reaches students). Subpackages by role:

- ``course``: the course folder, its nbgrader commands;
- ``engine``: one submission's grading, as stages (preflight, execute, verify, decide, record);
- ``isolation``: where untrusted code runs: the bwrap sandbox, the kernel launcher, the
  verification child, fork servers and warm kernels;
- ``parallel``: the Dask dispatcher (it knows nothing about grading);
- ``term``: a term's chores: demo, sample submissions, nbgrader's exchange, LMS zips;
- ``results``: grades, feedback without hidden tests, the grade report;
- ``similarity``: copy detection between submissions and public solutions (instructor only);
- ``hidden``: what the notebook's hidden test cells import (``load_checks``);
- ``cli``: the ``coursekit`` command.

Modules import nbgrader and nbformat (~5 s of CPU) only where they use them: every Dask worker
imports the module of the command that started it.
"""
__all__ = ["cli", "course", "engine", "hidden", "isolation", "parallel", "results", "similarity",
           "term"]
