"""``coursekit``: the instructor's command line.

    coursekit release              regenerate release/ from source/ with nbgrader
    coursekit demo                 release, run the solved notebook, grade every sample
    coursekit grade-samples        grade the sample submissions in a scratch course
"""
import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from coursekit import course, grading, samples

ASSIGNMENT = "two_layer_net"


# Files a run of the solved notebook leaves beside it; released, they would hand students the
# instructor's results (nbgrader copies every non-notebook file of source/ into the release).
RUN_OUTPUTS = ("best_model.pt",)


def release(root, assignment_id=ASSIGNMENT):
    """Regenerate ``release/<assignment>/`` in the course at ``root``; return the folder.

    Raises:
        ValueError: ``source/<assignment>/`` holds a file that a run of the notebook wrote.
    """
    source = Path(root) / "source" / assignment_id
    stray = [name for name in RUN_OUTPUTS if (source / name).exists()]
    if stray:
        raise ValueError(f"{source} holds {', '.join(stray)}, written by running the solved "
                         f"notebook there; nbgrader would copy it to every student. Delete it "
                         f"(or move it elsewhere) and release again.")
    grading.run_nbgrader(root, "generate_assignment", assignment_id, "--force")
    return Path(root) / "release" / assignment_id


def grade_samples(root, work, assignment_id=ASSIGNMENT, names=None):
    """Grade sample submissions with real nbgrader in a scratch copy of the course.

    Args:
        root: the course folder (the kit's top folder).
        work: an empty folder for the scratch course.
        names: sample names (default: all of ``assignments/<id>/samples/``).

    Returns:
        dict sample -> {"groups": ..., "expected": ..., "messages": ..., "ok": bool} where
        ``ok`` says whether the groups equal the sample's expected scores on this device.
    """
    from usefuns.utils import get_device

    scratch = course.copy_course(root, work)
    release(scratch, assignment_id)
    samples_dir = scratch / "assignments" / assignment_id / "samples"
    names = names or samples.list_samples(samples_dir)
    for name in names:
        samples.write_submission(scratch, assignment_id, samples_dir, name)
    grading.run_nbgrader(scratch, "autograde", assignment_id, "--force")
    grades = grading.read_grades(scratch, assignment_id)
    device = get_device().type
    results = {}
    for name in names:
        expected = samples.load_expected(samples_dir, name)
        want = expected.get(f"scores_{device}", expected.get("scores"))
        got = grades.get(name, {}).get("groups")
        notebook = scratch / "autograded" / name / assignment_id / f"{assignment_id}.ipynb"
        messages = grading.failure_messages(notebook) if notebook.exists() else {}
        results[name] = {"groups": got, "expected": want, "messages": messages,
                         "ok": got is not None and want is not None and got == want}
    return results


def _print_table(results):
    groups = sorted({g for r in results.values() for g in (r["groups"] or {})})
    print(f"{'sample':24}" + "".join(f"{g:>9}" for g in groups) + "   expected?")
    for name, r in results.items():
        row = "".join(f"{(r['groups'] or {}).get(g, '-'):>9}" for g in groups)
        print(f"{name:24}{row}   {'yes' if r['ok'] else 'NO, expected ' + str(r['expected'])}")


def cmd_release(args):
    folder = release(args.root)
    print(f"release regenerated: {folder}")


def cmd_grade_samples(args):
    work = Path(args.work).resolve()
    if work.exists():
        shutil.rmtree(work)
    results = grade_samples(args.root, work, names=args.sample or None)
    _print_table(results)
    (work / "sample_grades.json").write_text(json.dumps(results, indent=2))
    return 0 if all(r["ok"] for r in results.values()) else 1


def cmd_demo(args):
    root = Path(args.root).resolve()
    out = root / "out" / "demo"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    start = time.perf_counter()
    print(f"1/3 regenerating {release(root)} from source/")
    executed = out / "run" / f"{ASSIGNMENT}.ipynb"
    print(f"2/3 running the solved notebook on the embedded digits data -> {executed}")
    _execute(root, root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", executed)
    print("3/3 autograding every sample submission with nbgrader")
    results = grade_samples(root, out / "course")
    _print_table(results)
    (out / "sample_grades.json").write_text(json.dumps(results, indent=2))
    print(f"done in {time.perf_counter() - start:.0f} s; results in {out}")
    return 0 if all(r["ok"] for r in results.values()) else 1


def _execute(root, notebook, dest):
    """Run ``notebook`` in the folder of ``dest`` (its outputs land there), save it as ``dest``."""
    import os

    import nbformat
    from nbclient import NotebookClient

    dest.parent.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(notebook, as_version=4)
    os.environ[course.ROOT_ENV] = str(root)  # the kernel's hidden checks find assignments/
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(dest.parent)}}).execute()
    nbformat.write(nb, dest)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="coursekit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=None,
                        help="the course folder (default: found from the current folder)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("release", help="regenerate release/ from source/").set_defaults(
        func=cmd_release)
    sub.add_parser("demo", help="release, run the solved notebook, grade the samples"
                   ).set_defaults(func=cmd_demo)
    p = sub.add_parser("grade-samples", help="grade the sample submissions")
    p.add_argument("--work", default="out/samples", help="scratch course folder (emptied)")
    p.add_argument("--sample", action="append", help="only this sample (repeatable)")
    p.set_defaults(func=cmd_grade_samples)
    args = parser.parse_args(argv)
    try:
        args.root = course.find_course_root(args.root)
        return args.func(args) or 0
    except (FileNotFoundError, ValueError, grading.NbgraderError) as err:
        print(f"coursekit: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
