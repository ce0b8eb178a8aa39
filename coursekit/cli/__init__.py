"""``coursekit``: the instructor's command line (run it in the course folder, or pass --root).

    coursekit release                       regenerate release/ from source/ with nbgrader
    coursekit demo [--samples all]          the whole job on the sample submissions (out/demo/)
    coursekit grade-samples                 grade the sample submissions in a scratch course
    coursekit autograde two_layer_net       autograde submitted/ in parallel (Dask)
    coursekit serve two_layer_net [--once]  grade on submit: exchange -> grade -> feedback
    coursekit collect two_layer_net         the final collect: nbgrader's, links not followed
    coursekit review two_layer_net          cells the grader withheld: show, accept or reject
    coursekit feedback two_layer_net        feedback HTML for students, hidden tests removed
    coursekit report two_layer_net          reports/two_layer_net/{report.json,report.html,...}
    coursekit export two_layer_net          grades.csv (nbgrader export)
    coursekit similarity two_layer_net      copy detection: reports/two_layer_net/similarity.json
    coursekit collect-zip two_layer_net F   LMS zip -> submitted/ (nbgrader zip_collect)
    coursekit student-bundle two_layer_net --out DIR   what students install, no solutions

Exit status: 0 done, 1 a step failed or a sample is off its expected scores, 2 usage error
(also a setting that cannot work, or a gradebook database that cannot be opened).
"""
import argparse
import re
import sys
import textwrap
from pathlib import Path

from coursekit import course
from coursekit.cli.actions import (SANDBOX_OPTIONS, UsageError, cmd_autograde, cmd_collect,
                                   cmd_collect_zip, cmd_demo, cmd_export, cmd_feedback,
                                   cmd_grade_samples,
                                   cmd_release, cmd_report, cmd_review, cmd_serve,
                                   cmd_similarity, cmd_student_bundle)
from coursekit.course import commands
from coursekit.course.gradebook import GradebookUnavailable
from coursekit.engine.job import SUBMISSION_SECONDS
from coursekit.serve.state import ServiceRunning
from coursekit.similarity import THRESHOLD
from coursekit.term import demo
from coursekit.term.demo import ASSIGNMENT, grade_samples, release

__all__ = ["main", "release", "grade_samples", "ASSIGNMENT", "repeatable_options", "UsageError"]


# Options that may be given more than once take one value each and are repeated, as argparse's
# action="append" (and nbgrader's own --student) does: --student a --student b. A value after
# the first (--student a b) is refused with that hint: with nargs="+" it would swallow the
# assignment that follows it, and a repeated option would silently replace the first.


NBGRADER_SETTING = re.compile(r"^--[A-Za-z_]\w*\.\w+=")  # --Exchange.root=DIR, nbgrader's way

# The commands that open the course's gradebook (c.CourseDirectory.db_url): main() opens it
# once first, so that a missing database or a server that does not answer is one clear error
# (coursekit.course.gradebook.check), not nbgrader's "run nbgrader db upgrade" hint.
GRADEBOOK_COMMANDS = ("release", "autograde", "serve", "collect", "review", "feedback", "report",
                      "export")


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


