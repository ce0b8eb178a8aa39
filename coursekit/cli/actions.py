"""What each ``coursekit`` subcommand does with its parsed arguments (``cmd_<command>``).

Each returns the exit status (None: 0) and raises :class:`UsageError` with a message that says
how to fix a command line that cannot work; ``coursekit.cli.main`` turns it into status 2.
"""
import functools
import json
import sys
import time
from pathlib import Path

from coursekit.isolation.settings import COUNTS, SIZES
from coursekit.similarity import THRESHOLD
from coursekit.term import demo
from coursekit.term.demo import ASSIGNMENT, grade_samples, release

__all__ = ["UsageError", "SANDBOX_OPTIONS"]

SANDBOX_OPTIONS = SIZES + COUNTS  # every c.Sandbox setting but `enabled`, as an option


class UsageError(ValueError):
    """A command line that cannot work; the message says how to fix it."""


def _assignment(root, name):
    if not (root / "source" / name).is_dir():
        known = sorted(p.name for p in (root / "source").iterdir() if p.is_dir())
        raise UsageError(f"no assignment {name!r} in {root / 'source'} (there: "
                         f"{', '.join(known) or 'none'})")
    return name


def cmd_release(args):
    print(f"release regenerated: {release(args.root)}")


def cmd_grade_samples(args):
    work = Path(args.work) if args.work else args.root / "out" / "samples"
    work = demo.fresh_folder(work.resolve(), scratch_root=args.root / "out")
    results = grade_samples(args.root, work, names=args.sample or None, workers=args.workers)
    print("\n".join(demo.format_table(results)))
    (work / "sample_grades.json").write_text(json.dumps(results, indent=2))
    return 0 if all(r["ok"] for r in results.values()) else 1


def _demo_samples(root, value):
    samples_dir = root / "assignments" / ASSIGNMENT / "samples"
    known = demo.samples.list_samples(samples_dir)
    if value == "all":
        return known
    names = [n.strip() for n in value.split(",") if n.strip()] if value else list(
        demo.DEMO_SAMPLES)
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise UsageError(f"no sample {', '.join(unknown)} in {samples_dir}; "
                         f"--samples takes 'all' or names from: {', '.join(known)}")
    return names


