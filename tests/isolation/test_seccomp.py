"""No keyrings and no user namespaces for student code (coursekit.isolation.seccomp).

An attack review passed one submission's answers to the next submission graded on the same
thread (same uid) through the uid's kernel keyring, and read the grader's session keyring from a
kernel. Here: the filter in a plain process, then real kernels of one grading thread, warm
(forked from a fork server) and cold (bwrap), one after the other.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from coursekit.isolation import seccomp

sys.path.insert(0, str(Path(__file__).parent))
from test_sandbox import _course  # noqa: E402
from test_warm_kernel import run  # noqa: E402
from test_warm_sandbox import USABLE, kernel, server  # noqa: E402,F401 - the fixture

NUMBERS = seccomp.MACHINES.get(os.uname().machine)
needs_filter = pytest.mark.skipif(NUMBERS is None, reason="no filter for this machine")

PROBE = """
import ctypes, errno, subprocess
libc = ctypes.CDLL(None, use_errno=True)
def err(result):
    return 'ok' if result >= 0 else errno.errorcode[ctypes.get_errno()]
print(err(libc.syscall({add_key}, b'user', b'answers', b'nn_forward_pass = ...', 21, -4)),
      err(libc.syscall({keyctl}, 11, -4, 0, 0)),
      err(libc.unshare(0x10000000)),
      subprocess.run(['true']).returncode)
"""


@needs_filter
def test_does_the_filter_refuse_keyrings_and_user_namespaces_and_keep_the_rest():
    code = ("from coursekit.isolation.seccomp import seal\nprint(seal())\n"
            + PROBE.format(**NUMBERS)
            + "import threading, torch\nt = threading.Thread(target=print, args=('thread',))\n"
              "t.start(); t.join(); print(torch.ones(4).sum().item())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    assert lines[1] == "EPERM EPERM EPERM 0"  # no key, no keyring read, no userns; children ok
    assert lines[2:4] == ["thread", "4.0"]  # threads (clone3 -> clone) and torch


@needs_filter
def test_is_a_refused_call_refused_in_another_abi_too():
    program = seccomp.filter_program("x86_64")
    # the first steps: the architecture must be x86_64's and no x32 number passes
    assert program[1][3] == seccomp.MACHINES["x86_64"]["arch"]
    assert any(step[0] == seccomp.JGE and step[3] == 0x40000000 for step in program)


def _keyring_channel(server, tmp_path):
    """Two kernels of one grading thread in turn: the first tries to leave a key, the second
    looks for it. Returns what each printed."""
    seen = []
    for name in ("first", "second"):
        course, work = _course(tmp_path / name)
        with kernel(course, work, server) as (_, kc, uid):
            status, text, error = run(kc, PROBE.format(**NUMBERS))
            assert status == "ok", error
            seen.append((uid, text.split()))
    return seen


@needs_filter
@pytest.mark.skipif(not USABLE and os.environ.get("COURSEKIT_REQUIRE_SANDBOX") != "1",
                    reason="needs root and bwrap")
@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_can_a_kernel_leave_nothing_in_a_keyring_for_the_next_one(server, tmp_path, warm):
    (uid_a, first), (uid_b, second) = _keyring_channel(server if warm else None, tmp_path)
    assert uid_a == uid_b  # the same grading thread: the channel the review used
    assert first[:3] == second[:3] == ["EPERM", "EPERM", "EPERM"]
    assert first[3] == second[3] == "0"


@pytest.mark.skipif(os.geteuid() != 0, reason="the kernel's uid drop needs root")
@pytest.mark.parametrize("sealed", [False, True])
def test_is_the_graders_session_keyring_out_of_reach_after_seal(sealed):
    """The grader keeps a key in its session keyring (systemd gives a service one); after the
    uid drop, a process that sealed itself no longer possesses it (one that did not, does)."""
    if NUMBERS is None:
        pytest.skip("no keyctl numbers for this machine")
    code = (
        "import ctypes, errno, os\nfrom coursekit.isolation import seccomp\n"
        "from coursekit.isolation.limits import drop_to\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        f"libc.syscall({NUMBERS['keyctl']}, 1, b'grader-session')\n"  # join a named one
        f"key = libc.syscall({NUMBERS['add_key']}, b'user', b'grader-secret', b'PGPASSWORD=x',"
        " 12, -3)\nassert key > 0, errno.errorcode[ctypes.get_errno()]\n"
        "drop_to(65534)\n"
        f"{'seccomp.seal()' if sealed else 'pass'}\n"
        "print('grader-secret' in open('/proc/keys').read())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(not sealed)


@pytest.mark.skipif(not USABLE and os.environ.get("COURSEKIT_REQUIRE_SANDBOX") != "1",
                    reason="needs root and bwrap")
def test_does_a_warm_kernel_inherit_nothing_of_the_servers_environment_seed_or_folders(
        tmp_path, monkeypatch):
    """The server starts bare, in /, (its forks' memory is a copy of its own: the first
    environment stays in it); each fork reseeds torch; its PID 1 holds no capability."""
    from coursekit.isolation import forkserver

    forkserver.stop("kernel")
    monkeypatch.setenv("INSTRUCTOR_SECRET", "S3cr3t-only-in-the-graders-environment")
    path = forkserver.start("kernel", {"OMP_NUM_THREADS": "1"})  # started with it around
    monkeypatch.delenv("INSTRUCTOR_SECRET")  # the jobs' environment has it not
    server_pid = forkserver._STARTED["kernel"][0].pid
    assert os.readlink(f"/proc/{server_pid}/cwd") == "/"  # no course folder in its caches
    try:
        seen = []
        for name in ("a", "b"):
            course, work = _course(tmp_path / name)
            with kernel(course, work, path) as (_, kc, _):
                status, text, error = run(kc, (
                    "import ctypes, sys, torch\n"
                    "ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # dumpable: /proc/self is ours\n"
                    "env = open('/proc/self/environ', 'rb').read()  # the first environment\n"
                    "init = dict(l.split(':\\t') for l in open('/proc/1/status').read()"
                    ".splitlines() if ':\\t' in l)\n"
                    "print(b'S3cr3t' in env, torch.initial_seed(), init['CapEff'].strip(),"
                    " init['NoNewPrivs'].strip())"))
                assert status == "ok", error
                seen.append(text.split())
    finally:
        forkserver.stop("kernel")
    assert [s[0] for s in seen] == ["False", "False"]
    assert seen[0][1] != seen[1][1]  # each fork's own torch seed
    assert [s[2:] for s in seen] == [["0000000000000000", "1"]] * 2  # PID 1 as bwrap's
