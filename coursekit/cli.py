"""``coursekit``: the instructor's command line (run it in the course folder, or pass --root).

    coursekit release                       regenerate release/ from source/ with nbgrader
    coursekit demo [--samples all]          the whole job on the sample submissions (out/demo/)
    coursekit grade-samples                 grade the sample submissions in a scratch course
    coursekit autograde two_layer_net       autograde submitted/ in parallel (Dask)
    coursekit review two_layer_net          cells the grader withheld: show, accept or reject
    coursekit feedback two_layer_net        feedback HTML for students, hidden tests removed
    coursekit report two_layer_net          reports/two_layer_net/{report.json,report.html,...}
    coursekit export two_layer_net          grades.csv (nbgrader export)
    coursekit similarity two_layer_net      copy detection: reports/two_layer_net/similarity.json
    coursekit collect-zip two_layer_net F   LMS zip -> submitted/ (nbgrader zip_collect)
    coursekit student-bundle two_layer_net --out DIR   what students install, no solutions

Exit status: 0 done, 1 a step failed or a sample is off its expected scores, 2 usage error.
"""
import argparse
import functools
import json
import sys
import time
from pathlib import Path

from coursekit.course import commands

from coursekit import course

from coursekit.similarity import THRESHOLD
from coursekit.term import demo
from coursekit.term.demo import ASSIGNMENT, grade_samples, release

__all__ = ["main", "release", "grade_samples", "ASSIGNMENT", "repeatable_options"]


# Options that may be given more than once take one value each and are repeated, as argparse's
# action="append" (and nbgrader's own --student) does: --student a --student b. A value after
# the first (--student a b) is refused with that hint: with nargs="+" it would swallow the
# assignment that follows it, and a repeated option would silently replace the first.


def repeatable_options(parser):
    """The option strings of ``parser`` and its subcommands that are action="append"."""
    found, parsers = set(), [parser]
    while parsers:
        current = parsers.pop()
        for action in current._actions:
            if isinstance(action, argparse._AppendAction):
                found.update(action.option_strings)
            elif isinstance(action, argparse._SubParsersAction):
                parsers.extend(action.choices.values())
    return found


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
    work = demo.fresh_folder(Path(args.work).resolve())
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
    out = demo.fresh_folder(root / "out" / "demo")
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


def cmd_autograde(args):
    assignment = _assignment(args.root, args.assignment)
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.workers and args.scheduler:
        raise UsageError("give --workers (a local cluster) or --scheduler (an existing one), "
                         "not both")
    if args.no_sandbox and args.require_sandbox:
        raise UsageError("give --no-sandbox or --require-sandbox, not both")
    from coursekit.course.course import Course
    from coursekit.engine.job import GradingSettings
    from coursekit.isolation import sandbox
    from coursekit.parallel import BatchOptions, autograde_batch

    course = Course(args.root)
    overrides = {key: getattr(args, key) for key in SANDBOX_OPTIONS}
    overrides["enabled"] = False if args.no_sandbox else (True if args.require_sandbox else None)
    try:
        limits = course.sandbox_limits(**overrides)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if limits.enabled is not False:
        print(sandbox.check()[1], file=sys.stderr)  # loud when bwrap is missing
    settings = GradingSettings(sandbox=limits, timeout=args.timeout, warm=not args.cold_kernels)
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
        elif entry["status"] == "needs_review":
            print(f"  NEEDS REVIEW {student}: {len(entry.get('withheld') or {})} cells withheld "
                  f"(`coursekit review {assignment} --student {student}`)")
    print(f"status of every submission: {course.status(assignment).path}")
    return 0  # a failed submission is recorded, not fatal


def cmd_review(args):
    from coursekit.course.course import Course
    from coursekit.results import review

    assignment = _assignment(args.root, args.assignment)
    if args.accept and args.reject:
        raise UsageError("give --accept or --reject, not both")
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


SANDBOX_OPTIONS = ("memory", "cpu_seconds", "file_size", "scratch_size", "processes",
                   "open_files")


def _sandbox_options(group):
    """``--memory``, ``--cpu-seconds``... from the traits of ``c.Sandbox`` (their help and
    defaults: coursekit.isolation.settings, the one place they are written)."""
    from traitlets import Integer

    from coursekit.isolation.settings import Sandbox

    traits = Sandbox.class_traits(config=True)
    for name in SANDBOX_OPTIONS:
        trait = traits[name]
        number = isinstance(trait, Integer)
        group.add_argument(f"--{name.replace('_', '-')}", type=int if number else str,
                           metavar="N" if number else "SIZE",
                           help=f"{trait.help} (c.Sandbox.{name}, default {trait.default_value})")


def cmd_student_bundle(args):
    from coursekit.term import bundle

    assignment = _assignment(args.root, args.assignment)
    written = bundle.write_bundle(args.root, assignment, Path(args.out).resolve())
    out = Path(args.out).resolve()
    for path in written:
        print(f"  {path.relative_to(out)}")
    print(f"student bundle of {assignment}: {out} ({len(written)} files; hand out the folder, "
          f"its README.md says how to install, check and submit)")


