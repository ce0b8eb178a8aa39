"""The service's record and lock (``coursekit.serve.state``), and ``coursekit serve``'s refusals."""
import json
import os
import subprocess
import sys
import time

import pytest

from conftest import ASSIGNMENT, ROOT
from coursekit import course
from coursekit.serve.state import ServeRecord, ServiceLock, ServiceRunning, holder


def test_does_the_record_survive_a_reload_with_every_entry(tmp_path):
    record = ServeRecord(tmp_path, ASSIGNMENT)
    record.update("ada+a+t1+x", student="ada", timestamp="t1", status="received")
    record.update("ada+a+t1+x", status="grading")
    record.update("bob+a+t2+y", student="bob", timestamp="t2", status="received")
    again = ServeRecord(tmp_path, ASSIGNMENT)
    assert again.entries == record.entries
    assert again.entries["ada+a+t1+x"]["status"] == "grading"
    assert set(again.with_status("received")) == {"bob+a+t2+y"}
    assert not list(tmp_path.glob("coursekit_status/*.tmp*"))  # written atomically


def test_does_the_lock_refuse_a_second_holder_and_free_itself_on_exit(tmp_path):
    with ServiceLock(tmp_path, ASSIGNMENT):
        with pytest.raises(ServiceRunning, match=f"pid {os.getpid()}"):
            with ServiceLock(tmp_path, ASSIGNMENT):
                pass
    with ServiceLock(tmp_path, ASSIGNMENT):  # free again
        pass


