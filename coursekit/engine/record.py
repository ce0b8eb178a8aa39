"""The record stage, on the master: one result into the gradebook, ``autograded/`` and the status.

The master is the only process that writes the course's gradebook (SQLite is unsafe with several
writers). For a graded submission (``graded`` or ``needs_review``) the decided scores go in
through ``nbgrader.api`` and the autograded files replace the old ones, as a serial
``nbgrader autograde --force`` would; a failed one keeps its earlier grades. Either way the
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


def record(course, assignment_id, result, fault=False):
    """Write ``result`` into the course (a :class:`~coursekit.course.course.Course`); a failure
    to do so makes the submission ``failed`` with the reason, never stops the batch
    (``fault``: fail on purpose, for fault-injection tests)."""
    try:
        if fault:
            from coursekit.engine.pipeline import FaultInjected

            raise FaultInjected("fault injected in the record stage")
        _merge(course, assignment_id, result)
    except Exception as err:  # noqa: BLE001 - recorded, the batch goes on
        result.status, result.reason = "failed", f"record: {type(err).__name__}: {err}"
    course.status(assignment_id).record(result.student, result.status_entry(),
                                        None if result.ok else result.log)
    return result
