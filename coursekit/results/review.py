"""``coursekit review``: an instructor settles the cells the grader withheld.

The grader withholds a cell (0 points, status ``needs_review``) only when it could not check it
for a reason no submission can cause (``coursekit.engine.decide``). The evidence is in the
status file: the kernel's score and the reason. An instructor looks, then either accepts the
kernel's score for those cells (it goes into the gradebook) or rejects it (they stay at 0);
the graded notebook's ``WithheldForReview`` outputs then say what was decided, and when no
withheld cell is left the submission's status becomes ``graded``.

    coursekit review two_layer_net                           # every submission to review
    coursekit review two_layer_net --student ada --accept    # kernel's score for all its cells
    coursekit review two_layer_net --student ada --cell grads_hidden --reject
"""
import json
import time

__all__ = ["review", "pending"]


def pending(course, assignment_id):
    """``{student: {grade_id: {"kernel", "reason"}}}`` of the cells waiting for review."""
    return {student: dict(entry.get("withheld") or {})
            for student, entry in course.status(assignment_id).read().items()
            if entry.get("status") == "needs_review" and entry.get("withheld")}


def _lines(student, cells):
    yield f"{student}: {len(cells)} cell(s) withheld"
    for grade_id, evidence in sorted(cells.items()):
        kernel = evidence.get("kernel")
        said = ("no score to accept (a hidden test: it runs in the grader only)" if kernel is None
                else f"{kernel:g} points in the kernel")
        yield f"  {grade_id}: {said}; {evidence.get('reason')}"


def _settle_notebook(path, settled, decision):
    if not path.is_file():
        return
    nb = json.loads(path.read_text())
    for cell in nb.get("cells", []):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id not in settled:
            continue
        outcome = ("accepted: the cell has the kernel's score" if decision == "accept"
                   else "rejected: the cell scores 0")
        cell["outputs"] = [o for o in cell.get("outputs", [])
                           if o.get("ename") != "WithheldForReview"]
        cell["outputs"].append({"output_type": "stream", "name": "stdout",
                                "text": f"Reviewed by the instructor, {outcome}.\n"})
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def review(course, assignment_id, student=None, decision=None, cells=None):
    """Show the withheld cells, or settle a student's (``decision``: "accept" or "reject").

    Returns:
        lines of text for the instructor.

    Raises:
        ValueError: the student has nothing to review, or ``cells`` names a cell not withheld.
    """
    waiting = pending(course, assignment_id)
    if decision is None:
        shown = {s: c for s, c in waiting.items() if student in (None, s)}
        if not shown:
            return [f"{assignment_id}: nothing to review" + (f" for {student}" if student
                                                              else "")]
        lines = [line for s, c in sorted(shown.items()) for line in _lines(s, c)]
        return lines + [f"settle with: coursekit review {assignment_id} --student ID "
                        f"--accept|--reject [--cell GRADE_ID]"]
    if student not in waiting:
        raise ValueError(f"{student} has no cell withheld for review in {assignment_id}; "
                         f"`coursekit review {assignment_id}` lists those that do")
    withheld = waiting[student]
    chosen = list(cells or withheld)
    unknown = sorted(set(chosen) - set(withheld))
    if unknown:
        raise ValueError(f"{unknown} not withheld for {student}; withheld: {sorted(withheld)}")
    hidden = sorted(g for g in chosen if withheld[g].get("kernel") is None)
    if decision == "accept" and hidden:
        raise ValueError(
            f"{', '.join(hidden)} of {student}: a hidden test runs only in the grader, so the "
            f"kernel's score says nothing and there is none to accept; fix what the reason "
            f"names and regrade (coursekit autograde {assignment_id} --force --student "
            f"{student}), or give points by hand in formgrader; --reject keeps them at 0")
    from nbgrader.api import Gradebook

    manifest = course.manifest(assignment_id)
    notebook = manifest.notebook.removesuffix(".ipynb")
    with Gradebook(course.gradebook_url) as gb:
        for grade_id in chosen:
            grade = gb.find_grade(grade_id, notebook, assignment_id, student)
            grade.auto_score = float(withheld[grade_id].get("kernel") or 0) \
                if decision == "accept" else 0.0
        gb.db.commit()
    _settle_notebook(course.autograded(student, assignment_id) / manifest.notebook, chosen,
                     decision)
    status = course.status(assignment_id)
    with status.locked():  # a batch or the service may record at the same time
        entries = status.read()
        entry = entries[student]
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        for grade_id in chosen:
            points = (withheld[grade_id].get("kernel") or 0) if decision == "accept" else 0
            entry.setdefault("notes", []).append(f"review: {grade_id} {decision}ed by the "
                                                 f"instructor ({points:g} points), {stamp}")
            del entry["withheld"][grade_id]
        if not entry["withheld"]:
            entry["status"] = "graded"
        status.write(entries)
    return [f"{student}: {decision}ed {', '.join(chosen)}; status {entry['status']}"]
