"""What the notebook's visible tests use so that each test depends on one function only.

A test of ``nn_forward_backward`` should not fail because ``nn_forward_pass`` has a bug (that
bug has its own tests): :func:`with_stand_ins` runs a function with some of the notebook
functions it calls replaced by stand-ins, for that call only. When a test cannot avoid another
function, :func:`call_tested` says which function really failed instead of reporting its error
under the tested function's name.

    loss, grads = with_stand_ins(nn_forward_backward, {"nn_forward_pass": fixed_forward},
                                 params, X, y, reg=0.05)

Both work where the grader runs the tests itself too: a function object that offers
``with_globals`` (the grader's stand-in for a student function) is asked to do the swap.
"""
from contextlib import contextmanager

__all__ = ["with_stand_ins", "swapped_globals", "call_tested"]


@contextmanager
def swapped_globals(fn, names):
    """Within the block, the names in ``names`` (``{name: object}``) of ``fn``'s module (the
    notebook) are replaced; afterwards they are put back (or removed if they were absent).

    Raises:
        TypeError: ``fn`` is not a function defined in Python (it has no globals to replace).
    """
    namespace = getattr(fn, "__globals__", None)
    if not isinstance(namespace, dict):
        raise TypeError(f"{fn!r} is not a Python function: define it with def in its cell")
    missing = object()
    saved = {name: namespace.get(name, missing) for name in names}
    namespace.update(names)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = value


def with_stand_ins(fn, stand_ins, *args, **kwargs):
    """``fn(*args, **kwargs)`` with the names in ``stand_ins`` (``{name: object}``) of its
    module (the notebook) replaced for the duration of the call, then put back.

    Raises:
        TypeError: ``fn`` is not a function defined in Python (it has no globals to replace).
    """
    if hasattr(fn, "with_globals"):
        return fn.with_globals(dict(stand_ins), *args, **kwargs)
    with swapped_globals(fn, stand_ins):
        return fn(*args, **kwargs)


def _failed_inside(err, fn):
    """The other top-level function of ``fn``'s module in which ``err`` was raised, or None."""
    namespace, found = getattr(fn, "__globals__", None), None
    tb = err.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_globals is namespace and frame.f_code.co_name in namespace:
            found = frame.f_code.co_name
        tb = tb.tb_next
    return found if found != getattr(fn, "__name__", None) else None


def call_tested(fn, *args, **kwargs):
    """``fn(*args, **kwargs)``; an error raised inside another function of the notebook that
    ``fn`` calls becomes an ``AssertionError`` that says so (the original error is chained).

    Raises:
        AssertionError: ``"<fn> could not be tested: <other> raised <Kind>: <message>"``.
    """
    try:
        return fn(*args, **kwargs)
    except Exception as err:
        inner = _failed_inside(err, fn)
        if inner is None:
            raise
        text = " ".join(str(err).split())[:300]
        raise AssertionError(f"{fn.__name__} could not be tested: {inner}, which it calls, "
                             f"raised {type(err).__name__}: {text} (fix {inner} first: see its "
                             f"tests)") from err
