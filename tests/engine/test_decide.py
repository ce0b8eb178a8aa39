"""coursekit.engine.decide: the only place a score is set, under the trust rule."""
from coursekit.course.manifest import CellSpec, Manifest
from coursekit.engine.decide import decide, kernel_points
from coursekit.engine.verify.runner import Verdict

MANIFEST = Manifest("a1", None, "a1.ipynb", (), (), {
    "toy": CellSpec("toy", "visible", uses=("f",)),
    "hidden": CellSpec("hidden", "check", check=("checks", "check_f"), uses=("f",)),
    "model": CellSpec("model", "check", check=("checks", "points"), returns_score=True)})


def v(grade_id, outcome, points, most=2.0, message=None):
    return Verdict(grade_id, outcome, points, most, message)


def test_is_the_kernels_pass_never_a_reason_to_keep_points():
    d = decide(MANIFEST, {"hidden": (2.0, 2.0)}, {"hidden": v("hidden", "failed", 0.0, "no")})
    assert d.cells["hidden"].final == 0.0 and d.status == "graded" and not d.tampering


def test_is_the_kernels_score_an_upper_bound():
    d = decide(MANIFEST, {"toy": (0.0, 2.0)}, {"toy": v("toy", "passed", 2.0)})
    assert d.cells["toy"].final == 0.0 and d.cells["toy"].outcome == "confirmed"


def test_is_partial_credit_taken_from_the_grader():
    d = decide(MANIFEST, {"model": (4.0, 4.0)}, {"model": v("model", "partial", 2.5, 4.0)})
    assert d.cells["model"].final == 2.5


def test_does_a_withheld_cell_score_zero_and_wait_for_review_with_its_evidence():
    d = decide(MANIFEST, {"hidden": (2.0, 2.0), "toy": (2.0, 2.0)},
               {"toy": v("toy", "withheld", 0.0, message="the child did not start"),
                "hidden": v("hidden", "passed", 2.0)})
    assert d.status == "needs_review" and d.cells["toy"].final == 0.0
    assert d.withheld == {"toy": {"kernel": 2.0, "reason": "the child did not start"}}
    assert d.cells["hidden"].final == 2.0
    assert any(n.startswith("review: toy withheld (2 of 2 points in the kernel)")
               for n in d.notes)


def test_is_a_withheld_hidden_cell_given_no_kernel_score_as_evidence():
    # its hidden test was a comment in the kernel: full points there mean nothing
    d = decide(MANIFEST, {"hidden": (2.0, 2.0)},
               {"hidden": v("hidden", "withheld", 0.0, message="a check broke")})
    assert d.withheld == {"hidden": {"kernel": None, "reason": "a check broke"}}
    assert d.cells["hidden"].final == 0.0 and d.status == "needs_review"
    assert any("runs only in the grader" in n for n in d.notes)


def test_is_a_cell_nothing_verified_withheld():
    d = decide(MANIFEST, {"unknown": (1.0, 1.0)}, {})
    assert d.cells["unknown"].outcome == "withheld" and d.status == "needs_review"


def test_is_a_visible_test_the_kernel_passed_but_the_grader_refuted_flagged():
    d = decide(MANIFEST, {"toy": (2.0, 2.0), "hidden": (2.0, 2.0)},
               {"toy": v("toy", "failed", 0.0, message="wrong"),
                "hidden": v("hidden", "failed", 0.0, message="wrong")})
    assert d.tampering and len([n for n in d.notes if "passed in the kernel" in n]) == 1


def test_does_stderr_never_cost_a_cell_its_points_but_an_error_does():
    cell = {"cell_type": "code", "source": "", "execution_count": 1,
            "metadata": {"nbgrader": {"grade": True, "grade_id": "g", "points": 3,
                                      "solution": False, "locked": True,
                                      "schema_version": 3}},
            "outputs": [{"output_type": "stream", "name": "stderr", "text": "10%|#  |\n"}]}
    assert kernel_points(cell, 3.0) == 3.0
    cell["outputs"].append({"output_type": "error", "ename": "AssertionError", "evalue": "",
                            "traceback": []})
    assert kernel_points(cell, 3.0) == 0.0

