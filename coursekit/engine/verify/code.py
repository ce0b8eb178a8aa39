"""The code a student wrote, read by the grader: definitions, what a function reaches, findings.

Checks that judge how an answer computes (no autograd, no loop over the samples) cannot trust
anything measured next to the student's code, so they read the source. :class:`StudentCode`
parses the student's cells (answer cells and the cells they added, as the verification child
loads them) and answers three questions about the code a function can reach (its own body and,
transitively, every top-level definition whose name it loads):

- :meth:`StudentCode.mentions`: where it names given attributes, names, imports or strings
  (``loss.backward()``, ``torch.autograd.grad``, ``getattr(x, "backward")``);
- :meth:`StudentCode.reflective`: where it does what static reading cannot follow (``eval``,
  ``getattr`` with a computed name, ``sys.modules``, frames, ``torch._C``...): a check then
  cannot confirm anything about that function and fails closed;
- :meth:`StudentCode.loops_over_data`: ``while`` loops and loops whose iterable depends on the
  function's data arguments (``for i in range(N)``, ``for x in X``, ``sum(X)``).

Written by hand: linters (pylint, ruff) check style, not what a function can reach at run time.
A finding reads ``"loss.backward at line 14 of answer cell 2 (nn_forward_backward)"``.
"""
import ast
import inspect
import textwrap
from dataclasses import dataclass

__all__ = ["Definition", "StudentCode", "REFLECTIVE_NAMES", "REFLECTIVE_ATTRIBUTES"]

REFLECTIVE_NAMES = frozenset({
    "eval", "exec", "compile", "__import__", "globals", "vars", "locals", "breakpoint",
    "importlib", "builtins", "__builtins__", "gc", "inspect", "ctypes", "marshal",
    "pickle", "types", "dis", "operator", "functools"})
REFLECTIVE_ATTRIBUTES = frozenset({
    "__dict__", "__class__", "__globals__", "__code__", "__closure__", "__builtins__",
    "__getattribute__", "__subclasses__", "__bases__", "__mro__", "__torch_function__",
    "__torch_dispatch__", "_C", "overrides", "_dynamo", "_python_dispatch", "f_globals",
    "f_locals", "f_back", "_getframe", "modules", "__self__", "__func__"})
ATTRIBUTE_BY_NAME = {"getattr", "setattr", "delattr", "hasattr"}
ITERATING_BUILTINS = {"sum", "max", "min", "sorted", "list", "tuple", "any", "all", "map",
                      "filter", "iter", "next", "set", "dict", "reversed"}


@dataclass(frozen=True)
class Definition:
    """One top-level statement that binds ``name`` (a def, class, import or assignment)."""
    name: str
    node: ast.AST
    label: str  # where it comes from: "answer cell 2"


