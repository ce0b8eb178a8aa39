"""Warm sandboxed kernels and verification children (coursekit.isolation.warm_sandbox, confine).

Real kernels through jupyter_client from the task kernelspec that ``sandbox.prepare_task``
writes, forked from a real kernel fork server (which imported torch), and the real bwrap kernel
beside them for comparison. Root is needed (the forks confine themselves as root); ``make
test`` as root sets COURSEKIT_REQUIRE_SANDBOX=1, and there these tests fail instead of skipping.
"""
import json
import os
import shutil
import signal
import socket
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from coursekit.isolation import cgroup, confine, forkserver, sandbox
from coursekit.isolation.settings import sandbox_limits

sys.path.insert(0, str(Path(__file__).parent))
from test_sandbox import _course, environ  # noqa: E402
from test_warm_kernel import run  # noqa: E402

USABLE = sandbox.check()[0] and confine.usable()[0]
pytestmark = pytest.mark.skipif(
    not USABLE and os.environ.get("COURSEKIT_REQUIRE_SANDBOX") != "1",
    reason=f"{sandbox.check()[1]}; {confine.usable()[1]}")

PRELOADED = "import sys; PRELOADED = set(sys.modules)"  # run first in each kernel


@pytest.fixture(scope="module")
def server():
    """A kernel fork server, as coursekit.parallel starts it (torch imported before forks)."""
    path = forkserver.start("kernel", {"OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _imported_torch():
        time.sleep(0.5)
    yield path
    forkserver.stop("kernel")


def _imported_torch():
    """Whether the server has imported torch yet (its memory maps name torch's libraries)."""
    proc = forkserver._STARTED["kernel"][0]
    try:
        return "libtorch" in Path(f"/proc/{proc.pid}/maps").read_text()
    except OSError:
        return False


@contextmanager
def kernel(course, work, server=None, limits=None, group=None, uid_thread=False):
    """A sandboxed kernel of the task course, started by jupyter_client (warm with a server).
    ``uid_thread``: prepare the task in a thread of its own (another grading thread: its own
    uid)."""
    from jupyter_client.manager import KernelManager

    limits = limits or sandbox_limits(None, memory="1G")
    made = {}

    def prepare():
        shutil.rmtree(course / ".sandbox", ignore_errors=True)  # one task course, many kernels
        made["env"] = sandbox.prepare_task(course, "a1", "s1", limits, True, group,
                                           server=server)[0]
        made["uid"] = sandbox.kernel_uid(True)

    if uid_thread:
        worker = threading.Thread(target=prepare)
        worker.start()
        worker.join()
    else:
        prepare()
    km = KernelManager(kernel_name="python3", transport="ipc",
                       ip=str(course / ".sandbox" / "runtime" / "kernel"))
    with environ(made["env"]):
        km.start_kernel(cwd=str(work))
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
    try:
        yield km, kc, made["uid"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def host_pids(uid):
    """Host pids of the processes running as ``uid`` (a kernel and what it started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            if f"\nUid:\t{uid}\t" in status:
                found.append(int(entry.name))
    return found


VIEW = """
import json, os, sys
mounts = sorted((l.split()[4], l.split()[5].split(',')[0], l.split(' - ')[1].split()[0])
                for l in open('/proc/self/mountinfo') if l.split()[4] != '/')
print(json.dumps({"root": sorted(os.listdir('/')), "tmp": sorted(os.listdir('/tmp')),
                  "mounts": mounts, "uid": os.getuid(), "cwd": os.getcwd(),
                  "files": sorted(os.listdir('.')), "pid": os.getpid(),
                  "torch": "torch" in sys.modules}))
"""


FDS = """
import os, json
links = []
for fd in os.listdir('/proc/self/fd'):
    try:
        links.append(os.readlink(f'/proc/self/fd/{fd}'))
    except OSError:  # the listing's own descriptor, closed by now
        pass
print(json.dumps(sorted(links)))
"""


def _view(text, course):
    seen = json.loads(text)
    # the connection file's name is jupyter_client's choice, new for each kernel
    seen["mounts"] = [m for m in seen["mounts"] if not m[0].endswith(".json")]
    seen["tmp"] = [n for n in seen["tmp"] if not n.endswith(".json")]
    return seen


def test_does_a_confined_fork_see_what_a_bwrap_kernel_sees(server, tmp_path):
    course, work = _course(tmp_path)
    with kernel(course, work) as (km, kc, _):
        assert km.kernel_spec.argv[0] == "bwrap"
        cold = _view(run(kc, VIEW)[1], course)
    with kernel(course, work, server) as (km, kc, _):
        assert "coursekit.isolation.warm_sandbox" in km.kernel_spec.argv
        warm = _view(run(kc, VIEW)[1], course)
        hidden = run(kc, f"open({str(course / 'gradebook.db')!r})")
    assert warm["torch"] and not cold["torch"]  # forked from the server
    for key in ("root", "tmp", "cwd", "files"):
        assert warm[key] == cold[key], key
    # the same mounts, read-only where bwrap's are; /proc/sys read-only besides (bwrap as root
    # leaves it writable, where only root could write anyway)
    assert [m for m in warm["mounts"] if m[0] != "/proc/sys"] == cold["mounts"]
    assert ["/proc/sys", "ro", "proc"] in warm["mounts"]
    assert warm["uid"] >= sandbox.FIRST_UID and warm["uid"] == cold["uid"]
    assert hidden[2] == "FileNotFoundError"  # no course folder: no gradebook


def test_has_a_confined_kernel_no_capability_no_network_and_nothing_of_the_server(server,
                                                                                 tmp_path):
    course, work = _course(tmp_path)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    marker = Path("/tmp") / f"coursekit-host-marker-{os.getpid()}"
    marker.write_text("the host's /tmp")
    server_pid = forkserver._STARTED["kernel"][0].pid
    server_sockets = {os.readlink(f"/proc/{server_pid}/fd/{fd}")
                      for fd in os.listdir(f"/proc/{server_pid}/fd")} - {"/dev/null"}
    try:
        with kernel(course, work, server) as (_, kc, uid):
            status = run(kc, "print(open('/proc/self/status').read())")[1]
            fds = json.loads(run(kc, FDS)[1])
            reach = run(kc, f"import socket; socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)"
                            f".connect({server!r})")
            tcp = run(kc, f"socket.create_connection(('127.0.0.1', {port}), timeout=3)")
            host_tmp = run(kc, f"print(os.path.exists({str(marker)!r}), "
                               f"os.path.exists({os.path.dirname(server)!r}))")[1]
            env = run(kc, "print(sorted(os.environ))")[1]
    finally:
        listener.close()
        marker.unlink()
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    assert int(fields["CapEff"], 16) == int(fields["CapPrm"], 16) == 0
    assert int(fields["CapBnd"], 16) == 0 and fields["NoNewPrivs"].strip() == "1"
    assert fields["Uid"].split()[0] == str(uid)
    assert fields["Seccomp"].strip() == "2"  # sealed as a cold kernel (isolation/seccomp.py)
    assert not set(fds) & server_sockets  # none of the server's descriptors
    assert reach[2] == "FileNotFoundError"
    assert tcp[2] == "ConnectionRefusedError"  # its own loopback; the host's is unreachable
    assert host_tmp.split() == ["False", "False"]
    assert "JPY_PARENT_PID" not in env


def test_do_two_confined_forks_see_nothing_of_each_other(server, tmp_path):
    """Files, processes, memory and modules: two kernels of two grading threads at once."""
    course_a, work_a = _course(tmp_path / "a")
    course_b, work_b = _course(tmp_path / "b")
    with kernel(course_a, work_a, server) as (_, kc_a, uid_a), \
            kernel(course_b, work_b, server, uid_thread=True) as (_, kc_b, uid_b):
        assert uid_a != uid_b
        assert run(kc_a, PRELOADED)[0] == run(kc_b, PRELOADED)[0] == "ok"
        assert run(kc_a, "import colorsys, subprocess, os\nsecret = 'a-secret-' * 1000\n"
                         "open('/tmp/a-secret', 'w').write(secret)\n"
                         "open('/dev/shm/a-secret', 'w').write(secret)\n"
                         "open('a-secret', 'w').write(secret)\n"
                         "daemon = subprocess.Popen(['sleep', '600'], start_new_session=True)"
                         )[0] == "ok"
        pids_a = host_pids(uid_a)
        assert len(pids_a) >= 2  # the kernel and its daemon, seen from the host
        probe = (f"import os, sys, json, signal\nfound = {{}}\n"
                 f"for pid in {pids_a}:\n"
                 f"    try:\n        os.kill(pid, 0); found[pid] = 'alive'\n"
                 f"    except OSError as err:\n        found[pid] = type(err).__name__\n"
                 f"print(json.dumps({{'tmp': os.listdir('/tmp'), 'shm': os.listdir('/dev/shm'),"
                 f" 'work': os.listdir('.'), 'proc': sorted(int(p) for p in os.listdir('/proc')"
                 f" if p.isdigit()), 'kill': found, 'mem': [os.path.exists(f'/proc/{{p}}/mem')"
                 f" for p in {pids_a} if p > 2], 'colorsys': 'colorsys' in sys.modules,"
                 f" 'new': sorted(set(sys.modules) - PRELOADED)}}))")
        status, text, error = run(kc_b, probe)
        assert status == "ok", error
        seen = json.loads(text)
    assert not any("a-secret" in name for key in ("tmp", "shm", "work") for name in seen[key])
    assert seen["proc"] == [1, 2]  # its own init and itself: no other kernel's process
    assert set(seen["kill"].values()) == {"ProcessLookupError"}
    assert not any(seen["mem"])
    assert not seen["colorsys"] and all(not n.startswith("colorsys") for n in seen["new"])
    # the next kernel starts from the server again: nothing of the last one's modules
    course_c, work_c = _course(tmp_path / "c")
    with kernel(course_c, work_c, server) as (_, kc, _):
        assert run(kc, "import sys; print('colorsys' in sys.modules, "
                       "os.path.exists('/tmp/a-secret') if 'os' in dir() else False)"
                   )[1].split()[0] == "False"


def test_does_a_confined_kernel_die_with_its_client_and_take_its_daemons(server, tmp_path):
    course, work = _course(tmp_path)
    with kernel(course, work, server) as (km, kc, uid):
        run(kc, "import subprocess; subprocess.Popen(['sleep', '600'], start_new_session=True)")
        pids = host_pids(uid)
        assert len(pids) >= 2
        os.kill(km.provisioner.process.pid, signal.SIGKILL)  # the client, as km.kill would
        deadline = time.monotonic() + 15
        while host_pids(uid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert host_pids(uid) == []


def test_do_the_limits_and_the_cgroup_hold_a_confined_kernel(server, tmp_path):
    course, work = _course(tmp_path)
    group, why = cgroup.create("warm", memory=512 << 20, pids=64)
    assert group is not None, why
    try:
        with kernel(course, work, server, group=group) as (km, kc, uid):
            pids = host_pids(uid)
            assert pids and set(pids) <= group.pids_in()  # the kernel is in the group
            assert run(kc, "x = bytearray(3 * 1024 ** 3)")[2] == "MemoryError"  # RLIMIT_DATA
            with pytest.raises(TimeoutError):  # the kernel dies: no reply comes
                run(kc, "import mmap\nblock = mmap.mmap(-1, 1 << 30, flags=mmap.MAP_SHARED)\n"
                        "for start in range(0, 1 << 30, 4096):\n    block[start:start + 1] = b'x'\n"
                        "print('survived')", timeout=30)
            deadline = time.monotonic() + 15
            while host_pids(uid) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert host_pids(uid) == []  # the out-of-memory killer ended it
        assert group.usage()["oom_kills"] >= 1
    finally:
        group.close()


def test_does_a_confined_verification_child_run_the_students_functions(server, tmp_path):
    from coursekit.engine.verify.remote import Child

    course, work = _course(tmp_path)
    submitted = course / "submitted" / "s1" / "a1"
    submitted.mkdir(parents=True)
    limits = sandbox_limits(None, memory="1G")
    sandbox.prepare_task(course, "a1", "s1", limits, True, server=server)
    command, start = sandbox.child_command(course, "a1", "s1", limits, True)
    assert "coursekit.isolation.warm_sandbox" in command
    cells = [("answer cell 1", "import os, sys\n"
                               "def seen():\n"
                               "    status = open('/proc/self/status').read()\n"
                               "    cap = status.split('CapEff:')[1].split()[0]\n"
                               "    return [os.getuid(), int(cap, 16), 'torch' in sys.modules,\n"
                               f"            os.path.exists({str(course)!r}), os.getpid()]\n")]
    child = Child(command, start, [], cells, "cpu")
    try:
        (uid, cap, torch_loaded, course_seen, pid), _ = child.call("seen", [], {})
    finally:
        child.close()
    assert uid == start["uid"] and cap == 0 and pid == 2
    assert torch_loaded and not course_seen


def test_does_the_client_start_bwrap_when_the_server_is_gone(tmp_path):
    course, work = _course(tmp_path)
    with kernel(course, work, str(tmp_path / "no-server.sock")) as (km, kc, _):
        assert "coursekit.isolation.warm_sandbox" in km.kernel_spec.argv
        text = run(kc, "import os, sys; print('torch' in sys.modules, os.getcwd(), "
                       f"os.path.exists({str(course / 'gradebook.db')!r}))")[1]
    assert text.split() == ["False", sandbox.WORK, "False"]  # cold, and in bwrap


def _memory_holds(pid, needle):
    """Whether any writable private memory of process ``pid`` holds ``needle`` (as root)."""
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            fields = line.split()
            if not fields[1].startswith("rw"):
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            try:
                mem.seek(start)
                if needle in mem.read(end - start):
                    return True
            except (OSError, ValueError, OverflowError):
                continue
    return False


def test_does_the_server_keep_nothing_of_a_request(server, tmp_path):
    """The fork reads the request: no student id, path or environment of one job lingers in
    the server, whose memory the next job's fork copies."""
    course, work = _course(tmp_path)
    marker = f"coursekit-request-marker-{os.getpid()}-{time.time_ns()}"
    os.environ["COURSEKIT_TEST_MARKER"] = marker
    try:
        with kernel(course, work, server) as (_, kc, _):
            assert run(kc, "import os; print(os.environ['COURSEKIT_TEST_MARKER'])")[1].strip() \
                == marker  # the kernel got it, through its fork
    finally:
        del os.environ["COURSEKIT_TEST_MARKER"]
    assert not _memory_holds(forkserver._STARTED["kernel"][0].pid, marker.encode())


def test_does_a_fork_that_cannot_confine_itself_give_way_to_bwrap(server, tmp_path):
    """Fail closed: a step of the confinement fails (here: joining a cgroup that is not
    there), nothing runs in that fork, and the client starts bwrap's kernel instead."""
    import subprocess

    from coursekit.isolation import warm_sandbox

    course, work = _course(tmp_path)
    sandbox.prepare_task(course, "a1", "s1", sandbox_limits(None, memory="1G"), True)
    spec_file = course / ".sandbox" / "jupyter" / "kernels" / "python3" / "kernel.json"
    kernelspec = json.loads(spec_file.read_text())
    cold = kernelspec["argv"]
    launch = cold[cold.index("coursekit.isolation.kernel") + 1]
    seen = sandbox.view(readable=sandbox._python_paths(),
                        writable=[course / ".sandbox" / "runtime"],
                        work_source=course / "autograded" / "s1" / "a1", scratch_size=1 << 20)
    argv = warm_sandbox.kernel_argv(server, seen, launch, cold)
    job = json.loads(argv[3])
    job["cgroup"] = [str(tmp_path / "no-such-group" / "cgroup.procs")]
    argv[3] = json.dumps(job)
    kernelspec["argv"] = argv
    spec_file.write_text(json.dumps(kernelspec))
    log = tmp_path / "client.log"
    env = dict(os.environ, JUPYTER_PATH=str(course / ".sandbox" / "jupyter"),
               JUPYTER_RUNTIME_DIR=str(course / ".sandbox" / "runtime"))
    script = ("from jupyter_client.manager import KernelManager\n"
              f"km = KernelManager(kernel_name='python3', transport='ipc', "
              f"ip={str(course / '.sandbox/runtime/k')!r})\n"
              f"km.start_kernel(cwd={str(work)!r})\n"
              "kc = km.client(); kc.start_channels(); kc.wait_for_ready(timeout=60)\n"
              "reply = kc.execute_interactive(\"import os, sys; print('torch' in sys.modules, "
              "os.getcwd(), os.getuid())\", output_hook=lambda m: print(m['content'].get('text', "
              "''), end=''), timeout=60)\n"
              "kc.stop_channels(); km.shutdown_kernel(now=True)\n")
    with open(log, "w") as stderr:
        out = subprocess.run([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                             stderr=stderr, text=True, timeout=120)
    torch_loaded, cwd, uid = out.stdout.split()
    assert (torch_loaded, cwd) == ("False", sandbox.WORK) and int(uid) >= sandbox.FIRST_UID
    assert f"{warm_sandbox.FALLBACK} sandboxed_kernel (confining failed" in log.read_text()
