"""Submissions made together are graded together (``coursekit.serve.service.gather``)."""
from coursekit.serve.service import gather


def _looks(counts):
    """A look() that finds ``counts[i]`` new submissions on its i-th call, and a sleep log."""
    calls, slept = iter(counts), []
    return (lambda: next(calls)), slept


def test_does_it_wait_for_more_while_more_arrive_and_stop_when_none_do():
    look, slept = _looks([2, 1, 0, 5])
    assert gather(look, 2.0, sleep=slept.append) == 3
    assert slept == [2.0, 2.0]  # the 4th look never happens


def test_does_a_quiet_exchange_cost_no_wait():
    look, slept = _looks([0, 9])
    assert gather(look, 2.0, sleep=slept.append) == 0 and slept == []


def test_is_the_wait_bounded_while_submissions_keep_coming():
    look, slept = _looks([1] * 10)
    assert gather(look, 2.0, rounds=4, sleep=slept.append) == 5 and len(slept) == 4


def test_does_zero_seconds_mean_no_wait():
    look, slept = _looks([3, 3])
    assert gather(look, 0.0, sleep=slept.append) == 3 and slept == []
