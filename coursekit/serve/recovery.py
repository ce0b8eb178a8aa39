"""After a kill: what became of the submissions a service left ``grading``.

The grader (``coursekit.parallel.autograde_batch``) records each verdict in the gradebook and
the status file before the service's own record can say so; a kill in between must not cost a
second grading. A submission is taken as graded when the gradebook holds it with its own
``timestamp.txt`` and the status file says graded (or needs review); as failed when the
student's status entry changed since grading began and says failed; otherwise it is queued
again (its grading never finished).
"""
import json
import logging
import time

__all__ = ["fingerprint", "gradebook_verdict", "recover"]

LOG = logging.getLogger("coursekit.serve")


def fingerprint(course, assignment_id, student):
    """The student's entry in the grader's status file, as a string: the grader rewrites it
    (seconds, worker...) whenever it records a verdict."""
    entry = course.status(assignment_id).read().get(student)
    return json.dumps(entry, sort_keys=True)


def gradebook_verdict(course, assignment_id, entry):
    """(verdict, score, max_score) if the gradebook and status file hold this very submission
    (same timestamp) as graded, else None."""
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.utils import parse_utc

    status = course.status(assignment_id).read().get(entry["student"]) or {}
    if status.get("status") not in ("graded", "needs_review"):
        return None
    with Gradebook(course.gradebook_url) as gb:
        try:
            sub = gb.find_submission(assignment_id, entry["student"])
        except MissingEntry:
            return None
        stamp = parse_utc(entry["timestamp"]).replace(tzinfo=None)
        if sub.timestamp is None or sub.timestamp.replace(tzinfo=None) != stamp:
            return None
        return status["status"], float(sub.score), float(sub.max_score)


def recover(course, assignment_id, record):
    """Entries a killed service left ``grading``: take the grader's verdict if it recorded one
    for this very submission (graded: the gradebook has its timestamp; failed: its status entry
    changed since), else queue them again (their grading never finished)."""
    for name, entry in record.with_status("grading").items():
        student = entry["student"]
        found = gradebook_verdict(course, assignment_id, entry)
        now = course.status(assignment_id).read().get(student) or {}
        changed = ("status_before" in entry
                   and fingerprint(course, assignment_id, student) != entry["status_before"])
        if found:
            verdict, score, max_score = found
            record.update(name, status="graded", verdict=verdict, score=score,
                          max_score=max_score, counted=True, graded_at=time.time())
            LOG.info("recovered %s %s: graded before the restart, score %g/%g",
                     student, name, score, max_score)
        elif changed and now.get("status") == "failed":
            reason = now.get("reason") or "failed"
            record.update(name, status="graded", verdict="failed", counted=False,
                          reason=reason, graded_at=time.time())
            LOG.info("recovered %s %s: failed before the restart: %s", student, name, reason)
        else:
            record.update(name, status="received")
            LOG.info("requeued %s %s: its grading was cut short", student, name)
