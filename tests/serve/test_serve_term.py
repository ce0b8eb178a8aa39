"""``coursekit serve`` end to end through nbgrader's real exchange, killed and restarted.

One term per module (:func:`term`), every step a real command:

1. the instructor releases (``nbgrader release_assignment``); students fetch and submit with
   ``nbgrader``: ``alice`` (the sample ``correct_compact``), ``bob`` twice (``blank``; the
   first is superseded before it is graded), ``carol`` (``broken_misnamed_notebook``, which
   cannot be graded);
2. ``coursekit serve --once`` is killed (SIGKILL, its whole process group) while it grades;
3. restarted on an existing Dask cluster (``--scheduler``: a real ``dask scheduler`` and two
   ``dask worker`` processes) with a fault that ends it right after the grader recorded its
   verdicts and before the service's record says so (the worst moment);
4. restarted normally: it must take the recorded verdicts (grading nothing again) and release
   the feedback, which each student fetches with ``nbgrader fetch_feedback``;
5. with ``c.Serve.graded_tries = 1``, alice submits again: not graded, her feedback says when
   her next graded try is possible; carol's failed try did not count: she is graded again;
6. the instructor sets a due date an hour ago (``nbgrader db assignment add --duedate``); bob
   submits again: recorded ``late``, not graded, his feedback says so.
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ASSIGNMENT, ROOT, SAMPLES
from dask_cluster import dask_cluster
from coursekit import course
from coursekit.course import commands
from coursekit.course.status import StatusFile
from coursekit.results import grades
from coursekit.serve.status import read_served
from coursekit.serve.state import ServeRecord
from coursekit.term import exchange, samples
from coursekit.term.demo import release

COURSE_ID = "nn-course"
pytestmark = pytest.mark.slow


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSEKIT_")}
    if "COURSEKIT_REQUIRE_SANDBOX" in os.environ:
        env["COURSEKIT_REQUIRE_SANDBOX"] = os.environ["COURSEKIT_REQUIRE_SANDBOX"]
    return dict(env, COURSEKIT_CELL_TIMEOUT="60", **extra)


def _serve_argv(ex, cluster=("--workers", "2")):
    return [sys.executable, "-m", "coursekit", "serve", ASSIGNMENT, "--once", *cluster,
            f"--Exchange.root={ex}"]


def _serve(root, ex, cluster=("--workers", "2"), **env):
    proc = subprocess.run(_serve_argv(ex, cluster), cwd=root, env=_env(**env),
                          capture_output=True, text=True, timeout=600)
    return proc


def _statuses(root):
    return {n: e["status"] for n, e in ServeRecord(root, ASSIGNMENT).entries.items()}


def _by_student(root):
    found = {}
    for name, entry in sorted(ServeRecord(root, ASSIGNMENT).entries.items(),
                              key=lambda item: item[1]["timestamp"]):
        found.setdefault(entry["student"], []).append(dict(entry, name=name))
    return found


def _mtimes(root):
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns
            for p in (root / "autograded").glob(f"*/{ASSIGNMENT}/*.ipynb")}


def _kill_while_grading(root, ex):
    """Start serve, SIGKILL its process group once it grades and before the grader is done."""
    proc = subprocess.Popen(_serve_argv(ex), cwd=root, env=_env(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    try:
        while "grading" not in _statuses(root).values():
            assert proc.poll() is None and time.time() < deadline, "serve never began grading"
            time.sleep(0.2)
        time.sleep(3)  # the cluster is up, kernels are running (a submission takes ~5 s)
        graded_then = set(StatusFile(root, ASSIGNMENT).read())
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return graded_then


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    work = tmp_path_factory.mktemp("serve")
    root = course.copy_course(ROOT, work / "course")
    with open(root / "nbgrader_config.py", "a") as config:
        config.write("c.Serve.graded_tries = 1\n")  # the exchange comes on the command line
        # one account submits for every student here (nbgrader submit --student=...)
        config.write("c.ExchangeCollect.check_owner = False\n")
    ex = work / "exchange"
    ex.mkdir()
    release(root, ASSIGNMENT)
    exchange.release_assignment(root, ASSIGNMENT, ex)
    homes = {s: work / "homes" / s for s in ("alice", "bob", "carol")}
    answers = {"alice": "correct_compact", "bob": "blank", "carol": "broken_misnamed_notebook"}
    for student, sample in answers.items():
        samples.answer_in(exchange.fetch(ex, homes[student], COURSE_ID, ASSIGNMENT), SAMPLES,
                          sample)
    for student in ("alice", "bob", "carol", "bob"):
        exchange.submit(ex, homes[student], COURSE_ID, ASSIGNMENT, student)
        time.sleep(0.01)  # distinct timestamps
    seen = {}
    seen["graded_at_kill"] = _kill_while_grading(root, ex)
    seen["after_kill"] = _statuses(root)
    seen["released_at_kill"] = sorted(p.name for p in (ex / COURSE_ID / "feedback").glob("*"))
    (work / "dask").mkdir()
    with dask_cluster(2, work / "dask") as (address, _, client):
        seen["faulted"] = _serve(root, ex, ("--scheduler", address),
                                 COURSEKIT_SERVE_FAULT="after_grading")
        seen["cluster_workers"] = set(client.scheduler_info()["workers"])
    seen["after_fault"] = _statuses(root)
    seen["mtimes_after_fault"] = _mtimes(root)
    seen["restarted"] = _serve(root, ex)
    seen["mtimes_after_restart"] = _mtimes(root)
    seen["served"] = _by_student(root)
    seen["feedback"] = {s: exchange.fetch_feedback(ex, homes[s], COURSE_ID, ASSIGNMENT, s)
                        for s in homes}
    seen["gradebook"] = grades.read_grades(root, ASSIGNMENT)
    # the limit: alice's second graded try within 24 h; carol's failed try did not count
    for student in ("alice", "carol"):
        exchange.submit(ex, homes[student], COURSE_ID, ASSIGNMENT, student)
    seen["mtimes_before_limit"] = _mtimes(root)
    seen["limited"] = _serve(root, ex)
    seen["mtimes_after_limit"] = _mtimes(root)
    seen["served_after_limit"] = _by_student(root)
    seen["feedback_after_limit"] = {
        s: exchange.fetch_feedback(ex, homes[s], COURSE_ID, ASSIGNMENT, s) for s in homes}
    hour_ago = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(time.time() - 3600))
    commands.run_nbgrader(root, "db", "assignment", "add", ASSIGNMENT, f"--duedate={hour_ago}")
    exchange.submit(ex, homes["bob"], COURSE_ID, ASSIGNMENT, "bob")
    seen["mtimes_before_late"] = _mtimes(root)
    seen["after_due"] = _serve(root, ex)
    seen["mtimes_after_late"] = _mtimes(root)
    seen["served_after_due"] = _by_student(root)
    seen["feedback_after_due"] = exchange.fetch_feedback(ex, homes["bob"], COURSE_ID, ASSIGNMENT,
                                                         "bob")
    seen["report"] = subprocess.run([sys.executable, "-m", "coursekit", "report", ASSIGNMENT],
                                    cwd=root, env=_env(), capture_output=True, text=True,
                                    timeout=300)
    return root, ex, seen


def test_does_a_kill_mid_grading_leave_every_submission_recorded_and_nothing_released(term):
    root, ex, seen = term
    assert len(seen["after_kill"]) == 4  # every submission recorded before the kill
    assert len(seen["graded_at_kill"]) < 3, "killed too late: the grader had finished"
    assert sorted(seen["after_kill"].values()) == ["grading"] * 3 + ["superseded"]
    assert len(seen["released_at_kill"]) == 1  # bob's superseded notice only


def test_does_a_restart_after_the_grader_recorded_grade_nothing_twice(term):
    root, ex, seen = term
    assert seen["faulted"].returncode == 3, seen["faulted"].stderr[-3000:]
    # what the killed service's local cluster had finished stays as it was graded; the rest
    # was graded on the cluster's workers
    graded_by = {e["worker"] for s, e in StatusFile(root, ASSIGNMENT).read().items()
                 if s in ("alice", "bob") and s not in seen["graded_at_kill"]}
    assert graded_by and graded_by <= seen["cluster_workers"]
    assert sorted(seen["after_fault"].values()) == ["grading"] * 3 + ["superseded"]
    assert seen["restarted"].returncode == 0, seen["restarted"].stderr[-3000:]
    assert seen["mtimes_after_restart"] == seen["mtimes_after_fault"]  # nothing regraded
    assert len(seen["mtimes_after_fault"]) == 2  # alice and bob (carol's is ungradable)
    log = seen["restarted"].stderr
    assert log.count("recovered ") == 3 and "grading " not in log


def test_does_every_student_fetch_the_feedback_of_their_submissions(term):
    root, ex, seen = term
    served, fetched = seen["served"], seen["feedback"]
    assert [e["status"] for e in served["alice"]] == ["released"]
    assert [e["status"] for e in served["bob"]] == ["superseded", "released"]
    assert [(e["status"], e["verdict"]) for e in served["carol"]] == [("released", "failed")]
    alice = served["alice"][0]
    assert alice["score"] == seen["gradebook"]["alice"]["total"] > 0
    page = fetched["alice"][alice["timestamp"]]
    text = page[0].read_text()
    graded = (root / "feedback" / "alice" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert text == graded and "load_checks" not in text  # coursekit's page, no hidden tests
    first, second = served["bob"]
    assert "newer submission" in fetched["bob"][first["timestamp"]][0].read_text()
    assert fetched["bob"][second["timestamp"]][0].read_text() == (
        root / "feedback" / "bob" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    notice = fetched["carol"][served["carol"][0]["timestamp"]][0]
    assert notice.name == "two_layer_net (1).html"  # the notebook she submitted
    assert "could not be graded" in notice.read_text()
    assert f"no {ASSIGNMENT}.ipynb in the submission" in notice.read_text()


def test_does_a_submission_over_the_limit_get_a_date_instead_of_a_grade(term):
    root, ex, seen = term
    assert seen["limited"].returncode == 0, seen["limited"].stderr[-3000:]
    first, second = seen["served_after_limit"]["alice"]
    assert second["status"] == "over_limit"
    assert second["next_try"] == first["arrived"] + 24 * 3600  # by arrival in the exchange
    minute = -(-second["next_try"] // 60) * 60  # rounded up: never a minute too early
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(minute))
    notice = seen["feedback_after_limit"]["alice"][second["timestamp"]][0].read_text()
    assert "no graded try left" in notice and when in notice
    changed = {k for k in seen["mtimes_after_limit"]
               if seen["mtimes_after_limit"][k] != seen["mtimes_before_limit"].get(k)}
    assert not any(k.startswith("autograded/alice/") for k in changed)  # alice not regraded
    carol = seen["served_after_limit"]["carol"]
    assert [(e["status"], e["verdict"]) for e in carol] == [("released", "failed")] * 2


def test_is_a_submission_after_the_due_date_kept_and_not_graded(term):
    root, ex, seen = term
    assert seen["after_due"].returncode == 0, seen["after_due"].stderr[-3000:]
    last = seen["served_after_due"]["bob"][-1]
    assert last["status"] == "late" and last["late_s"] > 3500
    assert seen["mtimes_after_late"] == seen["mtimes_before_late"]  # nothing graded
    page = seen["feedback_after_due"][last["timestamp"]][0].read_text()
    assert "after the due date" in page and "not graded now" in page


def test_does_the_service_log_each_submission_and_report_list_them(term):
    root, ex, seen = term
    log = (root / "coursekit_status" / f"{ASSIGNMENT}.serve.log").read_text()
    for entry in seen["served"]["alice"]:
        for step in ("received", "grading", "recovered", "released"):
            assert f"{step} alice {entry['name']}" in log, step
    alice = seen["served"]["alice"][0]
    assert f"released alice {alice['name']}: score {alice['score']:g}/{alice['max_score']:g}" in log
    status = json.loads((root / "coursekit_status" / f"{ASSIGNMENT}.serve-status.json")
                        .read_text())
    assert status["queue"] == 0 and status["counts"]["over_limit"] == 1
    assert status["counts"]["late"] == 1
    assert seen["report"].returncode == 0, seen["report"].stderr
    rows = read_served(root, ASSIGNMENT)
    assert "served on submit (7 submissions" in seen["report"].stdout and len(rows) == 7
    report = json.loads((root / "reports" / ASSIGNMENT / "report.json").read_text())
    assert [r["status"] for r in report["served"]] == [r["status"] for r in rows]
