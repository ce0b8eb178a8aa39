"""One submission's grading.

- ``preflight``: check and repair the submitted notebook against the release;
- ``gradejob``: the grading job process (preflight, nbgrader autograde, gradebook read-back);
- ``recovering``: nbgrader's Execute, recovering from kernels that die or hang;
- ``verify``, ``scan``: out-of-kernel verification and the static scan of the answers;
- ``hardening``: the hardening steps of one task.
"""
__all__ = ["gradejob", "hardening", "preflight", "recovering", "scan", "verify"]
