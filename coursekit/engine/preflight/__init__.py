"""Check and repair one submission before nbgrader grades it, and say what was wrong.

``prepare`` runs on a private copy of the student's ``submitted/<student>/<assignment>/``
folder before ``nbgrader autograde`` and never raises: it returns ``{"gradable": bool, "notes":
[one line each, for the instructor], "reason": why not gradable, or None}``.

    from coursekit.engine.preflight import prepare
    prepare("submitted/ada/two_layer_net", "two_layer_net",
            "release/two_layer_net/two_layer_net.ipynb", student_files=["best_model.pt"])

One module per part of the job:

- :mod:`.reading`: the file and its format (not gradable: missing, not JSON, not a notebook,
  huge; repaired: nbformat 3, stored outputs, cell ids, another or no kernelspec);
- :mod:`.matching`: which submitted cell is which release cell, by nbgrader id, cell id,
  content and order, whatever the editor kept (VS Code, Colab, JupyterLab, Kaggle...);
- :mod:`.cells`: the release's nbgrader metadata and order back on the matched cells, deleted
  graded and read-only cells put back, split and copied ones graded once, each kind noted;
- :mod:`.files`: extra, missing and oversized files (nbgrader's own files are not extra);
- :mod:`.submission`: :func:`prepare` and :func:`prepare_course` (settings from the course's
  ``nbgrader_config.py``).

Why before nbgrader: nbgrader 0.9.6 matches cells by ``grade_id`` only, restores an edited
read-only cell's source from the gradebook, but crashes on a split, copied or renamed test cell
(``KeyError: 'grade_id'``), one without its ``grade`` flag ("Inconsistent checksums"), one
deleted after a read-only cell (``KeyError``) or a notebook with no cells, and grades an answer
whose metadata an editor dropped as if there were none.
"""
from .files import NBGRADER_FILES
from .reading import MAX_NOTEBOOK_BYTES, NOTE_BYTES, NotGradable
from .submission import MAX_CLEAN_BYTES, prepare, prepare_course

__all__ = ["prepare", "prepare_course", "NotGradable", "NOTE_BYTES", "MAX_NOTEBOOK_BYTES",
           "MAX_CLEAN_BYTES", "NBGRADER_FILES"]
