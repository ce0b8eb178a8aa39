"""What each editor writes when it saves a notebook: the ``editor`` edit of the samples.

:func:`save_as` turns a notebook (a dict, as the student left it) into what that editor's save
writes. Only what is documented in public bug reports and files saved by these editors is
reproduced; values that vary (ids, times, hashes) are made up but deterministic.

``vscode``
    VS Code's Jupyter support emptied the metadata of every cell it ran (microsoft/vscode-python
    #9997, microsoft/vscode-jupyter#2325: "All cell metadata is deleted upon execution") and did
    not keep the notebook's metadata on save (vscode-python#7960, vscode-jupyter#2919); here the
    student ran every code cell. Cell ids (nbformat 4.5) are kept.
``colab``
    Google Colab saves nbformat 4.0 (``"nbformat_minor": 0``, so no cell ids), its own cell id in
    ``metadata.id`` (12 characters), ``metadata.colab.base_uri`` and an ``outputId`` on the code
    cells it ran, notebook metadata ``colab`` (``provenance``, ``gpuType``) and ``accelerator``,
    and a kernelspec without ``language`` (ucbds-infra/otter-grader#895). Other cell metadata
    (here: nbgrader's) is kept.
``jupyterlab3``
    JupyterLab 3 keeps every cell's metadata and id (a pasted cell keeps the metadata of the
    cell it copies, with a new id) and writes the full ``language_info`` of the kernel it ran and
    ``"tags": []`` on cells whose tag editor was opened.
``jupyterlab4`` and ``notebook7``
    JupyterLab 4 and Notebook 7 (the same document model) keep metadata and ids like JupyterLab
    3 and, with "Record cell timing" on, write ``metadata.execution`` (``iopub.*`` and
    ``shell.execute_reply`` times) on every cell they ran; a collapsed output is
    ``"jupyter": {"outputs_hidden": true}``.
``kaggle``
    Kaggle saves nbformat 4.4 (no ids) as compact JSON with each source one string, cell
    metadata ``_uuid`` (40 hex digits), ``_cell_guid``, ``trusted``, ``execution`` times and,
    for a saved version (it runs the notebook with papermill), ``papermill``; notebook metadata
    ``kaggle`` (accelerator, data sources, docker image) and ``papermill``.
``classic4`` and ``classic6``
    The classic Jupyter Notebook 4.x (nbformat 4.0) and 6.x (nbformat 4.4), neither with ids:
    ``"collapsed": false`` on code cells (4.x), ``"scrolled": true`` on a scrolled output and
    the ExecuteTime extension's ``ExecuteTime`` (6.x).
"""
import hashlib
import json

__all__ = ["EDITORS", "save_as"]

_PYTHON = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
           "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
           "pygments_lexer": "ipython3", "version": "3.11.2"}
_KERNEL = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
_TIME = "2026-11-20T10:{:02d}:{:02d}.{:06d}Z"


def _hex(*parts, n=32):
    return hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest()[:n]


def _uuid(*parts):
    h = _hex(*parts)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def _code(nb):
    return [(i, c) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]


def _drop_ids(nb, minor):
    nb["nbformat_minor"] = minor
    for cell in nb["cells"]:
        cell.pop("id", None)


