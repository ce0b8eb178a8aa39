"""Which submitted cell is which release cell: by nbgrader id, cell id, content and order.

Editors lose what nbgrader relies on. VS Code has emptied the metadata of every cell it ran
(microsoft/vscode-python#9997, vscode-jupyter#2325); Colab and Kaggle save nbformat 4.0/4.4
without cell ids; JupyterLab copies a cell's metadata with the cell; students move, split and
copy cells in all of them. :func:`align` therefore matches each release cell to at most one
submitted cell by the strongest evidence it has, in this order:

==================================  =======  ===============================================
evidence                            score    used for
==================================  =======  ===============================================
same nbgrader ``grade_id``          1000     every cell that kept its nbgrader metadata
same cell ``id`` (nbformat 4.5)     300      editors that keep ids (JupyterLab, VS Code)
same source (whitespace aside)      200      read-only cells, tests, stubs left as they were
defines the answer's functions      150      answer cells whose metadata is gone
similar source (60% of lines)       60-100   read-only cells a student edited a little
same type at the same place         1        written answers and plain cells, by order
==================================  =======  ===============================================

A cell that carries the ``grade_id`` of another release cell never matches this one. Matches
keep the release's order (a weighted longest common subsequence, as ``diff`` aligns lines), so
that order decides between equals (the written answers, identical stubs); then release cells
still unmatched take a cell from anywhere in the notebook on strong evidence (score 150 or
more): a cell the student moved. Written by hand: the matching needs nbgrader's roles and ids,
which no diff library knows; the alignment itself is a textbook dynamic programme.
"""
import difflib
import re

__all__ = ["nbgrader_meta", "source_text", "defined_names", "align", "STRONG"]

STRONG = 150  # evidence that holds whatever the order
FUZZY_PAIRS = 2_000_000  # above this many (release, submitted) pairs, no similarity scores
_DEFINITION = re.compile(r"^(?:async[ \t]+)?(?:def|class)[ \t]+([A-Za-z_]\w*)", re.M)


def nbgrader_meta(cell):
    """The cell's nbgrader metadata (a dict, empty when it has none)."""
    meta = cell.get("metadata", {}).get("nbgrader") if isinstance(cell.get("metadata"),
                                                                   dict) else None
    return meta if isinstance(meta, dict) else {}


def source_text(cell):
    """The cell's source as one string, trailing spaces and blank lines at either end removed."""
    source = cell.get("source", "")
    text = "".join(source) if isinstance(source, list) else str(source)
    return "\n".join(line.rstrip() for line in text.splitlines()).strip("\n")


def defined_names(text):
    """Top-level functions and classes that ``text`` defines (a set; also for broken code)."""
    return set(_DEFINITION.findall(text))


def _role(meta):
    if meta.get("solution"):
        return "answer"
    if meta.get("grade") or meta.get("locked"):
        return "locked"
    return "plain"


def _summary(cell):
    meta = nbgrader_meta(cell)
    text = source_text(cell)
    return {"type": cell.get("cell_type"), "gid": meta.get("grade_id"), "id": cell.get("id"),
            "text": text, "lines": text.splitlines(), "names": defined_names(text),
            "role": _role(meta)}


def _similarity(a, b):
    """Share of equal lines (characters for one- or two-line cells), 0 to 1."""
    if len(a["lines"]) <= 2 and len(b["lines"]) <= 2:
        matcher = difflib.SequenceMatcher(None, a["text"], b["text"], autojunk=False)
    else:
        matcher = difflib.SequenceMatcher(None, a["lines"], b["lines"], autojunk=False)
    return matcher.ratio() if matcher.real_quick_ratio() >= 0.6 else 0.0


def _affinity(r, s, known, fuzzy=True):
    """How surely submitted cell ``s`` is release cell ``r`` (0: it is not)."""
    if s["gid"] is not None and s["gid"] in known:
        return 1000 + (r["text"] == s["text"]) if s["gid"] == r["gid"] else 0
    score = 0
    if r["id"] and s["id"] == r["id"]:
        score = 300
    elif r["text"] and s["text"] == r["text"]:
        score = 200
    elif r["role"] == "answer" and r["type"] == "code" and r["names"] and r["names"] <= s[
            "names"]:
        score = 150
    if score or r["type"] != s["type"]:
        return score + (score > 0 and r["type"] == s["type"])
    if fuzzy and r["role"] != "answer" and r["text"] and s["text"]:
        ratio = _similarity(r, s)
        if ratio >= 0.6:
            return 100 * ratio
    return 1 if r["role"] != "locked" else 0


def align(release_cells, cells):
    """Match release cells to submitted cells.

    Args:
        release_cells: the release notebook's cells (dicts).
        cells: the submission's cells (dicts); a ``grade_id`` that no release cell has is
            treated as no ``grade_id``.

    Returns:
        ``(matches, moved)``: ``matches[i]`` is the index in ``cells`` of release cell ``i``'s
        match, or None; ``moved`` is the set of release indices matched out of order.
    """
    R, S = [_summary(c) for c in release_cells], [_summary(c) for c in cells]
    known = {r["gid"] for r in R if r["gid"] is not None}
    n, m = len(R), len(S)
    fuzzy = n * m <= FUZZY_PAIRS  # a notebook of tens of thousands of cells is matched quickly
    score = [[_affinity(r, s, known, fuzzy) for s in S] for r in R]
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n):
        for j in range(m):
            diagonal = best[i][j] + score[i][j] if score[i][j] > 0 else 0.0
            best[i + 1][j + 1] = max(best[i][j + 1], best[i + 1][j], diagonal)
    matches, i, j = [None] * n, n, m
    while i and j:  # among equal alignments, prefer the earlier submitted cell
        if best[i][j] == best[i][j - 1]:
            j -= 1
        elif score[i - 1][j - 1] > 0 and best[i][j] == best[i - 1][j - 1] + score[i - 1][j - 1]:
            matches[i - 1] = j - 1
            i, j = i - 1, j - 1
        else:
            i -= 1
    taken, moved = {j for j in matches if j is not None}, set()
    for i in range(n):
        if matches[i] is None:
            free = [(score[i][j], -j) for j in range(m) if j not in taken
                    and score[i][j] >= STRONG]
            if free:
                matches[i] = -max(free)[1]
                taken.add(matches[i])
                moved.add(i)
    return matches, moved