def cmd_demo(args):
    root = args.root
    names = _demo_samples(root, args.samples)
    out = demo.fresh_folder(root / "out" / "demo", scratch_root=root / "out")
    start = time.perf_counter()
    say = functools.partial(print, flush=True)  # progress shows at once, also in a log file
    say(f"1/3 regenerating {release(root)} from source/")
    executed = out / "run" / f"{ASSIGNMENT}.ipynb"
    say(f"2/3 running the solved notebook on the embedded digits data -> {executed}")
    demo.execute_notebook(root, root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", executed)
    say(f"3/3 a term in a scratch course with {len(names)} sample students"
        f"{'' if args.samples == 'all' else ' (--samples all for every sample)'}")
    results, scratch = demo.run_pipeline(root, out, names, workers=args.workers, say=say)
    say("\n".join(demo.format_table(results)))
    (out / "sample_grades.json").write_text(json.dumps(results, indent=2))
    say(f"feedback: {scratch / 'feedback'}\ngrades:   {scratch / 'grades.csv'}\n"
        f"report:   {scratch / 'reports' / ASSIGNMENT / 'report.html'}")
    say(f"done in {time.perf_counter() - start:.0f} s; results in {out}")
    return 0 if all(r["ok"] for r in results.values()) else 1


def _check_cluster(args):
    """Refuse ``--workers`` below 1, or given with ``--scheduler``."""
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.workers and args.scheduler:
        raise UsageError("give --workers (a local cluster) or --scheduler (an existing one), "
                         "not both")


def _refuse_sqlite_beside_service(course, assignment):
    """A batch must not write an SQLite gradebook while ``coursekit serve`` writes it (one
    writer at a time: "database is locked", a grade lost); a PostgreSQL one is fine."""
    from coursekit.course.gradebook import sqlite_path
    from coursekit.serve.state import holder

    pid = holder(course.root, assignment)
    if pid is not None and sqlite_path(course.gradebook_url) is not None:
        raise UsageError(f"coursekit serve (pid {pid}) is grading {assignment} into the same "
                         f"SQLite gradebook: stop it first (at the deadline: README, 'At the "
                         f"deadline, stop the service'), or point c.CourseDirectory.db_url at "
                         f"PostgreSQL to grade with both at once")


def cmd_autograde(args):
    assignment = _assignment(args.root, args.assignment)
    _check_cluster(args)
    if args.no_sandbox and args.require_sandbox:
        raise UsageError("give --no-sandbox or --require-sandbox, not both")
    from coursekit.course.course import Course
    from coursekit.engine.job import GradingSettings
    from coursekit.isolation import cgroup, sandbox
    from coursekit.parallel import BatchOptions, autograde_batch

    course = Course(args.root)
    _refuse_sqlite_beside_service(course, assignment)
    overrides = {key: getattr(args, key) for key in SANDBOX_OPTIONS}
    overrides["enabled"] = False if args.no_sandbox else (True if args.require_sandbox else None)
    try:
        limits = course.sandbox_limits(**overrides)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if limits.enabled is not False:
        print(sandbox.check()[1], file=sys.stderr)  # loud when bwrap is missing
    print(cgroup.check()[1], file=sys.stderr)  # loud when submissions share no cgroup
    settings = GradingSettings(sandbox=limits, timeout=args.timeout or None,
                               warm=not args.cold_kernels)
    options = BatchOptions(workers=args.workers, scheduler=args.scheduler,
                           students=args.student, force=args.force, progress=not args.quiet)
    status = autograde_batch(course, assignment, options, settings)
    counts = {k: sum(e["status"] == k for e in status.values())
              for k in ("graded", "needs_review", "failed", "skipped")}
    print(f"{assignment}: {counts['graded']} graded, {counts['needs_review']} need review, "
          f"{counts['failed']} failed, {counts['skipped']} skipped (already graded; --force "
          f"regrades)")
    for student, entry in sorted(status.items()):
        if entry["status"] == "failed":
            print(f"  FAILED {student}: {entry['reason']}")
        elif entry.get("timed_out"):
            print(f"  TIMED OUT {student}: graded what ran before its deadline (--timeout); "
                  f"the rest scored zero")
        if entry["status"] == "needs_review":
            print(f"  NEEDS REVIEW {student}: {len(entry.get('withheld') or {})} cells withheld "
                  f"(`coursekit review {assignment} --student {student}`)")
    print(f"status of every submission: {course.status(assignment).path}")
    return 0  # a failed submission is recorded, not fatal


def _serve_logging(course_root, assignment):
    """Log lines of ``coursekit.serve`` on stderr and in coursekit_status/<a>.serve.log (UTC),
    one line per message (:class:`~coursekit.serve.status.OneLineFormatter`)."""
    import logging

    from coursekit.course.status import status_folder
    from coursekit.serve.status import OneLineFormatter

    formatter = OneLineFormatter("%(asctime)s %(message)s", "%Y-%m-%dT%H:%M:%SZ")
    formatter.converter = time.gmtime
    log_file = status_folder(course_root) / f"{assignment}.serve.log"
    logger = logging.getLogger("coursekit.serve")
    logger.setLevel(logging.INFO)
    for handler in list(logger.handlers):  # main() called again in one process: not twice
        logger.removeHandler(handler)
        handler.close()
    for handler in (logging.StreamHandler(sys.stderr),
                    logging.FileHandler(log_file, errors="backslashreplace")):
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    return log_file


def cmd_serve(args):
    assignment = _assignment(args.root, args.assignment)
    _check_cluster(args)
    from coursekit.course.course import Course
    from coursekit.serve import ServeOptions, course_config, serve_forever, serve_settings

    if args.status:
        from coursekit.serve import status_path
        from coursekit.serve.state import holder

        path = status_path(args.root, assignment)
        pid = holder(args.root, assignment)  # probed, not read from the (last) status JSON
        if not path.is_file() and pid is None:
            raise UsageError(f"no coursekit serve has run for {assignment} here ({path} is "
                             f"missing); start one: coursekit serve {assignment}")
        status = json.loads(path.read_text()) if path.is_file() else {}
        status.update(running=pid is not None, running_pid=pid)
        print(json.dumps(status, indent=1, sort_keys=True))
        return 0
    course = Course(args.root)
    try:
        config = course_config(course, args.nbgrader_settings)
    except ValueError as err:
        raise UsageError(str(err)) from None
    settings = serve_settings(config)
    log_file = _serve_logging(args.root, assignment)
    print(f"serving {assignment} of {settings.course_id} from {settings.exchange_root}; log: "
          f"{log_file}", file=sys.stderr)
    import signal

    from coursekit.isolation import cgroup, sandbox

    limits = course.sandbox_limits()  # loud in the log when a submission would run unbounded
    checks = ([sandbox.check()[1]] if limits.enabled is not False else
              ["WARNING: sandbox off (c.Sandbox.enabled = False)"]) + [cgroup.check()[1]]
    # systemctl stop: end as an exception would, so that the service logs that it stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    status = serve_forever(course, assignment, config, settings,
                           ServeOptions(workers=args.workers, scheduler=args.scheduler),
                           once=args.once, checks=checks)
    print(json.dumps(status, sort_keys=True))


