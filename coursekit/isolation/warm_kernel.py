"""Warm kernels: each submission's IPython kernel is a fresh fork of a process that has already
imported torch, numpy and ipykernel (issue 5: cut the fixed cost of a submission without
sharing state between submissions).

A cold kernel spends ~2.5 s of CPU importing torch and ipykernel before the first cell runs, on
every submission and on every restart. A task's kernelspec here runs the small client
``python -m coursekit.isolation.warm_kernel MODULE ARGS...`` instead of ``python -m MODULE ARGS...``; the
client asks the host's ``kernel`` fork server (``coursekit.isolation.forkserver``, Unix socket
``$COURSEKIT_WARM_KERNEL``) for a fork, and the fork becomes the kernel (``runpy`` runs
``MODULE`` as ``__main__``) with the client's working folder, environment, ``sys.path``,
standard streams and arguments. Nothing of one kernel reaches the next: the server never runs
student code, and each kernel is a copy of the server, made new.

What differs from a cold kernel, and how it is evened out:

- modules imported in the server stay imported (their code is the same files a cold kernel
  would import: the kit's environment, never the student's folder);
- the thread count that ``OMP_NUM_THREADS`` gave the server: the fork calls
  ``torch.set_num_threads`` from its own environment;
- numpy's and torch's global random states were seeded once in the server: the fork reseeds
  both from the OS, as a new process would (``random`` reseeds itself after ``fork``); the
  hash seed of ``str`` stays the server's (Python cannot change it in a running process);
- Python's import cache holds the server's folders: the fork clears it;
- CUDA is never initialised in the server, so each fork initialises its own;
- ipykernel read ``JPY_PARENT_PID`` (its parent poller) when the server imported it: the fork
  sets those defaults again from its own environment;
- Matplotlib (imported in the server for ``usefuns``' figures) read ``$MPLBACKEND`` then: the
  fork sets the backend from its own environment, or, in a kernel, to ipykernel's inline
  default, as a kernel importing Matplotlib after ipykernel's start would have it; its
  configuration and cache folders stay the server's (read at import: the font list, no file of
  a kernel's).

jupyter_client manages the client as the kernel process: a signal to the client (interrupt,
terminate) is passed on to the kernel's process group; when the client is killed the kernel
notices (its socket to the client closes) and kills its process group; when whoever started
the client (nbgrader) dies, the client ends the kernel, as a cold kernel's parent poller
would; when the kernel ends the client exits with its exit code. Without a server (no ``$COURSEKIT_WARM_KERNEL``, or it does not
answer) the client runs the cold command itself, so grading never depends on it.

Only for kernels outside bwrap: a sandboxed kernel is started by bwrap in its own namespaces and
cannot be forked from a process outside them (``coursekit.parallel`` starts those cold).
"""
import json
import os
import signal
import sys
from pathlib import Path

__all__ = ["ENV_SOCKET", "MODULES", "client", "job", "can_start_warm", "prepare_task"]

ENV_SOCKET = "COURSEKIT_WARM_KERNEL"
MODULES = ("ipykernel_launcher", "coursekit.isolation.kernel")  # what a fork may run
# the backend an ipykernel kernel gives Matplotlib when $MPLBACKEND is unset (set in
# IPKernelApp.init_gui_pylab, before any cell; tests/isolation/test_warm_kernel.py compares)
INLINE = "module://matplotlib_inline.backend_inline"
RELAYED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
           signal.SIGUSR2)


# ---------------------------------------------------------------- in the fork

def job(conn, request, fds):
    """``coursekit.isolation.forkserver`` job ``kernel``: become the kernel the client would have started."""
    for target, fd in zip((0, 1, 2), fds):
        os.dup2(fd, target)
        os.close(fd)
    if request.get("module") not in MODULES:
        raise SystemExit(f"coursekit.isolation.warm_kernel: refused module {request.get('module')!r}")
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.path[:] = request["path"]
    _even_out(request["module"])
    import runpy

    sys.argv = [request["module"], *request["argv"]]
    runpy.run_module(request["module"], run_name="__main__", alter_sys=True)


def _even_out(module=None):
    """What a new process running ``module`` would have and the fork inherited from the
    server."""
    threads = os.environ.get("OMP_NUM_THREADS", "")
    if "torch" in sys.modules and threads.isdigit() and int(threads) > 0:
        sys.modules["torch"].set_num_threads(int(threads))
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    if "torch" in sys.modules:  # the server's default generator would be every fork's
        sys.modules["torch"].seed()
    sys.path_importer_cache.clear()  # the server's folders and their listings
    matplotlib = sys.modules.get("matplotlib")
    if matplotlib is not None:  # it read $MPLBACKEND when the server imported it
        backend = os.environ.get("MPLBACKEND") or (INLINE if module in MODULES else None)
        if backend:
            matplotlib.rcParams["backend"] = backend
    kernelapp = sys.modules.get("ipykernel.kernelapp")
    if kernelapp is not None:  # read from the environment when ipykernel was imported
        app = kernelapp.IPKernelApp
        for name, var in (("parent_handle", "JPY_PARENT_PID"),
                          ("interrupt", "JPY_INTERRUPT_EVENT")):
            value = int(os.environ.get(var) or 0)
            app.class_traits()[name].default_value = value
            getattr(app, "_static_immutable_initial_values", {})[name] = value


