"""The grade report of an assignment: who was graded, scores by skill, what fails most.

    coursekit report two_layer_net   # reports/two_layer_net/: report.json, .html, histogram.png

Every submission found under ``submitted/*/<assignment>/``, in the gradebook or in
``coursekit_status/<assignment>.json`` (written by ``coursekit autograde``) is listed with a
status: ``graded`` (the gradebook has its scores and ``autograded/`` its notebook), ``failed``
(autograde ran and could not grade it) or ``ungraded`` (never autograded), with the reason, and
the ``notes`` of ``coursekit.engine.preflight`` (what was wrong with the submission and repaired). The
statistics (pass rates, means, the histogram, the failing tests) cover graded submissions only.
Totals and group scores are read from the gradebook, so the report agrees with it and with
``nbgrader export``.
"""
import json
import time
from collections import Counter
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from coursekit.course import commands

from coursekit.results import grades as grading
from coursekit.results.reporthtml import histogram_png, render_html
from coursekit.similarity.section import add_to_report

__all__ = ["STATUS_DIR", "read_status", "gradebook_scores", "max_groups_of", "skill_stats",
           "failing_tests", "build_report", "write_report", "export_grades"]

STATUS_DIR = "coursekit_status"  # as coursekit.parallel writes it


def read_status(course_root, assignment_id):
    """``{student: {"status", "reason", ...}}`` recorded by ``coursekit autograde`` (or {})."""
    path = Path(course_root) / STATUS_DIR / f"{assignment_id}.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        return {}
    return {student: entry for student, entry in data.items() if isinstance(entry, dict)}


def gradebook_scores(course_root, assignment_id):
    """Per student, from the gradebook: total, per-group scores, per-test scores and maxima.

    Returns:
        dict student -> {"total", "max_total", "groups", "max_groups",
        "tests": {grade_id: (score, max_score)}} where ``tests`` holds the code test cells.
    """
    db_url = f"sqlite:///{Path(course_root).resolve() / 'gradebook.db'}"
    result = {}
    with Gradebook(db_url) as gb:
        for submission in gb.assignment_submissions(assignment_id):
            groups, max_groups, tests = Counter(), Counter(), {}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    group = grading.group_of(grade.name)
                    groups[group] += grade.score
                    max_groups[group] += grade.max_score
                    if grade.cell.cell_type == "code":
                        tests[grade.name] = (grade.score, grade.max_score)
            result[submission.student.id] = {
                "total": submission.score, "max_total": submission.max_score,
                "groups": {g: groups[g] for g in max_groups}, "max_groups": dict(max_groups),
                "tests": tests}
    return result


def max_groups_of(course_root, assignment_id):
    """{group: maximum score} of the assignment's test and written cells, from the gradebook."""
    db_url = f"sqlite:///{Path(course_root).resolve() / 'gradebook.db'}"
    max_groups = Counter()
    with Gradebook(db_url) as gb:
        for notebook in gb.find_assignment(assignment_id).notebooks:
            for cell in notebook.grade_cells:
                max_groups[grading.group_of(cell.name)] += cell.max_score
    return dict(max_groups)


def skill_stats(groups_by_student, max_groups):
    """Pass rate (share of students with full points) and mean score of each skill group.

    Args:
        groups_by_student: {student: {group: score}} of the graded submissions.
        max_groups: {group: maximum score}.

    Returns:
        {group: {"max": m, "pass_rate": fraction or None, "mean": mean or None}}; None when
        there is no graded submission.
    """
    n = len(groups_by_student)
    stats = {}
    for group, top in max_groups.items():
        scores = [groups.get(group, 0.0) for groups in groups_by_student.values()]
        stats[group] = {
            "max": top,
            "pass_rate": sum(score >= top for score in scores) / n if n else None,
            "mean": sum(scores) / n if n else None}
    return stats


def failing_tests(tests_by_student, messages_by_student):
    """The test cells that cost graded students points, most often failed first.

    Args:
        tests_by_student: {student: {grade_id: (score, max_score)}}.
        messages_by_student: {student: {grade_id: one-line message}} from the graded notebooks.

    Returns:
        list of {"grade_id", "group", "failed": n students, "of": n graded,
        "messages": [[message, count], ...] most common first}.
    """
    failed, messages = Counter(), {}
    for student, tests in tests_by_student.items():
        for grade_id, (score, top) in tests.items():
            if score < top:
                failed[grade_id] += 1
                message = messages_by_student.get(student, {}).get(grade_id) or (
                    f"no error; {score:g} of {top:g} points")
                messages.setdefault(grade_id, Counter())[message] += 1
    order = sorted(failed, key=lambda g: (-failed[g], g))
    return [{"grade_id": g, "group": grading.group_of(g), "failed": failed[g],
             "of": len(tests_by_student),
             "messages": [[m, c] for m, c in messages[g].most_common()]} for g in order]


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


def build_report(course_root, assignment_id):
    """The report as a JSON-ready dict (see the module docstring)."""
    root = Path(course_root)
    status = read_status(root, assignment_id)
    scores = gradebook_scores(root, assignment_id)
    found = {p.parent.name for p in root.glob(f"submitted/*/{assignment_id}") if p.is_dir()}
    students = sorted(found | set(status) | set(scores))
    max_groups = max_groups_of(root, assignment_id)
    submissions, graded, messages = [], {}, {}
    for student in students:
        entry, recorded = scores.get(student), status.get(student, {})
        notebooks = sorted((root / "autograded" / student / assignment_id).glob("*.ipynb"))
        if recorded.get("status") == "failed":
            state, reason = "failed", recorded.get("reason") or "autograde failed"
        elif entry is not None and notebooks:
            state, reason = "graded", None
        else:
            state = "failed" if entry is not None else "ungraded"
            reason = recorded.get("reason") or _why_not_graded(
                root / "submitted" / student / assignment_id, assignment_id, entry is not None)
        if state == "graded":
            graded[student] = entry
            messages[student] = {}
            for path in notebooks:
                messages[student].update(grading.failure_messages(path))
        submissions.append({
            "student": student, "status": state, "reason": reason,
            "total": entry["total"] if entry else None,
            "max_total": entry["max_total"] if entry else None,
            "groups": entry["groups"] if entry else None,
            "failed_tests": messages.get(student, {}),
            "notes": list(recorded.get("notes") or [])})
    totals = [entry["total"] for entry in graded.values()]
    return {
        "assignment": assignment_id,
        "generated": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "max_total": sum(max_groups.values()), "max_groups": max_groups,
        "counts": dict(Counter(s["status"] for s in submissions), submissions=len(submissions)),
        "mean_total": sum(totals) / len(totals) if totals else None,
        "submissions": submissions,
        "skills": skill_stats({s: e["groups"] for s, e in graded.items()}, max_groups),
        "failing_tests": failing_tests({s: e["tests"] for s, e in graded.items()}, messages),
        "histogram": "histogram.png"}


def write_report(course_root, assignment_id, out_dir=None):
    """Write ``report.json``, ``histogram.png`` and ``report.html``; return their paths.

    Args:
        out_dir: where to write (default ``<course>/reports/<assignment>/``).
    """
    out = Path(out_dir or Path(course_root) / "reports" / assignment_id)
    out.mkdir(parents=True, exist_ok=True)
    report = build_report(course_root, assignment_id)
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
