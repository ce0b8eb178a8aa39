"""The kernel sandbox and its limits, with real bwrap and real kernels (coursekit.isolation.sandbox).

``make test`` installs bubblewrap and sets COURSEKIT_REQUIRE_SANDBOX=1, so there these tests
fail instead of skipping when bwrap does not work.
"""
import json
import os
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from traitlets.config import Config

from coursekit.isolation import sandbox
from coursekit.isolation.settings import sandbox_limits

ROOT = Path(__file__).resolve().parents[2]
USABLE, WHY = sandbox.check()
needs_bwrap = pytest.mark.skipif(
    not USABLE and os.environ.get("COURSEKIT_REQUIRE_SANDBOX") != "1", reason=WHY)


def test_does_the_bwrap_command_hide_the_host_and_keep_the_network_off():
    args = sandbox.bwrap_command(readable=[Path("/opt/x")], writable=[Path("/srv/run")],
                                 work_source=Path("/srv/sub"), scratch_size=1024, gpu=False,
                                 as_root=True)
    assert "--unshare-net" in args and "--unshare-pid" in args and "--die-with-parent" in args
    bound = [args[i + 1] for i, arg in enumerate(args) if arg in ("--ro-bind", "--bind")]
    assert "/" not in bound and "/opt/x" in bound and "/srv/run" in bound
    assert args[args.index("--tmpfs") - 1] == "1024"  # --size before --tmpfs /tmp
    assert args[-1] == "--"


def _course(tmp_path, secret="other students' grades"):
    """A task-like course: hidden modules, a gradebook, a solution, a submission folder."""
    course = tmp_path / "course"
    hidden = course / "assignments" / "a1"
    hidden.mkdir(parents=True)
    (hidden / "checks.py").write_text("import math\nSECRET = 'hidden test source'\n"
                                      "def check():\n    return math.pi\n")
    (course / "nbgrader_config.py").write_text("c = get_config()\n")
    (course / "gradebook.db").write_text(secret)
    (course / "source" / "a1").mkdir(parents=True)
    (course / "source" / "a1" / "a1.ipynb").write_text("the solutions")
    work = course / "autograded" / "s1" / "a1"
    work.mkdir(parents=True)
    (work / "data.txt").write_text("the student's own file")
    return course, work


@contextmanager
def environ(env):
    """``os.environ`` with ``env`` set inside the block, as it was after (the task's
    ``JUPYTER_PATH`` and runtime folder, for a kernel started in this process)."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _run(course, work, cells, settings=None, timeout=60):
    """Execute ``cells`` in the task's kernel (as nbgrader would); the executed notebook."""
    settings = settings or sandbox_limits(None, memory="1G")
    env, args = sandbox.prepare_task(course, "a1", "s1", settings, USABLE)
    with environ(env):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3",
                                  "language": "python"}
        config = Config()
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = str(course / ".sandbox" / "runtime" / "kernel")
        NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(work)}}, config=config).execute()
        return nb


def _text(cell):
    return "\n".join(o.get("text", "") or f"{o.get('ename', '')}: {o.get('evalue', '')}"
                     for o in cell.outputs)


@needs_bwrap
def test_does_a_sandboxed_kernel_see_only_its_own_copy_of_the_submission(tmp_path):
    course, work = _course(tmp_path)
    nb = _run(course, work, [
        "import os; print(os.getuid(), os.getcwd(), sorted(os.listdir('.')))",
        f"open({str(course / 'gradebook.db')!r}).read()",
        f"open({str(course / 'source' / 'a1' / 'a1.ipynb')!r}).read()",
        f"open({str(ROOT / 'nbgrader_config.py')!r}).read()",
        "open('new.txt', 'w').write('x'); print(open('new.txt').read())",
    ])
    uid, cwd, files = _text(nb.cells[0]).split(" ", 2)
    assert int(uid) >= 200_000 and cwd == sandbox.WORK and "data.txt" in files
    for cell in nb.cells[1:4]:
        assert "FileNotFoundError" in _text(cell), _text(cell)
    assert _text(nb.cells[4]).strip() == "x"
    assert not (work / "new.txt").exists()  # nothing it writes reaches the grader
    assert (course / "gradebook.db").read_text() == "other students' grades"


