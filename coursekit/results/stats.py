"""Figures over the graded submissions of an assignment: pass rates, failures, partial credit.

Pure functions of the scores (``{student: {grade_id: (score, max_score)}}`` and friends), so each
is tested on a hand-checked case; :mod:`coursekit.results.report` feeds them from the gradebook.
"""
from collections import Counter

from coursekit.results.grades import group_of

__all__ = ["skill_stats", "failing_tests", "partial_credit"]


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
    """The test cells that gave graded students no points, most often failed first.

    A cell that gave some but not all of its points is partial credit (:func:`partial_credit`).

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
            if top > 0 and not score:
                failed[grade_id] += 1
                message = messages_by_student.get(student, {}).get(grade_id) or (
                    "no error message")
                messages.setdefault(grade_id, Counter())[message] += 1
    order = sorted(failed, key=lambda g: (-failed[g], g))
    return [{"grade_id": g, "group": group_of(g), "failed": failed[g],
             "of": len(tests_by_student),
             "messages": [[m, c] for m, c in messages[g].most_common()]} for g in order]


def partial_credit(tests_by_student):
    """The test cells that gave graded students some but not all of their points.

    Returns:
        list of {"grade_id", "group", "students": n with partial credit, "of": n graded,
        "max": the cell's points, "scores": sorted partial scores}, most students first.
    """
    partial, tops = {}, {}
    for tests in tests_by_student.values():
        for grade_id, (score, top) in tests.items():
            if 0 < (score or 0) < top:
                partial.setdefault(grade_id, []).append(score)
                tops[grade_id] = top
    order = sorted(partial, key=lambda g: (-len(partial[g]), g))
    return [{"grade_id": g, "group": group_of(g), "students": len(partial[g]),
             "of": len(tests_by_student), "max": tops[g], "scores": sorted(partial[g])}
            for g in order]
