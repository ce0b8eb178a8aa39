"""Autograde many submissions at once on Dask: the dispatcher, which knows nothing about grading.

Plain nbgrader grades one submission after another (jupyter/nbgrader#174), and SQLite is
unsafe with several writers. Here every submission is one Dask task: the master packs a
:class:`~coursekit.engine.job.Job` (the course's instructor parts, a gradebook snapshot and the
student's folder, as bytes), a worker runs ``coursekit.engine.pipeline.grade`` on it, and the
master, the only writer of the gradebook, records each result as it comes
(``coursekit.engine.record``). A worker needs the same Python environment and no shared
filesystem, and never sees other students' files.

    from coursekit.parallel import BatchOptions, autograde_batch
    autograde_batch(".", "two_layer_net", BatchOptions(workers=2))
    autograde_batch(".", "two_layer_net", BatchOptions(scheduler="tcp://host:8786"))

Nothing is lost: a submission whose grading fails, or whose worker dies
(``distributed.KilledWorker``), is recorded as failed with its reason in
``coursekit_status/<a>.json`` and the batch goes on; a rerun without ``force`` grades the
failed, withheld and missing ones and skips the graded ones.

GPUs: with CUDA on the master (or ``gpus=``), local worker ``i`` grades on ``cuda:<i mod G>``
(``USEFUNS_DEVICE``); workers that share a GPU each get ``USEFUNS_CUDA_MEMORY_FRACTION`` =
0.9 / (workers on that GPU). On an existing cluster this happens for workers named ``0``,
``1``... (``dask worker --name 0``). Each task sets ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` =
max(1, cores // task slots on its host). Kernels and grading jobs are forked from per-host fork
servers (``coursekit.isolation.forkserver``) that a local cluster's master starts.
"""
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from coursekit.engine import workspace
from coursekit.engine.execute import THREAD_VARS
from coursekit.engine.job import GradingSettings, Job, Placement, Result

__all__ = ["BatchOptions", "autograde_batch", "gpu_env"]

# A local worker only waits for nbgrader: Dask's statistical profiler (100 samples a second) and
# its fast monitors would take ~5% of a core each from the kernels for nothing.
QUIET_WORKERS = {"distributed.worker.profile.enabled": False,
                 "distributed.admin.system-monitor.interval": "2s",
                 "distributed.worker.memory.monitor-interval": "1s",
                 "distributed.admin.tick.interval": "500ms"}


@dataclass(frozen=True)
class BatchOptions:
    """How to run a batch (the grading itself is :class:`GradingSettings`).

    Attributes:
        workers: local worker processes (default: one per core); ignored with ``scheduler``.
        scheduler: address of an existing Dask scheduler, e.g. ``"tcp://127.0.0.1:8786"``.
        students: only these student ids (default: every ``submitted/<id>/<a>/``).
        force: regrade submissions already graded.
        progress: a tqdm bar on stderr.
        gpus: GPUs (a count or a list of indices) for local workers; default: all CUDA sees.
    """
    workers: int = None
    scheduler: str = None
    students: tuple = None
    force: bool = False
    progress: bool = True
    gpus: object = None


def _cuda_count():
    """GPUs that ``torch.cuda`` sees; on Linux without a GPU driver, 0 without importing torch."""
    if sys.platform == "linux" and not any(Path(dev).exists() for dev in ("/dev/nvidiactl",
                                                                           "/dev/kfd")):
        return 0  # no NVIDIA or ROCm driver: CUDA cannot be available (saves seconds)
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def gpu_env(names, gpus):
    """``{worker name: env}``: worker ``i`` on ``cuda:gpus[i mod G]``, a memory share if shared."""
    if gpus is None:
        gpus = _cuda_count()
    devices = list(range(gpus)) if isinstance(gpus, int) else list(gpus)
    indices = sorted(int(n) for n in names if str(n).isdigit())
    if not devices or not indices:
        return {}
    on = {i: devices[k % len(devices)] for k, i in enumerate(indices)}
    env = {}
    for i, device in on.items():
        env[str(i)] = {"USEFUNS_DEVICE": f"cuda:{device}"}
        sharing = list(on.values()).count(device)
        if sharing > 1:
            env[str(i)]["USEFUNS_CUDA_MEMORY_FRACTION"] = f"{0.9 / sharing:.3f}"
    return env


def _placement(client, gpus, local, servers):
    workers = client.scheduler_info()["workers"]
    slots = {}
    for address, info in workers.items():
        host = address.rsplit(":", 1)[0]
        slots[host] = slots.get(host, 0) + info.get("nthreads", 1)
    names = [info.get("name", "") for info in workers.values()]
    gpu = gpu_env(names, gpus) if (local or gpus is not None) else {}
    return Placement(slots, gpu, servers)


def _connect(workers, scheduler):
    """(client, cluster or None): a client of ``scheduler``, or of a fresh LocalCluster."""
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    import dask

    n = workers or os.cpu_count() or 1
    with dask.config.set(QUIET_WORKERS):
        # no dashboard; the scheduler's small HTTP server (health checks) on a free port
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=None,
                               scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
    return Client(cluster), cluster


