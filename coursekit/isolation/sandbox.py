"""Run each submission's kernel in a sandbox, with limits an instructor can set.

``coursekit autograde`` grades every submission in a private temporary course (see
``coursekit.parallel``). With the sandbox on, that course gets its own ``python3`` kernelspec
(found first through ``JUPYTER_PATH``) whose command is::

    bwrap <a private view of the machine> -- python -m coursekit.isolation.kernel SPEC -f CONN

so nbgrader and nbclient start, talk to and stop the kernel exactly as usual, over an IPC
transport (Unix sockets in the task's runtime folder; a kernel in its own network namespace
cannot reach TCP). Inside, the kernel sees (see ``docs/security.md``):

- the system, the Python installation and the kit's packages, read-only;
- a copy of its own submission folder in a private scratch tmpfs (``/tmp/coursekit-work``),
  which is its working directory; nothing it writes reaches the grader;
- writable, besides: ``/dev/shm`` (a tmpfs capped like the scratch) and the runtime folder of
  its sockets, which the grading job makes a private 1 MiB tmpfs (``RUNTIME_BYTES``;
  ``coursekit.engine.gradejob``): nothing the kernel writes lands on the host's disk, and all
  of it counts against the submission's cgroup (``coursekit.isolation.cgroup``);
- nothing of the instructor's: no ``assignments/`` (checks, reference, samples), no
  ``source/`` (solutions), no gradebook, no other submission, no network. Under ``coursekit
  autograde`` the hidden tests are placeholders in the notebook and the grader runs the checks
  outside the kernel (``coursekit.engine.verify``).

The verification child (:func:`child_command`) gets the same view, with a copy of the
student's submitted folder. Limits (``coursekit.isolation.settings.Sandbox``, set in
``nbgrader_config.py`` as ``c.Sandbox.memory = "4G"`` or on ``coursekit autograde``'s command
line): memory (RLIMIT_DATA of the kernel and of each process it
starts), CPU seconds, bytes per file written and of the scratch folder, processes and threads
(RLIMIT_NPROC of the kernel's own uid), open files; the per-cell timeout stays nbgrader's
``Execute.timeout``. Every process dies with the kernel (its own PID namespace).

Without ``bwrap`` (``apt-get install bubblewrap``), or not as root, the kernel runs unsandboxed
with the resource limits only, and ``check()`` says so loudly (``coursekit autograde`` prints it
and records it in the status file).
"""
import json
import os
import shutil
import sys
import sysconfig
import threading
from pathlib import Path

__all__ = ["check", "prepare_task", "view", "bwrap_command", "child_command", "kernel_uid",
           "WORK"]

WORK = "/tmp/coursekit-work"   # the kernel's working directory inside the sandbox
RUNTIME_BYTES = 1 << 20        # the runtime folder's tmpfs: a connection file and sockets
FIRST_UID = 200_000            # kernels run as FIRST_UID + a slot per worker thread (below)
THREAD_SLOTS = 64              # grading threads one worker process may run at once
_SLOTS = {"next": 0}
_THREAD = threading.local()
_LOCK = threading.Lock()


def check():
    """(usable, message): can this machine run kernels in bwrap? The message says how to fix."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False, ("WARNING: bubblewrap (bwrap) is not installed: student kernels run "
                       "WITHOUT a sandbox (resource limits only; they can read the course "
                       "folder and reach the network). Install it: apt-get install bubblewrap")
    if sys.platform != "linux":
        return False, "WARNING: the sandbox needs Linux; kernels run with resource limits only."
    import subprocess

    try:
        probe = subprocess.run([bwrap, "--ro-bind", "/", "/", "--unshare-all", "--",
                                "true"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return False, f"WARNING: bwrap does not run here ({err}); kernels are not sandboxed."
    if probe.returncode != 0:
        return False, (f"WARNING: bwrap cannot create namespaces here ({probe.stderr.strip()}); "
                       f"run the grader as root or allow unprivileged user namespaces. "
                       f"Kernels run with resource limits only.")
    return True, "sandbox: bwrap " + ("(root)" if os.geteuid() == 0 else "(user namespace)")


def kernel_uid(sandboxed):
    """The uid this task's kernel drops to (only root in the sandbox can hand one out).

    One per grading thread of each worker process (``FIRST_UID + (pid mod 100000) * 64 +
    slot``): tasks that run at once never share a uid, so never share ``RLIMIT_NPROC``, and a
    task's kernel and verification child (the same thread) get the same one."""
    if not (sandboxed and os.geteuid() == 0):
        return None
    slot = getattr(_THREAD, "slot", None)
    if slot is None:
        with _LOCK:
            slot = _THREAD.slot = _SLOTS["next"] % THREAD_SLOTS
            _SLOTS["next"] += 1
    return FIRST_UID + (os.getpid() % 100_000) * THREAD_SLOTS + slot