def cmd_collect(args):
    from coursekit.course.course import Course
    from coursekit.serve import course_config
    from coursekit.serve.inbox import collect_all

    assignment = _assignment(args.root, args.assignment)
    course = Course(args.root)
    try:
        config = course_config(course, args.nbgrader_settings)
    except ValueError as err:
        raise UsageError(str(err)) from None
    try:
        outcome = collect_all(course, config, assignment, before_duedate=args.before_duedate)
    except RuntimeError as err:
        print(f"coursekit collect: {err}", file=sys.stderr)
        return 1
    def shown(text):  # a student-made name, printable whatever the terminal's encoding
        return text.encode("ascii", "backslashreplace").decode()

    held = sorted(p.parent.name for p in course.root.glob(f"submitted/*/{assignment}"))
    print(f"submitted/ holds {len(held)} submissions of {assignment}; this collect took:")
    for student, (name, late) in sorted(outcome["collected"].items()):
        stamp = shown(name.rsplit("+", 3)[2])
        lateness = f"  LATE by {late / 60:.0f} min" if late else ""
        print(f"  {shown(student):24} {stamp}{lateness}")
    for student, names in sorted(outcome["left_out"].items()):
        print(f"  LEFT OUT of {shown(student)} (links, files over c.CourseDirectory."
              f"max_file_size): {shown(', '.join(names[:5]))}")
    for name, reason in sorted(outcome["set_aside"].items()):
        print(f"  SET ASIDE {shown(name)}: {shown(reason)}")
    for student, reason in sorted(outcome["not_collected"].items()):
        print(f"  NOT COLLECTED {shown(student)}: {shown(reason)}")
    if outcome["not_collected"] or outcome["set_aside"]:
        print("some submissions were not collected: look at them (exit status 1)")
        return 1
    return 0


def cmd_review(args):
    from coursekit.course.course import Course
    from coursekit.results import review

    assignment = _assignment(args.root, args.assignment)
    course = Course(args.root)
    decision = "accept" if args.accept else "reject" if args.reject else None
    if decision and not args.student:
        raise UsageError(f"--{decision} needs --student ID (one review per submission)")
    for line in review.review(course, assignment, args.student, decision, args.cell):
        print(line)


def cmd_feedback(args):
    from coursekit.results import feedback

    assignment = _assignment(args.root, args.assignment)
    written = feedback.generate_feedback(args.root, assignment, students=args.student)
    for student, entry in written.items():
        if entry["status"] == "written":
            files = ", ".join(str(f.relative_to(args.root)) for f in entry["files"])
            repaired = f" (repaired: {'; '.join(entry['repairs'])})" if entry["repairs"] else ""
            print(f"{student}: {files}{repaired}")
        else:
            print(f"  FAILED {student}: no feedback page: {entry['reason']}")
    failed = sum(e["status"] == "failed" for e in written.values())
    print(f"feedback for {len(written) - failed} of {len(written)} submissions (hidden tests "
          f"removed); status: {args.root / 'coursekit_status' / (assignment + feedback.STATUS_SUFFIX)}")
    return 1 if written and failed == len(written) else 0  # one student's failure is a note


def cmd_report(args):
    from coursekit.results import report

    assignment = _assignment(args.root, args.assignment)
    paths = report.write_report(args.root, assignment, args.out)
    data = json.loads(paths["json"].read_text())
    from coursekit.results.reporthtml import summary_line

    print(summary_line(data["counts"]))
    for entry in data["submissions"]:
        total = "-" if entry["total"] is None else f"{entry['total']:g}"
        print(f"  {entry['student']:24} {entry['status']:12} {total:>6}  {entry['reason'] or ''}")
    if data["served"]:
        print(f"served on submit ({len(data['served'])} submissions, `coursekit serve`):")
    for row in data["served"]:
        score = "-" if row["score"] is None else f"{row['score']:g}"
        latency = "-" if row["latency_s"] is None else f"{row['latency_s']:.0f} s"
        note = row["reason"] if row["status"] != "released" or row["verdict"] == "failed" else ""
        if row.get("stamp_skew_s") is not None:  # coursekit.serve.admission
            note = (f"WARNING: its timestamp is {row['stamp_skew_s']:+.0f} s from its arrival "
                    f"(forged, or a wrong clock); {note or ''}")
        print(f"  {row['student']:24} {row['submitted']:32} {row['status']:11} {score:>6} "
              f"{latency:>7}  {note or ''}")
    for key, path in paths.items():
        print(f"{key}: {path}")


def cmd_export(args):
    from coursekit.results import report

    assignment = _assignment(args.root, args.assignment)
    print(f"grades: {report.export_grades(args.root, assignment, args.to)}")


def cmd_similarity(args):
    from coursekit.similarity import run

    assignment = _assignment(args.root, args.assignment)
    threshold = THRESHOLD if args.threshold is None else args.threshold
    if not 0.0 <= threshold <= 1.0:
        raise UsageError(f"--threshold {threshold:g} is not in [0, 1] (default {THRESHOLD:g})")
    data, paths = run.write_similarity(args.root, assignment, args.against, threshold)
    print("\n".join(run.summary(data, paths)))


def cmd_collect_zip(args):
    from coursekit.term import lms

    assignment = _assignment(args.root, args.assignment)
    students = lms.collect_zip(args.root, assignment, args.zip, args.regexp or lms.LMS_REGEXP)
    print(f"collected {len(students)} students into submitted/: {', '.join(students)}")


def cmd_student_bundle(args):
    from coursekit.term import bundle

    assignment = _assignment(args.root, args.assignment)
    written = bundle.write_bundle(args.root, assignment, Path(args.out).resolve())
    out = Path(args.out).resolve()
    for path in written:
        print(f"  {path.relative_to(out)}")
    print(f"student bundle of {assignment}: {out} ({len(written)} files; hand out the folder, "
          f"its README.md says how to install, check and submit)")
