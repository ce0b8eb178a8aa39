"""What a check receives in place of a student's function: a stand-in that runs it in the child.

The checks call it like the function, and the helpers of ``coursekit.hidden`` ask it for a
watched call, a call with names of its namespace replaced, or the source the grader read. The
calls go through :class:`~coursekit.engine.verify.remote.Child`.
"""

__all__ = ["StudentFunction"]


class StudentFunction:
    """A stand-in for the student's function ``name`` that runs it in the child.

    Besides calling it, the checks' helpers (``coursekit.hidden``) use ``watched`` (operations
    counted, autograd blocked), ``with_globals`` (names of its namespace replaced for one call),
    ``watched_with`` (both) and ``code`` (the source the grader read, for static checks).
    """

    def __init__(self, child, name, code):
        self.child, self.__name__, self.code = child, name, code

    def __call__(self, *args, **kwargs):
        return self.child.call(self.__name__, args, kwargs)[0]

    def watched(self, *args, **kwargs):
        return self.watched_with({}, *args, **kwargs)

    def watched_with(self, names, *args, **kwargs):
        from coursekit.isolation.watch import Watched

        value, report = self.child.call(self.__name__, args, kwargs, watch=True, swaps=names)
        report = report or {}
        return Watched(value, int(report.get("operations", 0)),
                       tuple(str(a) for a in report.get("autograd", [])),
                       tuple(str(g) for g in report.get("grad_outputs", [])))

    def with_globals(self, names, *args, **kwargs):
        return self.child.call(self.__name__, args, kwargs, swaps=names)[0]

    def __repr__(self):
        return f"<the student's {self.__name__}, run outside the notebook>"
