"""Grade samples with plain ``nbgrader autograde`` after coursekit's preflight, one at a time.

No Dask, no sandbox, no verification: the hidden checks run in the kernel, as for a course that
uses nbgrader's own command with this kit's ``nbgrader_config.py``. The tests use it for spot
checks; run it by hand to grade any samples that way:

    .venv/bin/python tests/plain_nbgrader.py editor_vscode correct_tqdm --work /tmp/plain
"""
import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "two_layer_net"


def grade_plain(root, work, names, assignment_id=ASSIGNMENT):
    """Write each sample into ``submitted/`` of a scratch course at ``work``, run
    ``prepare_course`` and ``nbgrader autograde --student NAME`` on it, and compare with its
    ``expected.json`` (:func:`coursekit.term.demo.compare_with_expected`)."""
    from coursekit import course
    from coursekit.course.commands import run_nbgrader
    from coursekit.engine.preflight import prepare_course
    from coursekit.term import demo, samples

    scratch = course.copy_course(root, work)
    demo.release(scratch, assignment_id)
    samples_dir = scratch / "assignments" / assignment_id / "samples"
    status = {}
    for name in names:
        samples.write_submission(scratch, assignment_id, samples_dir, name)
        check = prepare_course(scratch, assignment_id, name)
        status[name] = {"status": "graded" if check["gradable"] else "failed",
                        "reason": check["reason"], "notes": check["notes"]}
        if check["gradable"]:
            run_nbgrader(scratch, "autograde", assignment_id, "--student", name, "--force")
    return demo.compare_with_expected(scratch, assignment_id, samples_dir, names, status)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+", help="sample names")
    parser.add_argument("--work", default="out/plain", help="scratch course folder (emptied)")
    args = parser.parse_args(argv)
    from coursekit.term.demo import fresh_folder

    work = fresh_folder(Path(args.work).resolve(), scratch_root=ROOT / "out")
    results = grade_plain(ROOT, work, args.names)
    for name, result in results.items():
        print(f"{name:28} {'ok' if result['ok'] else 'OFF'}  {json.dumps(result['groups'])}")
        for line in result["problems"] + [f"note: {n}" for n in result["notes"]]:
            print(f"    {line}")
    return 0 if all(r["ok"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