# ---------------------------------------------------------------- the client (the kernelspec)

def client(argv):
    """``python -m coursekit.isolation.warm_kernel MODULE ARGS...``: run MODULE's kernel in a fork of the
    server named by ``$COURSEKIT_WARM_KERNEL``; where there is none, run it here (cold)."""
    if not argv or argv[0] not in MODULES:
        raise SystemExit(f"usage: python -m coursekit.isolation.warm_kernel {{{','.join(MODULES)}}} "
                         f"ARGS...; got {argv[:1]}")
    module, args = argv[0], argv[1:]
    from coursekit.isolation import forkserver

    request = {"kind": "kernel", "module": module, "argv": args, "cwd": os.getcwd(),
               "env": dict(os.environ), "path": sys.path}
    try:
        conn, pid = forkserver.submit(os.environ[ENV_SOCKET], request, fds=(0, 1, 2))
    except (KeyError, OSError):
        os.execv(sys.executable, [sys.executable, "-m", module, *args])  # cold; never returns
    follow(conn, pid)


def follow(conn, pid):
    """Be the kernel ``pid`` for whoever started this client: pass signals on to its process
    group, end it when that starter is gone, leave with its exit code; never returns."""
    from coursekit.isolation import forkserver

    for signum in RELAYED:
        signal.signal(signum, lambda sig, _frame: _relay(pid, sig))
    parent = os.getppid()
    while True:
        try:
            code = forkserver.wait(conn, timeout=1.0)
        except InterruptedError:
            continue
        except OSError:
            raise SystemExit(1) from None  # the server is gone, and with it the kernel
        if code is not None:
            raise SystemExit(code if code >= 0 else 128 - code)
        if os.getppid() != parent:
            # whoever started the kernel (nbgrader) is gone, as a cold kernel's parent poller
            # would notice: leaving closes the connection, and the kernel kills itself
            _relay(pid, signal.SIGKILL)
            raise SystemExit(1)


def _relay(pid, signum):
    for send in (os.killpg, os.kill):  # its group; the kernel alone if it has none yet
        try:
            send(pid, signum)
            return
        except OSError:
            pass


# ---------------------------------------------------------------- used by coursekit.parallel

def _task_kernelspec(course, env):
    """(kernel.json path, its dict) that the task's nbgrader run will use for ``python3``."""
    if env.get("JUPYTER_PATH"):  # coursekit.isolation.sandbox.prepare_task wrote one
        spec_file = Path(env["JUPYTER_PATH"]) / "kernels" / "python3" / "kernel.json"
        return spec_file, json.loads(spec_file.read_text())
    spec_file = Path(course) / ".warm" / "jupyter" / "kernels" / "python3" / "kernel.json"
    return spec_file, {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f",
                                "{connection_file}"],
                       "display_name": "Python 3", "language": "python",
                       "metadata": {"debugger": False}}


def can_start_warm(course, env):
    """Whether the task's kernels can be forked: not when bwrap (or anything but this
    interpreter running a kernel module) starts them."""
    argv = _task_kernelspec(course, env)[1]["argv"]
    return argv[1:2] == ["-m"] and argv[2:3] in (["ipykernel_launcher"],
                                                  ["coursekit.isolation.kernel"])


def prepare_task(course, env, server):
    """Make the task course start its kernels warm; return env for its nbgrader run.

    ``env`` is the run's environment so far: when ``coursekit.isolation.sandbox.prepare_task`` wrote a
    kernelspec (``JUPYTER_PATH``) it is rewritten to start warm, unless it runs bwrap (then
    nothing changes: ``can_start_warm``); otherwise a warm ``python3`` kernelspec is written
    under ``<course>/.warm``.
    """
    if not can_start_warm(course, env):
        return {}
    spec_file, kernel = _task_kernelspec(course, env)
    argv = kernel["argv"]
    kernel["argv"] = [argv[0], "-m", "coursekit.isolation.warm_kernel", *argv[2:]]
    spec_file.parent.mkdir(parents=True, exist_ok=True)
    spec_file.write_text(json.dumps(kernel, indent=1))
    extra = {ENV_SOCKET: server}
    if not env.get("JUPYTER_PATH"):
        extra["JUPYTER_PATH"] = str(spec_file.parents[2])
    return extra


if __name__ == "__main__":
    client(sys.argv[1:])
