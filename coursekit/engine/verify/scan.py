"""Flag code that reaches for the grader's machinery (a static scan, for a human to review).

The grader decides every score outside the kernel, so code that tampers with the kernel gains
nothing; it still says something about a submission. Such code touches what an honest
two-layer-net answer never needs: ``sys.modules``, ``builtins``, ``coursekit``, IPython's shell,
frames, ``gc``, ``ctypes``, ``exec``... This scan lists such uses in every cell the student
wrote or added (answer cells and added cells alike). It proves nothing and changes no score:
the grader records the list in the submission's status (``suspicious``) and a ``review:`` note
so that an instructor can look. Obfuscated code (strings built at run time) can evade it.
"""
import ast

__all__ = ["scan"]

NAMES = {"builtins", "__builtins__", "sys", "gc", "ctypes", "inspect", "importlib",
         "coursekit", "get_ipython", "exec", "eval", "compile", "__import__", "globals",
         "setattr", "delattr", "sqlite3", "subprocess", "socket"}
ATTRIBUTES = {"modules", "_getframe", "f_globals", "f_back", "__globals__", "__code__",
              "set_custom_exc", "showtraceback", "excepthook", "displayhook", "get_objects",
              "__dict__", "__subclasses__", "environ"}


def scan(cells):
    """``["line 3 of answer cell 2 (nn_predict): sys", ...]`` for every suspicious name or
    attribute of ``cells`` (``[(label, source)]``)."""
    found = []
    for label, source in cells:
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            what = None
            if isinstance(node, ast.Name) and node.id in NAMES:
                what = node.id
            elif isinstance(node, ast.Attribute) and node.attr in ATTRIBUTES:
                what = f".{node.attr}"
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                modules = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                hits = [m for m in modules if m.split(".")[0] in NAMES]
                what = f"import {hits[0]}" if hits else None
            elif isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                    and t.value.id in ("torch", "usefuns", "np", "numpy", "math")
                    for t in node.targets):
                what = "assigns to a library attribute"
            if what:
                found.append(f"line {getattr(node, 'lineno', '?')} of {label}: {what}")
    return sorted(set(found), key=found.index)
