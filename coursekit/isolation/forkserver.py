"""Fork servers: a process imports the heavy modules once; every job runs in a fresh fork of it.

``python -m nbgrader`` spends ~4.8 s of CPU importing (2.7 s of it compiling rfc3987_syntax's
grammar, pulled in by nbformat -> jsonschema) and a kernel ~2.5 s importing torch, before any
work: serial nbgrader pays the first once, a task per submission would pay both every time.
So a host keeps one server per *profile* (``PROFILES``: what it imports), and each job (one
submission's grading, one kernel) is a fork of it: a copy made new, so no state passes from one
job to the next, and the server itself never runs a job's code.

Protocol (AF_UNIX SOCK_SEQPACKET, one message each way per step): the client connects and
sends ``{"kind", ...}`` (with file descriptors: a kernel's standard streams, a mount
namespace); the server forks at once and the fork reads the request (the server never holds
one) and replies ``{"pid": N}`` (or ``{"error": ...}`` for a request it refuses); the server
sends ``{"exit": code}`` when that fork ends. A job runs ``JOBS[kind]`` (``module:function``) with ``(conn, request,
fds)``, in its own session (process group = pid), and never returns; when its client's
connection closes (the client died) the job's process group is killed (a thread of the job
watches; the sandboxed kinds, which must stay single-threaded to enter namespaces, watch
themselves: ``coursekit.isolation.warm_sandbox``). A server accepts only the
kinds of its profile. It stops, and kills its jobs, when its standard input closes (the
process that started it is gone).

The socket lives in a fresh 0700 folder under the system's temporary folder: a sandboxed kernel
(bwrap, private /tmp) cannot reach it.
"""
import importlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

__all__ = ["PROFILES", "JOBS", "serve", "start", "stop", "submit", "wait"]

# What every notebook's kernel imports through usefuns: its modules, and what they import
# lazily (scikit-learn for the digits, Matplotlib's Figure and its Agg canvas for a figure):
# ~1 CPU s per kernel, once per server instead (issue 15). Only imports: no figure is made, no
# data set read, no pyplot (which would pick a backend); tests/isolation/test_forkserver.py
# checks that a notebook's figures and data load import nothing more of these packages.
USEFUNS_IMPORTS = ("usefuns.data", "usefuns.grad", "usefuns.model", "usefuns.testing",
                   "usefuns.utils", "usefuns.vis", "sklearn.datasets", "matplotlib.figure",
                   "matplotlib.ticker", "matplotlib.backends.backend_agg")
# profile -> (modules to import, job kinds it runs)
PROFILES = {
    "nbgrader": (("coursekit.engine.gradejob", "nbgrader.apps.nbgraderapp", "nbgrader.converters",
                  "nbconvert", "nbclient", "jupyter_client", "sqlalchemy", "nbgrader.api"),
                 ("grade",)),
    "kernel": (("coursekit.isolation.warm_kernel", "numpy", "torch", "ipykernel.kernelapp",
                "coursekit.isolation.warm_sandbox", "coursekit.isolation.kernel",
                "coursekit.isolation.child", "coursekit.isolation.watch", *USEFUNS_IMPORTS),
               ("kernel", "sandboxed_kernel", "sandboxed_child")),
}
# Profiles whose forks run student code start bare: an environment of these variables only and
# the root folder as working folder. A fork's memory is a copy of the server's, and
# os.environ.clear() does not erase the process's first environment: an attack review found a
# variable set only in the server's environment 11 times in a warm kernel's heap, and the course
# folder's listing in Python's import cache.
BARE = ("kernel",)
BARE_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR")

JOBS = {"grade": "coursekit.engine.gradejob:job", "kernel": "coursekit.isolation.warm_kernel:job",
        "sandboxed_kernel": "coursekit.isolation.warm_sandbox:job",
        "sandboxed_child": "coursekit.isolation.warm_sandbox:job"}
# jobs that watch their client themselves: they must stay single-threaded (setns, unshare)
SELF_WATCHED = frozenset({"sandboxed_kernel", "sandboxed_child"})
MAX_FDS = 4  # a job's file descriptors: standard streams, a mount namespace
MAX_MESSAGE = 1 << 20


# ---------------------------------------------------------------- the server

def serve(path, profile):
    """Listen on ``path``, import the profile's modules, fork one job per request."""
    modules, kinds = PROFILES[profile]
    # listen first: a client that comes while the imports run waits instead of going cold
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(64)
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    children = {}  # pid -> connection to its client
    # a job's end wakes the loop at once (SIGCHLD through a wakeup pipe): its client, waiting
    # for {"exit"}, is a whole submission's next step
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    try:
        while True:
            ready = select.select([listener, sys.stdin, wake_r], [], [], 30.0)[0]  # a safety net
            if sys.stdin in ready and not os.read(sys.stdin.fileno(), 1 << 12):
                break  # whoever started the server is gone
            if wake_r in ready:
                _drain(wake_r)
            if listener in ready:
                _accept(listener, children, kinds, (wake_r, wake_w))
            _reap(children)
    finally:
        for pid in children:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        listener.close()


