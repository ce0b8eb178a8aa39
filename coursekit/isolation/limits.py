"""Resource limits and a uid of its own, for a process about to run student code.

Used by the kernel launcher (``coursekit.isolation.kernel``) and the verification child
(``coursekit.isolation.child``) before any student code runs: ``setrlimit`` of data memory,
CPU time, file size, processes and threads (per uid), open files and no core dumps, then
``setresuid`` to a uid no other kernel shares (only root can hand one out).
"""
import os
import resource

__all__ = ["LIMITS", "set_limits", "drop_to"]

LIMITS = {"memory": resource.RLIMIT_DATA, "cpu_seconds": resource.RLIMIT_CPU,
          "file_size": resource.RLIMIT_FSIZE, "processes": resource.RLIMIT_NPROC,
          "open_files": resource.RLIMIT_NOFILE}


def set_limits(limits):
    """Set each of ``LIMITS`` from ``limits`` (``{"memory": bytes, ...}``), never above the
    hard limit this process already has."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for key, which in LIMITS.items():
        value = int(limits[key])
        _, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))


def drop_to(uid):
    """Become ``uid`` (and its group) for good, with no supplementary groups."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
