"""Load an assignment's hidden-test support from ``assignments/<id>/checks.py``.

Hidden test cells (``### BEGIN HIDDEN TESTS``) call ``load_checks("two_layer_net")`` (or
``load_checks("two_layer_net", "model_checks")`` for another module of that folder); the module
is loaded by file path under a private name, once per kernel, so it never has to be on
``sys.path`` and never travels with the release.
"""
import importlib.util
import sys

from coursekit.course import find_course_root

__all__ = ["load_checks", "PRELOADED"]

# In a sandboxed kernel (coursekit.isolation.kernel) the hidden-test modules are loaded before
# any student code and kept here; load_checks then never reads a file again, so a submission
# that drops them from sys.modules or points COURSEKIT_ROOT at a fake course gets nothing.
PRELOADED = None


def load_checks(assignment_id, module="checks"):
    """The module ``assignments/<assignment_id>/<module>.py`` (loaded once per process).

    Raises:
        FileNotFoundError: the course folder or the module file is missing.
        ValueError: a name that is not a plain identifier.
    """
    if not (assignment_id.isidentifier() and module.isidentifier()):
        raise ValueError(f"assignment {assignment_id!r} and module {module!r} must be plain "
                         f"names (letters, digits, underscores)")
    name = f"_coursekit_{assignment_id}_{module}"
    if PRELOADED is not None:
        if name not in PRELOADED:
            raise FileNotFoundError(f"hidden-test support {module}.py of {assignment_id} was "
                                    f"not loaded when this sandboxed kernel started")
        return PRELOADED[name]
    if name in sys.modules:
        return sys.modules[name]
    path = find_course_root() / "assignments" / assignment_id / f"{module}.py"
    if not path.is_file():
        raise FileNotFoundError(f"hidden-test support {path} is missing; the instructor's "
                                f"assignments/{assignment_id}/ folder must be next to source/.")
    spec = importlib.util.spec_from_file_location(name, path)
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    try:
        spec.loader.exec_module(loaded)
    except BaseException:
        del sys.modules[name]
        raise
    return loaded
