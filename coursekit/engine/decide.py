"""The decide stage: the only place a submission's scores are set (the trust rule).

A point counts only when the grader confirmed it in a process that never ran student code:

- a cell the grader verified scores ``min(kernel, verified)``: the kernel's score is an upper
  bound (a cell that failed in the student's notebook does not pass here), never a reason to
  keep points; the kernel's score counts error outputs only, so output on stderr (a progress
  bar, a warning) never costs a cell its points;
- a cell the grader could not check (a fault of the grader: :class:`Verdict` ``withheld``)
  scores 0 until an instructor reviews it (``coursekit review``); the submission's status is
  then ``needs_review``, with the kernel's score and the reason kept as evidence;
- a manually graded cell (``grader = "manual"``) keeps what nbgrader recorded (none yet).

A visible test that passed in the kernel but failed outside it means the kernel's word was
wrong: the submission is flagged (``tampering``) and the note names the cell.
"""
from dataclasses import dataclass, field

__all__ = ["CellScore", "Decision", "decide", "kernel_points"]


@dataclass(frozen=True)
class CellScore:
    """One autograded cell's decision (points in nbgrader's units)."""
    grade_id: str
    max_points: float
    kernel: float           # what the kernel's run gave (an upper bound)
    verified: float         # what the grader confirmed (None: withheld)
    final: float
    outcome: str            # "confirmed" | "lowered" | "withheld"
    message: str = None


@dataclass
class Decision:
    """Every autograded cell's score, the submission's status, notes for the instructor."""
    cells: dict = field(default_factory=dict)   # grade_id -> CellScore
    status: str = "graded"                      # "graded" | "needs_review"
    notes: list = field(default_factory=list)
    tampering: bool = False
    withheld: dict = field(default_factory=dict)  # grade_id -> {"kernel", "reason"}


def kernel_points(cell, max_points):
    """nbgrader's score of a graded code cell from its outputs, except that stderr does not
    count: an error output gives 0, a numeric result partial credit, else all points."""
    from nbformat import from_dict
    from nbgrader.utils import determine_grade

    outputs = [o for o in cell.get("outputs", [])
               if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    score, _ = determine_grade(from_dict({**cell, "outputs": outputs}))
    return max_points if score is None else float(score)


def decide(manifest, kernel, verdicts):
    """Combine the kernel's scores and the grader's verdicts.

    Args:
        manifest: the assignment's manifest (which cells are visible tests).
        kernel: ``{grade_id: (kernel points, max points)}`` of the autograded code cells.
        verdicts: ``{grade_id: Verdict}`` from the verify stage.

    Returns:
        :class:`Decision`. Every cell of ``kernel`` gets a :class:`CellScore`; a cell without a
        verdict is withheld (nothing confirmed it).
    """
    decision = Decision()
    for grade_id, (upper, most) in kernel.items():
        verdict = verdicts.get(grade_id)
        spec = manifest.cells.get(grade_id)
        if verdict is None or verdict.outcome == "withheld":
            reason = verdict.message if verdict else "the grader did not check this cell"
            decision.cells[grade_id] = CellScore(grade_id, most, upper, None, 0.0, "withheld",
                                                 reason)
            if spec is not None and spec.grader == "check":
                # its hidden test was a comment in the kernel: the kernel's score says nothing
                decision.withheld[grade_id] = {"kernel": None, "reason": reason}
                decision.notes.append(f"review: {grade_id} withheld (its hidden test runs only "
                                      f"in the grader: regrade once the cause is fixed): "
                                      f"{reason}")
                continue
            decision.withheld[grade_id] = {"kernel": upper, "reason": reason}
            decision.notes.append(f"review: {grade_id} withheld ({upper:g} of {most:g} points "
                                  f"in the kernel): {reason}")
            continue
        final = min(upper, verdict.points)
        lowered = verdict.points < upper
        decision.cells[grade_id] = CellScore(grade_id, most, upper, verdict.points, final,
                                             "lowered" if lowered else "confirmed",
                                             verdict.message)
        if lowered and spec is not None and spec.grader == "visible" and upper >= most:
            decision.tampering = True
            decision.notes.append(f"verification: {grade_id} passed in the kernel ({upper:g} "
                                  f"points) but not outside it: {verdict.message}; scored "
                                  f"{final:g}")
    if decision.withheld:
        decision.status = "needs_review"
    return decision
