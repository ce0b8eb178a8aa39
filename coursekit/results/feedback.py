"""Feedback pages for every graded submission: ``coursekit feedback ASSIGNMENT``.

Runs ``nbgrader generate_feedback`` once for all students, with

* :class:`coursekit.results.feedbackhtml.FeedbackExporter` (maths as MathML, no script or
  remote file, metadata nbconvert cannot render repaired first by
  :func:`coursekit.results.sanitise.sanitise`) and its ``coursekit_feedback`` template;
* after nbgrader's ``GetGrades``: :class:`~coursekit.results.feedbackhtml.MarkVerdicts`
  (full marks, partial credit, no points, not graded yet) and
  :class:`~coursekit.results.hidden_tests.HideHiddenTests` (no hidden test, readable errors).

A submission whose page still cannot be rendered costs only its own page: nbgrader goes on
with the others, that student is run again alone to learn why, and the reason is recorded in
``coursekit_status/<assignment>.feedback.json`` (which ``coursekit report`` shows as a note).
The repairs made to each notebook are recorded there too.

    coursekit feedback two_layer_net      # feedback/<student>/two_layer_net/*.html
"""
import json
import re
import time
from pathlib import Path

from coursekit.course import commands
from coursekit.results.feedbackhtml import TEMPLATE_NAME
from coursekit.results.hidden_tests import HideHiddenTests, hidden_lines

__all__ = ["FEEDBACK_PREPROCESSORS", "EXPORTER", "STATUS_SUFFIX", "HideHiddenTests",
           "hidden_lines", "feedback_args", "read_feedback_status", "generate_feedback"]

# GenerateFeedback's own list, with ours after GetGrades (which only reads scores and comments).
FEEDBACK_PREPROCESSORS = ["nbgrader.preprocessors.GetGrades",
                          "coursekit.results.feedbackhtml.MarkVerdicts",
                          "coursekit.results.hidden_tests.HideHiddenTests",
                          "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor"]
EXPORTER = "coursekit.results.feedbackhtml.FeedbackExporter"
STATUS_SUFFIX = ".feedback.json"  # coursekit_status/<assignment>.feedback.json
_CONVERTING = re.compile(r"Converting notebook (?P<path>\S+)")
_REPAIR = re.compile(r"feedback: (?P<repair>.+)$")


def _listing(items):
    return "[" + ", ".join(repr(str(item)) for item in items) + "]"


def feedback_args(assignment_id):
    """The ``nbgrader generate_feedback`` arguments that make coursekit's feedback pages."""
    return ["generate_feedback", assignment_id,
            f"--GenerateFeedback.preprocessors={_listing(FEEDBACK_PREPROCESSORS)}",
            f"--GenerateFeedback.exporter_class={EXPORTER}",
            f"--HTMLExporter.template_name={TEMPLATE_NAME}"]


def _status_path(course_root, assignment_id):
    return Path(course_root) / "coursekit_status" / f"{assignment_id}{STATUS_SUFFIX}"


def read_feedback_status(course_root, assignment_id):
    """``{student: {"status": "written" | "failed", "files", "reason", "repairs"}}`` (or {})."""
    path = _status_path(course_root, assignment_id)
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return data if isinstance(data, dict) else {}


def _repairs_by_student(log, root, assignment_id):
    """``{student: [repair, ...]}`` from the ``feedback: ...`` warnings of an nbgrader log."""
    repairs, student = {}, None
    autograded = (Path(root).resolve() / "autograded").as_posix()
    for line in log.splitlines():
        found = _CONVERTING.search(line)
        if found:
            path = Path(found["path"]).resolve().as_posix()
            rest = path[len(autograded) + 1:].split("/") if path.startswith(autograded) else []
            student = rest[0] if len(rest) > 2 and rest[1] == assignment_id else None
            continue
        found = _REPAIR.search(line)
        if found and student:
            repairs.setdefault(student, []).append(found["repair"].strip())
    return repairs


def _reason(log):
    """The exception a failed nbgrader run ended with, in one line (else its last error)."""
    lines = log.splitlines()
    starts = [i for i, line in enumerate(lines) if "Traceback (most recent call last)" in line]
    if starts:
        block = []
        for line in lines[starts[-1] + 1:]:
            if line.startswith("["):
                break
            block.append(line.strip())
        block = [line for line in block if line]
        if block:
            return block[-1][:300]
    errors = [line.strip() for line in lines if "ERROR" in line]
    return (errors[-1] if errors else "no log")[:300]


def _written(root, student, assignment_id, since):
    """The student's feedback pages written since the time ``since``."""
    return sorted(p for p in root.glob(f"feedback/{student}/{assignment_id}/*.html")
                  if p.stat().st_mtime >= since)


def generate_feedback(course_root, assignment_id, students=None, force=True):
    """Write every graded submission's feedback page; one failure costs only its own page.

    Args:
        course_root: the course folder.
        assignment_id: the assignment.
        students: only these student ids (default: every autograded submission).
        force: regenerate feedback that exists already.

    Returns:
        dict student -> {"status": "written" or "failed", "files": [feedback HTML paths],
        "reason": why it failed (or None), "repairs": [what was repaired to render it]};
        also written to ``coursekit_status/<assignment>.feedback.json``.
    """
    root = Path(course_root)
    args = feedback_args(assignment_id) + (["--force"] if force else [])
    wanted = sorted(students) if students else sorted(
        p.parent.name for p in root.glob(f"autograded/*/{assignment_id}"))
    started, logs = time.time() - 1, []

    def run(*extra):
        try:
            logs.append(commands.run_nbgrader(root, *args, *extra))
            return None
        except commands.NbgraderError as err:  # nbgrader carries on with the others
            logs.append(err.log)
            return err.log

    everyone = sorted(p.parent.name for p in root.glob(f"autograded/*/{assignment_id}"))
    others = sorted(set(everyone) - set(wanted))
    if students and len(wanted) == 1:
        run("--student", wanted[0])
    elif students and others:  # one run for all of them: nbgrader skips the excluded ones
        run(f"--CourseDirectory.student_id_exclude={','.join(others)}")
    elif wanted:
        run()
    result = {}
    for student in wanted:
        files = _written(root, student, assignment_id, started)
        result[student] = {"status": "written" if files else "failed", "files": files,
                           "reason": None, "repairs": []}
    for student, entry in result.items():
        if entry["status"] == "failed":  # alone again: its own log says why
            failure = run("--student", student)
            entry["files"] = _written(root, student, assignment_id, started)
            if entry["files"]:
                entry["status"] = "written"
            else:
                entry["reason"] = _reason(failure) if failure else (
                    "nbgrader wrote no feedback page (is the submission autograded?)")
    for student, repairs in _repairs_by_student("\n".join(logs), root, assignment_id).items():
        if student in result:
            result[student]["repairs"] = sorted(set(repairs))
    path = _status_path(root, assignment_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    previous = read_feedback_status(root, assignment_id)
    previous.update({s: dict(e, files=[str(f.relative_to(root)) for f in e["files"]])
                     for s, e in result.items()})
    path.write_text(json.dumps(previous, indent=2, sort_keys=True) + "\n")
    return result
