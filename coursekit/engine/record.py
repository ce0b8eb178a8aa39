"""The record stage, on the master: one result into the gradebook, ``autograded/`` and the status.

The master is the only process that writes the course's gradebook (SQLite is unsafe with several
writers). For a graded submission (``graded`` or ``needs_review``) the decided scores go in
through ``nbgrader.api`` and the autograded files replace the old ones, as a serial
``nbgrader autograde --force`` would. A failed one keeps its earlier grades only when they are
of the very submission now in ``submitted/`` (same ``timestamp.txt``: a worker lost on a
regrade); grades, ``autograded/`` and ``feedback/`` of an older submission are removed (fail
closed: ``coursekit feedback``, ``nbgrader release_feedback`` and ``nbgrader export`` would
otherwise give the student the older submission's grade as if it were this one's). Either way the
status file gets the submission's entry (and the log of a failed run).
"""
import json
import shutil
import warnings

__all__ = ["record"]


def _merge(course, assignment_id, result):
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    student = result.student
    dest = course.autograded(student, assignment_id)
    if result.in_gradebook:
        shutil.rmtree(dest, ignore_errors=True)  # nbgrader ran: the old copy goes
    with Gradebook(course.gradebook_url) as gb, warnings.catch_warnings():
        # nbgrader's own add_submission makes SQLAlchemy warn about autoflush; harmless
        warnings.simplefilter("ignore", category=SAWarning)
        if result.in_gradebook:
            gb.update_or_create_student(student)
            extra = {"timestamp": result.timestamp} if result.timestamp else {}
            gb.update_or_create_submission(assignment_id, student, **extra)
        if not result.ok:
            return
        for nb_name, nb in result.notebooks.items():
            submitted = gb.find_submission_notebook(nb_name, assignment_id, student)
            submitted.late_submission_penalty = nb["late_submission_penalty"]
            for grade_id, value in nb["grades"].items():
                grade = gb.find_grade(grade_id, nb_name, assignment_id, student)
                grade.auto_score = value["auto_score"]
                grade.needs_manual_grade = value["needs_manual_grade"]
            for comment_id, value in nb["comments"].items():
                gb.find_comment(comment_id, nb_name, assignment_id,
                                student).auto_comment = value["auto_comment"]
        gb.db.commit()
    # tracebacks name the task's temporary course; name the real one, as serial nbgrader does
    here, there = (json.dumps(str(p))[1:-1].encode() for p in (result.course, course.root))
    for rel, (mode, data) in result.files.items():
        if rel.endswith(".ipynb") and result.course:
            data = data.replace(here, there)
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(mode)


def _drop_stale(course, assignment_id, student):
    """After a failed grading: remove what an older submission of ``student`` left (gradebook
    submission, ``autograded/``, ``feedback/``) unless it is of the submission now submitted.

    Returns:
        True when something was removed.
    """
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.utils import parse_utc

    try:
        stamp = parse_utc((course.submitted(student, assignment_id) / "timestamp.txt")
                          .read_text().strip()).replace(tzinfo=None)
    except (OSError, ValueError, OverflowError, TypeError):
        stamp = None  # no timestamp: nothing says the grades are of this submission
    from coursekit.course import gradebook

    graded = "none"
    if gradebook.exists(course.gradebook_url):
        with Gradebook(course.gradebook_url) as gb:
            try:
                graded = gb.find_submission(assignment_id, student).timestamp
            except MissingEntry:
                pass
            if graded not in ("none", None) and stamp is not None \
                    and graded.replace(tzinfo=None) == stamp:
                return False  # the same submission: its earlier grades stand
            if graded != "none":
                gb.remove_submission(assignment_id, student)
    removed = graded != "none"
    for folder in (course.autograded(student, assignment_id),
                   course.root / "feedback" / student / assignment_id):
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
            removed = True
    return removed


def _note_stale(course, assignment_id, result):
    """:func:`_drop_stale` for a failed ``result``, said in its notes; never raises."""
    try:
        if _drop_stale(course, assignment_id, result.student):
            result.notes.append("the grades and feedback of an older submission were removed: "
                                "they are not of this one")
    except Exception as err:  # noqa: BLE001 - said in the entry; the batch goes on
        result.notes.append(f"could not remove an older submission's grades: {err}")


def record(course, assignment_id, result, fault=False):
    """Write ``result`` into the course (a :class:`~coursekit.course.course.Course`); a failure
    to do so makes the submission ``failed`` with the reason, never stops the batch
    (``fault``: fail on purpose, for fault-injection tests)."""
    try:
        if fault:
            from coursekit.engine.pipeline import FaultInjected

            raise FaultInjected("fault injected in the record stage")
        if not result.ok:  # before nbgrader's rows get this submission's timestamp
            _note_stale(course, assignment_id, result)
        _merge(course, assignment_id, result)
    except Exception as err:  # noqa: BLE001 - recorded, the batch goes on
        result.status, result.reason = "failed", f"record: {type(err).__name__}: {err}"
        _note_stale(course, assignment_id, result)
    course.status(assignment_id).record(result.student, result.status_entry(),
                                        None if result.ok else result.log)
    return result
