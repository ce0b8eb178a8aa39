"""The instructor's whole job on the sample submissions, as ``coursekit demo`` runs it.

``run_pipeline`` takes a scratch copy of the course through every step of a real term:
release (``nbgrader generate_assignment``), hand out and collect through nbgrader's exchange
(``release_assignment``, each sample student's ``fetch_assignment`` and ``submit``,
``collect``), autograde in parallel, feedback without hidden tests, ``grades.csv`` from
``nbgrader export`` and the grade report; then it compares each sample's scores with its
``expected.json``. ``grade_samples`` is the short way (submissions written straight into
``submitted/``) that the test suite uses.

    coursekit demo                   # out/demo/: executed notebook, scratch course, a table
    coursekit demo --samples all     # every sample (slow on 2 cores)
"""
import json
import os
import shutil
from pathlib import Path

from coursekit.course import commands

from coursekit import course

from coursekit.term import exchange, samples

from coursekit.results import grades as grading

__all__ = ["ASSIGNMENT", "DEMO_SAMPLES", "RUN_OUTPUTS", "release", "autograde",
           "compare_with_expected", "grade_samples", "run_pipeline", "execute_notebook",
           "format_table", "fresh_folder"]

ASSIGNMENT = "two_layer_net"

# The demo's default subset: a blank notebook, a correct one, a bug that hidden tests diagnose
# and a poor checkpoint (partial model credit); ``--samples all`` grades every sample.
DEMO_SAMPLES = ("blank", "correct_compact", "max_shift_overwrites", "model_poor")

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
    commands.run_nbgrader(root, "generate_assignment", assignment_id, "--force")
    return Path(root) / "release" / assignment_id


def autograde(course_root, assignment_id, *, workers=None, force=True, progress=False,
              **settings):
    """:func:`coursekit.parallel.autograde_batch` (imported here: it pulls in Dask) with the
    course's sandbox settings and ``settings`` (``GradingSettings`` fields)."""
    from coursekit.course.course import Course
    from coursekit.engine.job import GradingSettings
    from coursekit.parallel import BatchOptions, autograde_batch

    course = Course(course_root)
    return autograde_batch(course, assignment_id,
                           BatchOptions(workers=workers, force=force, progress=progress),
                           GradingSettings(sandbox=course.sandbox_limits(), **settings))


def compare_with_expected(course_root, assignment_id, samples_dir, names, status=None):
    """Each sample's status, notes and group scores against its ``expected.json`` on this device.

    A sample expects ``"expected_status"`` (default ``"graded"``), a reason containing
    ``"expected_reason"`` and, for each string of ``"expected_notes"``, a note containing it
    (notes and reasons come from ``status``, as ``coursekit autograde`` recorded them), and of
    ``"expected_notes_with_cgroup"`` too where the submission had a cgroup; a
    sample expected to be graded must also get its ``scores`` (``scores_cuda`` on CUDA).

    Returns:
        dict sample -> {"groups", "expected", "messages", "ok", "status", "reason", "notes",
        "problems"}; ``ok`` says whether everything is as expected, ``problems`` lists what
        is not (one line each).
    """
    from usefuns.utils import get_device

    grades = grading.read_grades(course_root, assignment_id)
    device = get_device().type
    results = {}
    for name in names:
        expected = samples.load_expected(samples_dir, name)
        want = expected.get(f"scores_{device}", expected.get("scores"))
        got = grades.get(name, {}).get("groups")
        graded = Path(course_root) / "autograded" / name / assignment_id
        notebook = graded / f"{assignment_id}.ipynb"
        messages = grading.failure_messages(notebook) if notebook.exists() else {}
        entry = (status or {}).get(name, {})
        if not notebook.exists():
            got = None  # not graded: zeros left in the gradebook by a failed run don't count
        state = entry.get("status") or ("graded" if got is not None else "failed")
        reason, notes = entry.get("reason"), list(entry.get("notes") or [])
        want_state = expected.get("expected_status", "graded")
        problems = []
        if state != want_state:
            problems.append(f"status {state} ({reason}), expected {want_state}")
        if expected.get("expected_reason") and expected["expected_reason"] not in (reason or ""):
            problems.append(f"reason {reason!r} lacks {expected['expected_reason']!r}")
        bounded = not str(entry.get("limits") or "WARNING").startswith("WARNING")
        for phrase in [*expected.get("expected_notes", []),
                       *(expected.get("expected_notes_with_cgroup", []) if bounded else [])]:
            if not any(phrase in note for note in notes):
                problems.append(f"no note contains {phrase!r} (notes: {notes})")
        if want_state == "graded" and (got is None or want is None or got != want):
            problems.append(f"scores {got}, expected {want}")
        results[name] = {"groups": got, "expected": want, "messages": messages,
                         "ok": not problems, "status": state, "reason": reason,
                         "notes": notes, "problems": problems}
    return results


