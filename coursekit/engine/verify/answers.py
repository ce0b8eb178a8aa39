"""What verification takes from the two notebooks: the instructor's parts and the student's.

From the instructor's source notebook (trusted): the setup cells (every code cell before the
first answer cell: imports, the device, the toy data), each test cell's source, and the literal
constants of the answer cells (``MAX_COMBINATIONS = 48``). From the graded notebook (the
student's): the answer cells and every code cell the student added or changed, labelled for
messages (``"answer cell 2 (nn_forward_backward)"``, ``"added cell 31"``).
"""
import ast
from dataclasses import dataclass

from coursekit.engine.verify.code import StudentCode

__all__ = ["Instructor", "student_cells", "read_instructor"]


def _source(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _meta(cell):
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


@dataclass(frozen=True)
class Instructor:
    """The trusted parts of the source notebook."""
    setup: tuple      # sources of the code cells before the first answer cell
    tests: dict       # grade_id -> source of each code test cell
    constants: dict   # name -> literal value assigned in the instructor's answer cells
    points: dict      # grade_id -> the points of each code test cell (nbgrader's "points")


def read_instructor(source_nb):
    """:class:`Instructor` of the source notebook (a dict as ``json.load`` gives it)."""
    setup, tests, constants, points, seen_answer = [], {}, {}, {}, False
    for cell in source_nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        meta, source = _meta(cell), _source(cell)
        if meta.get("grade") and meta.get("grade_id") and not meta.get("solution"):
            tests[meta["grade_id"]] = source
            points[meta["grade_id"]] = float(meta.get("points") or 0.0)
        elif meta.get("solution"):
            seen_answer = True
            constants.update(_literals(source))
        elif not seen_answer:
            setup.append(source)
    return Instructor(tuple(setup), tests, constants, points)


def _literals(source):
    found = {}
    try:
        tree = ast.parse("\n".join("" if line.lstrip().startswith(("%", "!")) else line
                                   for line in source.splitlines()))
    except SyntaxError:
        return found
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                node.targets[0], ast.Name):
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return found


def student_cells(source_nb, graded_nb):
    """``[(label, source)]``: the graded notebook's answer cells and the code cells its student
    added or changed (cells without nbgrader metadata whose source the release does not have),
    in notebook order."""
    known = {_source(c).strip() for c in source_nb.get("cells", [])}
    cells, answers = [], 0
    for index, cell in enumerate(graded_nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        meta, source = _meta(cell), _source(cell)
        if meta.get("solution"):
            answers += 1
            cells.append((f"answer cell {answers} ({meta.get('grade_id', '?')})", source))
        elif not meta and source.strip() and source.strip() not in known:
            cells.append((f"added cell {index + 1}", source))
    return cells


def student_code(source_nb, graded_nb):
    """The :class:`StudentCode` of the student's cells (for static checks and the scan)."""
    return StudentCode(student_cells(source_nb, graded_nb))