def _serve_settings_help():
    """The ``c.Serve`` settings with their defaults, help and ranges, for ``serve --help``
    (from the traits of ``coursekit.serve.settings.Serve``, the one place they are written)."""
    from coursekit.serve.settings import Serve, takes

    lines = ["settings of the service (c.Serve.NAME = VALUE in nbgrader_config.py, or",
             "--Serve.NAME=VALUE on this command line; defaults shown; docs/settings.md):"]
    for name, trait in sorted(Serve.class_traits(config=True).items()):
        lines.append(f"  c.Serve.{name} = {trait.default_value!r}")
        lines += textwrap.wrap(f"{trait.help}; takes {takes(name)}", 88,
                               initial_indent="      ", subsequent_indent="      ")
    return "\n".join(lines)


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
    p.add_argument("--work", default=None, metavar="DIR",
                   help="scratch course folder, emptied before the run: a new or empty folder, "
                        "or one coursekit made (default: out/samples/ of the course)")
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
    p.add_argument("--timeout", type=float, default=SUBMISSION_SECONDS, metavar="S",
                   help=f"wall-clock seconds per submission, its notebook run and the grader's "
                        f"checks together (default {SUBMISSION_SECONDS:g}; 0: no limit)")
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
                   help="start every kernel and verification process from scratch "
                        "(default: forks of a process that imported torch; as root, sandboxed "
                        "ones confine themselves as bwrap would, coursekit/isolation/"
                        "warm_sandbox.py; c.Sandbox.warm_start = False keeps bwrap's cold start)")
    p.set_defaults(func=cmd_autograde)
    p = sub.add_parser("serve", help="grade on submit: watch the exchange, grade, release feedback",
                       usage="coursekit serve ASSIGNMENT [--workers N | --scheduler ADDRESS] "
                             "[--once] [--status] [--Section.name=value ...]",
                       description=textwrap.fill(
                           "Watch nbgrader's exchange (inbound) for new submissions of "
                           "ASSIGNMENT, grade each with the hardened engine on Dask and release "
                           "its feedback. Settings: c.Serve.* (below) and nbgrader's in "
                           "nbgrader_config.py; any of them on the command line nbgrader's way: "
                           "--Exchange.root=DIR, --CourseDirectory.course_id=ID, "
                           "--Serve.graded_tries=3.", 92),
                       epilog=_serve_settings_help(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("assignment")
    p.add_argument("--workers", type=int, default=None, help="local Dask workers (default: cores)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="an existing Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--once", action="store_true",
                   help="handle what is waiting, then exit (cron, tests)")
    p.add_argument("--status", action="store_true",
                   help="print the last status JSON of the service (queue length, counts, "
                        "median submit-to-feedback seconds, pid) and whether one runs now "
                        "(running, running_pid: probed on its lock); start nothing")
    p.set_defaults(func=cmd_serve, nbgrader_settings=[])
    p = sub.add_parser("collect", help="nbgrader collect --update, safe: links not followed",
                       usage="coursekit collect ASSIGNMENT [--before-duedate] "
                             "[--Section.name=value ...]",
                       description=textwrap.fill(
                           "The final collect from nbgrader's exchange into submitted/: each "
                           "student's newest submission (nbgrader collect --update), choosing "
                           "only folders their own account sent (c.ExchangeCollect.check_owner) "
                           "whose timestamp agrees with when they last changed, copied without "
                           "following any link (nbgrader's collect follows them; README, "
                           "coursekit/serve/safecopy.py). Settings nbgrader's way: "
                           "--Exchange.root=DIR.", 92))
    p.add_argument("assignment")
    p.add_argument("--before-duedate", action="store_true",
                   help="each student's newest submission before the gradebook's due date "
                        "(else their newest), as nbgrader collect --before-duedate")
    p.set_defaults(func=cmd_collect, nbgrader_settings=[])
    p = sub.add_parser("review", help="show or settle the cells withheld for review")
    p.add_argument("assignment")
    p.add_argument("--student", default=None, metavar="ID", help="one submission")
    p.add_argument("--cell", action="append", default=None, metavar="GRADE_ID",
                   help="only this withheld cell (repeatable; default: all of them)")
    settle = p.add_mutually_exclusive_group()
    settle.add_argument("--accept", action="store_true",
                        help="with --student: give its withheld visible cells the kernel's "
                             "score (a hidden cell never ran in the kernel: regrade it)")
    settle.add_argument("--reject", action="store_true",
                        help="with --student: keep its withheld cells at zero")
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
        if args.command in ("serve", "collect"):  # nbgrader's settings: --Exchange.root=DIR
            args.nbgrader_settings = [a for a in extra if NBGRADER_SETTING.match(a)]
            extra = [a for a in extra if not NBGRADER_SETTING.match(a)]
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
        if args.command in GRADEBOOK_COMMANDS and not getattr(args, "status", False):
            from coursekit.course.course import Course
            from coursekit.course.gradebook import check

            check(Course(args.root).gradebook_url)
        return args.func(args) or 0
    except (UsageError, FileNotFoundError, ValueError, GradebookUnavailable) as err:
        print(f"coursekit {args.command}: {err}", file=sys.stderr)
        return 2
    except (commands.NbgraderError, ServiceRunning) as err:
        print(f"coursekit {args.command}: {err}", file=sys.stderr)
        return 1
