"""The preflight and execute stages: the grading job runs nbgrader on the submission.

:func:`execute` readies the private course's kernels (forks of a process that imported torch:
confined as bwrap would confine them in the sandbox, ``coursekit.isolation.warm_sandbox``, with
bwrap's cold start as the fallback; plain forks outside it; or cold starts) and runs the grading job
(``coursekit.engine.gradejob``: preflight, then nbgrader's own ``autograde`` command line with
``--HiddenTestsOutside.enabled=True``, so the kernel runs placeholders where the hidden tests
were). Its :class:`KernelRun` holds preflight's verdict, nbgrader's exit, the scores the
kernel's run gave (read back from the private gradebook), the points nbgrader's rule gives each
autograded cell from the graded notebook's outputs (read by the job, which has nbgrader) and
the log.
"""
import os
import re
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from coursekit.engine import gradejob
from coursekit.isolation import forkserver

__all__ = ["KernelRun", "execute", "failure_reason", "sandbox_state", "task_env", "whoami",
           "THREAD_VARS"]

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_CHECK = {}


@dataclass
class KernelRun:
    """What the grading job reported (see ``coursekit.engine.gradejob.run``)."""
    preflight: dict      # {"gradable", "notes", "reason"}, None if the job died before it
    exit: int            # nbgrader's exit code, None if it did not run or finish
    submission: dict     # {"in_gradebook", "timestamp", "notebooks"} of the private gradebook
    points: dict         # {notebook: {grade_id: the kernel's points}} (gradejob.kernel_points),
                         # None if the job did not read them
    points_error: str    # why the job could not read them, or None
    timed_out: bool
    log: str
    kernels: str         # "warm" (forks of the kernel server, confined in the sandbox) or "cold"
    runtime: str = None  # the sandboxed kernel's runtime folder: "tmpfs" or why it is on disk


def failure_reason(log):
    """One line that says why nbgrader failed, from its log."""
    known = [(r"DeadKernelError|[Kk]ernel died", "the kernel died while running the notebook"),
             (r"UnresponsiveKernelError|became unresponsive", "the kernel became unresponsive"),
             (r"NotJSONError|does not appear to be JSON|JSONDecodeError",
              "a submitted notebook is not valid JSON"),
             (r"No notebooks found", "no notebook of the assignment was submitted")]
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"^[\w.]+(Error|Exception)\b", line)]
    detail = (errors or [line for line in lines if "ERROR" in line] or lines or ["no log"])[-1]
    for pattern, summary in known:
        if re.search(pattern, log):
            return f"{summary}: {detail[:300]}"
    return f"nbgrader failed: {detail[:300]}"


def whoami():
    """(worker name, worker address, host) of the Dask worker running this, or of this host."""
    try:
        from distributed import get_worker

        worker = get_worker()
        return str(worker.name), worker.address, worker.address.rsplit(":", 1)[0]
    except (ImportError, ValueError):
        return "", socket.gethostname(), socket.gethostname()


def task_env(placement, name, host):
    """Environment variables of this task's processes: threads per task slot, its GPU."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    slots = placement.slots.get(host, 1)
    env = {var: str(max(1, (cores or 1) // slots)) for var in THREAD_VARS}
    env.update(placement.gpu.get(name, {}))
    return env


def sandbox_state(limits):
    """(use bwrap?, the line for the status entry); checked once per process.

    Raises:
        RuntimeError: the sandbox is required (``Sandbox.enabled = True``) but unusable here.
    """
    from coursekit.isolation import sandbox

    if "usable" not in _CHECK:  # once per worker process: it runs bwrap once
        _CHECK["usable"], _CHECK["message"] = sandbox.check()
    usable = _CHECK["usable"] and limits.enabled is not False
    if limits.enabled is True and not usable:
        raise RuntimeError(f"the sandbox is required (Sandbox.enabled = True) but unusable "
                           f"on this worker: {_CHECK['message']}")
    return usable, _CHECK["message"] if usable else "off: " + (
        "Sandbox.enabled = False" if limits.enabled is False else _CHECK["message"])


def _servers(placement, env, profiles):
    """Socket paths of the fork servers this task uses: the local cluster's where they exist,
    else this worker process's own (started once)."""
    servers = {}
    for profile in profiles:
        path = placement.servers.get(profile)
        if not (path and os.path.exists(path)):
            path = forkserver.start(profile, {k: v for k, v in env.items() if k in THREAD_VARS})
        servers[profile] = path
    return servers


def execute(course, job, env, sandboxed, timeout=None, group=None, cells_until=None):
    """Run the grading job for ``job`` in the private ``course``; a :class:`KernelRun`.

    Args:
        timeout: seconds after which the job is killed (nothing it did is kept).
        group: the submission's cgroup: its kernels run in it.
        cells_until: Unix time after which the kernel starts no cell and stops the one it
            runs (``RecoveringExecute.deadline``): nbgrader then grades what ran.
    """
    from coursekit.isolation import confine, sandbox, warm_kernel

    settings = job.settings
    # a kernel outside bwrap: a fork of the kernel server; one in the sandbox: a fork that
    # confines itself as bwrap would (Sandbox.warm_start, root only), bwrap its fallback
    confined = sandboxed and settings.warm and settings.sandbox.warm_start and confine.usable()[0]
    warm = settings.warm and (confined or not sandboxed)
    wanted = [p for p, on in (("nbgrader", settings.lean), ("kernel", warm)) if on]
    servers = _servers(job.placement, env, wanted) if hasattr(os, "fork") else {}
    kernel_env, kernel_args = sandbox.prepare_task(
        course, job.assignment, job.student, settings.sandbox, sandboxed, group,
        server=servers.get("kernel") if confined else None)
    env = dict(env, **kernel_env)
    if "kernel" in servers and not sandboxed and warm_kernel.can_start_warm(course, env):
        env.update(warm_kernel.prepare_task(course, env, servers["kernel"]))
    # nbgrader runs the ``alembic`` and ``jupyter`` of its environment: its bin folder first
    env = dict(os.environ, **env, COURSEKIT_ROOT=str(course), PATH=os.pathsep.join(
        [str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    # the job's private SQLite copy, whatever c.CourseDirectory.db_url the course sets
    args = ("autograde", job.assignment, "--student", job.student, "--force",
            "--HiddenTestsOutside.enabled=True",
            "--CourseDirectory.db_url=sqlite:///gradebook.db", *kernel_args,
            *([f"--RecoveringExecute.deadline={cells_until:.3f}"] if cells_until else []))
    runtime = {"path": kernel_env["JUPYTER_RUNTIME_DIR"], "size": sandbox.RUNTIME_BYTES,
               "uid": sandbox.kernel_uid(True)} if sandboxed else None
    out = gradejob.run(course, job.assignment, job.student, args, env, timeout,
                       server=servers.get("nbgrader"), runtime=runtime, group=group)
    submission = out["submission"] or gradejob.read_submission(  # the job was killed
        course / "gradebook.db", job.assignment, job.student)
    # None where the job did not read them (it was killed, or the reading failed: the pipeline
    # then fails the submission with the job's reason); never read here, in the worker
    points = out.get("kernel_points")
    from coursekit.isolation.warm_sandbox import FALLBACK

    # a warm sandboxed kernel whose fork could not confine itself was started by bwrap (its
    # client said why in the log): then not all of them were warm
    kernels = "warm" if "kernel" in servers and FALLBACK not in out["log"] else "cold"
    return KernelRun(out["preflight"], out["exit"], submission, points,
                     out.get("kernel_points_error"), out["timed_out"], out["log"], kernels,
                     out.get("runtime"))
