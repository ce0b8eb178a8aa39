"""Warm kernels: each submission's IPython kernel is a fresh fork of a process that has already
imported torch, numpy and ipykernel (issue 5: cut the fixed cost of a submission without
sharing state between submissions).

A cold kernel spends ~2.5 s of CPU importing torch and ipykernel before the first cell runs, on
every submission and on every restart. Here each worker process keeps one *kernel server*: a
Python process that imported those modules and does nothing else. A task's kernelspec runs the
small client ``python -m coursekit.warm_kernel MODULE ARGS...`` instead of ``python -m MODULE
ARGS...``; the client asks the server (Unix socket ``$COURSEKIT_WARM_KERNEL``) to fork, and the
fork becomes the kernel (``runpy`` runs ``MODULE`` as ``__main__``) with the client's working
folder, environment, ``sys.path``, standard streams and arguments. Nothing of one kernel reaches
the next: the server never runs student code, and each kernel is a copy of the server, made
new.

What differs from a cold kernel, and how it is evened out:

- modules imported in the server stay imported (their code is the same files a cold kernel
  would import: the kit's environment, never the student's folder);
- the thread count that ``OMP_NUM_THREADS`` gave the server: the fork calls
  ``torch.set_num_threads`` from its own environment;
- numpy's global random state was seeded once in the server: the fork reseeds it from the OS, as
  a new process would (``random`` reseeds itself after ``fork``; torch's default seed is fixed
  anyway);
- CUDA is never initialised in the server, so each fork initialises its own.

jupyter_client manages the client as the kernel process: a signal to the client (interrupt,
terminate) is passed on to the kernel's process group; when the client is killed the kernel
notices (its socket to the client closes) and kills its process group; when the kernel ends the
client exits with its exit code. Without a server (no ``$COURSEKIT_WARM_KERNEL``, or it does not
answer) the client runs the cold command itself, so grading never depends on it.

Only for kernels outside bwrap: a sandboxed kernel is started by bwrap in its own namespaces and
cannot be forked from a process outside them (``coursekit.parallel`` starts those cold).
"""
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["ENV_SOCKET", "PRELOAD", "MODULES", "start_server", "prepare_task"]

ENV_SOCKET = "COURSEKIT_WARM_KERNEL"
PRELOAD = ("numpy", "torch", "ipykernel.kernelapp")
MODULES = ("ipykernel_launcher", "coursekit.sandbox_kernel")  # what a fork may run
RELAYED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
           signal.SIGUSR2)
_MAX_MESSAGE = 1 << 20


# ---------------------------------------------------------------- the server

def serve(path):
    """Import ``PRELOAD``, listen on ``path``; fork one kernel per request; stop at stdin's end.

    Request (one SOCK_SEQPACKET message with the client's fds 0, 1, 2):
    ``{"module", "argv", "cwd", "env", "path"}``; replies ``{"pid": N}`` after the fork and
    ``{"exit": code}`` when that kernel ends.
    """
    import importlib

    # listen first: a client that comes while the imports run waits instead of starting cold
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(64)
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    children = {}  # pid -> connection to its client
    try:
        while True:
            ready = select.select([listener, sys.stdin], [], [], 0.2)[0]
            if sys.stdin in ready and not os.read(sys.stdin.fileno(), 1 << 12):
                break  # the worker is gone
            if listener in ready:
                _accept(listener, children)
            _reap(children)
    finally:
        for pid in children:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        listener.close()


def _accept(listener, children):
    conn, _ = listener.accept()
    try:
        message, fds, _, _ = socket.recv_fds(conn, _MAX_MESSAGE, 3)
        request = json.loads(message)
        if request.get("module") not in MODULES or len(fds) != 3:
            raise ValueError(f"refused: module {request.get('module')!r}, {len(fds)} fds")
    except (OSError, ValueError) as err:
        _send(conn, {"error": str(err)})
        conn.close()
        return
    pid = os.fork()
    if pid == 0:
        listener.close()
        for other in children.values():
            other.close()
        _kernel(conn, request, fds)  # never returns
    for fd in fds:
        os.close(fd)
    children[pid] = conn
    _send(conn, {"pid": pid})


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


def _kernel(conn, request, fds):
    """In the fork: become the kernel the client would have started."""
    code = 1
    try:
        os.setsid()  # a process group of its own, as jupyter_client gives a cold kernel
        for target, fd in zip((0, 1, 2), fds):
            os.dup2(fd, target)
            os.close(fd)
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.path[:] = request["path"]
        _even_out()
        _watch(conn)
        import runpy

        sys.argv = [request["module"], *request["argv"]]
        runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported on the kernel's stderr and its exit code
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _even_out():
    """What a new process would have and the fork inherited from the server."""
    threads = os.environ.get("OMP_NUM_THREADS", "")
    if "torch" in sys.modules and threads.isdigit() and int(threads) > 0:
        sys.modules["torch"].set_num_threads(int(threads))
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    kernelapp = sys.modules.get("ipykernel.kernelapp")
    if kernelapp is not None:  # read from the environment when ipykernel was imported
        app = kernelapp.IPKernelApp
        for name, var in (("parent_handle", "JPY_PARENT_PID"),
                          ("interrupt", "JPY_INTERRUPT_EVENT")):
            value = int(os.environ.get(var) or 0)
            app.class_traits()[name].default_value = value
            getattr(app, "_static_immutable_initial_values", {})[name] = value


