"""A cgroup per submission, with real cgroups and real processes (coursekit.isolation.cgroup).

Root with a writable /sys/fs/cgroup (v1 or v2) is needed; ``make test`` as root sets
COURSEKIT_REQUIRE_SANDBOX=1, and there these tests fail instead of skipping.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from coursekit.isolation import cgroup

USABLE, WHY = cgroup.check()
needs_cgroups = pytest.mark.skipif(
    not USABLE and os.environ.get("COURSEKIT_REQUIRE_SANDBOX") != "1", reason=WHY)

TOUCH_SHARED = """
import mmap, sys
size = int(sys.argv[1])
block = mmap.mmap(-1, size, flags=mmap.MAP_SHARED)
for start in range(0, size, 4096):  # every page
    block[start:start + 1] = b"x"
print("survived")
"""


@pytest.fixture
def group():
    made, why = cgroup.create("test", memory=256 << 20, pids=40)
    assert made is not None, why
    yield made
    made.close()


@needs_cgroups
def test_is_shared_memory_counted_against_the_groups_limit(group):
    # 512 MiB of MAP_SHARED pages: RLIMIT_DATA would not see them; the group's 256 MiB does
    run = subprocess.run(group.wrap([sys.executable, "-c", TOUCH_SHARED, str(512 << 20)]),
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == -9 and "survived" not in run.stdout
    usage = group.usage()
    assert usage["oom_kills"] >= 1 and usage["peak"] >= 200 << 20


@needs_cgroups
def test_does_a_process_within_the_limit_run_untouched(group):
    run = subprocess.run(group.wrap([sys.executable, "-c", TOUCH_SHARED, str(64 << 20)]),
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "survived" in run.stdout
    assert group.usage()["oom_kills"] == 0


@needs_cgroups
def test_do_processes_and_threads_of_the_whole_group_count_against_its_pids_limit(group):
    spawn = ("import threading, time\n"
             "threads = [threading.Thread(target=time.sleep, args=(1,)) for _ in range(60)]\n"
             "[t.start() for t in threads]\nprint('started')")
    run = subprocess.run(group.wrap([sys.executable, "-c", spawn]), capture_output=True,
                         text=True, timeout=60)
    assert run.returncode != 0 and "can't start new thread" in run.stderr


@needs_cgroups
def test_does_close_kill_what_is_left_and_remove_the_group():
    made, why = cgroup.create("test", memory=256 << 20, pids=40)
    assert made is not None, why
    sleeper = subprocess.Popen(made.wrap(["sleep", "600"]))
    try:
        for _ in range(100):
            if made.pids_in():
                break
            __import__("time").sleep(0.05)
        assert sleeper.pid in made.pids_in()
        made.close()
        assert sleeper.wait(timeout=10) == -9
        assert not any(folder.exists() for folder in made.folders)
    finally:
        sleeper.kill()


@needs_cgroups
def test_is_the_group_made_below_the_graders_own_one(group):
    own = Path("/proc/self/cgroup").read_text()
    assert group.version in (1, 2)
    assert all(folder.name.startswith("coursekit-test-") for folder in group.folders)
    assert str(os.getpid()) not in {str(p) for p in group.pids_in()}
    assert own  # the grader itself stays where it was


def test_does_create_say_why_and_how_to_fix_when_cgroups_are_unusable(monkeypatch, tmp_path):
    monkeypatch.setattr(cgroup, "ROOT", tmp_path / "no-cgroups")
    made, why = cgroup.create("s1", memory=1 << 30, pids=10)
    assert made is None and "/sys/fs/cgroup" in why
    monkeypatch.setattr(cgroup, "ROOT", tmp_path)  # a folder, but no controllers
    made, why = cgroup.create("s1", memory=1 << 30, pids=10)
    assert made is None and "root" in why and "RLIMIT_DATA" in why


def test_does_a_v2_group_get_its_limits_in_the_unified_hierarchys_files(monkeypatch, tmp_path):
    # cgroup v2's file protocol on a stand-in tree (the dev machines have v1): the controllers
    # are enabled below the grader's group, the group gets memory.max, swap 0 and pids.max
    monkeypatch.setattr(cgroup, "ROOT", tmp_path)
    monkeypatch.setattr(cgroup, "_own_path", lambda controller: "/grader.scope")
    parent = tmp_path / "grader.scope"
    parent.mkdir()
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    (parent / "cgroup.controllers").write_text("cpu memory pids\n")
    made, why = cgroup.create("s 1/x", memory=3 << 30, pids=99, cpus=2)
    assert why is None and made.version == 2 and made.cpus == 2
    [folder] = made.folders
    assert folder.parent == parent and folder.name.startswith("coursekit-s_1_x-")
    assert (parent / "cgroup.subtree_control").read_text() == "+cpu +memory +pids"
    assert (folder / "cpu.max").read_text() == "200000 100000"
    assert (folder / "memory.max").read_text() == str(3 << 30)
    assert (folder / "pids.max").read_text() == "99"
    assert made.procs_files == [str(folder / "cgroup.procs")]
    (folder / "memory.peak").write_text("12345\n")
    (folder / "memory.events").write_text("low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n")
    assert made.usage() == {"peak": 12345, "oom_kills": 1}


def test_does_a_v2_machine_without_the_memory_controller_get_a_reason(monkeypatch, tmp_path):
    monkeypatch.setattr(cgroup, "ROOT", tmp_path)
    monkeypatch.setattr(cgroup, "_own_path", lambda controller: "/")
    (tmp_path / "cgroup.controllers").write_text("cpu io\n")
    made, why = cgroup.create("s1", memory=1 << 30, pids=10)
    assert made is None and "v2" in why and "memory" in why and "pids" in why


@needs_cgroups
def test_does_the_cpu_quota_hold_a_submission_that_forks_into_new_sessions():
    made, why = cgroup.create("cpu", memory=256 << 20, pids=64, cpus=0.5)
    assert made is not None, why
    if made.cpus is None:
        made.close()
        pytest.skip("no cpu controller here")
    # 4 spinning processes, each in a session of its own (a scheduler autogroup each)
    spin = ("import os, time\n"
            "for _ in range(4):\n"
            "    if os.fork() == 0:\n"
            "        os.setsid()\n"
            "        end = time.time() + 3\n"
            "        while time.time() < end: pass\n"
            "        os._exit(0)\n"
            "start = time.time()\n"
            "for _ in range(4): os.wait()\n"
            "print(os.times().children_user + os.times().children_system)")
    try:
        run = subprocess.run(made.wrap([sys.executable, "-c", spin]), capture_output=True,
                             text=True, timeout=60)
    finally:
        made.close()
    used = float(run.stdout.strip())  # CPU seconds in 3 s of wall time: at most 0.5 core
    assert used < 0.5 * 3 * 1.3, used
    assert "cores of CPU time" in made.describe()
