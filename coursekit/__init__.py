"""Instructor tools for the course kit: find the course, release, build samples, autograde.

Students never need this package; it holds no secrets either (the reference and the hidden-test
support live in ``assignments/``, which never reaches students).

- the command: ``cli`` (``coursekit ...``), ``demo`` (the README's main job), ``course``;
- submissions: ``samples`` (sample submissions), ``exchange`` (nbgrader's exchange), ``lms``
  (LMS zips), ``preflight`` (check and repair submitted notebooks);
- autograding: ``parallel`` (Dask master and worker task), ``gradejob`` (one submission's
  grading job), ``forkserver`` and ``warm_kernel`` (jobs and kernels forked from preloaded
  processes), ``execute`` (kernels that die or hang), ``grading`` (nbgrader runs, grades);
- hardening: ``sandbox``, ``sandbox_kernel``, ``hardening``, ``verify``, ``verify_child``,
  ``suspicious``, ``hidden`` (docs/security.md);
- results: ``feedback``, ``report``, ``reporthtml``.

Modules import nbgrader and nbformat (~5 s of CPU) only where they use them: every Dask worker
imports the module of the command that started it.
"""
__all__ = ["cli", "course", "demo", "exchange", "execute", "feedback", "forkserver",
           "gradejob", "grading", "hardening", "hidden", "lms", "parallel", "preflight",
           "report", "reporthtml", "samples", "sandbox", "sandbox_kernel", "suspicious",
           "verify", "verify_child", "warm_kernel"]
