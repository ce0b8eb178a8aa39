"""One submission's grading, as stages (``pipeline`` runs them; docs/architecture.md).

- ``job``: the typed job, its settings and its result;
- ``workspace``: the files as bytes, the worker's private course (prepare);
- ``execute``: the grading job (``gradejob``: ``preflight``, then nbgrader with the hidden
  tests as placeholders, ``outside``; kernels that die or hang, ``recovering``);
- ``verify``: the grader scores every autograded cell outside the kernel;
- ``decide``: the only place a score is set; ``annotate`` writes it into the notebook;
- ``record``: on the master, the result into the gradebook and the status file.
"""
__all__ = ["annotate", "decide", "execute", "gradejob", "job", "outside", "pipeline",
           "preflight", "record", "recovering", "verify", "workspace"]
