"""``coursekit``: the instructor's command line (run it in the course folder, or pass --root).

    coursekit release                       regenerate release/ from source/ with nbgrader
    coursekit demo [--samples all]          the whole job on the sample submissions (out/demo/)
    coursekit grade-samples                 grade the sample submissions in a scratch course
    coursekit autograde two_layer_net       autograde submitted/ in parallel (Dask)
    coursekit feedback two_layer_net        feedback HTML for students, hidden tests removed
    coursekit report two_layer_net          reports/two_layer_net/{report.json,report.html,...}
    coursekit export two_layer_net          grades.csv (nbgrader export)
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

from coursekit.term import demo
from coursekit.term.demo import ASSIGNMENT, grade_samples, release

__all__ = ["main", "release", "grade_samples", "ASSIGNMENT"]


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
    from coursekit.isolation import sandbox

    overrides = {key: getattr(args, key) for key in ("memory", "cpu_seconds", "file_size",
                                                      "scratch_size", "processes", "open_files")}
    overrides["enabled"] = False if args.no_sandbox else (True if args.require_sandbox else None)
    overrides["verify"] = False if args.no_verify else None
    try:
        settings = sandbox.limits_from_config(args.root / "nbgrader_config.py", overrides)
    except ValueError as err:
        raise UsageError(str(err)) from None
    _, message = sandbox.check()
    if settings["enabled"] is not False:
        print(message, file=sys.stderr)  # loud when bwrap is missing
    status = demo.autograde(args.root, assignment, workers=args.workers,
                            scheduler=args.scheduler, students=args.student, force=args.force,
                            progress=not args.quiet, timeout=args.timeout, sandbox=overrides,
                            warm=not args.cold_kernels)
    counts = {k: sum(e["status"] == k for e in status.values())
              for k in ("graded", "failed", "skipped")}
    print(f"{assignment}: {counts['graded']} graded, {counts['failed']} failed, "
          f"{counts['skipped']} skipped (already graded; --force regrades)")
    for student, entry in sorted(status.items()):
        if entry["status"] == "failed":
            print(f"  FAILED {student}: {entry['reason']}")
    path = args.root / "coursekit_status" / f"{assignment}.json"
    print(f"status of every submission: {path}")
    return 0  # a failed submission is recorded, not fatal


def cmd_feedback(args):
    from coursekit.results import feedback

    assignment = _assignment(args.root, args.assignment)
    written = feedback.generate_feedback(args.root, assignment, students=args.student)
    for student, files in written.items():
        print(f"{student}: {', '.join(str(f.relative_to(args.root)) for f in files) or 'none'}")
    print(f"feedback for {len(written)} submissions (hidden tests removed)")


def cmd_report(args):
    from coursekit.results import report

    assignment = _assignment(args.root, args.assignment)
    paths = report.write_report(args.root, assignment, args.out)
    data = json.loads(paths["json"].read_text())
    counts = data["counts"]
    print(f"{counts['submissions']} submissions: " + ", ".join(
        f"{counts.get(k, 0)} {k}" for k in ("graded", "failed", "ungraded")))
    for entry in data["submissions"]:
        total = "-" if entry["total"] is None else f"{entry['total']:g}"
        print(f"  {entry['student']:24} {entry['status']:9} {total:>6}  {entry['reason'] or ''}")
    for key, path in paths.items():
        print(f"{key}: {path}")


def cmd_export(args):
    from coursekit.results import report

    assignment = _assignment(args.root, args.assignment)
    print(f"grades: {report.export_grades(args.root, assignment, args.to)}")


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
    p.add_argument("--student", nargs="+", default=None, metavar="ID",
                   help="only these students")
    p.add_argument("--force", action="store_true", help="regrade graded submissions too")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds allowed per submission (default: no limit)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    limits = p.add_argument_group(
        "sandbox and limits per submission (defaults: c.Sandbox.* in nbgrader_config.py, "
        "then coursekit.isolation.sandbox.DEFAULTS; per-cell timeout: c.Execute.timeout)")
    limits.add_argument("--memory", metavar="SIZE", help="data memory per process, e.g. 4G")
    limits.add_argument("--cpu-seconds", type=int, metavar="S", help="CPU seconds per process")
    limits.add_argument("--file-size", metavar="SIZE", help="largest file a kernel may write")
    limits.add_argument("--scratch-size", metavar="SIZE", help="the kernel's private tmpfs")
    limits.add_argument("--processes", type=int, metavar="N",
                        help="processes and threads of a kernel")
    limits.add_argument("--open-files", type=int, metavar="N", help="open files of a kernel")
    limits.add_argument("--no-sandbox", action="store_true",
                        help="run kernels without bwrap (resource limits only)")
    limits.add_argument("--require-sandbox", action="store_true",
                        help="fail instead of grading where bwrap does not work")
    limits.add_argument("--no-verify", action="store_true",
                        help="skip the out-of-kernel verification (docs/security.md)")
    p.add_argument("--cold-kernels", action="store_true",
                   help="start every kernel from scratch (default: kernels outside bwrap are "
                        "forked from a process that imported torch; coursekit/isolation/warm_kernel.py)")
    p.set_defaults(func=cmd_autograde)
    p = sub.add_parser("feedback", help="feedback HTML without hidden tests")
    p.add_argument("assignment")
    p.add_argument("--student", nargs="+", default=None, metavar="ID")
    p.set_defaults(func=cmd_feedback)
    p = sub.add_parser("report", help="grade report: JSON, HTML, histogram")
    p.add_argument("assignment")
    p.add_argument("--out", default=None, help="folder (default: reports/<assignment>/)")
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("export", help="grades.csv with nbgrader export")
    p.add_argument("assignment")
    p.add_argument("--to", default="grades.csv", help="CSV file (default: grades.csv)")
    p.set_defaults(func=cmd_export)
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
    try:
        args = parser.parse_args(argv)
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
