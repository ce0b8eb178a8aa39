"""Make a submission's nbgrader cells those of the release, in the release's order.

:func:`fix_cells` repairs, against the release notebook, what editors and students do to the
cells nbgrader grades, and says in one note per kind what it found:

- a ``grade_id`` on several cells (a split, copied or pasted cell): the copy with the release's
  source, else the one that defines the answer's functions, else the first keeps it;
- cells matched to the release's (:mod:`.matching`: by ``grade_id``, cell id, content, order)
  get the release's nbgrader metadata back: lost (VS Code drops it from cells it runs), edited
  (points raised, ``grade`` flag removed, ``grade_id`` renamed) or retyped;
- matched cells go back to the release's order (a test moved above the answer it tests fails
  with ``NameError``); the student's own cells move with the cell above them;
- graded and read-only cells with no match are put back from the release at their place, so a
  test always follows the answer it tests; nbgrader 0.9.6 itself restores a deleted test cell
  only with ``add_missing_cells`` and crashes when a read-only cell precedes it;
- an edited read-only cell is noted (nbgrader restores its source from the gradebook).

Nothing the student wrote is dropped or run twice: every submitted cell is kept exactly once.
"""
import json

from .matching import align, defined_names, nbgrader_meta, source_text
from .reading import NotGradable

__all__ = ["fix_cells"]

_SHOWN = 6  # ids listed in a note before "and N more"


def _listing(names):
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return ", ".join(names[:_SHOWN]) + more


def _cells(count):
    return f"{count} cell" if count == 1 else f"{count} cells"


def _protected(meta):
    """A cell that must be there: graded (a test or a written answer) or read-only."""
    return bool(meta.get("locked") or meta.get("grade"))


def _copy(value):
    return json.loads(json.dumps(value))


def _set_type(cell, cell_type):
    cell["cell_type"] = cell_type
    if cell_type == "code":
        cell.setdefault("outputs", [])
        cell.setdefault("execution_count", None)
        cell.pop("attachments", None)
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


def _deduplicate(cells, release_cells, notes):
    """Leave each release ``grade_id`` on one submitted cell; the other copies become plain."""
    truth = {nbgrader_meta(c).get("grade_id"): c for c in release_cells}
    where = {}
    for j, cell in enumerate(cells):
        gid = nbgrader_meta(cell).get("grade_id")
        if gid is not None and gid in truth:
            where.setdefault(gid, []).append(j)
    for gid, found in where.items():
        if len(found) < 2:
            continue
        text, names = source_text(truth[gid]), defined_names(source_text(truth[gid]))
        keep = next((j for j in found if source_text(cells[j]) == text), None)
        if keep is None and names:
            keep = next((j for j in found if names <= defined_names(source_text(cells[j]))),
                        None)
        keep = found[0] if keep is None else keep
        for j in found:
            if j != keep:
                cells[j]["metadata"].pop("nbgrader")
        notes.append(f"cell {gid!r} appeared {len(found)} times (split or copied): cell "
                     f"{keep + 1} is graded, the others became plain cells")


def _restore_metadata(cell, want, notes_by_kind):
    """Give matched ``cell`` the release cell ``want``'s nbgrader metadata and type."""
    have, meta = nbgrader_meta(cell), nbgrader_meta(want)
    gid = meta.get("grade_id")
    if not meta:
        if have:
            notes_by_kind["unknown"].append(f"a cell with unknown nbgrader id "
                                            f"{have.get('grade_id')!r} became a plain cell")
            cell["metadata"].pop("nbgrader")
        return
    fields = []
    if cell.get("cell_type") != want["cell_type"]:
        fields.append(f"type {cell.get('cell_type')}")
        _set_type(cell, want["cell_type"])
    if not have:
        notes_by_kind["lost"].append(gid)
    elif have.get("grade_id") != gid:
        notes_by_kind["unknown"].append(
            f"a cell with unknown nbgrader id {have.get('grade_id')!r} is the release's "
            f"{gid!r} (same content): its nbgrader metadata was restored")
    else:
        fields = sorted(k for k in set(have) | set(meta)
                        if k != "checksum" and have.get(k) != meta.get(k)) + fields
    if fields:
        notes_by_kind["changed"].append(f"{gid} ({', '.join(fields)})")
    cell["metadata"]["nbgrader"] = _copy(meta)