def _local_servers(options, settings):
    """A local cluster's fork servers (one per profile, importing while the workers start); no
    kernel server where sandboxed kernels start cold in bwrap (``Sandbox.warm_start`` off, or
    not root)."""
    from coursekit.isolation import confine, forkserver
    from coursekit.isolation.sandbox import check

    if options.scheduler is not None or not hasattr(os, "fork"):
        return {}, settings
    unsandboxed = settings.sandbox.enabled is False or not check()[0]
    confined = settings.sandbox.warm_start and confine.usable()[0]  # warm_sandbox's forks
    warm = settings.warm and (unsandboxed or confined)
    n = options.workers or os.cpu_count() or 1
    threads = {var: str(max(1, (os.cpu_count() or 1) // n)) for var in THREAD_VARS}
    servers = {profile: forkserver.start(profile, threads) for profile, wanted
               in (("nbgrader", settings.lean), ("kernel", warm)) if wanted}
    return servers, replace(settings, warm=warm)


def _todo(course, assignment_id, options, notebooks):
    """(students to grade, {student: skipped entry}); longest first by their last run."""
    submitted = course.submitted()
    found = sorted(p.parent.name for p in submitted.glob(f"*/{assignment_id}") if p.is_dir())
    if options.students is not None:
        unknown = sorted(set(options.students) - set(found))
        if unknown:
            raise ValueError(f"no submitted/<student>/{assignment_id}/ folder for {unknown}; "
                             f"collect their submissions first or leave them out.")
        found = [s for s in found if s in set(options.students)]
    status = course.status(assignment_id).read()
    found.sort(key=lambda s: -(status.get(s) or {}).get("seconds", float("inf")))
    todo, skipped = [], {}
    for student in found:
        entry = status.get(student) or {}
        folder = course.autograded(student, assignment_id)
        if not options.force and entry.get("status") == "graded" and all(
                (folder / f"{nb}.ipynb").is_file() for nb in notebooks):
            skipped[student] = {"status": "skipped", "reason": "already graded (force=True "
                                "regrades)", "seconds": 0.0, "worker": entry.get("worker", "")}
        else:
            todo.append(student)
    return todo, skipped


def autograde_batch(course_root, assignment_id, options=None, settings=None):
    """Autograde the submissions of ``assignment_id`` in parallel; return this run's status.

    Args:
        course_root: the course folder (or a :class:`~coursekit.course.course.Course`) with
            ``gradebook.db`` holding the released assignment and ``submitted/``.
        options: :class:`BatchOptions` (default: one local worker per core).
        settings: :class:`~coursekit.engine.job.GradingSettings` (default: the course's
            ``c.Sandbox.*`` and the defaults).

    Returns:
        ``{student: entry}`` for this run (``status``: ``graded``, ``needs_review``,
        ``failed`` or ``skipped``; see ``coursekit.course.status``); skipped ones keep their
        earlier entry in ``coursekit_status/<assignment_id>.json``.

    Raises:
        FileNotFoundError: not a course folder, or no gradebook (release the assignment first).
        ValueError: ``options.students`` names someone without a submission.
    """
    from nbgrader.api import Gradebook, MissingEntry
    from tqdm import tqdm

    from coursekit.course.course import Course
    from coursekit.engine.record import record

    course = course_root if isinstance(course_root, Course) else Course(course_root)
    options = options or BatchOptions()
    settings = settings or GradingSettings(sandbox=course.sandbox_limits())
    if not course.has_gradebook():
        raise FileNotFoundError(f"{course.root} is not a released course: it has no "
                                f"gradebook.db; run `coursekit release` first.")
    with Gradebook(course.gradebook_url) as gb:
        try:
            notebooks = [nb.name for nb in gb.find_assignment(assignment_id).notebooks]
        except MissingEntry:
            raise FileNotFoundError(f"{course.gradebook_url} has no assignment "
                                    f"{assignment_id!r}; release it first (`coursekit "
                                    f"release`).") from None
    todo, run = _todo(course, assignment_id, options, notebooks)
    if not todo:
        return run
    course_tar = workspace.pack_course(course, assignment_id)
    gradebook = course.snapshot_gradebook()  # SQLite bytes, also from PostgreSQL
    servers, settings = _local_servers(options, settings)
    client, cluster = None, None
    try:
        client, cluster = _connect(options.workers, options.scheduler)
        from distributed import as_completed

        from coursekit.engine.pipeline import grade

        placement = _placement(client, options.gpus, cluster is not None, servers)
        window = max(4, 2 * sum(placement.slots.values()))  # tasks in flight: bounded memory
        queue, owner, done = iter(todo), {}, as_completed()

        def submit_next():
            for student in queue:
                try:
                    notes = []
                    tar = workspace.pack_submission(
                        course.submitted(student, assignment_id), settings.sandbox.file_size,
                        settings.sandbox.scratch_size, notes)
                    job = Job(assignment_id, student, course_tar, gradebook, tar, settings,
                              placement, tuple(notes))
                except Exception as err:  # noqa: BLE001 - this submission fails, not the batch
                    failed = Result(student, reason=f"prepare: {type(err).__name__}: {err}")
                    run[student] = record(course, assignment_id, failed).status_entry()
                    continue
                break
            else:
                return
            future = client.submit(grade, job, pure=False, retries=0,
                                   key=f"autograde-{assignment_id}-{student}-{time.time_ns()}")
            owner[future.key] = student
            done.add(future)

        for _ in range(window):
            submit_next()
        with tqdm(total=len(todo), desc=f"autograde {assignment_id}", unit="submission",
                  file=sys.stderr, disable=not options.progress) as bar:
            for future in done:
                student = owner.pop(future.key)
                try:
                    result = future.result()
                except Exception as err:  # noqa: BLE001 - KilledWorker, lost connection...
                    last = getattr(getattr(err, "last_worker", None), "address", "")
                    result = Result(student, reason=f"worker lost: {type(err).__name__}: "
                                                    f"{err}", worker=last or "")
                future.release()
                fault = settings.faults.get(student) == "record"
                run[student] = record(course, assignment_id, result, fault).status_entry()
                bar.update()
                submit_next()
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        from coursekit.isolation import forkserver

        for profile in servers:
            forkserver.stop(profile)
    return run
