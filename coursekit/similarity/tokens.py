"""Python code as normalised tokens, statement by statement: what a disguise changes is gone.

Code that parses is read statement by statement with ``ast`` and each statement written back
in one canonical form (``ast.unparse``; a block statement by its header, ``if x > 0:``), so
layout, comments, docstrings, redundant parentheses, quotes, number spellings (``1e-3`` is
``0.001``), line breaks and ``;`` never matter. The order of keyword arguments does: sorted,
the ``net.train(...)`` call that the notebook's hint dictates would make every honest
``find_best_net`` alike (measured: 0.9 between two honest samples instead of 0.29).

Each statement's tokens (``tokenize``) are then normalised:

- names bound by the student (variables, parameters, functions, modules) become ``V``; Python
  keywords, builtins (``range``, ``len``), attributes (``.clamp``) and keyword arguments
  (``dim=``) stay, since renaming cannot change them;
- strings and numbers stand for their value.

Code that does not parse (a cell with a syntax error) is read token by token from the text
instead, with the same normalisation, up to the first token error.
"""
import ast
import builtins
import copy
import io
import keyword
import tokenize

__all__ = ["SEP", "normalise", "statements"]

SEP = ";"  # ends every statement in the token list
_KEEP = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)
_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING,
         tokenize.ENDMARKER}
_BLOCKS = ("body", "orelse", "handlers", "finalbody", "cases")


def _raw_tokens(source):
    """``tokenize`` tokens of ``source``, up to the first error."""
    tokens = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            tokens.append(tok)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return [t for t in tokens if t.type not in _SKIP
            and (t.type != tokenize.ERRORTOKEN or t.string.strip())]


def _literal(text):
    """A number or string by its value (repr), or ``text`` where it is not a plain literal."""
    try:
        return repr(ast.literal_eval(text))
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


def _lexical(source):
    """Normalised tokens of ``source`` read as text: ``[(text, line)]``, ``SEP`` after each
    logical line (a docstring-like string alone on its line is dropped)."""
    raw, out, depth = _raw_tokens(source), [], 0
    for i, tok in enumerate(raw):
        prev = raw[i - 1].string if i else SEP
        nxt = raw[i + 1] if i + 1 < len(raw) else None
        at_start = not out or out[-1][0] == SEP
        if tok.type == tokenize.NEWLINE or tok.string == ";":
            if not at_start:
                out.append((SEP, tok.start[0]))
            continue
        if tok.type == tokenize.OP:
            depth = max(depth + (tok.string in "([{") - (tok.string in ")]}"), 0)
            text = tok.string
        elif tok.type == tokenize.NAME:
            is_kwarg = depth > 0 and nxt is not None and nxt.string == "="
            text = tok.string if (tok.string in _KEEP or prev == "." or is_kwarg) else "V"
        elif tok.type == tokenize.STRING:
            if at_start and (nxt is None or nxt.type == tokenize.NEWLINE or nxt.string == ";"):
                continue
            text = _literal(tok.string)
        elif tok.type == tokenize.NUMBER:
            text = _literal(tok.string)
        else:
            text = tok.string
        out.append((text, tok.start[0]))
    if out and out[-1][0] != SEP:
        out.append((SEP, out[-1][1]))
    return out


def _is_docstring(node):
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


def statements(source):
    """Canonical statements of ``source``: ``[(code, first line, last line)]``, in order.

    A block statement (``def``, ``for``, ``if``, ``try``, ...) gives its header, then the
    statements of its blocks; a string alone as a statement (a docstring) gives nothing.

    Raises:
        SyntaxError: ``source`` does not parse.
    """
    out = []

    def visit(nodes):
        for node in nodes:
            if _is_docstring(node):
                continue
            line = getattr(node, "lineno", None) or node.pattern.lineno  # a match case has none
            first = min([line] + [d.lineno for d in getattr(node, "decorator_list", [])])
            blocks = [name for name in _BLOCKS if isinstance(getattr(node, name, None), list)]
            if not blocks:
                out.append((ast.unparse(node), first, node.end_lineno or line))
                continue
            header = copy.copy(node)
            for name in blocks:
                setattr(header, name, [])
            if "body" in blocks:
                header.body = [ast.Pass()]
            text = ast.unparse(header)
            if "body" in blocks:
                text = text.rsplit("\n", 1)[0]  # drop the stand-in ``pass``
            body_line = node.body[0].lineno if getattr(node, "body", None) else line
            out.append((text, first, max(line, body_line - 1)))
            for name in blocks:
                visit(getattr(node, name))

    visit(ast.parse(source).body)
    return out


def normalise(source):
    """The normalised tokens of Python ``source`` (see the module docstring).

    Args:
        source: Python code as a string; it need not parse.

    Returns:
        list of ``(text, first line, last line)``: each token's normalised text and the
        1-based lines of ``source`` of the statement it belongs to; each statement ends with
        a ``SEP`` token.
    """
    try:
        parsed = statements(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return [(text, line, line) for text, line in _lexical(source)]
    out = []
    for code, first, last in parsed:
        tokens = [text for text, _ in _lexical(code)]
        tokens = [text for text in tokens if text != SEP] + [SEP]  # a decorated def is one
        out.extend((text, first, last) for text in tokens)
    return out
