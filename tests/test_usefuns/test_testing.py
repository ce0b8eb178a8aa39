"""Do the visible tests' helpers (usefuns.testing) swap functions for one call and name the
function that really failed?"""
import pytest

from usefuns.testing import call_tested, with_stand_ins

NOTEBOOK = {}
exec(compile("""
def inner(x):
    return x + 1

def outer(x):
    return inner(x) * 2

def broken(x):
    raise RuntimeError("mat1 and mat2 shapes cannot be multiplied (4x10 and 5x4)")

def calls_broken(x):
    return broken(x) + 1

def raises_itself(x):
    raise ValueError("my own bug")
""", "<cell>", "exec"), NOTEBOOK)


def test_does_with_stand_ins_replace_a_function_for_one_call_only():
    assert with_stand_ins(NOTEBOOK["outer"], {"inner": lambda x: 10}, 1) == 20
    assert NOTEBOOK["outer"](1) == 4


def test_is_the_function_put_back_when_the_call_raises():
    with pytest.raises(ZeroDivisionError):
        with_stand_ins(NOTEBOOK["outer"], {"inner": lambda x: 1 / 0}, 1)
    assert NOTEBOOK["outer"](1) == 4
    with_stand_ins(NOTEBOOK["outer"], {"helper_not_there": 1}, 1)
    assert "helper_not_there" not in NOTEBOOK


def test_does_a_grader_stand_in_do_the_swap_itself():
    class StandIn:
        def with_globals(self, names, *args, **kwargs):
            return ("swapped", sorted(names), args, kwargs)

    assert with_stand_ins(StandIn(), {"inner": None}, 1, reg=2) == ("swapped", ["inner"], (1,),
                                                                     {"reg": 2})


def test_does_call_tested_name_the_function_that_raised():
    with pytest.raises(AssertionError, match=r"^calls_broken could not be tested: broken, which "
                                             r"it calls, raised RuntimeError: mat1") as info:
        call_tested(NOTEBOOK["calls_broken"], 1)
    assert isinstance(info.value.__cause__, RuntimeError)


def test_does_call_tested_leave_the_tested_functions_own_error_alone():
    with pytest.raises(ValueError, match="my own bug"):
        call_tested(NOTEBOOK["raises_itself"], 1)
    assert call_tested(NOTEBOOK["outer"], 1) == 4
