"""Load an assignment's hidden-test support from ``assignments/<id>/checks.py``.

Hidden test cells (``### BEGIN HIDDEN TESTS``) call ``load_checks("two_layer_net")``; the module
is loaded by file path under a private name, once per kernel, so it never has to be on
``sys.path`` and never travels with the release.
"""
import importlib.util
import sys

from coursekit.course import find_course_root

__all__ = ["load_checks"]


def load_checks(assignment_id):
    """The ``checks`` module of ``assignment_id`` (loaded once per process).

    Raises:
        FileNotFoundError: the course folder or its ``assignments/<id>/checks.py`` is missing.
    """
    name = f"_coursekit_checks_{assignment_id}"
    if name in sys.modules:
        return sys.modules[name]
    path = find_course_root() / "assignments" / assignment_id / "checks.py"
    if not path.is_file():
        raise FileNotFoundError(f"hidden-test support {path} is missing; the instructor's "
                                f"assignments/{assignment_id}/ folder must be next to source/.")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