def _release_name(release_cells, i):
    return nbgrader_meta(release_cells[i]).get("grade_id") or f"release cell {i + 1}"


def _order(cells, release_cells, matches):
    """The cells in the release's order, each unmatched cell after the cell above it, deleted
    graded and read-only cells put back; returns (cells, names of the put-back cells)."""
    matched = {j for j in matches if j is not None}
    lead, after, last = [], {}, None
    for j, cell in enumerate(cells):
        if j in matched:
            last = j
            after[j] = []
        elif last is None:
            lead.append(cell)
        else:
            after[last].append(cell)
    ordered, restored = list(lead), []
    for i, j in enumerate(matches):
        if j is not None:
            ordered += [cells[j]] + after[j]
        elif _protected(nbgrader_meta(release_cells[i])):
            cell = _copy(release_cells[i])
            cell.pop("id", None)  # fix_ids gives it a fresh one where the format has ids
            ordered.append(cell)
            restored.append(_release_name(release_cells, i))
    return ordered, restored


def _check_identified(cells, release_cells, matches, name):
    """Refuse a notebook that is not the release's: no nbgrader metadata and fewer than half
    of the release's graded and read-only cells found by content."""
    if any(nbgrader_meta(c).get("grade_id") for c in cells):
        return
    protected = [i for i, c in enumerate(release_cells) if _protected(nbgrader_meta(c))]
    found = sum(matches[i] is not None for i in protected)
    if 2 * found < len(protected):
        raise NotGradable(f"no cell of {name} carries nbgrader metadata and only {found} of "
                          f"the release's {len(protected)} graded and read-only cells are in it "
                          f"(copied into a new notebook?): the student must answer in the "
                          f"released notebook")


def fix_cells(nb, release, notes, name="the notebook"):
    """Repair ``nb``'s cells in place against ``release`` (both nbformat 4 dicts); append
    notes. Raises :class:`NotGradable` when the notebook is not the release's at all."""
    cells, release_cells = nb["cells"], release["cells"]
    _deduplicate(cells, release_cells, notes)
    matches, moved = align(release_cells, cells)
    _check_identified(cells, release_cells, matches, name)
    kinds = {"lost": [], "unknown": [], "changed": []}
    for i, j in enumerate(matches):
        if j is not None:
            _restore_metadata(cells[j], release_cells[i], kinds)
    matched = {j for j in matches if j is not None}
    for j, cell in enumerate(cells):
        meta = nbgrader_meta(cell)
        if j not in matched and meta:
            kinds["unknown"].append(f"a cell with unknown nbgrader id {meta.get('grade_id')!r} "
                                    f"became a plain cell")
            cell["metadata"].pop("nbgrader")
    notes += kinds["unknown"]
    if kinds["lost"]:
        notes.append(f"{_cells(len(kinds['lost']))} had lost their nbgrader metadata "
                     f"(editors such as VS Code drop it from the cells they run): found by "
                     f"content and order and restored: {_listing(kinds['lost'])}")
    if kinds["changed"]:
        notes.append(f"restored edited nbgrader cells from the release: "
                     f"{'; '.join(kinds['changed'])}")
    edited = [_release_name(release_cells, i) for i, j in enumerate(matches) if j is not None
              and nbgrader_meta(release_cells[i]).get("locked")
              and source_text(release_cells[i]) != source_text(cells[j])]
    if edited:  # nbgrader puts their source back from the gradebook (checksums)
        notes.append(f"read-only cells edited (nbgrader restores them): {', '.join(edited)}")
    if moved:
        notes.append(f"{_cells(len(moved))} out of the release's order (moved in the editor) "
                     f"put back in place: "
                     f"{_listing([_release_name(release_cells, i) for i in sorted(moved)])}")
    nb["cells"], restored = _order(cells, release_cells, matches)
    if restored:
        notes.append(f"put back {len(restored)} deleted graded or read-only "
                     f"{'cell' if len(restored) == 1 else 'cells'}: {', '.join(restored)}")
