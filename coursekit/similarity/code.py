"""The code a student wrote, as units (one per top-level function), fingerprinted without the
release's own lines.

A submission's code is its answer cells (code cells whose nbgrader metadata says
``solution: true``) and the code cells it added or changed (no nbgrader metadata, or a source
that no release cell has); the release's test and locked cells never count. A notebook saved
by an editor that dropped the nbgrader metadata still works: its release cells are then
"added" cells whose every line is the release's, and so count for nothing.

Every k-gram of the release notebooks (their code, and the code-like text of their comments,
docstrings and Markdown: ``TwoLayerNet(input_size, hidden_size, num_classes)`` in a hint) is
boilerplate: it is never a fingerprint, so the scaffold, signatures and docstrings never make
two students alike. A unit's ``size`` is the number of its tokens in some other k-gram: the
tokens the student wrote.
"""
import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from coursekit.similarity import fingerprint
from coursekit.similarity.tokens import normalise

__all__ = ["TOP_LEVEL", "Unit", "Code", "Release", "cell_units", "notebook_cells",
           "load_release", "notebook_code", "file_code"]

TOP_LEVEL = "(top level)"  # the unit of a cell's statements outside any def or class
_MAGIC = re.compile(r"^\s*[%!?]")  # IPython magics and shell lines are not Python


@dataclass
class Unit:
    """One function (or class, or a cell's other statements) of a submission, fingerprinted.

    Attributes:
        name: the function's or class's name, or ``TOP_LEVEL``.
        source: its code as written (the notebook's text).
        tokens: ``(text, first line, last line)`` normalised tokens
            (:func:`coursekit.similarity.tokens.normalise`), lines of ``source``.
        hashes: uint64 (M,), the hashes of its k-grams (none spans two pieces of a unit).
        spans: int64 (M, 2), the ``[first, end)`` indices in ``tokens`` of each k-gram.
        own: bool (M,), True where that k-gram is not the release's.
        prints: uint64 (F,), the distinct fingerprints (winnowed, release k-grams never).
    """

    name: str
    source: str
    tokens: list = field(repr=False)
    hashes: np.ndarray = field(repr=False)
    spans: np.ndarray = field(repr=False)
    own: np.ndarray = field(repr=False)
    prints: np.ndarray = field(repr=False)

    @property
    def size(self):
        """How many of its tokens the student wrote: those in a k-gram not the release's."""
        covered = np.zeros(len(self.tokens) + 1, dtype=np.int64)
        np.add.at(covered, self.spans[self.own, 0], 1)
        np.add.at(covered, self.spans[self.own, 1], -1)
        return int((np.cumsum(covered)[:-1] > 0).sum())


@dataclass
class Code:
    """A submission (``kind`` "student") or a file of ``--against`` (``kind`` "against")."""

    id: str
    kind: str
    units: dict  # name -> Unit, in the order of the code


def _mask_magics(source):
    """``source`` with IPython magic and shell lines blanked (line numbers kept)."""
    return "\n".join("" if _MAGIC.match(line) else line for line in source.splitlines())


def _make_unit(name, pieces, release):
    """A :class:`Unit` of the code ``pieces`` (k-grams never span two pieces)."""
    tokens, hashes, spans, picks, line = [], [], [], [], 0
    for piece in pieces:
        piece_tokens = normalise(piece)
        piece_hashes, piece_spans = fingerprint.kgram_hashes(piece_tokens)
        picks.append(piece_hashes[fingerprint.winnow(piece_hashes, piece_spans, release)])
        spans.append(piece_spans + len(tokens))
        hashes.append(piece_hashes)
        tokens.extend((text, a + line, b + line) for text, a, b in piece_tokens)
        line += piece.count("\n") + 2  # pieces are shown one blank line apart
    hashes = np.concatenate(hashes) if hashes else np.zeros(0, np.uint64)
    return Unit(name, "\n\n".join(pieces), tokens, hashes,
                np.concatenate(spans) if spans else np.zeros((0, 2), np.int64),
                ~fingerprint.among(hashes, release),
                np.unique(np.concatenate(picks)) if picks else np.zeros(0, np.uint64))


def cell_units(source):
    """Split one cell's (or file's) code into ``[(name, source)]``, top-level defs apart.

    A cell that does not parse is one ``TOP_LEVEL`` piece; each statement outside any def or
    class is a ``TOP_LEVEL`` piece of its own.
    """
    source = _mask_magics(source)
    try:
        body = ast.parse(source).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return [(TOP_LEVEL, source)] if source.strip() else []
    lines, units = source.splitlines(), []
    for node in body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        text = "\n".join(lines[start - 1:node.end_lineno])
        defines = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        units.append((node.name if defines else TOP_LEVEL, text))
    return units