def _python_paths():
    """Folders the kernel's Python needs to read: the installation, the venv, the kit's code."""
    paths = {Path(sys.base_prefix), Path(sys.prefix), Path(sys.executable).parent}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        paths.add(Path(sysconfig.get_paths()[key]))
    import coursekit
    import usefuns

    for package in (coursekit, usefuns):  # an editable install points into the kit's folder
        paths.add(Path(package.__file__).resolve().parent)
    resolved = {p.resolve() for p in paths if p.exists()}
    # nested ones are covered by their parents
    return sorted(p for p in resolved if not any(q != p and q in p.parents for q in resolved))


def view(*, readable, writable, work_source, scratch_size, gpu=True, connection_file=True):
    """What a sandboxed kernel or child sees, as operations in order (bwrap's, one each).

    ``["proc", "/proc"]``, ``["dev", "/dev"]``, ``["tmpfs", path, bytes, mode]``,
    ``["dir", path, mode]``, ``["symlink", target, path]``, ``["ro-bind", source, path]``,
    ``["bind", source, path]``, ``["dev-bind", source, path]``. :func:`bwrap_command` turns
    them into bwrap's arguments; ``coursekit.isolation.confine.build_root`` makes them itself
    in a fork (warm sandboxed kernels): one list, so the two views cannot differ.

    Args:
        readable: folders/files bound read-only at their own paths (besides the system).
        writable: folders bound read-write at their own paths (the runtime folder).
        work_source: the submission folder, bound read-only at ``<WORK>-src`` (the launcher
            copies it into the scratch tmpfs).
        scratch_size: bytes of the private tmpfs at /tmp (and of /dev/shm).
        gpu: bind the NVIDIA/ROCm device files and /sys when they exist.
        connection_file: bind ``{connection_file}`` (jupyter_client fills in its path).
    """
    ops = [["proc", "/proc"], ["dev", "/dev"],
           ["tmpfs", "/tmp", int(scratch_size), 0o1777],
           # POSIX shared memory and semaphores (joblib, torch's DataLoader): a capped tmpfs
           ["tmpfs", "/dev/shm", int(scratch_size), 0o1777]]
    for system in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc"):
        if os.path.exists(system):
            ops.append(["ro-bind", system, system] if not os.path.islink(system) else
                       ["symlink", os.readlink(system), system])
    # bwrap makes missing parent folders with the host's modes (e.g. /root is 0700), which
    # would shut the kernel's uid out of a Python installed under /root: make them 0755
    made = {"/", "/tmp"}
    for path in [*readable, *writable]:
        for parent in reversed(Path(path).parents):
            if str(parent) not in made:
                made.add(str(parent))
                ops.append(["dir", str(parent), 0o755])
    ops += [["ro-bind", str(path), str(path)] for path in readable]
    ops += [["bind", str(path), str(path)] for path in writable]
    ops.append(["ro-bind", str(work_source), WORK + "-src"])
    if connection_file:  # jupyter_client fills in its path (nbclient writes it to /tmp)
        ops.append(["ro-bind", "{connection_file}", "{connection_file}"])
    if gpu:
        for dev in sorted(Path("/dev").glob("nvidia*")) + [Path("/dev/kfd"), Path("/dev/dri")]:
            if dev.exists():
                ops.append(["dev-bind", str(dev), str(dev)])
        if any(Path("/dev").glob("nvidia*")):
            ops.append(["ro-bind", "/sys", "/sys"])
            if Path("/proc/driver/nvidia").exists():
                ops.append(["ro-bind", "/proc/driver/nvidia", "/proc/driver/nvidia"])
    return ops


def _bwrap_args(ops):
    args = []
    for kind, *rest in ops:
        if kind in ("proc", "dev"):
            args += [f"--{kind}", rest[0]]
        elif kind == "tmpfs":
            path, size, mode = rest
            args += ["--perms", f"{mode:04o}", "--size", str(size), "--tmpfs", path]
        elif kind == "dir":
            path, mode = rest
            args += ["--perms", f"{mode:04o}", "--dir", path]
        else:  # symlink, ro-bind, bind, dev-bind: two arguments each
            args += [f"--{kind}", *rest]
    return args