def _watch(conn):
    """Kill this kernel's process group as soon as its client is gone (e.g. SIGKILLed)."""
    import threading

    def wait():
        try:
            while conn.recv(64):
                pass
        except OSError:
            pass
        os.killpg(0, signal.SIGKILL)

    threading.Thread(target=wait, name="coursekit-warm-kernel-client", daemon=True).start()


# ---------------------------------------------------------------- the client (the kernelspec)

def client(argv):
    """``python -m coursekit.warm_kernel MODULE ARGS...``: run MODULE's kernel in a fork of the
    server named by ``$COURSEKIT_WARM_KERNEL``; where there is none, run it here (cold)."""
    if not argv or argv[0] not in MODULES:
        raise SystemExit(f"usage: python -m coursekit.warm_kernel {{{','.join(MODULES)}}} "
                         f"ARGS...; got {argv[:1]}")
    module, args = argv[0], argv[1:]
    conn = None
    try:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        conn.connect(os.environ[ENV_SOCKET])
        request = {"module": module, "argv": args, "cwd": os.getcwd(), "env": dict(os.environ),
                   "path": sys.path}
        socket.send_fds(conn, [json.dumps(request).encode()], [0, 1, 2])
        reply = json.loads(conn.recv(_MAX_MESSAGE) or b"{}")
        pid = reply["pid"]
    except (KeyError, OSError, ValueError):
        if conn is not None:
            conn.close()
        os.execv(sys.executable, [sys.executable, "-m", module, *args])  # cold; never returns
    for signum in RELAYED:
        signal.signal(signum, lambda sig, _frame: _relay(pid, sig))
    while True:
        try:
            message = conn.recv(_MAX_MESSAGE)
        except InterruptedError:
            continue
        if not message:
            raise SystemExit(1)  # the server is gone, and with it the kernel
        reply = json.loads(message)
        if "exit" in reply:
            code = reply["exit"]
            raise SystemExit(code if code >= 0 else 128 - code)


def _relay(pid, signum):
    for send in (os.killpg, os.kill):  # its group; the kernel alone if it has none yet
        try:
            send(pid, signum)
            return
        except OSError:
            pass


# ---------------------------------------------------------------- used by coursekit.parallel

_SERVER = {"proc": None, "path": None}


def start_server(env=None):
    """This process's kernel server (started once; again if it died): the socket's path.

    ``env`` (e.g. the task's thread variables) is the server's environment on top of this
    process's, so that ``import torch`` sees the same ``OMP_NUM_THREADS`` as the kernels.
    """
    proc = _SERVER["proc"]
    if proc is not None and proc.poll() is None:
        return _SERVER["path"]
    folder = tempfile.mkdtemp(prefix="coursekit-warm-")
    path = os.path.join(folder, "kernels.sock")
    proc = subprocess.Popen([sys.executable, "-c",
                             "import sys; from coursekit.warm_kernel import serve; serve(sys.argv[1])",
                             path], stdin=subprocess.PIPE, env=dict(os.environ, **(env or {})),
                            start_new_session=True)
    _SERVER.update(proc=proc, path=path)
    deadline = time.monotonic() + 10
    while not os.path.exists(path) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)  # it listens before it imports: a few ms
    return path


def prepare_task(course, env):
    """Make the task course start its kernels warm; return env for its nbgrader run.

    ``env`` is the run's environment so far: when ``coursekit.sandbox.prepare_task`` wrote a
    kernelspec (``JUPYTER_PATH``) it is rewritten to start warm, unless it runs bwrap (then
    nothing changes); otherwise a warm ``python3`` kernelspec is written under
    ``<course>/.warm``.
    """
    if env.get("JUPYTER_PATH"):
        spec_file = Path(env["JUPYTER_PATH"]) / "kernels" / "python3" / "kernel.json"
        kernel = json.loads(spec_file.read_text())
        argv = kernel["argv"]
        if argv[1:3] != ["-m", "coursekit.sandbox_kernel"]:
            return {}  # bwrap (or something else): cold
    else:
        spec_file = Path(course) / ".warm" / "jupyter" / "kernels" / "python3" / "kernel.json"
        kernel = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                  "display_name": "Python 3", "language": "python",
                  "metadata": {"debugger": False}}
        argv = kernel["argv"]
    path = start_server({k: v for k, v in env.items() if k.endswith("_NUM_THREADS")})
    kernel["argv"] = [argv[0], "-m", "coursekit.warm_kernel", *argv[2:]]
    spec_file.parent.mkdir(parents=True, exist_ok=True)
    spec_file.write_text(json.dumps(kernel, indent=1))
    extra = {ENV_SOCKET: path}
    if not env.get("JUPYTER_PATH"):
        extra["JUPYTER_PATH"] = str(spec_file.parents[2])
    return extra


if __name__ == "__main__":
    client(sys.argv[1:])
