"""Warm sandboxed kernels and verification processes: forks that confine themselves (issue 15).

A cold sandboxed kernel spends ~1.5-2.5 s of CPU importing torch and ipykernel inside bwrap, on
every start and restart, and so does the verification child: both are started by ``bwrap`` in
new namespaces, which no process outside them can fork into. Here they are forks of the host's
``kernel`` fork server (``coursekit.isolation.forkserver``: runs as root, outside any sandbox,
imported torch, numpy and ipykernel once, never runs student code), and the fork confines
*itself* before any student code exists in it, reproducing the view bwrap would give
(``coursekit.isolation.sandbox.view``, one list of operations for both):

- the *keeper* (the server's fork; it never runs student code): joins the submission's cgroup,
  enters the client's mount namespace (the grading job's private runtime tmpfs is there), makes
  new mount, network, IPC, UTS, cgroup and PID namespaces (``coursekit.isolation.confine``),
  forks PID 1, tells the client when the kernel is confined, and kills PID 1 (so the whole PID
  namespace) as soon as the client's connection closes;
- *PID 1* (bwrap's own init): dies with the keeper (``PR_SET_PDEATHSIG``), builds the root
  (read-only binds, a fresh ``/proc``, ``/dev``, capped ``/tmp`` and ``/dev/shm``, the
  read-only ``<WORK>-src``, the runtime folder, GPU devices), pivots into it, forks the kernel
  and reaps every orphan; when the kernel ends it ends, and the kernel ends everything left;
- the *kernel* (or the verification child): closes every inherited file descriptor (the
  server's listening socket, other clients' sockets, the keeper's connection), keeps only the
  client's environment and ``sys.path``, evens out what the fork inherited
  (``coursekit.isolation.warm_kernel._even_out``), sets ``PR_SET_NO_NEW_PRIVS`` and keeps only
  the capabilities bwrap leaves a kernel run as root, then runs the same module a cold one runs
  (``coursekit.isolation.kernel``: streams to /dev/null, oom_score_adj, the copy of the work
  folder, limits, the per-thread uid, ipykernel in-process; ``coursekit.isolation.child``: its
  first request sets the limits and the uid), all of which clear the last capabilities.

Nothing passes from one submission to the next: each kernel is a new fork of a server that never
ran a job's code; two forks share no files (each has its own tmpfs), processes (own PID
namespaces, uids of their own), memory (copy-on-write) or modules (each imports into its own
copy). The client (the kernelspec's command, or the verification child's) is
``python -m coursekit.isolation.warm_sandbox JOB ARGS... -- COLD COMMAND...``: a few
milliseconds of Python; where the server does not answer or the fork cannot confine itself, it
runs the cold command (bwrap) instead, so grading is never less isolated than bwrap's.
"""
import json
import os
import select
import signal
import socket
import sys

from coursekit.isolation import confine

__all__ = ["KINDS", "FALLBACK", "job", "client", "kernel_argv", "child_argv"]

KINDS = {"sandboxed_kernel": "coursekit.isolation.kernel",
         "sandboxed_child": "coursekit.isolation.child"}
NOT_CONFINED = 121  # the exit code of a fork that could not confine itself (nothing ran)
FALLBACK = "coursekit.isolation.warm_sandbox: no warm"  # the client's line when it goes cold
RELAYED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
           signal.SIGUSR2)
MAX_MESSAGE = 1 << 20


# ---------------------------------------------------------------- in the fork (as root)

