"""The assignment's manifest (coursekit.course.manifest) agrees with the notebook and the checks."""
import ast
import inspect
import json

import pytest

from conftest import ASSIGNMENT, ROOT, SAMPLES
from coursekit.course.manifest import ManifestError, load_manifest
from coursekit.hidden import load_module

SOURCE = ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
MANIFEST = load_manifest(ROOT, ASSIGNMENT)


def _cells():
    nb = json.loads(SOURCE.read_text())
    return [(cell, cell["metadata"].get("nbgrader", {})) for cell in nb["cells"]]


def _graded():
    return {meta["grade_id"]: (cell, meta) for cell, meta in _cells() if meta.get("grade")}


def _answer_definitions():
    """Names the instructor's answer cells define: functions and literal constants."""
    names = {}
    for cell, meta in _cells():
        if cell["cell_type"] == "code" and meta.get("solution"):
            for node in ast.parse("".join(cell["source"])).body:
                if isinstance(node, ast.FunctionDef):
                    names[node.name] = "function"
                elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                    names[node.targets[0].id] = "constant"
    return names


def _hidden_call(source):
    """The ``load_checks(...).f(...)`` call inside the hidden region of a test cell."""
    region = source.split("### BEGIN HIDDEN TESTS", 1)[1].split("### END HIDDEN TESTS", 1)[0]
    calls = [node for node in ast.walk(ast.parse(region)) if isinstance(node, ast.Call)
             and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Call)
             and getattr(node.func.value.func, "id", None) == "load_checks"]
    assert len(calls) == 1, source
    return calls[0]


def test_does_every_graded_cell_have_exactly_one_manifest_entry():
    assert set(_graded()) == set(MANIFEST.cells)


def test_are_written_answers_manual_and_test_cells_graded_outside_the_kernel():
    for grade_id, (cell, meta) in _graded().items():
        spec = MANIFEST.cells[grade_id]
        if meta.get("solution"):
            assert spec.grader == "manual", grade_id
        else:
            assert cell["cell_type"] == "code" and spec.graded_outside, grade_id


def test_does_each_hidden_cell_call_the_manifests_check_with_its_functions():
    for grade_id, (cell, meta) in _graded().items():
        spec, source = MANIFEST.cells[grade_id], "".join(cell["source"])
        assert ("### BEGIN HIDDEN TESTS" in source) == (spec.grader == "check"), grade_id
        if spec.grader != "check":
            continue
        call = _hidden_call(source)
        module = call.func.value.args[1].value if len(call.func.value.args) > 1 else "checks"
        assert call.func.value.args[0].value == ASSIGNMENT
        assert (module, call.func.attr) == spec.check, grade_id
        names = [a.id for a in call.args if isinstance(a, ast.Name)]
        assert names == [*spec.uses, *spec.constants], grade_id
        literals = [a.value for a in call.args if isinstance(a, ast.Constant)]
        assert literals == [arg.replace("{submission}/", "") for arg in spec.args], grade_id
        assert {k.arg: k.value.value for k in call.keywords} == spec.kwargs, grade_id


def test_does_each_visible_cell_use_exactly_the_manifests_functions():
    functions = {n for n, kind in _answer_definitions().items() if kind == "function"}
    for grade_id, (cell, meta) in _graded().items():
        spec = MANIFEST.cells[grade_id]
        if spec.grader != "visible":
            continue
        loaded = {node.id for node in ast.walk(ast.parse("".join(cell["source"])))
                  if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
        assert loaded & functions == set(spec.uses), grade_id


def test_does_every_check_exist_and_take_the_manifests_arguments():
    package = load_module(MANIFEST.folder / "checks", "_manifest_test_checks")
    for spec in MANIFEST.cells.values():
        if spec.grader != "check":
            continue
        module, function = spec.check
        assert module == "checks"
        check = getattr(package, function)
        signature = inspect.signature(check)
        signature.bind(*spec.uses, *spec.args, *spec.constants, **spec.kwargs)


def test_are_the_functions_and_constants_the_student_answers():
    defined = _answer_definitions()
    for spec in MANIFEST.cells.values():
        for name in spec.uses:
            assert defined.get(name) == "function", (spec.grade_id, name)
        for name in spec.constants:
            assert defined.get(name) == "constant", (spec.grade_id, name)


def test_do_the_student_files_and_demo_samples_exist():
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", str(ROOT)).load_config()
    assert config.Autograde.exclude_overwriting[ASSIGNMENT] == list(MANIFEST.student_files)
    for name in MANIFEST.demo_samples:
        assert (SAMPLES / name / "expected.json").is_file(), name
    assert MANIFEST.notebook == SOURCE.name


@pytest.mark.parametrize("text, phrase", [
    ('[cells.a]\ngrader = "kernel"\n', "use one of check, visible, manual"),
    ('[cells.a]\ngrader = "check"\n', 'needs check = "module:function"'),
    ('[cells.a]\ngrader = "manual"\nscore = 3\n', "score = 3"),
    ('[cells.a]\ngrader = "visible"\nusess = []\n', "unknown keys ['usess']"),
    ("notebook = \n", "not valid TOML"),
])
def test_does_a_malformed_manifest_say_what_to_fix(tmp_path, text, phrase):
    folder = tmp_path / "assignments" / "a1"
    folder.mkdir(parents=True)
    (folder / "manifest.toml").write_text(text)
    with pytest.raises(ManifestError, match=phrase.replace("[", r"\[").replace("]", r"\]")):
        load_manifest(tmp_path, "a1")


def test_does_a_missing_manifest_say_what_it_is_for(tmp_path):
    with pytest.raises(ManifestError, match="how each graded cell is scored"):
        load_manifest(tmp_path, "a1")