def _drain(fd):
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def _accept(listener, children, kinds, wake):
    """Fork for the next connection at once: the fork reads and checks the request, so the
    server never holds a byte of any job's request (nothing of one job's environment, paths or
    student id lingers in the memory the next job's fork copies)."""
    conn, _ = listener.accept()
    pid = os.fork()
    if pid == 0:
        signal.set_wakeup_fd(-1)
        for fd in wake:
            os.close(fd)
        listener.close()
        for other in children.values():
            other.close()
        _job(conn, kinds)  # never returns
    children[pid] = conn


def _job(conn, kinds):
    code = 1
    try:
        os.setsid()  # a process group of its own: the client can signal or kill all of it
        try:
            message, fds, _, _ = socket.recv_fds(conn, MAX_MESSAGE, MAX_FDS)
            request = json.loads(message)
            if request.get("kind") not in kinds:
                raise ValueError(f"refused: this server runs {kinds}, not "
                                 f"{request.get('kind')!r}")
        except (OSError, ValueError) as err:
            _send(conn, {"error": str(err)})
            raise SystemExit(2) from None
        _send(conn, {"pid": os.getpid()})
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if request["kind"] not in SELF_WATCHED:
            _watch(conn)
        module, _, function = JOBS[request["kind"]].partition(":")
        getattr(importlib.import_module(module), function)(conn, request, fds)
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported on the job's stderr and its exit code
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _watch(conn):
    """Kill this job's process group as soon as its client is gone (e.g. SIGKILLed)."""
    import threading

    def wait():
        try:
            while conn.recv(64):
                pass
        except OSError:
            pass
        os.killpg(0, signal.SIGKILL)

    threading.Thread(target=wait, name="coursekit-forkserver-client", daemon=True).start()


def _reap(children):
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = children.pop(pid, None)
        if conn is not None:
            _send(conn, {"exit": os.waitstatus_to_exitcode(status)})
            conn.close()


def _send(conn, message):
    try:
        conn.send(json.dumps(message).encode())
    except OSError:
        pass  # the client is gone; nothing to tell


# ---------------------------------------------------------------- starting and using one

_STARTED = {}  # profile -> (Popen, path): the servers this process started


def start(profile, env=None):
    """The socket path of a server of ``profile`` that this process started (again if it died).

    ``env`` is added to this process's environment for the server (e.g. the thread variables,
    so that ``import torch`` in the server sees the ``OMP_NUM_THREADS`` of its jobs).
    """
    proc, path = _STARTED.get(profile, (None, None))
    if proc is not None and proc.poll() is None:
        return path
    path = os.path.join(tempfile.mkdtemp(prefix=f"coursekit-{profile}-"), "server.sock")
    if profile in BARE:  # its forks become student kernels: they inherit its memory
        base, cwd = {k: os.environ[k] for k in BARE_ENV if k in os.environ}, "/"
    else:
        base, cwd = dict(os.environ), None
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from coursekit.isolation.forkserver "
                             "import serve; serve(sys.argv[1], sys.argv[2])", path, profile],
                            stdin=subprocess.PIPE, env=dict(base, **(env or {})), cwd=cwd,
                            start_new_session=True)
    _STARTED[profile] = (proc, path)
    deadline = time.monotonic() + 10
    while not os.path.exists(path) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)  # it listens before it imports: a few ms
    return path


def stop(profile=None):
    """Stop the servers (or the one of ``profile``) that this process started."""
    for name in [profile] if profile else list(_STARTED):
        proc, path = _STARTED.pop(name, (None, None))
        if proc is not None:
            proc.stdin.close()  # the server kills its jobs and exits
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            try:
                os.unlink(path)
                os.rmdir(os.path.dirname(path))
            except OSError:
                pass


def submit(path, request, fds=()):
    """Send one job request to the server at ``path``: (connection, pid of the job).

    Raises:
        OSError: no server there, or it refused the request (then its reason).
    """
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        conn.connect(path)
        socket.send_fds(conn, [json.dumps(request).encode()], list(fds))
        reply = json.loads(conn.recv(MAX_MESSAGE) or b"{}")
        if "pid" not in reply:
            raise OSError(reply.get("error", "the fork server closed the connection"))
    except (OSError, ValueError) as err:
        conn.close()
        raise OSError(f"fork server {path}: {err}") from None
    return conn, reply["pid"]


def wait(conn, timeout=None):
    """The job's exit code, or None when ``timeout`` seconds pass first (the job runs on)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return None
        if not select.select([conn], [], [], left)[0]:
            continue
        message = conn.recv(MAX_MESSAGE)
        if not message:
            raise OSError("the fork server is gone")
        reply = json.loads(message)
        if "exit" in reply:
            conn.close()
            return reply["exit"]
