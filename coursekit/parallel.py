"""Autograde many submissions at once on Dask: one task per submission, one gradebook writer.

Plain nbgrader grades one submission after another (jupyter/nbgrader#174), and SQLite is
unsafe with several writers. Here every submission is one Dask task that gets what it needs as
bytes (the course's ``nbgrader_config.py``, ``source/<a>/`` and ``assignments/<a>/``, a snapshot
of ``gradebook.db`` and the student's ``submitted/<student>/<a>/`` folder), runs the real
``nbgrader autograde <a> --student <id> --force`` in a private temporary course and sends back
the autograded files and the grades and comments that its own gradebook now holds. The master,
the only process that writes the real gradebook, copies them in through ``nbgrader.api``.

The job itself (preflight, nbgrader, reading the gradebook back: ``coursekit.engine.gradejob``) and its
kernel (``coursekit.isolation.warm_kernel``) run as fresh forks of per-host fork servers that imported
nbgrader or torch once (``coursekit.isolation.forkserver``), so a submission pays neither import.

A worker therefore needs only the same Python environment (this kit installed, same pinned
packages); it needs no shared filesystem and never sees other students' files. (With a shared
filesystem one could pass paths instead of bytes; the bytes are small: ~0.6 MB a task.)

    from coursekit.parallel import autograde_batch
    autograde_batch(".", "two_layer_net", workers=2)                     # this machine
    autograde_batch(".", "two_layer_net", scheduler="tcp://host:8786")   # existing cluster

Nothing is lost: a submission whose nbgrader run fails (kernel died, notebook not JSON,
timeout) or whose worker dies (``distributed.KilledWorker``) is recorded as failed with its
reason in ``coursekit_status/<a>.json`` and the batch goes on; a rerun without ``force`` grades
the failed and missing ones and skips the graded ones.

GPUs: with CUDA on the master (or ``gpus=``), local worker ``i`` grades on ``cuda:<i mod G>``
(``USEFUNS_DEVICE``); workers that share a GPU each get ``USEFUNS_CUDA_MEMORY_FRACTION`` =
0.9 / (workers on that GPU), which ``usefuns.utils.get_device()`` applies in the kernel with
``torch.cuda.set_per_process_memory_fraction``. On an existing cluster this happens for workers
named ``0``, ``1``... (``dask worker --name 0``); others keep their own environment. Each task
sets ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` = max(1, cores // task slots on its host).
"""
import io
import json
import os
import re
import shutil
import socket
import sys
import tarfile
import tempfile
import time
import warnings
from pathlib import Path

from coursekit.isolation import forkserver

from coursekit.engine import gradejob, hardening
from coursekit.course import is_course_root

__all__ = ["autograde_batch", "grade_submission", "status_path", "STATUS_DIR"]

STATUS_DIR = "coursekit_status"
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
# A local worker only waits for nbgrader: Dask's statistical profiler (100 samples a second) and
# its fast monitors would take ~5% of a core each from the kernels for nothing.
QUIET_WORKERS = {"distributed.worker.profile.enabled": False,
                 "distributed.admin.system-monitor.interval": "2s",
                 "distributed.worker.memory.monitor-interval": "1s",
                 "distributed.admin.tick.interval": "500ms"}


def status_path(course_root, assignment_id):
    """``<course_root>/coursekit_status/<assignment_id>.json``."""
    return Path(course_root) / STATUS_DIR / f"{assignment_id}.json"


# ---------------------------------------------------------------- bytes in, bytes out

def _pack(paths, base):
    """A tar (bytes) of files and folders ``paths``, named relative to ``base``."""
    buffer = io.BytesIO()
    skip = lambda info: None if re.search(r"(^|/)(__pycache__|\.ipynb_checkpoints)(/|$)",
                                          info.name) else info
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in paths:
            tar.add(path, arcname=str(Path(path).relative_to(base)), filter=skip)
    return buffer.getvalue()


def _unpack(data, dest):
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")


def _snapshot_gradebook(db_path):
    """A consistent copy of the SQLite gradebook, as bytes (SQLite's online backup)."""
    import sqlite3

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "gradebook.db"
        src, dst = sqlite3.connect(db_path), sqlite3.connect(copy)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        return copy.read_bytes()


