"""One submission's grading job: preflight, ``nbgrader autograde``, read back the gradebook.

``coursekit.engine.execute`` (in a worker's pipeline) prepares a private course and calls
:func:`run`, which runs the job in a fork of the host's ``nbgrader`` fork server
(``coursekit.isolation.forkserver``: nbgrader, nbformat and SQLAlchemy imported once per host), or, where
there is none, in a fresh ``python -m coursekit.engine.gradejob REQUEST``. Either way the worker itself
imports none of them. The job, in its own process:

0. joins the submission's cgroup (its memory counts nbgrader's reading of the notebook and of
   the kernel's messages too; the kernel is the out-of-memory killer's first choice), and
   gives itself a private mount namespace where the kernel's runtime folder (its connection
   file and sockets, the one host folder a sandboxed kernel may write) is a small tmpfs
   (``request["runtime"]``): nothing the kernel writes there reaches the host's disk, and it
   is charged to the submission's cgroup; where that cannot be done (not root) the folder stays
   on disk and the result says so;
1. checks and repairs the submission (``coursekit.engine.preflight.prepare_course``);
2. if it is gradable, runs nbgrader's own ``main()`` with ``autograde <a> --student <s> --force``
   (exactly nbgrader's command line), its output in ``nbgrader-run.log``;
3. reads what the course's gradebook now holds for the submission, and the points nbgrader's
   rule gives each autograded cell from the graded notebook's outputs (:func:`kernel_points`:
   the kernel's word, which the grader's checks then confirm or overrule);

and writes ``{"preflight", "exit", "submission", "kernel_points", "runtime"}`` as JSON to
``job-result.json``.
"""
import ctypes
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

__all__ = ["run", "job", "read_submission", "kernel_points"]

LOG = "nbgrader-run.log"
LOG_TAIL = 256 * 1024  # bytes of the log the worker reads back
RESULT = "job-result.json"


# ---------------------------------------------------------------- in the job's process

def job(conn, request, fds):
    """``coursekit.isolation.forkserver`` job ``grade``."""
    _grade(request)


def _grade(request):
    _join(request.get("cgroup"))
    null = os.open(os.devnull, os.O_RDONLY)
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    course = Path(request["course"])
    os.chdir(course)
    os.environ.clear()
    os.environ.update(request["env"])
    out = {"preflight": None, "exit": None, "submission": None, "kernel_points": None,
           "runtime": None}
    if request.get("runtime"):
        out["runtime"] = _private_runtime(**request["runtime"])
    from coursekit.engine import preflight

    out["preflight"] = preflight.prepare_course(course, request["assignment"], request["student"])
    _write(request["result"], out)
    if not out["preflight"]["gradable"]:
        return
    sys.argv = ["nbgrader", *request["args"]]
    try:
        from nbgrader.apps.nbgraderapp import main

        main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported through the log and the exit code
        import traceback

        traceback.print_exc()
        code = 1
    out["exit"] = code
    out["submission"] = read_submission(course / "gradebook.db", request["assignment"],
                                        request["student"])
    _write(request["result"], out)  # what nbgrader did is kept whatever happens next
    try:
        out["kernel_points"] = kernel_points(course, request["assignment"], request["student"],
                                             out["submission"]["notebooks"])
    except Exception as err:  # noqa: BLE001 - the worker fails the submission with this reason
        out["kernel_points_error"] = f"{type(err).__name__}: {err}"[:300]
    _write(request["result"], out)
    raise SystemExit(code)


def _join(procs_files):
    """Join the submission's cgroup before reading anything of the submission (its notebook's
    JSON, its outputs, its messages: what the kernel can make big is counted there too), and
    make this process the out-of-memory killer's last choice in it (the kernel goes first)."""
    for procs in procs_files or ():
        Path(procs).write_text(str(os.getpid()))
    if procs_files:
        try:
            Path("/proc/self/oom_score_adj").write_text("-500")
        except OSError:
            pass


def _private_runtime(path, size, uid=None):
    """Mount a tmpfs of ``size`` bytes at ``path``, seen by this process and its children only
    (a mount namespace of their own, gone with them). ``"tmpfs"``, or why it stays on disk."""
    clone_newns, ms_rec, ms_private = 0x00020000, 0x4000, 0x40000
    ms_nosuid, ms_nodev, ms_noexec = 0x2, 0x4, 0x8
    libc = ctypes.CDLL(None, use_errno=True)
    owner = f",uid={uid},gid={uid}" if uid is not None else ""
    options = f"size={int(size)},nr_inodes=1024,mode=0700{owner}".encode()
    steps = (("unshare", lambda: libc.unshare(clone_newns)),
             ("private mounts", lambda: libc.mount(b"none", b"/", None, ms_rec | ms_private,
                                                   None)),
             ("mount tmpfs", lambda: libc.mount(b"tmpfs", str(path).encode(), b"tmpfs",
                                                ms_nosuid | ms_nodev | ms_noexec, options)))
    for what, step in steps:
        if step() != 0:
            return f"disk ({what}: {os.strerror(ctypes.get_errno())})"
    return "tmpfs"


