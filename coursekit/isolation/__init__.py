"""Where untrusted code runs (docs/security.md).

- ``sandbox``: the bubblewrap command line and whether it works here;
- ``kernel``: the sandboxed kernel's launcher (``python -m coursekit.isolation.kernel``);
- ``child``: the verification child that runs the student's functions for the grader;
- ``forkserver``, ``warm_kernel``: jobs and kernels forked from preloaded processes;
- ``warm_sandbox``, ``confine``: sandboxed kernels and children forked warm, confined as bwrap would.
"""
__all__ = ["child", "confine", "forkserver", "kernel", "sandbox", "warm_kernel", "warm_sandbox"]
