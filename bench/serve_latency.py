"""Submit-to-feedback latency of `coursekit serve`, through nbgrader's real exchange.

    .venv/bin/python bench/serve_latency.py [--students 4] [--workers 2] [--rounds 2]

A scratch course (release, `nbgrader release_assignment` into a scratch exchange); each student
fetches the assignment into a home folder of their own and answers it as the sample
`correct_compact` (a complete notebook and its best_model.pt). The service runs as an
instructor would run it (`coursekit serve two_layer_net --workers W`, long-running, its
default poll of c.Serve.poll_seconds, no graded-tries limit). Each round, all students run
`nbgrader submit` at the same moment; a student's latency runs from the start of their
`nbgrader submit` to the moment their feedback page is in the exchange, where
`nbgrader fetch_feedback` finds it (the file named by their submission's secret, polled every
0.2 s without running nbgrader). Prints the machine, the load average, every latency, the median
and the maximum against the issue's goal (median <= 60 s with 4 students at once on 2 cores),
the service's own phases (from its record: waiting for a pass, collect + grading, feedback +
release), and, side by side, the same submissions graded as a batch (`coursekit autograde
--force`, then `coursekit feedback`) once the service has stopped.
"""
import argparse
import hashlib
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "two_layer_net"
COURSE_ID = "nn-course"
GOAL_S = 60.0


def _cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _newest_submission(home):
    cache = Path(home) / ".nbgrader_cache" / COURSE_ID
    found = sorted(cache.glob(f"*+{ASSIGNMENT}+*"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def _feedback_file(ex, submission):
    """Where fetch_feedback looks for this submission's feedback (nbgrader.utils.notebook_hash)."""
    secret = (submission / "submission_secret.txt").read_text()
    digest = hashlib.md5((secret + ASSIGNMENT).encode()).hexdigest()
    return Path(ex) / COURSE_ID / "feedback" / f"{digest}.html"


def _submit_and_wait(ex, home, student, out, timeout=900):
    from coursekit.term import exchange

    start = time.perf_counter()
    exchange.submit(ex, home, COURSE_ID, ASSIGNMENT, student)
    submitted = time.perf_counter() - start
    target = _feedback_file(ex, _newest_submission(home))
    while not target.exists():
        if time.perf_counter() - start > timeout:
            out[student] = (submitted, None)
            return
        time.sleep(0.2)
    out[student] = (submitted, time.perf_counter() - start)


def _phases(root):
    """Per graded submission, from the service's record: seconds from being seen to being
    graded (waiting for a pass), grading, feedback + release."""
    from coursekit.serve.state import ServeRecord

    return [(e["grading_at"] - e["received_at"], e["graded_at"] - e["grading_at"],
             e["released_at"] - e["graded_at"])
            for e in ServeRecord(root, ASSIGNMENT).entries.values()
            if e["status"] == "released" and e.get("grading_at")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    from coursekit import course
    from coursekit.term import exchange, samples
    from coursekit.term.demo import release

    work = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    root = course.copy_course(ROOT, work / "course")
    ex = work / "exchange"
    ex.mkdir()
    release(root, ASSIGNMENT)
    exchange.release_assignment(root, ASSIGNMENT, ex)
    students = [f"student{i}" for i in range(args.students)]
    homes = {s: work / "homes" / s for s in students}
    sample_dir = root / "assignments" / ASSIGNMENT / "samples"
    for student in students:
        samples.answer_in(exchange.fetch(ex, homes[student], COURSE_ID, ASSIGNMENT),
                          sample_dir, "correct_compact")
    service = subprocess.Popen(
        [sys.executable, "-m", "coursekit", "serve", ASSIGNMENT, "--workers",
         str(args.workers), f"--Exchange.root={ex}", "--Serve.graded_tries=0",
         "--ExchangeCollect.check_owner=False"],  # one account submits for all
        cwd=root, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    status = root / "coursekit_status" / f"{ASSIGNMENT}.serve-status.json"
    while not status.exists():  # its first (empty) pass is done: it is serving
        time.sleep(0.2)
    from coursekit.serve.settings import Serve

    poll = Serve.class_traits()["poll_seconds"].default_value
    latencies, submits = [], []
    try:
        for round_ in range(1, args.rounds + 1):
            out = {}
            threads = [threading.Thread(target=_submit_and_wait,
                                        args=(ex, homes[s], s, out)) for s in students]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            got = [out[s][1] for s in students]
            submits += [out[s][0] for s in students]
            print(f"round {round_}: " + ", ".join(
                f"{s} {'timed out' if t is None else f'{t:.1f} s'}" for s, t in zip(students, got)),
                flush=True)
            latencies += [t for t in got if t is not None]
    finally:
        os.killpg(service.pid, signal.SIGTERM)
        service.wait(timeout=60)
    phases = _phases(root)
    # side by side: the same submissions (the last round, now in submitted/) as a batch
    batch = {}
    for step, argv in (("autograde", ["autograde", ASSIGNMENT, "--workers", str(args.workers),
                                      "--force", "--quiet"]),
                       ("feedback", ["feedback", ASSIGNMENT])):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "coursekit", *argv], cwd=root, check=True,
                       capture_output=True)
        batch[step] = time.perf_counter() - start
    from coursekit.serve.status import read_served
    from coursekit.term.samples import load_expected

    want = sum(load_expected(sample_dir, "correct_compact")["scores"].values())
    scores = [r["score"] for r in read_served(root, ASSIGNMENT)]
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores ({_cpu_model()}), {platform.system()} "
          f"{platform.release()}, Python {platform.python_version()}; load average at the end "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"service: --workers {args.workers}, poll every {poll:g} s; {args.students} students "
          f"submitting at once, {args.rounds} rounds; complete notebook (correct_compact)")
    wrong = [x for x in scores if x != want]
    print(f"grades: {len(scores)} submissions released, "
          f"{'all' if not wrong and len(scores) == len(latencies) else 'NOT all'} with "
          f"correct_compact's expected total {want:g} (got {sorted(set(scores))})")
    print(f"nbgrader submit itself: median {statistics.median(submits):.1f} s")
    if latencies:
        median = statistics.median(latencies)
        print(f"submit to feedback: median {median:.1f} s, max {max(latencies):.1f} s, min "
              f"{min(latencies):.1f} s over {len(latencies)} submissions; goal median <= "
              f"{GOAL_S:g} s: {'met' if median <= GOAL_S else 'NOT met'} "
              f"({median / GOAL_S:.2f} of the goal)")
    if phases:
        wait, grade, release_ = (statistics.median(p[i] for p in phases) for i in range(3))
        print(f"service phases (median): seen -> grading {wait:.1f} s (waiting for a pass), "
              f"collect + grading {grade:.1f} s, feedback + release {release_:.1f} s")
    print(f"the same {args.students} submissions as a batch, right after: coursekit autograde "
          f"--workers {args.workers} --force {batch['autograde']:.1f} s, coursekit feedback "
          f"{batch['feedback']:.1f} s")
    print(f"scratch course: {work}")


if __name__ == "__main__":
    main()