def job(conn, request, fds):
    """``coursekit.isolation.forkserver`` jobs ``sandboxed_kernel`` and ``sandboxed_child``:
    the keeper (see the module docstring). ``fds``: the client's mount namespace, then (a
    child) its standard streams."""
    module = KINDS[request["kind"]]  # the kind alone says what runs
    for signum in RELAYED:  # for the kernel (same process group), not for the keeper
        signal.signal(signum, signal.SIG_IGN)
    mount_ns, streams = fds[0], list(fds[1:])
    ready_r, ready_w = os.pipe()
    try:
        confine.enter(mount_ns, request.get("cgroup"))
    except OSError as err:
        _send(conn, {"error": f"confining failed: {err}"})
        raise SystemExit(NOT_CONFINED) from None
    os.close(mount_ns)
    pid = os.fork()
    if pid == 0:
        _init(conn, request, streams, ready_r, ready_w, module)
    os.close(ready_w)
    for fd in streams:
        os.close(fd)
    raise SystemExit(_keep(conn, pid, ready_r))


def _keep(conn, pid, ready_r):
    """Tell the client when the kernel is confined; kill PID 1 when the client goes; PID 1's
    exit code (128 + signal if killed)."""
    pidfd = os.pidfd_open(pid)
    watched = [conn, ready_r, pidfd]
    while pidfd in watched:
        for ready in select.select(watched, [], [])[0]:
            if ready is conn:
                try:
                    gone = not conn.recv(64)
                except OSError:
                    gone = True
                if gone:
                    os.kill(pid, signal.SIGKILL)  # PID 1: the whole namespace goes
                    watched.remove(conn)
            elif ready == ready_r:
                said = os.read(ready_r, 4096)
                if said:
                    _send(conn, {"ready": True} if said == b"ready" else
                          {"error": said.decode(errors="replace")})
                watched.remove(ready_r)
            else:
                watched.remove(pidfd)
    status = os.waitpid(pid, 0)[1]
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


def _init(conn, request, streams, ready_r, ready_w, module):
    """PID 1 of the new namespace: build the root, fork the kernel, reap; never returns."""
    try:
        os.close(ready_r)
        conn.close()  # this process's copy; the keeper keeps its own
        confine.die_with_parent()
        confine.build_root(request["view"])
        os.chdir(request.get("chdir") or "/")
    except BaseException as err:  # noqa: BLE001 - told to the client, which goes cold
        _fail(ready_w, err)
    pid = os.fork()
    if pid == 0:
        _kernel(request, streams, ready_w, module)  # raises SystemExit in the end
        return
    os.close(ready_w)
    for fd in streams:
        os.close(fd)
    try:  # bwrap's init holds nothing: no capability, no new privileges, no keyring of root's
        os.chdir("/")
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        confine.lock_down(kept=())
        from coursekit.isolation.seccomp import seal

        seal()
    except OSError:
        os.kill(pid, signal.SIGKILL)  # never a kernel beside a privileged init
    while True:  # an init: reap every orphan; leave with the kernel's exit code
        try:
            child, status = os.wait()
        except ChildProcessError:
            os._exit(1)
        if child == pid:
            code = os.waitstatus_to_exitcode(status)
            os._exit(code if code >= 0 else 128 - code)


def _fail(ready_w, err):
    os.write(ready_w, f"confining failed: {type(err).__name__}: {err}".encode()[:4000])
    os._exit(NOT_CONFINED)