def _times(i):
    start = _TIME.format(i // 60 % 60, i % 60, 1000 * i)
    end = _TIME.format(i // 60 % 60, i % 60, 1000 * i + 900)
    return start, end


def vscode(nb):
    for _, cell in _code(nb):
        cell["metadata"] = {}
    nb["metadata"] = {}
    return nb


def colab(nb):
    _drop_ids(nb, 0)
    nb["metadata"] = {"colab": {"provenance": [], "gpuType": "T4"},
                      "kernelspec": {"name": "python3", "display_name": "Python 3"},
                      "language_info": {"name": "python"}, "accelerator": "GPU"}
    for i, cell in enumerate(nb["cells"]):
        extra = {"id": _hex("colab", i, n=12)}
        if cell["cell_type"] == "code":
            extra.update(colab={"base_uri": "https://localhost:8080/"},
                         outputId=_uuid("output", i))
        cell["metadata"] = {**extra, **cell["metadata"]}
    return nb


def jupyterlab3(nb):
    nb["metadata"].update(kernelspec=dict(_KERNEL), language_info=dict(_PYTHON))
    for cell in nb["cells"]:
        if str(cell.get("id", "")).startswith("added-") or str(cell.get("id", "")).endswith(
                ("-copy", "-2")):
            cell["id"] = _uuid("lab", cell["id"])  # cells made in the editor get uuids
    for _, cell in _code(nb)[3:5]:
        cell["metadata"].setdefault("tags", [])
    return nb


def jupyterlab4(nb):
    jupyterlab3(nb)
    for i, cell in _code(nb):
        start, end = _times(i)
        cell["metadata"]["execution"] = {
            "iopub.execute_input": start, "iopub.status.busy": start,
            "iopub.status.idle": end, "shell.execute_reply": end,
            "shell.execute_reply.started": start}
    return nb


def notebook7(nb):
    jupyterlab4(nb)
    for _, cell in _code(nb)[:2]:
        cell["metadata"]["jupyter"] = {"outputs_hidden": True}
    return nb


def kaggle(nb):
    _drop_ids(nb, 4)
    nb["metadata"] = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {**_PYTHON, "version": "3.10.13"},
        "kaggle": {"accelerator": "none", "dataSources": [], "dockerImageVersionId": 30762,
                   "isInternetEnabled": True, "language": "python", "sourceType": "notebook",
                   "isGpuEnabled": False},
        "papermill": {"default_parameters": {}, "duration": 61.2, "end_time": _times(59)[1],
                      "environment_variables": {}, "exception": None,
                      "input_path": "__notebook__.ipynb", "output_path": "__notebook__.ipynb",
                      "parameters": {}, "start_time": _times(0)[0], "version": "2.6.0"}}
    for i, cell in enumerate(nb["cells"]):
        start, end = _times(i)
        extra = {"_uuid": _hex("kaggle", i, n=40), "_cell_guid": _uuid("guid", i),
                 "trusted": True}
        if cell["cell_type"] == "code":
            extra["execution"] = {"iopub.status.busy": start, "iopub.execute_input": start,
                                  "iopub.status.idle": end, "shell.execute_reply": end}
        extra["papermill"] = {"duration": 0.9, "end_time": end, "exception": False,
                              "start_time": start, "status": "completed"}
        cell["metadata"] = {**extra, **cell["metadata"]}
        source = cell["source"]
        cell["source"] = "".join(source) if isinstance(source, list) else source
    return nb


def classic4(nb):
    _drop_ids(nb, 0)
    for _, cell in _code(nb):
        cell["metadata"].setdefault("collapsed", False)
    return nb


def classic6(nb):
    _drop_ids(nb, 4)
    for i, cell in _code(nb):
        start, end = _times(i)
        cell["metadata"]["ExecuteTime"] = {"end_time": end, "start_time": start}
        if i % 7 == 0:
            cell["metadata"]["scrolled"] = True
    return nb


EDITORS = {"vscode": vscode, "colab": colab, "jupyterlab3": jupyterlab3,
           "jupyterlab4": jupyterlab4, "notebook7": notebook7, "kaggle": kaggle,
           "classic4": classic4, "classic6": classic6}


def save_as(nb, editor):
    """A copy of ``nb`` (a dict) as ``editor`` (a key of :data:`EDITORS`) saves it.

    Raises:
        ValueError: an unknown editor.
    """
    if editor not in EDITORS:
        raise ValueError(f"unknown editor {editor!r}; known: {', '.join(EDITORS)}")
    return EDITORS[editor](json.loads(json.dumps(nb)))