def _hold_lock(course_root):
    """A second process that holds the service's lock of ``course_root`` until killed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from coursekit.serve.state import ServiceLock\n"
         f"with ServiceLock({str(course_root)!r}, {ASSIGNMENT!r}):\n"
         "    print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_is_the_lock_freed_when_its_process_is_killed(tmp_path):
    proc = _hold_lock(tmp_path)
    try:
        with pytest.raises(ServiceRunning, match=f"pid {proc.pid}"):
            with ServiceLock(tmp_path, ASSIGNMENT):
                pass
    finally:
        proc.kill()
        proc.wait()
    with ServiceLock(tmp_path, ASSIGNMENT):
        pass


def test_does_the_probe_name_the_running_holder_and_none_once_it_is_killed(tmp_path):
    assert holder(tmp_path, ASSIGNMENT) is None  # no lock file: never ran
    assert not (tmp_path / "coursekit_status").exists()  # the probe creates nothing
    proc = _hold_lock(tmp_path)
    try:
        assert holder(tmp_path, ASSIGNMENT) == proc.pid
        assert holder(tmp_path, "another_assignment") is None
    finally:
        proc.kill()
        proc.wait()
    assert holder(tmp_path, ASSIGNMENT) is None
    with ServiceLock(tmp_path, ASSIGNMENT):  # the probe left the lock free
        assert holder(tmp_path, ASSIGNMENT) == os.getpid()


@pytest.fixture
def scratch(tmp_path):
    """A course copy whose exchange (empty) is set in its config, as the README says."""
    root = course.copy_course(ROOT, tmp_path / "course")
    exchange = tmp_path / "exchange"
    (exchange / "nn-course").mkdir(parents=True)  # as a release makes it
    return root, exchange


def _serve(root, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSEKIT_")}
    return subprocess.run([sys.executable, "-m", "coursekit", "serve", ASSIGNMENT, *args],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_does_a_second_service_on_the_same_course_refuse_to_run(scratch):
    root, exchange = scratch
    with ServiceLock(root, ASSIGNMENT):
        proc = _serve(root, "--once", f"--Exchange.root={exchange}")
    assert proc.returncode == 1, proc.stderr
    assert "another coursekit serve" in proc.stderr
    assert not (root / "coursekit_status" / f"{ASSIGNMENT}.serve-status.json").exists()


def test_does_serve_once_with_an_empty_exchange_write_its_status_and_exit(scratch):
    root, exchange = scratch
    proc = _serve(root, "--once", f"--Exchange.root={exchange}")
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout)
    assert status["queue"] == 0 and status["counts"] == {} and status["passes"] == 1
    on_disk = json.loads((root / "coursekit_status" / f"{ASSIGNMENT}.serve-status.json")
                         .read_text())
    assert on_disk["pid"] == status["pid"] and on_disk["last_pass_at"] <= time.time()


def test_does_serve_refuse_a_missing_exchange_and_a_malformed_setting(scratch):
    root, exchange = scratch
    proc = _serve(root, "--once", f"--Exchange.root={exchange / 'nowhere'}")
    assert proc.returncode == 2 and "--Exchange.root=DIR" in proc.stderr
    proc = _serve(root, "--once", "--Exchange.root", str(exchange))
    assert proc.returncode == 2 and "unrecognized arguments" in proc.stderr


def test_does_serve_status_print_the_last_status_and_refuse_before_any_run(scratch):
    root, exchange = scratch
    proc = _serve(root, "--status")
    assert proc.returncode == 2 and "no coursekit serve has run" in proc.stderr
    assert _serve(root, "--once", f"--Exchange.root={exchange}").returncode == 0
    proc = _serve(root, "--status")
    assert proc.returncode == 0 and json.loads(proc.stdout)["queue"] == 0


def test_does_serve_status_say_whether_a_service_runs_now(scratch):
    root, exchange = scratch
    assert _serve(root, "--once", f"--Exchange.root={exchange}").returncode == 0
    status = json.loads(_serve(root, "--status").stdout)
    assert (status["running"], status["running_pid"]) == (False, None)
    proc = _hold_lock(root)  # a service's lock, held by a real second process
    try:
        answer = _serve(root, "--status")
        assert answer.returncode == 0, answer.stderr
        status = json.loads(answer.stdout)
        assert (status["running"], status["running_pid"]) == (True, proc.pid)
        assert status["queue"] == 0  # the last status JSON is still there
    finally:
        proc.kill()
        proc.wait()
    status = json.loads(_serve(root, "--status").stdout)
    assert (status["running"], status["running_pid"]) == (False, None)


def test_does_a_batch_refuse_an_sqlite_gradebook_a_running_service_writes(scratch):
    root, _ = scratch
    proc = _hold_lock(root)  # a running service's lock
    try:
        batch = subprocess.run([sys.executable, "-m", "coursekit", "autograde", ASSIGNMENT],
                               cwd=root, capture_output=True, text=True, timeout=300)
    finally:
        proc.kill()
        proc.wait()
    assert batch.returncode == 2, batch.stderr
    assert f"coursekit serve (pid {proc.pid})" in batch.stderr and "PostgreSQL" in batch.stderr


def test_is_the_status_folder_private_even_when_made_listable(tmp_path):
    import stat

    from coursekit.course.status import status_folder

    record = ServeRecord(tmp_path, ASSIGNMENT)
    record.update("ada+a+t1+secret", student="ada", timestamp="t1", status="received")
    folder = tmp_path / "coursekit_status"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    os.chmod(folder, 0o755)  # an older kit, or a careless chmod
    status_folder(tmp_path)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_does_the_log_say_the_rules_at_start_and_when_sigterm_stopped_it(scratch):
    import signal

    root, exchange = scratch
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSEKIT_")}
    proc = subprocess.Popen([sys.executable, "-m", "coursekit", "serve", ASSIGNMENT,
                             f"--Exchange.root={exchange}", "--Serve.poll_seconds=0.5"],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    status = root / "coursekit_status" / f"{ASSIGNMENT}.serve-status.json"
    deadline = time.time() + 120
    while not status.exists():
        assert proc.poll() is None and time.time() < deadline, proc.stderr.read()
        time.sleep(0.2)
    log = root / "coursekit_status" / f"{ASSIGNMENT}.serve.log"
    refused = _serve(root, "--once", f"--Exchange.root={exchange}")  # a second one, refused
    assert refused.returncode == 1
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    text = log.read_text()
    assert "rules: 3 graded tries per 24 hours; owner check on" in text
    assert "due date none set" in text
    assert text.count("sandbox") == 1  # the refused one wrote no checks of its own
    assert f"stopped (pid {proc.pid})" in text


def test_can_a_folder_name_with_a_newline_forge_no_log_line():
    import logging

    from coursekit.serve.status import OneLineFormatter

    record = logging.LogRecord("coursekit.serve", logging.INFO, __file__, 1,
                               "received %s %s", ("nobody", "a\n2026-12-01T13:47:00Z graded "
                                                  "daemon: score 40\tx\x1b[2J"), None)
    line = OneLineFormatter("%(message)s").format(record)
    assert "\n" not in line and "\x1b" not in line
    assert line == "received nobody a\\n2026-12-01T13:47:00Z graded daemon: score 40\\tx\\x1b[2J"
