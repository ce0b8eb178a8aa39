"""The grade report of an assignment: who was graded, scores by skill, what fails most.

    coursekit report two_layer_net   # reports/two_layer_net/: report.json, .html, histogram.png

Every submission found under ``submitted/*/<assignment>/``, in the gradebook or in
``coursekit_status/<assignment>.json`` (written by ``coursekit autograde``) is listed with a
status: ``graded`` (the gradebook has its scores and ``autograded/`` its notebook), ``failed``
(autograde ran and could not grade it), ``needs_review`` (points withheld until an instructor
reviews it), ``ungraded`` (never autograded) or any other status autograde recorded, with the
reason, and the ``notes`` of ``coursekit.engine.preflight`` (what was wrong with the submission
and repaired). Submissions that need the instructor (failed, needs_review, anything but graded)
come first. Each row links to the student's feedback page when ``coursekit feedback`` wrote one
(a page it could not write is a note). The statistics (pass rates, means, the histogram, the
failing tests, partial credit) cover graded submissions only; a test cell that gave some of its
points is partial credit, not a failure. Totals and group scores are read from the gradebook,
so the report agrees with it and with ``nbgrader export``. ``served`` lists every submission
``coursekit serve`` took from the exchange (``coursekit.serve.status.read_served``).
"""
import json
import os
import time
from collections import Counter
from pathlib import Path

import nbformat

from coursekit.course import commands

from coursekit.results import grades as grading
from coursekit.results.feedback import read_feedback_status
from coursekit.results.grades import gradebook_scores, max_groups_of
from coursekit.results.stats import failing_tests, partial_credit, skill_stats
from coursekit.results.reporthtml import histogram_png, render_html
from coursekit.serve.status import read_served
from coursekit.similarity.section import add_to_report

__all__ = ["STATUS_DIR", "STATUS_ORDER", "read_status", "gradebook_scores", "max_groups_of",
           "skill_stats", "failing_tests", "partial_credit", "build_report", "write_report",
           "export_grades"]

STATUS_DIR = "coursekit_status"  # as coursekit.parallel writes it
# The order of the submissions table: what needs the instructor first; an unknown status
# (from a newer autograde) comes right after needs_review.
STATUS_ORDER = {"failed": 0, "needs_review": 1, "ungraded": 2, "graded": 3}


def read_status(course_root, assignment_id):
    """``{student: {"status", "reason", ...}}`` recorded by ``coursekit autograde`` (or {})."""
    path = Path(course_root) / STATUS_DIR / f"{assignment_id}.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        return {}
    return {student: entry for student, entry in data.items() if isinstance(entry, dict)}


def _why_not_graded(folder, assignment_id, in_gradebook):
    """A sentence on why a submission has no graded notebook, from its files."""
    notebooks = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    if folder.is_dir() and not notebooks:
        return "the submission holds no notebook"
    for path in notebooks:
        try:
            nbformat.read(path, as_version=4)
        except Exception as err:  # nbformat raises several unrelated types
            first = (str(err).strip().splitlines() or [""])[0]
            return f"{path.name} is not a readable notebook: {type(err).__name__}: {first}"
    if in_gradebook:
        return "autograde left no graded notebook (see nbgrader's log)"
    return f"never autograded: run `coursekit autograde {assignment_id}`"


def _state(recorded, entry, notebooks):
    """(status, reason or None) of a submission from autograde's record and the gradebook."""
    status = recorded.get("status")
    if status and status not in ("graded", "skipped"):
        return status, recorded.get("reason") or f"autograde recorded {status}"
    if entry is not None and notebooks:
        return "graded", None
    return ("failed" if entry is not None else "ungraded"), recorded.get("reason")


def _feedback_link(root, student, assignment_id, out_dir, written):
    """The student's feedback page relative to ``out_dir`` (None when there is none)."""
    if written.get("status") == "failed":
        return None
    pages = [root / f for f in (written.get("files") or [])] or sorted(
        (root / "feedback" / student / assignment_id).glob("*.html"))
    pages = [p for p in pages if p.is_file()]
    return os.path.relpath(pages[0], out_dir).replace(os.sep, "/") if pages else None