def _read_files(folder):
    """``{relative path: (mode, bytes)}`` of every file under ``folder``."""
    return {str(p.relative_to(folder)): (p.stat().st_mode & 0o777, p.read_bytes())
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def _reason(log):
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


# ---------------------------------------------------------------- the task (runs on a worker)

def _whoami():
    """(worker name, worker address, host) of the Dask worker running this, or of this host."""
    try:
        from distributed import get_worker

        worker = get_worker()
        return str(worker.name), worker.address, worker.address.rsplit(":", 1)[0]
    except (ImportError, ValueError):
        return "", socket.gethostname(), socket.gethostname()


def _task_env(plan, name, host):
    """Environment variables for this task's nbgrader run (threads, GPU)."""
    plan = plan or {}
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    slots = plan.get("slots", {}).get(host, 1)
    env = {var: str(max(1, (cores or 1) // slots)) for var in THREAD_VARS}
    env.update(plan.get("gpu", {}).get(name, {}))
    return env


def _servers(plan, env, profiles):
    """Socket paths of the fork servers of ``profiles`` that this task uses: the master's (a
    local cluster: same host) where they exist, else this worker process's own (started once)."""
    given = (plan or {}).get("servers") or {}
    servers = {}
    for profile in profiles:
        path = given.get(profile)
        if not (path and os.path.exists(path)):
            path = forkserver.start(profile, {k: v for k, v in env.items() if k in THREAD_VARS})
        servers[profile] = path
    return servers


def grade_submission(course_tar, gradebook_db, submission_tar, assignment_id, student_id, *,
                     timeout=None, plan=None, lean=True, warm=True):
    """Autograde one submission in a private temporary course; never raises.

    Args:
        course_tar: tar (bytes) of ``nbgrader_config.py``, ``source/<a>/``, ``assignments/<a>/``
            and ``release/<a>/`` (the truth for :mod:`coursekit.engine.preflight`, which checks and
            repairs the submission before nbgrader runs).
        gradebook_db: the master ``gradebook.db`` (bytes).
        submission_tar: tar (bytes) of the student's ``submitted/<student>/<a>/`` folder.
        timeout: seconds for the whole nbgrader run (None: no limit).
        plan: ``{"slots": {host: task slots}, "gpu": {worker name: env}, "sandbox": settings,
            "servers": {profile: socket path}}`` from the master (servers: a local cluster's).
        lean: run the grading job (``coursekit.engine.gradejob``: preflight, nbgrader's own command
            line, reading the gradebook) in a fork of the host's ``nbgrader`` fork server
            (``coursekit.isolation.forkserver``; ~4.8 s of CPU less per submission) instead of a fresh
            interpreter.
        warm: start the kernels outside bwrap as forks of the host's ``kernel`` fork server,
            which has imported torch, numpy and ipykernel (``coursekit.isolation.warm_kernel``; ~2.5 s of
            CPU less per kernel start); sandboxed kernels always start cold.

    Returns:
        dict with ``student``, ``ok``, ``reason`` (None when ok), ``notes`` (what preflight
        found and repaired, one line each), ``files`` ({path: (mode,
        bytes)} of ``autograded/<student>/<a>/``), ``notebooks`` (per notebook:
        ``late_submission_penalty``, ``grades`` {grade_id: auto_score, max_score,
        needs_manual_grade}, ``comments`` {id: auto_comment}), ``timestamp``, ``log`` (tail),
        ``seconds``, ``worker``, ``env`` (the variables this task set).
    """
    start = time.perf_counter()
    name, address, host = _whoami()
    env = _task_env(plan, name, host)
    result = {"student": student_id, "ok": False, "reason": None, "files": {}, "notebooks": {},
              "in_gradebook": False, "timestamp": None, "log": "", "worker": address, "env": env,
              "notes": []}
    course = Path(tempfile.mkdtemp(prefix=f"coursekit-{assignment_id}-")).resolve()
    result["course"] = str(course)
    try:
        _unpack(course_tar, course)
        (course / "gradebook.db").write_bytes(gradebook_db)
        _unpack(submission_tar, course / "submitted" / student_id)
        args = ("autograde", assignment_id, "--student", student_id, "--force")
        env = dict(env, **hardening.sandbox_env(course, assignment_id, student_id, plan, result))
        from coursekit.isolation import warm_kernel

        warm = warm and warm_kernel.can_start_warm(course, env)  # a kernel in bwrap: cold
        servers = _servers(plan, env, [p for p, wanted in (("nbgrader", lean), ("kernel", warm))
                                       if wanted]) if hasattr(os, "fork") else {}
        if "kernel" in servers:
            env.update(warm_kernel.prepare_task(course, env, servers["kernel"]))
        result["kernels"] = "warm" if "kernel" in servers else "cold"
        # nbgrader runs the ``alembic`` and ``jupyter`` of its environment: its bin folder first
        env = dict(os.environ, **env, COURSEKIT_ROOT=str(course), PATH=os.pathsep.join(
            [str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
        job = gradejob.run(course, assignment_id, student_id, args, env, timeout,
                           server=servers.get("nbgrader") if lean else None)
        # preflight: broken or tampered notebooks repaired, or a clear reason instead of an
        # nbgrader crash
        timed_out = f"timed out after {timeout} s (nbgrader killed)"
        check = job["preflight"] or {"gradable": False, "notes": [], "reason": (
            f"{timed_out}, before the submission was checked" if job["timed_out"] else
            f"the grading job died before the submission was checked: {_reason(job['log'])}")}
        result["notes"] = check["notes"]
        if not check["gradable"]:  # nbgrader did not run; the log says why
            result["reason"] = check["reason"]
            result["log"] = "\n".join(["coursekit preflight: not gradable: " + check["reason"],
                                       *check["notes"]])
            return result
        log = job["log"]
        if job["timed_out"]:
            result["reason"] = timed_out
        elif job["exit"] != 0:
            tail = "\n".join(log.splitlines()[-30:])
            log = f"nbgrader {' '.join(args)} failed ({job['exit']}):\n{tail}"
            result["reason"] = _reason(log)
        result["log"] = "\n".join(log.splitlines()[-40:])
        submission = job["submission"] or gradejob.read_submission(
            course / "gradebook.db", assignment_id, student_id)  # the job was killed
        result["in_gradebook"] = submission["in_gradebook"]
        result["notebooks"] = submission["notebooks"]
        if submission["timestamp"]:
            from datetime import datetime

            result["timestamp"] = datetime.fromisoformat(submission["timestamp"])
        graded = course / "autograded" / student_id / assignment_id
        missing = [nb for nb in result["notebooks"] if not (graded / f"{nb}.ipynb").is_file()]
        if result["reason"] is None and (missing or not result["notebooks"]):
            result["reason"] = f"nbgrader wrote no autograded notebook {missing or ''}"
        if result["reason"] is None:
            result["notes"] += hardening.incidents(graded, result["notebooks"])
            hardening.verify(course, assignment_id, student_id, plan, env, result, graded)
            result["files"], result["ok"] = _read_files(graded), True
    except Exception as err:  # noqa: BLE001 - the batch must record it and go on
        result["reason"] = f"{type(err).__name__}: {err}"
    finally:
        shutil.rmtree(course, ignore_errors=True)
        result["seconds"] = round(time.perf_counter() - start, 3)
    return result


# ---------------------------------------------------------------- the master

def _merge(root, assignment_id, result):
    """Write one task's result into ``autograded/`` and the master gradebook."""
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    student = result["student"]
    dest = root / "autograded" / student / assignment_id
    if result["in_gradebook"]:
        # nbgrader ran: like serial ``autograde --force``, the old autograded copy goes
        shutil.rmtree(dest, ignore_errors=True)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb, warnings.catch_warnings():
        # nbgrader's own add_submission makes SQLAlchemy warn about autoflush; harmless
        warnings.simplefilter("ignore", category=SAWarning)
        if result["in_gradebook"]:
            gb.update_or_create_student(student)
            extra = {"timestamp": result["timestamp"]} if result["timestamp"] else {}
            gb.update_or_create_submission(assignment_id, student, **extra)
        if not result["ok"]:
            return  # like serial nbgrader: a failed run leaves earlier grades as they were
        for nb_name, nb in result["notebooks"].items():
            submitted = gb.find_submission_notebook(nb_name, assignment_id, student)
            submitted.late_submission_penalty = nb["late_submission_penalty"]
            for grade_id, value in nb["grades"].items():
                grade = gb.find_grade(grade_id, nb_name, assignment_id, student)
                grade.auto_score = value["auto_score"]
                grade.needs_manual_grade = value["needs_manual_grade"]
            for comment_id, value in nb["comments"].items():
                gb.find_comment(comment_id, nb_name, assignment_id,
                                student).auto_comment = value["auto_comment"]
        gb.db.commit()
    # tracebacks name the task's temporary course; name the real one, as serial nbgrader does
    here, there = (json.dumps(str(p))[1:-1].encode() for p in (result["course"], root))
    for rel, (mode, data) in result["files"].items():
        if rel.endswith(".ipynb"):
            data = data.replace(here, there)
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(mode)


def _graded_before(root, assignment_id, student, entry, notebooks):
    folder = root / "autograded" / student / assignment_id
    return (entry or {}).get("status") == "graded" and all(
        (folder / f"{nb}.ipynb").is_file() for nb in notebooks)


def _cuda_count():
    """GPUs that ``torch.cuda`` sees here; on Linux without a GPU driver, 0 without importing torch."""
    if sys.platform == "linux" and not any(Path(dev).exists() for dev in ("/dev/nvidiactl",
                                                                           "/dev/kfd")):
        return 0  # no NVIDIA or ROCm driver: CUDA cannot be available (saves seconds)
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _gpu_env(names, gpus):
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


def _plan(client, gpus, local, sandbox=None):
    workers = client.scheduler_info()["workers"]
    slots = {}
    for address, info in workers.items():
        host = address.rsplit(":", 1)[0]
        slots[host] = slots.get(host, 0) + info.get("nthreads", 1)
    names = [info.get("name", "") for info in workers.values()]
    gpu = _gpu_env(names, gpus) if (local or gpus is not None) else {}
    return {"slots": slots, "gpu": gpu, "sandbox": sandbox}


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


def autograde_batch(course_root, assignment_id, *, workers=None, scheduler=None, students=None,
                    force=False, progress=True, timeout=None, gpus=None, lean=True,
                    sandbox=None, warm=True):
    """Autograde every submission of ``assignment_id`` in parallel; return this run's status.

    Args:
        course_root: the course folder (``nbgrader_config.py``, ``source/``, ``assignments/``,
            ``gradebook.db`` with the released assignment, ``submitted/``).
        workers: local worker processes (default: ``os.cpu_count()``); ignored with scheduler.
        scheduler: address of an existing Dask scheduler, e.g. ``"tcp://127.0.0.1:8786"``.
        students: only these student ids (default: every ``submitted/<id>/<a>/``).
        force: regrade students already graded (default: skip them).
        progress: show a tqdm bar on stderr.
        timeout: seconds allowed for one submission's nbgrader run (default: no limit).
        gpus: number of GPUs (or list of indices) for local workers; default: all CUDA sees.
        lean: run each submission's grading job (preflight, nbgrader, gradebook read-back) in
            a fork of a process that imported nbgrader (``coursekit.isolation.forkserver``) instead of a
            fresh interpreter: same grading, ~4.8 s of CPU less per submission.
        warm: start kernels that run outside bwrap as forks of a process that has imported
            torch (``coursekit.isolation.warm_kernel``): same grading, ~2.5 s of CPU less per kernel.
        sandbox: overrides of the sandbox settings (``coursekit.isolation.sandbox.DEFAULTS`` keys, e.g.
            ``{"memory": "2G", "enabled": False}``); the rest comes from ``c.Sandbox.*`` in the
            course's ``nbgrader_config.py``, then the defaults.

    Returns:
        ``{student: {"status": "graded" | "failed" | "skipped", "reason": str or None,
        "seconds": float, "worker": str}}`` for this run; the same entries (skipped ones
        excepted, which keep their earlier entry) are merged into
        ``coursekit_status/<assignment_id>.json``.

    Raises:
        FileNotFoundError: not a course folder, or no gradebook (release the assignment first).
        ValueError: ``students`` names someone without a submission.
    """
    from nbgrader.api import Gradebook, MissingEntry
    from tqdm import tqdm

    root = Path(course_root).resolve()
    db = root / "gradebook.db"
    if not is_course_root(root) or not db.is_file():
        raise FileNotFoundError(f"{root} is not a released course: it needs nbgrader_config.py, "
                                f"assignments/ and gradebook.db; run `coursekit release` first.")
    with Gradebook(f"sqlite:///{db}") as gb:
        try:
            notebooks = [nb.name for nb in gb.find_assignment(assignment_id).notebooks]
        except MissingEntry:
            raise FileNotFoundError(f"{db} has no assignment {assignment_id!r}; release it "
                                    f"first (`coursekit release`).") from None
    submitted = root / "submitted"
    found = sorted(p.parent.name for p in submitted.glob(f"*/{assignment_id}") if p.is_dir())
    if students is not None:
        unknown = sorted(set(students) - set(found))
        if unknown:
            raise ValueError(f"no submitted/<student>/{assignment_id}/ folder for {unknown}; "
                             f"collect their submissions first or leave them out.")
        found = [s for s in found if s in set(students)]

    from coursekit.isolation.sandbox import limits_from_config

    # the sandbox's limits: DEFAULTS < c.Sandbox.* in nbgrader_config.py < ``sandbox`` here
    limits = limits_from_config(root / "nbgrader_config.py", sandbox)
    path = status_path(root, assignment_id)
    status = json.loads(path.read_text()) if path.is_file() else {}
    run, todo = {}, []
    # longest first (by their last run; new ones first of all): fewer idle workers at the end
    found.sort(key=lambda s: -(status.get(s) or {}).get("seconds", float("inf")))
    for student in found:
        if not force and _graded_before(root, assignment_id, student, status.get(student),
                                        notebooks):
            run[student] = {"status": "skipped", "reason": "already graded (force=True regrades)",
                            "seconds": 0.0, "worker": status[student].get("worker", "")}
        else:
            todo.append(student)
    if not todo:
        return run

    def record(student, entry):
        run[student] = status[student] = entry
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(status, indent=1, sort_keys=True))
        tmp.replace(path)  # atomic: a crash of the master never leaves half a file

    course_tar = _pack([root / "nbgrader_config.py", root / "source" / assignment_id,
                        root / "assignments" / assignment_id]
                       + [p for p in [root / "release" / assignment_id] if p.is_dir()], root)
    gradebook_db = _snapshot_gradebook(db)
    servers = {}
    if scheduler is None and hasattr(os, "fork"):
        # a local cluster: one fork server per profile for all its workers, importing while
        # the workers start (an external cluster's workers start their own, one each); no
        # kernel server where the kernels start in bwrap (they cannot be forked)
        from coursekit.isolation.sandbox import check

        warm = warm and (limits["enabled"] is False or not check()[0])
        n = workers or os.cpu_count() or 1
        threads = {var: str(max(1, (os.cpu_count() or 1) // n)) for var in THREAD_VARS}
        servers = {profile: forkserver.start(profile, threads) for profile, wanted
                   in (("nbgrader", lean), ("kernel", warm)) if wanted}
    client, cluster = None, None
    try:
        client, cluster = _connect(workers, scheduler)
        from distributed import as_completed

        plan = _plan(client, gpus, local=cluster is not None, sandbox=limits)
        plan["servers"] = servers
        window = max(4, 2 * sum(plan["slots"].values()))  # tasks in flight: bounded memory
        queue, owner, done = iter(todo), {}, as_completed()

        def submit_next():
            student = next(queue, None)
            if student is not None:
                sub_tar = _pack([submitted / student / assignment_id],
                                submitted / student)
                future = client.submit(grade_submission, course_tar, gradebook_db, sub_tar,
                                       assignment_id, student, timeout=timeout, plan=plan,
                                       lean=lean, warm=warm, pure=False, retries=0,
                                       key=f"autograde-{assignment_id}-{student}-{time.time_ns()}")
                owner[future.key] = student
                done.add(future)

        for _ in range(window):
            submit_next()
        with tqdm(total=len(todo), desc=f"autograde {assignment_id}", unit="submission",
                  file=sys.stderr, disable=not progress) as bar:
            for future in done:
                student = owner.pop(future.key)
                try:
                    result = future.result()
                except Exception as err:  # noqa: BLE001 - KilledWorker, lost connection...
                    last = getattr(getattr(err, "last_worker", None), "address", "")
                    result = {"student": student, "ok": False, "in_gradebook": False,
                              "reason": f"worker lost: {type(err).__name__}: {err}",
                              "seconds": 0.0, "worker": last or ""}
                future.release()
                try:
                    _merge(root, assignment_id, result)
                except Exception as err:  # noqa: BLE001 - recorded, the batch goes on
                    result["ok"], result["reason"] = False, f"merge failed: {err}"
                if not result["ok"] and result.get("log"):
                    log = path.parent / assignment_id / f"{student}.log"
                    log.parent.mkdir(parents=True, exist_ok=True)
                    log.write_text(result["log"])
                record(student, {"status": "graded" if result["ok"] else "failed",
                                 "reason": result["reason"], "seconds": result["seconds"],
                                 "worker": result["worker"], "notes": result.get("notes", []),
                                 "sandbox": result.get("sandbox"),
                                 "kernels": result.get("kernels"),
                                 "tampering": bool(result.get("tampering")),
                                 "suspicious": result.get("suspicious", [])})
                bar.update()
                submit_next()
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        for profile in servers:
            forkserver.stop(profile)
    return run