def _parser():
    parser = argparse.ArgumentParser(prog="coursekit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=None,
                        help="the course folder (default: found from the current folder)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("release", help="regenerate release/ from source/").set_defaults(
        func=cmd_release)
    p = sub.add_parser("demo", help="release, run the solved notebook, a term of the samples")
    p.add_argument("--samples", default=None, metavar="all|NAME,NAME",
                   help=f"which samples (default: {','.join(demo.DEMO_SAMPLES)})")
    p.add_argument("--workers", type=int, default=None, help="parallel graders (default: cores)")
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("grade-samples", help="grade the sample submissions")
    p.add_argument("--work", default="out/samples", help="scratch course folder (emptied)")
    p.add_argument("--sample", action="append", help="only this sample (repeatable)")
    p.add_argument("--workers", type=int, default=None, help="parallel graders (default: cores)")
    p.set_defaults(func=cmd_grade_samples)
    p = sub.add_parser("autograde", help="autograde every submission in parallel")
    p.add_argument("assignment")
    p.add_argument("--workers", type=int, default=None, help="local Dask workers (default: cores)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="an existing Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--student", action="append", default=None, metavar="ID",
                   help="only this student (repeat for more: --student a --student b)")
    p.add_argument("--force", action="store_true", help="regrade graded submissions too")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds allowed per submission (default: no limit)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    limits = p.add_argument_group(
        "sandbox and limits per submission (defaults: c.Sandbox.* in nbgrader_config.py, "
        "docs/settings.md; per-cell timeout: c.Execute.timeout)")
    _sandbox_options(limits)
    limits.add_argument("--no-sandbox", action="store_true",
                        help="run kernels without bwrap (resource limits only)")
    limits.add_argument("--require-sandbox", action="store_true",
                        help="fail instead of grading where bwrap does not work")
    p.add_argument("--cold-kernels", action="store_true",
                   help="start every kernel from scratch (default: kernels outside bwrap are "
                        "forked from a process that imported torch; "
                        "coursekit/isolation/warm_kernel.py)")
    p.set_defaults(func=cmd_autograde)
    p = sub.add_parser("review", help="show or settle the cells withheld for review")
    p.add_argument("assignment")
    p.add_argument("--student", default=None, metavar="ID", help="one submission")
    p.add_argument("--cell", action="append", default=None, metavar="GRADE_ID",
                   help="only this withheld cell (repeatable; default: all of them)")
    p.add_argument("--accept", action="store_true",
                   help="give the withheld cells the kernel's score")
    p.add_argument("--reject", action="store_true", help="keep the withheld cells at zero")
    p.set_defaults(func=cmd_review)
    p = sub.add_parser("feedback", help="feedback HTML without hidden tests")
    p.add_argument("assignment")
    p.add_argument("--student", action="append", default=None, metavar="ID",
                   help="only this student (repeat for more: --student a --student b)")
    p.set_defaults(func=cmd_feedback)
    p = sub.add_parser("report", help="grade report: JSON, HTML, histogram")
    p.add_argument("assignment")
    p.add_argument("--out", default=None, help="folder (default: reports/<assignment>/)")
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("export", help="grades.csv with nbgrader export")
    p.add_argument("assignment")
    p.add_argument("--to", default="grades.csv", help="CSV file (default: grades.csv)")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("similarity", help="copy detection between submissions (instructor only)")
    p.add_argument("assignment")
    p.add_argument("--against", default=None, metavar="DIR",
                   help="also compare with every .py/.ipynb solution in DIR")
    p.add_argument("--threshold", type=float, default=None, metavar="T",
                   help=f"flag pairs from this score in [0, 1] (default: {THRESHOLD:g})")
    p.set_defaults(func=cmd_similarity)
    p = sub.add_parser("collect-zip", help="collect an LMS zip of submissions")
    p.add_argument("assignment")
    p.add_argument("zip", help="the zip downloaded from the LMS")
    p.add_argument("--regexp", default=None,
                   help="file-name regular expression with (?P<student_id>) and (?P<file_id>)")
    p.set_defaults(func=cmd_collect_zip)
    p = sub.add_parser("student-bundle",
                       help="what students install: notebook, usefuns wheel, pins, config")
    p.add_argument("assignment")
    p.add_argument("--out", required=True, help="a new or empty folder")
    p.set_defaults(func=cmd_student_bundle)
    return parser


def main(argv=None):
    """Run the command line ``argv``; return the exit status (2: usage error)."""
    parser = _parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:
            repeat = sorted(o for o in repeatable_options(parser)
                            if any(a.split("=")[0] == o for a in argv))
            hint = (f" (each value needs its own option: {repeat[0]} a {repeat[0]} b)"
                    if repeat else "")
            parser.error(f"unrecognized arguments: {' '.join(extra)}{hint}")
    except SystemExit as exit_:  # argparse printed the usage and the error
        return exit_.code
    try:
        # an explicit --root wins over $COURSEKIT_ROOT; nbgrader always runs in the course
        given = args.root and course.is_course_root(args.root)
        args.root = Path(args.root).resolve() if given else course.find_course_root(args.root)
        return args.func(args) or 0
    except (UsageError, FileNotFoundError, ValueError) as err:
        print(f"coursekit {args.command}: {err}", file=sys.stderr)
        return 2
    except commands.NbgraderError as err:
        print(f"coursekit {args.command}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