def _kernel(request, streams, ready_w, module):
    """The confined process: nothing inherited, locked down, then the module, in-process."""
    try:
        null = os.open(os.devnull, os.O_RDWR)
        for target in (0, 1, 2):
            os.dup2(streams[target] if target < len(streams) else null, target)
        keep = sorted({0, 1, 2, ready_w})
        for low, high in zip(keep, keep[1:] + [os.sysconf("SC_OPEN_MAX")]):
            os.closerange(low + 1, high)  # the server's and other clients' sockets, ...
        env = {k: v for k, v in request["env"].items() if k != "JPY_PARENT_PID"}
        os.environ.clear()  # its parent's pid means nothing in a PID namespace of its own
        os.environ.update(env)
        sys.path[:] = [p for p in request["path"] if p not in ("", request.get("cwd"))]
        for signum in (*RELAYED, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from coursekit.isolation.warm_kernel import _even_out

        _even_out(module)
        confine.lock_down()
        os.write(ready_w, b"ready")
        os.close(ready_w)
    except BaseException as err:  # noqa: BLE001
        _fail(ready_w, err)
    import runpy

    sys.argv = [module, *request["argv"]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
    raise SystemExit(0)


def _send(conn, message):
    try:
        conn.send(json.dumps(message).encode())
    except OSError:
        pass


# ---------------------------------------------------------------- the client

def client(argv):
    """``python -m coursekit.isolation.warm_sandbox JOB ARGS... -- COLD...``: run the
    module of ``JOB["kind"]`` with ``ARGS`` in a confined fork of ``JOB["server"]``; where
    that cannot be done, exec ``COLD`` (bwrap) instead."""
    spec = json.loads(argv[0])
    split = argv.index("--")
    args, cold = argv[1:split], argv[split + 1:]
    request = {"kind": spec["kind"], "argv": args, "view": spec["view"], "chdir": "/tmp",
               "cgroup": spec.get("cgroup"), "cwd": os.getcwd(), "env": dict(os.environ),
               "path": sys.path}
    mount_ns = os.open("/proc/self/ns/mnt", os.O_RDONLY)
    fds = [mount_ns, 0, 1, 2] if spec["kind"] == "sandboxed_child" else [mount_ns]
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        conn.connect(spec["server"])
        socket.send_fds(conn, [json.dumps(request).encode()], fds)
        pid, why = _until_ready(conn)
    except (OSError, ValueError, KeyError) as err:
        pid, why = None, f"{type(err).__name__}: {err}"
    os.close(mount_ns)
    if pid is None:
        conn.close()
        print(f"{FALLBACK} {spec['kind']} ({why}); "
              f"starting it cold", file=sys.stderr, flush=True)
        os.execvp(cold[0], cold)
    if spec["kind"] == "sandboxed_child":  # the child has them: end of file when it ends
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
    from coursekit.isolation.warm_kernel import follow

    follow(conn, pid)  # the client is the kernel for its starter


READY_S = 60.0  # a fork server that answers nothing for this long is given up: bwrap instead


def _until_ready(conn):
    """(pid of the keeper, None) once the kernel is confined, else (None, why) (also when the
    server has said nothing for :data:`READY_S`: a stalled server must not stall kernels)."""
    pid = None
    conn.settimeout(READY_S)
    while True:
        try:
            message = conn.recv(MAX_MESSAGE)
        except socket.timeout:
            return None, f"the fork server answered nothing in {READY_S:g} s"
        if not message:
            return None, "the fork server closed the connection"
        reply = json.loads(message)
        pid = reply.get("pid", pid)
        if "error" in reply:
            return None, reply["error"]
        if "exit" in reply:
            return None, f"the fork ended with code {reply['exit']} before it was confined"
        if reply.get("ready") and pid is not None:  # the fork sends its pid first
            conn.settimeout(None)
            return pid, None




# ---------------------------------------------------------------- command lines

def kernel_argv(server, ops, spec, cold, group=None):
    """The kernelspec argv of a warm sandboxed kernel: the client, with ``cold`` (bwrap's
    command, ``-f {connection_file}`` included) to fall back on."""
    job_spec = {"kind": "sandboxed_kernel", "server": server, "view": ops,
                "cgroup": group.procs_files if group is not None else None}
    argv = [sys.executable, "-m", "coursekit.isolation.warm_sandbox", json.dumps(job_spec),
            spec, "-f", "{connection_file}", "--", *cold]
    return group.wrap(argv) if group is not None else argv


def child_argv(server, ops, cold, group=None):
    """The argv of a warm verification child (the client; ``cold`` to fall back on)."""
    job_spec = {"kind": "sandboxed_child", "server": server, "view": ops,
                "cgroup": group.procs_files if group is not None else None}
    argv = [sys.executable, "-m", "coursekit.isolation.warm_sandbox", json.dumps(job_spec),
            "--", *cold]
    return group.wrap(argv) if group is not None else argv


if __name__ == "__main__":
    client(sys.argv[1:])
