"""Write the grader's decisions into the graded notebook, for the student's feedback.

Hidden test cells ran as placeholders in the kernel (``coursekit.engine.outside``): the grader
writes their outputs now, from its verdicts: what the check printed, and an error output with
the one-line message when the cell failed (``AssertionError: nn_forward_backward: ...``) or was
withheld for review (``WithheldForReview``). A visible test that passed in the kernel but not
outside it gets an error output that says so (``VerificationFailed``). The decision per cell is
kept in the notebook's metadata (``metadata.coursekit.decision``).
"""
__all__ = ["annotate"]


def _error(ename, evalue):
    return {"output_type": "error", "ename": ename, "evalue": evalue,
            "traceback": [f"{ename}: {evalue}"]}


def annotate(nb, manifest, decision, verdicts):
    """Update ``nb`` (a notebook dict) in place; return it."""
    for cell in nb.get("cells", []):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        score = decision.cells.get(grade_id)
        if score is None or cell.get("cell_type") != "code":
            continue
        spec, verdict = manifest.cells.get(grade_id), verdicts.get(grade_id)
        withheld = _error("WithheldForReview", f"{score.message}; this cell scores 0 until an "
                                               f"instructor reviews it")
        if spec is not None and spec.grader == "check":
            outputs = []
            if verdict is not None and verdict.output:
                outputs.append({"output_type": "stream", "name": "stdout",
                                "text": verdict.output})
            if score.outcome == "withheld":
                outputs.append(withheld)
            elif verdict.outcome == "failed":
                outputs.append(_error("AssertionError", verdict.message))
            cell["outputs"] = outputs
        elif score.outcome == "withheld":
            cell.setdefault("outputs", []).append(withheld)
        elif score.outcome == "lowered":
            cell.setdefault("outputs", []).append(_error(
                "VerificationFailed", f"Verification outside the kernel: {score.message}. This "
                                      f"cell passed inside your kernel, which your own code can "
                                      f"influence; it scores {score.final:g}."))
    nb.setdefault("metadata", {}).setdefault("coursekit", {})["decision"] = {
        gid: {"kernel": s.kernel, "verified": s.verified, "final": s.final,
              "outcome": s.outcome} for gid, s in decision.cells.items()}
    return nb