def grade_samples(root, work, assignment_id=ASSIGNMENT, names=None, workers=None):
    """Grade sample submissions with real nbgrader (in parallel) in a scratch copy of the course.

    Args:
        root: the course folder (the kit's top folder).
        work: an empty folder for the scratch course.
        names: sample names (default: all of ``assignments/<id>/samples/``).
        workers: parallel graders (default: one per core).

    Returns:
        dict sample -> {"groups": ..., "expected": ..., "messages": ..., "ok": bool, ...} where
        ``ok`` says whether the groups equal the sample's expected scores on this device.
    """
    scratch = course.copy_course(root, work)
    release(scratch, assignment_id)
    samples_dir = scratch / "assignments" / assignment_id / "samples"
    names = list(names or samples.list_samples(samples_dir))
    for name in names:
        samples.write_submission(scratch, assignment_id, samples_dir, name)
    status = autograde(scratch, assignment_id, workers=workers)
    return compare_with_expected(scratch, assignment_id, samples_dir, names, status)


def run_pipeline(root, work, names=DEMO_SAMPLES, assignment_id=ASSIGNMENT, workers=None,
                 say=lambda message: None):
    """Release, exchange, autograde, feedback, export and report in a scratch course.

    Args:
        root: the course to copy (its ``nbgrader_config.py``, ``source/``, ``assignments/``).
        work: an empty folder; gets ``course/`` (with the exchange in ``course/exchange``)
            and ``homes/<student>/`` (each sample student's folder).
        names: the samples; each becomes the student of that name.
        workers: parallel graders (default: one per core).
        say: called with a line of progress for each step.

    Returns:
        (results as :func:`compare_with_expected` gives them, the scratch course path).
    """
    work = Path(work)
    scratch = course.copy_course(root, work / "course")
    samples_dir = scratch / "assignments" / assignment_id / "samples"
    names = list(names)
    say(f"  release in the scratch course {scratch}")
    release(scratch, assignment_id)
    say(f"  exchange: release_assignment, fetch + submit by {len(names)} students, collect")
    exchange.hand_in_samples(scratch, assignment_id, samples_dir, names,
                             scratch / "exchange", work / "homes", jobs=workers)
    from coursekit.isolation import cgroup
    from coursekit.isolation.sandbox import check

    say(f"  autograde ({workers or 'one per core'} workers; {check()[1]}; {cgroup.check()[1]}; "
        f"verification out of the kernel)")
    status = autograde(scratch, assignment_id, workers=workers)
    say("  feedback (hidden tests removed), grades.csv, grade report")
    from coursekit.results import feedback, report  # here: they import nbgrader (~5 s of CPU)

    feedback.generate_feedback(scratch, assignment_id)
    report.export_grades(scratch, assignment_id, scratch / "grades.csv")
    report.write_report(scratch, assignment_id)
    return compare_with_expected(scratch, assignment_id, samples_dir, names, status), scratch


def execute_notebook(root, notebook, dest):
    """Run ``notebook`` in the folder of ``dest`` (its outputs land there), save it as ``dest``."""
    import nbformat
    from nbclient import NotebookClient

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(notebook, as_version=4)
    os.environ[course.ROOT_ENV] = str(root)  # the kernel's hidden checks find assignments/
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(dest.parent)}}).execute()
    nbformat.write(nb, dest)
    return dest


def format_table(results):
    """The samples' group scores and whether each is the expected one, as lines of text."""
    groups = sorted({g for r in results.values() for g in (r["groups"] or {})})
    lines = [f"{'sample':24}" + "".join(f"{g:>9}" for g in groups) + "   expected?"]
    for name, r in results.items():
        row = "".join(f"{(r['groups'] or {}).get(g, '-'):>9}" for g in groups)
        verdict = "yes" if r["ok"] else "NO, expected " + json.dumps(r["expected"])
        if r["groups"] is None:
            verdict = f"NOT GRADED ({r.get('reason') or 'no graded notebook'})"
        lines.append(f"{name:24}{row}   {verdict}")
    return lines


MARKER = ".coursekit-scratch"  # in every folder fresh_folder made: only those it empties


def fresh_folder(path, scratch_root=None):
    """Empty ``path`` (created if missing) and return it.

    Only a folder this function made (it holds :data:`MARKER`), an empty one, or one under
    ``scratch_root`` (the course's ``out/``) is emptied: a ``--work`` that names the course, a
    home folder or anything else with files in it is refused, never deleted.

    Raises:
        ValueError: ``path`` holds files that this function did not make.
    """
    path = Path(path).resolve()
    ours = (path / MARKER).is_file() or (
        scratch_root is not None and path.is_relative_to(Path(scratch_root).resolve())
        and path != Path(scratch_root).resolve())
    if path.exists() and any(path.iterdir()) and not ours:
        raise ValueError(f"{path} is not empty and was not made by coursekit: give a new or "
                         f"empty folder (it is emptied before every run)")
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    (path / MARKER).write_text("a scratch folder of coursekit: emptied before each run\n")
    return path