def _write(path, data):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def read_submission(db_path, assignment_id, student_id):
    """``{"in_gradebook", "timestamp" (ISO text or None), "notebooks"}`` of one submission, with
    per notebook ``late_submission_penalty``, ``grades`` and ``comments``."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{db_path}") as gb:
        try:
            submission = gb.find_submission(assignment_id, student_id)
        except MissingEntry:
            return {"in_gradebook": False, "timestamp": None, "notebooks": {}}
        notebooks = {nb.name: {
            "late_submission_penalty": nb.late_submission_penalty,
            "grades": {g.name: {"auto_score": g.auto_score, "max_score": g.max_score,
                                "needs_manual_grade": g.needs_manual_grade} for g in nb.grades},
            "comments": {c.name: {"auto_comment": c.auto_comment} for c in nb.comments},
        } for nb in submission.notebooks}
        stamp = submission.timestamp
        return {"in_gradebook": True, "timestamp": stamp.isoformat() if stamp else None,
                "notebooks": notebooks}


def kernel_points(course, assignment_id, student_id, notebooks):
    """``{notebook: {grade_id: points}}``: what nbgrader's rule gives each autograded code cell
    (``coursekit.engine.decide.kernel_points``) from the outputs in its graded notebook, for
    the notebooks and grades of :func:`read_submission`. Read here, where nbgrader is imported
    already, so that a worker never imports nbgrader or nbformat (docs/performance.md, fifth
    run)."""
    from coursekit.engine.decide import kernel_points as points_of

    def field(value, *keys):  # a notebook's JSON, whatever shape a submission gave it
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    found = {}
    for name, entry in notebooks.items():
        path = Path(course) / "autograded" / student_id / assignment_id / f"{name}.ipynb"
        cells = field(json.loads(path.read_text()), "cells")  # nbgrader wrote it: or raise
        found[name] = {}
        for cell in cells if isinstance(cells, list) else ():
            grade_id = field(cell, "metadata", "nbgrader", "grade_id")
            grade = entry["grades"].get(grade_id) if isinstance(grade_id, str) else None
            if field(cell, "cell_type") == "code" and grade and not grade["needs_manual_grade"]:
                found[name][grade_id] = points_of(cell, grade["max_score"])
    return found


def main(argv=None):
    """``python -m coursekit.engine.gradejob REQUEST.json``: the job in a fresh interpreter."""
    argv = sys.argv[1:] if argv is None else argv
    _grade(json.loads(Path(argv[0]).read_text()))


# ---------------------------------------------------------------- on the worker

def run(course, assignment_id, student_id, args, env, timeout=None, server=None,
        runtime=None, group=None):
    """Run the job for the private course ``course``; wait at most ``timeout`` seconds.

    Args:
        args: nbgrader's command line (``autograde <a> --student <s> --force``).
        env: the job's whole environment.
        server: socket path of an ``nbgrader`` fork server, or None (a fresh interpreter).
        runtime: ``{"path", "size", "uid"}``: the kernel's runtime folder, to be a private
            tmpfs of ``size`` bytes owned by ``uid`` (see the module docstring); None: as is.
        group: the submission's cgroup (``coursekit.isolation.cgroup``): the job joins it.

    Returns:
        dict: ``preflight`` (``prepare_course``'s dict, None if the job died before it),
        ``exit`` (nbgrader's exit code; None if it did not run or finish), ``submission``
        (``read_submission``'s dict, None if not read), ``kernel_points``
        (:func:`kernel_points`'s dict, None if not read; ``kernel_points_error`` may say why),
        ``runtime`` (``"tmpfs"``, or why the runtime folder stayed on disk; None if not asked),
        ``timed_out``, ``log`` (text), ``forked`` (whether the fork server ran it).
    """
    course = Path(course)
    request = {"kind": "grade", "course": str(course), "assignment": assignment_id,
               "student": student_id, "args": list(args), "env": dict(env),
               "log": str(course / LOG), "result": str(course / RESULT), "runtime": runtime,
               "cgroup": group.procs_files if group is not None else None}
    timed_out, forked = False, False
    if server:
        from coursekit.isolation import forkserver

        try:
            conn, pid = forkserver.submit(server, request)
            forked = True
        except OSError:
            pass  # no server: a fresh interpreter below
    if forked:
        try:
            if forkserver.wait(conn, timeout) is None:
                timed_out = True
                _kill_group(pid)
                forkserver.wait(conn)
        except OSError:  # the server died under the job
            _kill_group(pid)
    else:
        spec = course / "job-request.json"
        spec.write_text(json.dumps(request))
        proc = subprocess.Popen([sys.executable, "-m", "coursekit.engine.gradejob", str(spec)],
                                env=request["env"], cwd=course, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc.pid)
            proc.wait()
    result_file = course / RESULT
    out = json.loads(result_file.read_text()) if result_file.is_file() else {
        "preflight": None, "exit": None, "submission": None, "kernel_points": None,
        "runtime": None}
    out.update(timed_out=timed_out, forked=forked, log=_tail(course / LOG))
    return out


def _tail(path, size=LOG_TAIL):
    """The last ``size`` bytes of the log at ``path`` as text ("" without one): however big a
    log grew (or was made to look, with a seek), the worker reads a bounded tail."""
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, os.fstat(handle.fileno()).st_size - size))
            return handle.read(size).replace(b"\0", b"").decode(errors="replace")
    except OSError:
        return ""


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


if __name__ == "__main__":
    main()
