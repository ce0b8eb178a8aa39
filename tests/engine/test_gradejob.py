"""coursekit.engine.gradejob: what the grading job reads back for the worker."""
import json

import pytest


def test_does_the_grading_job_read_the_kernels_points_of_every_autograded_cell(tmp_path):
    """gradejob.kernel_points: nbgrader's rule on each autograded code cell of the graded
    notebook (stderr ignored), nothing for manual cells, markdown or cells a submission
    garbled; an unreadable notebook raises (the pipeline then fails the submission)."""
    from coursekit.engine.gradejob import kernel_points as read_points

    def cell(grade_id, outputs, kind="code", points=2.0):
        return {"cell_type": kind, "source": "", "outputs": outputs, "execution_count": 1,
                "metadata": {"nbgrader": {"grade_id": grade_id, "grade": True,
                                          "points": points}}}

    error = {"output_type": "error", "ename": "AssertionError", "evalue": "", "traceback": []}
    stderr = {"output_type": "stream", "name": "stderr", "text": "warning"}
    cells = [cell("ok", [stderr]), cell("bad", [error], points=3.0), cell("manual", []),
             cell("text", [], kind="markdown"), {"cell_type": "code", "metadata":
                                                 {"nbgrader": None}, "outputs": []},
             {"cell_type": "code", "metadata": {"nbgrader": {"grade_id": ["a"]}}}]
    folder = tmp_path / "autograded" / "s1" / "a1"
    folder.mkdir(parents=True)
    (folder / "nb.ipynb").write_text(json.dumps({"cells": cells}))
    grades = {"ok": {"max_score": 2.0, "needs_manual_grade": False},
              "bad": {"max_score": 3.0, "needs_manual_grade": False},
              "manual": {"max_score": 1.0, "needs_manual_grade": True},
              "text": {"max_score": 1.0, "needs_manual_grade": False}}
    points = read_points(tmp_path, "a1", "s1", {"nb": {"grades": grades}})
    assert points == {"nb": {"ok": 2.0, "bad": 0.0}}
    (folder / "nb.ipynb").write_text("{not json")
    with pytest.raises(ValueError):
        read_points(tmp_path, "a1", "s1", {"nb": {"grades": grades}})
