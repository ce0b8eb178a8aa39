"""Graded tries per student: at most ``tries`` graded submissions in any window of ``period``.

A submission is judged at the time nbgrader stamped it (``timestamp.txt``), not when the service
gets to it, so a service that was down or busy never costs a student a try, and a restarted
service decides as the first one did.
"""
__all__ = ["next_graded_try"]


def next_graded_try(tried_at, submitted_at, tries, period):
    """When the student's next graded try is possible, or None if ``submitted_at`` is one.

    Args:
        tried_at: times (s since the epoch) of the student's earlier graded tries.
        submitted_at: time of the submission to judge (s since the epoch).
        tries: graded tries per period (0: no limit).
        period: the window, in seconds.

    Returns:
        None when fewer than ``tries`` graded tries lie in ``(submitted_at - period,
        submitted_at]``; else the time (s) when the oldest of the last ``tries`` leaves it.
    """
    if tries == 0:
        return None
    recent = sorted(t for t in tried_at if submitted_at - period < t <= submitted_at)
    if len(recent) < tries:
        return None
    return recent[len(recent) - tries] + period
