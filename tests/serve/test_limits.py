"""Graded tries per student (``coursekit.serve.limits``): when is the next graded try?"""
from coursekit.serve.limits import next_graded_try

HOUR = 3600.0
DAY = 24 * HOUR


def test_does_a_student_under_the_limit_get_a_graded_try():
    assert next_graded_try([0.0, 1 * HOUR], 2 * HOUR, tries=3, period=DAY) is None


def test_does_the_try_over_the_limit_wait_for_the_oldest_try_to_leave_the_window():
    tried = [0.0, 1 * HOUR, 2 * HOUR]
    assert next_graded_try(tried, 3 * HOUR, tries=3, period=DAY) == DAY


def test_do_tries_older_than_the_period_no_longer_count():
    tried = [0.0, 1 * HOUR, 2 * HOUR]
    assert next_graded_try(tried, DAY - 0.5 * HOUR, tries=3, period=DAY) == DAY
    assert next_graded_try(tried, DAY, tries=3, period=DAY) is None  # the promised time holds
    assert next_graded_try(tried, DAY + 0.5 * HOUR, tries=3, period=DAY) is None


def test_is_the_next_try_the_oldest_of_the_last_n_tries_plus_the_period():
    tried = [0.0, 10 * HOUR, 11 * HOUR, 12 * HOUR]  # the first is out of the window at 25 h
    assert next_graded_try(tried, 25 * HOUR, tries=2, period=DAY) == 35 * HOUR


def test_does_a_later_try_not_count_against_an_earlier_submission():
    """Judged at its own timestamp: a service that got to it late decides as on time."""
    assert next_graded_try([5 * HOUR], 4 * HOUR, tries=1, period=DAY) is None


def test_does_zero_mean_no_limit():
    assert next_graded_try([0.0] * 100, 1.0, tries=0, period=DAY) is None