def _group(pieces, release):
    """Units from ``[(name, source)]``: the pieces of one name (the top level, or a function
    defined twice) make one unit."""
    by_name = {}
    for name, source in pieces:
        by_name.setdefault(name, []).append(source)
    return {name: _make_unit(name, sources, release) for name, sources in by_name.items()}


def notebook_cells(path):
    """``[(cell_type, source, nbgrader metadata)]`` of a notebook file (nbformat 3 or 4).

    Raises:
        ValueError: the file is not a notebook (not JSON, or no cells).
    """
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not a notebook: {err}") from None
    if not isinstance(nb, dict):
        raise ValueError(f"{path} is not a notebook: no cells")
    cells = nb.get("cells")
    if cells is None:  # nbformat 3: cells in worksheets, code in "input"
        cells = [c for ws in nb.get("worksheets", []) for c in ws.get("cells", [])]
    out = []
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        source = cell.get("source", cell.get("input", ""))
        source = "".join(source) if isinstance(source, list) else str(source)
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        out.append((cell.get("cell_type"), source, meta if isinstance(meta, dict) else {}))
    return out


@dataclass
class Release:
    """What the release gives every student.

    Attributes:
        hashes: uint64 sorted array of its k-gram hashes (code, comments, docstrings, Markdown).
        cells: the normalised token texts of its code cells (a tuple each), to skip those a
            student left unchanged or only reformatted.
        sources: the code cells' sources as they are (stripped), to skip those sooner.
    """

    hashes: np.ndarray
    cells: frozenset
    sources: frozenset = frozenset()


def load_release(notebooks):
    """The :class:`Release` of the release notebooks ``notebooks`` (paths).

    Raises:
        ValueError: a release file is not a notebook.
    """
    hashes, cells, sources = [np.zeros(0, np.uint64)], set(), set()
    for path in notebooks:
        for cell_type, source, _ in notebook_cells(path):
            if cell_type == "code":
                sources.add(source.strip())
                tokens = normalise(_mask_magics(source))
                cells.add(tuple(text for text, _, _ in tokens))
                hashes.append(fingerprint.kgram_hashes(tokens)[0])
            # code quoted in prose: comments, docstrings, Markdown, line by line
            for line in source.splitlines():
                prose = line.strip().lstrip("#").strip().strip('"').strip("`")
                hashes.append(fingerprint.kgram_hashes(normalise(prose))[0])
    return Release(np.unique(np.concatenate(hashes)), frozenset(cells), frozenset(sources))


def notebook_code(id_, paths, release):
    """The student code of a submission's notebooks ``paths`` as a :class:`Code`.

    Args:
        release: the :class:`Release` (its k-grams never count; its unchanged cells are
            skipped).

    Raises:
        ValueError: a file is not a notebook.
    """
    pieces = []
    for path in paths:
        for cell_type, source, meta in notebook_cells(path):
            if cell_type != "code" or not source.strip():
                continue
            if not meta.get("solution"):
                if meta.get("grade") or meta.get("locked") or source.strip() in release.sources:
                    continue  # a test, locked or unchanged cell of the release
                tokens = normalise(_mask_magics(source))
                if tuple(text for text, _, _ in tokens) in release.cells:
                    continue
            pieces.extend(cell_units(source))
    return Code(id_, "student", _group(pieces, release.hashes))


def file_code(id_, path, release):
    """A solution file of ``--against`` (``.py``, or every code cell of an ``.ipynb``).

    Args:
        release: the :class:`Release`, whose k-grams never count.

    Raises:
        ValueError: a file that is neither, or not readable as text.
    """
    path = Path(path)
    if path.suffix == ".ipynb":
        sources = [s for t, s, _ in notebook_cells(path) if t == "code"]
    elif path.suffix == ".py":
        try:
            sources = [path.read_text(encoding="utf-8")]
        except UnicodeDecodeError as err:
            raise ValueError(f"{path} is not UTF-8 text: {err}") from None
    else:
        raise ValueError(f"{path}: --against takes .py and .ipynb files")
    pieces = [piece for source in sources for piece in cell_units(source)]
    return Code(id_, "against", _group(pieces, release.hashes))