def bwrap_command(*, readable, writable, work_source, scratch_size, gpu=True,
                  as_root=None, connection_file=True):
    """The ``bwrap`` arguments (up to ``--``) for a kernel that sees only what it needs
    (:func:`view`, whose arguments these are).

    Args:
        as_root: bwrap runs as root (default: this process's euid is 0); only root may keep
            the capabilities the launcher needs to hand the kernel a uid of its own.
    """
    as_root = os.geteuid() == 0 if as_root is None else as_root
    # as root: no user namespace (it would map uid 0 only, and the kernel needs a uid of its own)
    unshare = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
               "--unshare-cgroup-try"] if as_root else ["--unshare-all"]
    ops = view(readable=readable, writable=writable, work_source=work_source,
               scratch_size=scratch_size, gpu=gpu, connection_file=connection_file)
    caps = ["--cap-add", "CAP_CHOWN", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"] \
        if as_root else []  # the launcher copies the submission, hands it to the kernel's uid
    return ["bwrap", *unshare, "--die-with-parent", "--new-session", *_bwrap_args(ops[:4]),
            *caps, *_bwrap_args(ops[4:]), "--chdir", "/tmp", "--"]


SERVER_RECORD = "fork-server"  # <course>/.sandbox/<this>: the kernel fork server of the task


def prepare_task(course, assignment_id, student_id, limits, sandboxed, group=None, server=None):
    """Make the task course start its kernels in the sandbox.

    Writes ``<course>/.sandbox/jupyter/kernels/python3/kernel.json`` (the launcher
    ``coursekit.isolation.kernel``, in bwrap when ``sandboxed``) and a runtime folder for the
    kernel's connection file and IPC sockets (a kernel in its own network namespace cannot
    reach TCP).

    Args:
        course: the task's private course folder.
        limits: :class:`~coursekit.isolation.settings.SandboxLimits`.
        sandboxed: use bwrap (``check()[0]``); False applies the resource limits only.
        group: the submission's :class:`~coursekit.isolation.cgroup.Group`, or None: every
            kernel (and its restarts) joins it before it runs.
        server: socket path of the host's ``kernel`` fork server: sandboxed kernels (and the
            verification child, :func:`child_command`) start as confined forks of it
            (``coursekit.isolation.warm_sandbox``), bwrap's command their fallback; None:
            bwrap starts them cold.

    Returns:
        (environment variables for the nbgrader run: ``JUPYTER_PATH``, ``JUPYTER_RUNTIME_DIR``;
        nbgrader command-line options: the IPC transport).
    """
    course = Path(course)
    base = course / ".sandbox"
    runtime = base / "runtime"
    spec_dir = base / "jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    runtime.mkdir(parents=True)
    uid = kernel_uid(sandboxed)
    work_source = course / "autograded" / student_id / assignment_id
    spec = {"work": WORK if sandboxed else None, "limits": limits.as_dict(), "uid": uid,
            # outside bwrap the launcher joins the group itself (a warm kernel is a fork of a
            # server outside it); bwrap is started in the group, with all it will start
            "cgroup": group.procs_files if group is not None and not sandboxed else None}
    launcher = [sys.executable, "-m", "coursekit.isolation.kernel", json.dumps(spec)]
    argv = [*launcher, "-f", "{connection_file}"]
    if sandboxed:
        if uid is not None:
            os.chown(runtime, uid, uid)  # the kernel makes its sockets there
        seen = dict(readable=_python_paths(), writable=[runtime], work_source=work_source,
                    scratch_size=limits.scratch_size)
        argv = bwrap_command(**seen) + argv
        if server is not None:
            from coursekit.isolation import warm_sandbox

            (base / SERVER_RECORD).write_text(server)
            argv = warm_sandbox.kernel_argv(server, view(**seen), json.dumps(spec), argv, group)
        elif group is not None:
            argv = group.wrap(argv)
    kernel = {"argv": argv,
              "display_name": "Python 3 (coursekit sandbox)" if sandboxed else "Python 3",
              "language": "python", "metadata": {"debugger": False}}
    (spec_dir / "kernel.json").write_text(json.dumps(kernel, indent=1))
    env = {"JUPYTER_PATH": str(base / "jupyter"), "JUPYTER_RUNTIME_DIR": str(runtime)}
    return env, ["--KernelManager.transport=ipc", f"--KernelManager.ip={runtime / 'kernel'}"]


def child_command(course, assignment_id, student_id, limits, sandboxed, group=None):
    """(argv, start request) of this task's verification child (``coursekit.isolation.child``):
    sandboxed like the kernel, seeing only the Python installation and a copy of the student's
    submitted folder, in the submission's cgroup ``group`` (if any); its limits and uid go in
    its first request. A confined fork of the kernel fork server when :func:`prepare_task` was
    given one (``Sandbox.warm_start``), with bwrap's command to fall back on."""
    start = {"limits": limits.as_dict(), "uid": kernel_uid(sandboxed)}
    # -P: its working folder (the student's code writes there) is not on its import path
    argv = [sys.executable, "-P", "-m", "coursekit.isolation.child"]
    if not sandboxed:
        return (group.wrap(argv) if group is not None else argv), start
    seen = dict(readable=_python_paths(), writable=[],
                work_source=Path(course) / "submitted" / student_id / assignment_id,
                scratch_size=limits.scratch_size, connection_file=False)
    argv = bwrap_command(**seen) + argv
    record = Path(course) / ".sandbox" / SERVER_RECORD
    if limits.warm_start and record.is_file():
        from coursekit.isolation import warm_sandbox

        return warm_sandbox.child_argv(record.read_text(), view(**seen), argv, group), start
    return (group.wrap(argv) if group is not None else argv), start
