"""Warm kernels (``coursekit.isolation.warm_kernel``): a fresh fork of a process that imported torch.

Real kernels through jupyter_client, as nbgrader starts them: each test compares what a cell
sees in a warm kernel with what it sees in a cold one started from the same kernelspec.
"""
import json
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from coursekit.isolation import forkserver, warm_kernel

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="warm kernels need os.fork")

PROBE = """
import json, os, sys
print(json.dumps({"cwd": os.getcwd(), "path": sys.path, "argv0": os.path.basename(sys.argv[0]),
                  "marker": os.environ.get("WARM_TEST_MARKER"), "pid": os.getpid(),
                  "ppid_env": os.environ.get("JPY_PARENT_PID"),
                  "torch_loaded": "torch" in sys.modules}))
"""


@pytest.fixture(scope="module")
def server():
    """This process's kernel server (the one coursekit.parallel's tasks use)."""
    yield forkserver.start("kernel", {"OMP_NUM_THREADS": "1"})
    forkserver.stop("kernel")


@contextmanager
def kernel(tmp_path, monkeypatch, warm, server=None, cwd=None):
    """A kernel started by jupyter_client from the task kernelspec (warm or cold)."""
    from jupyter_client.manager import start_new_kernel

    env = {}
    if warm:
        env = warm_kernel.prepare_task(tmp_path, {}, server)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(cwd or tmp_path),
                              startup_timeout=60)
    try:
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def run(kc, code, timeout=60):
    """(status, stdout text, error name) of one cell."""
    out, errors = [], []

    def hook(msg):
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            errors.append(msg["content"]["ename"])

    reply = kc.execute_interactive(code, timeout=timeout, output_hook=hook)
    return reply["content"]["status"], "".join(out), errors[0] if errors else None


def test_does_a_warm_kernel_see_what_a_cold_one_sees(server, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("WARM_TEST_MARKER", "task-42")
    with kernel(tmp_path / "cold", monkeypatch, warm=False, cwd=work) as (_, kc):
        cold = json.loads(run(kc, PROBE)[1])
    with kernel(tmp_path, monkeypatch, warm=True, server=server, cwd=work) as (km, kc):
        assert km.kernel_spec.argv[1:4] == ["-m", "coursekit.isolation.warm_kernel", "ipykernel_launcher"]
        warm = json.loads(run(kc, PROBE)[1])
    assert warm["torch_loaded"] and not cold["torch_loaded"]
    for key in ("cwd", "path", "argv0", "marker", "ppid_env"):
        assert warm[key] == cold[key], key
    assert warm["pid"] != cold["pid"]


MPL_PROBE = """
import matplotlib, matplotlib.pyplot
print(matplotlib.get_backend())
"""


@pytest.mark.parametrize("chosen", [None, "agg"])
def test_does_a_warm_kernel_draw_with_the_backend_a_cold_one_would(server, tmp_path,
                                                                   monkeypatch, chosen):
    """The server imported Matplotlib (usefuns' figures) before any kernel's $MPLBACKEND
    existed: a warm kernel still gets ipykernel's inline backend, or the one $MPLBACKEND
    names, as a cold one does."""
    if chosen:
        monkeypatch.setenv("MPLBACKEND", chosen)
    else:
        monkeypatch.delenv("MPLBACKEND", raising=False)
    with kernel(tmp_path, monkeypatch, warm=False) as (_, kc):
        cold = run(kc, MPL_PROBE)[1].strip()
    with kernel(tmp_path, monkeypatch, warm=True, server=server) as (_, kc):
        warm = run(kc, MPL_PROBE)[1].strip()
    assert warm == cold, (warm, cold)
    assert cold == (chosen or warm_kernel.INLINE)


def test_does_each_warm_kernel_start_fresh_without_the_last_ones_state(server, tmp_path,
                                                                         monkeypatch):
    with kernel(tmp_path, monkeypatch, warm=True, server=server) as (_, kc):
        assert run(kc, "import torch, numpy; torch.leftover = 1; print(numpy.random.rand())")[0] \
            == "ok"
        first = run(kc, "print(numpy.random.rand(), torch.get_num_threads())")[1]
    with kernel(tmp_path, monkeypatch, warm=True, server=server) as (_, kc):
        status, text, _ = run(kc, "import torch, numpy\nprint(hasattr(torch, 'leftover'))\n"
                                  "print(numpy.random.rand())")
    assert status == "ok" and text.split()[0] == "False"
    assert first.split()[1] == "1"  # OMP_NUM_THREADS of the task
    assert text.split()[1] != first.split()[0]  # numpy reseeded in every fork


def test_are_interrupt_restart_and_kill_passed_on_to_the_forked_kernel(server, tmp_path,
                                                                      monkeypatch):
    with kernel(tmp_path, monkeypatch, warm=True, server=server) as (km, kc):
        threading.Timer(1.0, km.interrupt_kernel).start()
        start = time.monotonic()
        assert run(kc, "import time; time.sleep(30)") == ("error", "", "KeyboardInterrupt")
        assert time.monotonic() - start < 15
        assert run(kc, "x = 1")[0] == "ok"
        pid = int(run(kc, "import os; print(os.getpid())")[1])
        km.restart_kernel(now=True)
        kc.wait_for_ready(timeout=60)
        assert run(kc, "print('x' in globals())")[1].strip() == "False"
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid)
        pid = int(run(kc, "import os; print(os.getpid())")[1])
        os.kill(km.provisioner.process.pid, signal.SIGKILL)  # the client, as km.kill would
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and not _zombie(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid)