@needs_bwrap
def test_does_the_kernel_hold_nothing_of_the_instructors(tmp_path):
    """No check module in sys.modules, no assignments/ folder, no samples: the grader runs
    the checks outside the kernel (docs/security.md)."""
    course, work = _course(tmp_path)
    hidden = course / "assignments" / "a1"
    (hidden / "samples" / "correct").mkdir(parents=True)
    (hidden / "samples" / "correct" / "answers.py").write_text("the right answers")
    nb = _run(course, work, [
        "import sys; print(sorted(n for n in sys.modules if 'check' in n or 'coursekit' in n "
        "and 'hidden' in n))",
        f"import os; print(os.path.exists({str(hidden)!r}), os.listdir({str(course)!r}))",
        f"open({str(hidden / 'checks.py')!r}).read()",
    ])
    assert _text(nb.cells[0]).strip() == "[]"
    # the course folder is only the path to the kernel's runtime folder (for its sockets)
    assert _text(nb.cells[1]).strip() == "False ['.sandbox']"
    assert "FileNotFoundError" in _text(nb.cells[2])


@needs_bwrap
def test_is_the_network_unreachable_from_a_kernel(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    course, work = _course(tmp_path)
    try:
        nb = _run(course, work, [
            f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=3)"])
    finally:
        server.close()
    assert "ConnectionRefusedError" in _text(nb.cells[0]) or "OSError" in _text(nb.cells[0])


@needs_bwrap
def test_does_a_memory_bomb_fail_its_cell_only(tmp_path):
    course, work = _course(tmp_path)
    nb = _run(course, work, ["x = bytearray(3 * 1024 ** 3)", "print('still alive')"])
    assert "MemoryError" in _text(nb.cells[0])
    assert _text(nb.cells[1]).strip() == "still alive"


@needs_bwrap
def test_are_processes_limited_and_killed_with_the_kernel(tmp_path):
    course, work = _course(tmp_path)
    marker = f"coursekit-test-{os.getpid()}-{time.time_ns()}"
    settings = sandbox_limits(None, processes=40)
    nb = _run(course, work, [
        "import os, signal, time\n"
        "kids = []\n"
        "try:\n"
        "    for _ in range(200):\n"
        "        pid = os.fork()\n"
        "        if pid == 0:\n"
        "            time.sleep(600); os._exit(0)\n"
        "        kids.append(pid)\n"
        "except OSError as err:\n"
        "    print('refused after', len(kids), type(err).__name__)\n"
        "for pid in kids:\n"
        "    os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0)",
        f"import subprocess; subprocess.Popen(['sh', '-c', 'exec -a {marker} sleep 600'], "
        f"start_new_session=True); print('daemon started')",
    ], settings=settings)
    assert "refused after" in _text(nb.cells[0]) and "BlockingIOError" in _text(nb.cells[0])
    assert "daemon started" in _text(nb.cells[1])
    time.sleep(1)
    left = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout
    assert left.strip() == "", "a process outlived its kernel"


@needs_bwrap
def test_is_a_file_larger_than_the_limit_refused(tmp_path):
    course, work = _course(tmp_path)
    settings = sandbox_limits(None, file_size="1M")
    nb = _run(course, work, [
        "try:\n    open('big', 'wb').write(b'x' * (2 * 1024 ** 2))\n"
        "except OSError as err:\n    print('refused', err.errno)",
    ], settings=settings)
    assert "refused 27" in _text(nb.cells[0])  # EFBIG


def test_does_the_kit_fall_back_to_limits_only_without_bwrap(tmp_path):
    course, work = _course(tmp_path)
    settings = sandbox_limits(None, memory="1G")
    env, args = sandbox.prepare_task(course, "a1", "s1", settings, sandboxed=False)
    assert "--KernelManager.transport=ipc" in args
    spec = json.loads((Path(env["JUPYTER_PATH"]) / "kernels" / "python3" /
                       "kernel.json").read_text())
    assert spec["argv"][0] != "bwrap" and "coursekit.isolation.kernel" in spec["argv"]
    launch = json.loads(spec["argv"][spec["argv"].index("coursekit.isolation.kernel") + 1])
    assert launch["limits"]["memory"] == 1024 ** 3 and launch["uid"] is None


def test_does_the_cli_say_loudly_when_bwrap_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    usable, message = sandbox.check()
    assert not usable
    assert message.startswith("WARNING") and "apt-get install bubblewrap" in message


def test_do_tasks_running_at_once_in_one_worker_get_different_uids(monkeypatch):
    import threading

    monkeypatch.setattr(os, "geteuid", lambda: 0)
    uids, ready = {}, threading.Barrier(4)

    def task(name):
        ready.wait()  # all four at once, as a worker with 4 threads runs them
        uids[name] = (sandbox.kernel_uid(True), sandbox.kernel_uid(True))

    threads = [threading.Thread(target=task, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(a == b for a, b in uids.values())  # a task's kernel and child share one
    assert len({a for a, _ in uids.values()}) == 4
    assert all(a >= sandbox.FIRST_UID for a, _ in uids.values())
    assert sandbox.kernel_uid(False) is None
