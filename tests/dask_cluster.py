"""A real Dask cluster for tests: ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1,
started and killed by the test (``tests/test_parallel.py``, ``tests/serve/test_serve_term.py``)."""
import os
import signal
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

DASK = Path(sys.executable).parent / "dask"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def dask_cluster(n_workers, log_dir, scheduler_env=None):
    """A real ``dask scheduler`` and ``n_workers`` ``dask worker --no-nanny`` processes on
    127.0.0.1; yields (address, {worker name: Popen}, client). Each process leads its own
    process group, which is killed at the end (orphaned nbgrader runs included)."""
    from distributed import Client

    address = f"tcp://127.0.0.1:{free_port()}"
    procs, client = [], None

    def start(args, name, env=None):
        log = open(log_dir / f"{name}.log", "wb")
        procs.append(subprocess.Popen([str(DASK), *args], stdout=log, stderr=subprocess.STDOUT,
                                      env=dict(os.environ, **(env or {})),
                                      start_new_session=True))
        return procs[-1]
    try:
        start(["scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
               "--no-dashboard"], "scheduler", scheduler_env)
        workers = {str(i): start(["worker", address, "--name", str(i), "--nthreads", "1",
                                  "--no-nanny", "--no-dashboard", "--host", "127.0.0.1",
                                  "--death-timeout", "60"], f"worker{i}")
                   for i in range(n_workers)}
        client = Client(address, timeout=120)
        client.wait_for_workers(n_workers, timeout=180)
        yield address, workers, client
    finally:
        if client is not None:
            client.close()
        for proc in reversed(procs):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