def _zombie(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_does_a_kernel_that_exits_end_its_client_with_its_exit_code(server, tmp_path,
                                                                    monkeypatch):
    with kernel(tmp_path, monkeypatch, warm=True, server=server) as (km, kc):
        kc.execute("import os; os._exit(7)")
        deadline = time.monotonic() + 20
        while km.provisioner.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert km.provisioner.process.poll() == 7


def test_does_the_client_start_a_cold_kernel_when_there_is_no_server(tmp_path, monkeypatch):
    env = warm_kernel.prepare_task(tmp_path, {}, str(tmp_path / "none.sock"))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", startup_timeout=60)
    try:
        assert run(kc, "import sys; print('torch' in sys.modules)")[1].strip() == "False"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_does_a_server_refuse_jobs_of_another_profile(server):
    with pytest.raises(OSError, match="refused"):
        forkserver.submit(server, {"kind": "grade", "course": "/"})
    conn, pid = forkserver.submit(server, {"kind": "kernel", "module": "os", "argv": [],
                                           "cwd": "/", "env": {}, "path": sys.path},
                                  fds=(0, 1, 2))
    assert forkserver.wait(conn, timeout=30) not in (0, None)  # the fork refuses the module


def test_does_a_kernel_end_when_whoever_started_it_is_killed(server, tmp_path):
    """A timed-out grading job is killed: its kernel must not run on (a cold kernel's parent
    poller ends it; a warm kernel's client does)."""
    import subprocess

    env = dict(os.environ, **warm_kernel.prepare_task(tmp_path, {}, server))
    script = ("import sys, time\n"
              "from jupyter_client.manager import start_new_kernel\n"
              "km, kc = start_new_kernel(kernel_name='python3', startup_timeout=60)\n"
              "kc.execute('import os; open(sys.argv[1], \"w\").write(str(os.getpid()))'"
              ".replace('sys.argv[1]', repr(sys.argv[1])))\n"
              "time.sleep(300)\n")
    pidfile = tmp_path / "kernel.pid"
    parent = subprocess.Popen([sys.executable, "-c", script, str(pidfile)], env=env)
    deadline = time.monotonic() + 60
    while not pidfile.is_file() and time.monotonic() < deadline:
        time.sleep(0.2)
    pid = int(pidfile.read_text())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 15
    while Path(f"/proc/{pid}").exists() and not _zombie(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(f"/proc/{pid}").exists() or _zombie(pid)


def test_does_a_sandbox_kernelspec_stay_cold_under_bwrap_and_go_warm_without(tmp_path):
    spec_dir = tmp_path / "jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    env = {"JUPYTER_PATH": str(tmp_path / "jupyter")}
    bwrap = ["bwrap", "--die-with-parent", "--", sys.executable, "-m", "coursekit.isolation.kernel",
             "{}", "-f", "{connection_file}"]
    (spec_dir / "kernel.json").write_text(json.dumps({"argv": bwrap}))
    assert not warm_kernel.can_start_warm(tmp_path, env)
    assert warm_kernel.prepare_task(tmp_path, env, "/nowhere.sock") == {}
    assert json.loads((spec_dir / "kernel.json").read_text())["argv"] == bwrap
    limits_only = bwrap[3:]
    (spec_dir / "kernel.json").write_text(json.dumps({"argv": limits_only}))
    assert warm_kernel.can_start_warm(tmp_path, env)
    assert warm_kernel.prepare_task(tmp_path, env, "/nowhere.sock") == {
        warm_kernel.ENV_SOCKET: "/nowhere.sock"}
    assert json.loads((spec_dir / "kernel.json").read_text())["argv"] == [
        sys.executable, "-m", "coursekit.isolation.warm_kernel", "coursekit.isolation.kernel", "{}", "-f",
        "{connection_file}"]