def build_report(course_root, assignment_id, out_dir=None):
    """The report as a JSON-ready dict (see the module docstring).

    Args:
        out_dir: where the report is written; feedback links are relative to it (default
            ``<course>/reports/<assignment>/``).
    """
    root = Path(course_root)
    out_dir = Path(out_dir or root / "reports" / assignment_id)
    status, feedback = read_status(root, assignment_id), read_feedback_status(root, assignment_id)
    scores = gradebook_scores(root, assignment_id)
    found = {p.parent.name for p in root.glob(f"submitted/*/{assignment_id}") if p.is_dir()}
    students = sorted(found | set(status) | set(scores))
    max_groups = max_groups_of(root, assignment_id)
    submissions, graded, messages = [], {}, {}
    for student in students:
        entry, recorded = scores.get(student), status.get(student, {})
        notebooks = sorted((root / "autograded" / student / assignment_id).glob("*.ipynb"))
        state, reason = _state(recorded, entry, notebooks)
        if state in ("failed", "ungraded") and not reason:
            reason = _why_not_graded(root / "submitted" / student / assignment_id,
                                     assignment_id, entry is not None)
        notes = list(recorded.get("notes") or [])
        if state == "graded":
            graded[student] = entry
            messages[student] = {}
            for path in notebooks:
                try:
                    messages[student].update(grading.failure_messages(path))
                except Exception as err:  # nbformat raises several unrelated types
                    first = (str(err).strip().splitlines() or [""])[0][:200]
                    notes.append(f"graded notebook {path.name} unreadable: {first}")
        written = feedback.get(student, {})
        if written.get("status") == "failed":
            notes.append(f"feedback page not written: {written.get('reason')}")
        submissions.append({
            "student": student, "status": state, "reason": reason,
            "total": entry["total"] if entry else None,
            "max_total": entry["max_total"] if entry else None,
            "groups": entry["groups"] if entry else None,
            "failed_tests": messages.get(student, {}),
            "feedback": _feedback_link(root, student, assignment_id, out_dir, written),
            "notes": notes})
    submissions.sort(key=lambda s: (STATUS_ORDER.get(s["status"], 1.5), s["student"]))
    totals = [entry["total"] for entry in graded.values()]
    tests = {s: e["tests"] for s, e in graded.items()}
    return {
        "assignment": assignment_id,
        "generated": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "max_total": sum(max_groups.values()), "max_groups": max_groups,
        "counts": dict(Counter(s["status"] for s in submissions), submissions=len(submissions)),
        "mean_total": sum(totals) / len(totals) if totals else None,
        "submissions": submissions,
        "skills": skill_stats({s: e["groups"] for s, e in graded.items()}, max_groups),
        "failing_tests": failing_tests(tests, messages),
        "partial_credit": partial_credit(tests),
        "served": read_served(root, assignment_id),  # coursekit serve's submissions
        "histogram": "histogram.png"}


def write_report(course_root, assignment_id, out_dir=None):
    """Write ``report.json``, ``histogram.png`` and ``report.html``; return their paths.

    Args:
        out_dir: where to write (default ``<course>/reports/<assignment>/``).
    """
    out = Path(out_dir or Path(course_root) / "reports" / assignment_id).resolve()
    out.mkdir(parents=True, exist_ok=True)
    report = build_report(Path(course_root).resolve(), assignment_id, out)
    totals = [s["total"] for s in report["submissions"] if s["status"] == "graded"]
    png = histogram_png(totals, report["max_total"], title=assignment_id)
    paths = {"json": out / "report.json", "html": out / "report.html",
             "histogram": out / "histogram.png"}
    paths["json"].write_text(json.dumps(report, indent=2) + "\n")
    paths["histogram"].write_bytes(png)
    paths["html"].write_text(add_to_report(render_html(report, png), out))  # + similarity.json
    return paths


def export_grades(course_root, assignment_id, dest):
    """``nbgrader export`` of the assignment's grades to the CSV file ``dest``; return it."""
    dest = Path(dest).resolve()
    dest.parent.mkdir(parents=True, exist_ok=True)
    commands.run_nbgrader(course_root, "export", f"--to={dest}",
                         f"--ExportPlugin.assignment=['{assignment_id}']")
    return dest