def _clean(source):
    """The source without IPython magics and shell lines (they are not Python)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


def _bound_names(node):
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    return []


class StudentCode:
    """Top-level definitions of the student's cells, by name: every statement that binds the
    name, not only the last. Which one is bound at run time can depend on code (a decorator
    that returns an earlier function, a default value, a conditional import), so a question
    about a name is answered for all of them: a decoy defined last hides nothing."""

    def __init__(self, sources):
        """``sources``: ``[(label, source)]``; a cell that does not parse adds nothing."""
        self.definitions = {}
        self.unparsed = []
        for label, source in sources:
            try:
                tree = ast.parse(_clean(source))
            except SyntaxError:
                self.unparsed.append(label)
                continue
            for node in tree.body:
                for name in _bound_names(node):
                    self.definitions.setdefault(name, []).append(Definition(name, node, label))

    @classmethod
    def from_function(cls, fn):
        """The code around a live function: every function and class of its module whose
        source ``inspect`` finds (a notebook's cells in IPython), for an instructor's own run."""
        sources = []
        try:  # the function itself, also where it is no global (a closure, a stand-in)
            sources.append((f"the cell defining {fn.__name__}",
                            textwrap.dedent(inspect.getsource(fn))))
        except (OSError, TypeError, AttributeError):
            pass
        for name, obj in list(getattr(fn, "__globals__", {}).items()):
            if obj is fn:
                continue
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and getattr(
                    obj, "__module__", None) == getattr(fn, "__module__", None):
                try:
                    sources.insert(0, (f"the cell defining {name}",
                                       textwrap.dedent(inspect.getsource(obj))))
                except (OSError, TypeError):
                    continue
        return cls(sources)

    def reach(self, name, exclude=()):
        """The definitions ``name``'s code can reach (every statement binding each name reached,
        decorators and default values included), its own first; [] if it is not defined.
        Names in ``exclude`` are not followed (a check replaces them with stand-ins)."""
        seen, order, todo = set(exclude) - {name}, [], [name]
        while todo:
            current = todo.pop(0)
            if current in seen or current not in self.definitions:
                continue
            seen.add(current)
            for definition in self.definitions[current]:
                order.append(definition)
                todo += [n.id for n in ast.walk(definition.node)
                         if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
        return order

    # ---------------------------------------------------------------- findings

    @staticmethod
    def _where(definition, node, what):
        line = getattr(node, "lineno", None) or getattr(getattr(node, "iter", None), "lineno", 0)
        return definition.label, line, what

    @staticmethod
    def _sorted(found):
        """Findings as lines of text, by cell and line, each once."""
        found = sorted(set(found), key=lambda f: (f[0], f[1], f[2]))
        return [f"{what} at line {line} of {label}" for label, line, what in found]

    def mentions(self, name, *, attributes=(), names=(), strings=(), modules=(), exclude=()):
        """Where the code ``name`` reaches uses one of these attributes, names, string
        constants or imported modules (a module matches with its submodules)."""
        found = []
        for definition in self.reach(name, exclude):
            for node in ast.walk(definition.node):
                what = None
                if isinstance(node, ast.Attribute) and node.attr in attributes:
                    what = ast.unparse(node)
                elif isinstance(node, ast.Name) and node.id in names:
                    what = node.id
                elif isinstance(node, ast.Constant) and node.value in strings:
                    what = repr(node.value)
                elif isinstance(node, (ast.Import, ast.ImportFrom)):
                    imported = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
                    if isinstance(node, ast.ImportFrom):
                        imported += [f"{node.module}.{a.name}" for a in node.names]
                    hits = [m for m in imported if any(m == x or m.startswith(x + ".")
                                                       for x in modules)]
                    what = f"import {hits[0]}" if hits else None
                if what:
                    found.append(self._where(definition, node, what[:60]))
        return self._sorted(found)

    def reflective(self, name, exclude=()):
        """Where the code ``name`` reaches does what static reading cannot follow."""
        found = []
        for definition in self.reach(name, exclude):
            for node in ast.walk(definition.node):
                what = None
                if isinstance(node, ast.Name) and node.id in REFLECTIVE_NAMES:
                    what = node.id
                elif isinstance(node, ast.Attribute) and node.attr in REFLECTIVE_ATTRIBUTES:
                    what = ast.unparse(node)
                elif isinstance(node, (ast.Import, ast.ImportFrom)):
                    modules = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
                    hits = [m for m in modules if m.split(".")[0] in REFLECTIVE_NAMES or
                            any(part in REFLECTIVE_ATTRIBUTES for part in m.split("."))]
                    what = f"import {hits[0]}" if hits else None
                elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                      and node.func.id in ATTRIBUTE_BY_NAME and (
                          len(node.args) < 2 or not isinstance(node.args[1], ast.Constant))):
                    what = f"{node.func.id}() with a computed attribute name"
                if what:
                    found.append(self._where(definition, node, what[:60]))
        return self._sorted(found)

    def loops_over_data(self, name, exclude=()):
        """``while`` loops, and loops or iterating built-ins whose iterable depends on a data
        argument of the function it is in (every argument but the first, the parameters) or
        on a size (``range(N)``, ``len(...)``, ``.shape``)."""
        found = []
        for definition in self.reach(name, exclude):
            for function in ast.walk(definition.node):
                if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                data = {a.arg for a in (function.args.posonlyargs + function.args.args)[1:]}
                data |= {a.arg for a in function.args.kwonlyargs}
                for node in ast.walk(function):
                    what = self._loop(node, data)
                    if what:
                        found.append(self._where(definition, node, what[:60]))
        return self._sorted(found)

    @staticmethod
    def _loop(node, data):
        def depends(expr):
            for sub in ast.walk(expr):
                if isinstance(sub, ast.Name) and sub.id in data:
                    return True
                if isinstance(sub, ast.Attribute) and sub.attr in ("shape", "tolist", "unbind",
                                                                    "split", "chunk", "numel"):
                    return True
                if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and (
                        sub.func.id == "len" or sub.func.id == "range" and not all(
                            isinstance(a, ast.Constant) for a in sub.args)):
                    return True
            return False

        if isinstance(node, ast.While):
            return "a while loop"
        if isinstance(node, (ast.For, ast.AsyncFor)) and depends(node.iter):
            return f"for ... in {ast.unparse(node.iter)}"
        if isinstance(node, ast.comprehension) and depends(node.iter):
            return f"for ... in {ast.unparse(node.iter)}"
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ITERATING_BUILTINS and len(node.args) == 1
                and not isinstance(node.args[0], (ast.GeneratorExp, ast.ListComp, ast.List,
                                                  ast.Tuple, ast.Set, ast.SetComp))
                and depends(node.args[0])):
            return f"Python's {node.func.id}() over {ast.unparse(node.args[0])}"
        return None
