"""What hidden test cells and the checks they call use.

Hidden test cells call ``load_checks("two_layer_net").check_forward(nn_forward_pass)``: the
module (or package) ``assignments/<id>/checks`` is loaded by file path under a private name,
once per process, so it never has to be on ``sys.path`` and never travels with the release.

Where a check runs decides what it is handed. Under ``coursekit autograde`` the grader runs
every check itself, outside the kernel, and hands it *stand-ins* for the student's functions
(``coursekit.engine.verify.standin.StudentFunction``) that run them in a sandboxed child; in an
instructor's own run of the solved notebook (nbval, ``coursekit demo``) or under plain
``nbgrader autograde`` the check runs in the kernel with the real functions. The three helpers
below work with both, so one check serves every case:

- :func:`with_globals`: call a function with some of its globals replaced (stand-ins the
  grader owns, e.g. the notebook's ``TwoLayerNet``);
- :func:`watched`: call it counting torch operations with autograd blocked
  (``coursekit.isolation.watch``);
- :func:`student_code`: the source it can reach, for static checks
  (``coursekit.engine.verify.code.StudentCode``).
"""
import importlib.util
import sys

from coursekit.course import find_course_root

__all__ = ["load_checks", "with_globals", "watched", "watched_with", "student_code"]


def load_checks(assignment_id, module="checks"):
    """The module or package ``assignments/<assignment_id>/<module>`` (loaded once per process).

    Raises:
        FileNotFoundError: the course folder or the module is missing.
        ValueError: a name that is not a plain identifier.
    """
    if not (assignment_id.isidentifier() and module.isidentifier()):
        raise ValueError(f"assignment {assignment_id!r} and module {module!r} must be plain "
                         f"names (letters, digits, underscores)")
    name = f"_coursekit_{assignment_id}_{module}"
    if name in sys.modules:
        return sys.modules[name]
    folder = find_course_root() / "assignments" / assignment_id
    return load_module(folder / module, name)


def load_module(path, name):
    """Load ``path`` (``<path>.py`` or the package ``<path>/__init__.py``) as ``name``.

    Raises:
        FileNotFoundError: neither exists.
    """
    package = path / "__init__.py"
    if package.is_file():
        spec = importlib.util.spec_from_file_location(
            name, package, submodule_search_locations=[str(path)])
    elif path.with_suffix(".py").is_file():
        spec = importlib.util.spec_from_file_location(name, path.with_suffix(".py"))
    else:
        raise FileNotFoundError(f"hidden-test support {path}.py (or the package {path}/) is "
                                f"missing; the instructor's assignments/ folder must be next to "
                                f"source/.")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    try:
        spec.loader.exec_module(loaded)
    except BaseException:
        del sys.modules[name]
        raise
    return loaded


def with_globals(fn, names, *args, **kwargs):
    """``fn(*args, **kwargs)`` with the globals ``names`` (``{name: object}``) replaced for the
    call's duration (``usefuns.testing.with_stand_ins``, which the visible tests use too); a
    grader's stand-in does it in the child (classes there become stand-ins whose methods call
    back into the grader)."""
    from usefuns.testing import with_stand_ins

    return with_stand_ins(fn, names, *args, **kwargs)


def watched(fn, *args, **kwargs):
    """``coursekit.isolation.watch.watch(fn, ...)``, next to the student's code."""
    return watched_with(fn, {}, *args, **kwargs)


def watched_with(fn, names, *args, **kwargs):
    """:func:`watched` with the globals ``names`` replaced for the call (see
    :func:`with_globals`)."""
    if hasattr(fn, "watched_with"):
        return fn.watched_with(names, *args, **kwargs)
    from coursekit.isolation.watch import watch
    from usefuns.testing import swapped_globals

    with swapped_globals(fn, names):
        return watch(fn, *args, **kwargs)


def student_code(fn):
    """The :class:`~coursekit.engine.verify.code.StudentCode` around ``fn``: the notebook's
    student cells for a grader's stand-in, the live module's sources otherwise."""
    code = getattr(fn, "code", None)
    if code is not None:
        return code
    from coursekit.engine.verify.code import StudentCode

    return StudentCode.from_function(fn)
