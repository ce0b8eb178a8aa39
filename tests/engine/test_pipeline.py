"""coursekit.engine.pipeline: what the stages take from whom."""
import json

from coursekit.engine.pipeline import _kernel_claims


def test_does_every_test_cell_of_the_source_get_a_kernel_score_even_unclaimed(tmp_path):
    """The cells and their points come from the instructor's source notebook; the grading
    job's claims (a file a kernel outside bwrap could forge) only lower them: an unclaimed
    cell, a claim that is no finite number, scores 0; a claim above the points is cut."""
    def cell(grade_id, points, solution=False, kind="code"):
        return {"cell_type": kind, "source": "", "metadata": {"nbgrader": {
            "grade_id": grade_id, "grade": True, "solution": solution, "points": points}}}

    source = {"cells": [cell("answer", 0, solution=True), cell("t1", 2), cell("t2", 3),
                        cell("t3", 1), cell("t4", 4), cell("written", 5, kind="markdown")]}
    folder = tmp_path / "source" / "a1"
    folder.mkdir(parents=True)
    (folder / "a1.ipynb").write_text(json.dumps(source))
    claims = _kernel_claims(tmp_path, "a1", "a1.ipynb",
                            {"t1": 2.0, "t3": float("nan"), "t4": 40.0, "forged": 9.0})
    assert claims == {"t1": (2.0, 2.0), "t2": (0.0, 3.0), "t3": (0.0, 1.0), "t4": (4.0, 4.0)}
