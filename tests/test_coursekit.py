"""coursekit: finding the course, loading hidden checks, building submissions from samples."""
import nbformat
import pytest

from conftest import ASSIGNMENT, ROOT, SAMPLES
from coursekit import course, hidden
from coursekit.term import samples

RELEASED = ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


def test_is_the_course_found_from_a_folder_below_it(monkeypatch):
    monkeypatch.delenv(course.ROOT_ENV, raising=False)
    assert course.find_course_root(ROOT / "source" / ASSIGNMENT) == ROOT


def test_does_the_environment_variable_win(monkeypatch, tmp_path):
    copy = course.copy_course(ROOT, tmp_path / "c")
    monkeypatch.setenv(course.ROOT_ENV, str(copy))
    assert course.find_course_root(ROOT) == copy.resolve()


def test_does_a_wrong_environment_variable_say_how_to_fix_it(monkeypatch, tmp_path):
    monkeypatch.setenv(course.ROOT_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="unset it"):
        course.find_course_root()


def test_is_a_folder_outside_any_course_refused(monkeypatch, tmp_path):
    monkeypatch.delenv(course.ROOT_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match="no course folder above"):
        course.find_course_root(tmp_path)


def test_does_load_checks_load_each_module_once(monkeypatch):
    monkeypatch.setenv(course.ROOT_ENV, str(ROOT))
    first = hidden.load_checks(ASSIGNMENT)
    assert hidden.load_checks(ASSIGNMENT) is first
    assert hasattr(first, "check_forward")
    assert hasattr(hidden.load_checks(ASSIGNMENT, "model_checks"), "model_points")


@pytest.mark.parametrize("module, error", [("no_such_module", FileNotFoundError),
                                           ("../reference", ValueError)])
def test_are_bad_module_names_refused(monkeypatch, module, error):
    monkeypatch.setenv(course.ROOT_ENV, str(ROOT))
    with pytest.raises(error):
        hidden.load_checks(ASSIGNMENT, module)


def test_does_filling_a_notebook_keep_the_rest_of_the_cell():
    nb = nbformat.read(RELEASED, as_version=4)
    answers = samples.read_answers(SAMPLES / "correct_compact" / "answers.py")
    filled = samples.fill_notebook(nb, answers)
    text = "\n".join(c.source for c in filled.cells)
    assert "raise NotImplementedError()" not in text
    assert "MAX_COMBINATIONS = 48" in text and "from tqdm.auto import tqdm" in text
    assert nbformat.validate(filled) is None
    # the released notebook itself is unchanged
    assert "raise NotImplementedError()" in "\n".join(c.source for c in nb.cells)


def test_is_an_answer_for_a_function_the_notebook_lacks_refused():
    nb = nbformat.read(RELEASED, as_version=4)
    with pytest.raises(ValueError, match="no answer cell"):
        samples.fill_notebook(nb, {"nn_backward_only": "def nn_backward_only():\n    pass"})


def test_does_a_based_on_sample_inherit_answers_and_files():
    answers, files = samples.sample_contents(SAMPLES, "argmin")
    own = samples.read_answers(SAMPLES / "argmin" / "answers.py")
    base = samples.read_answers(SAMPLES / "correct_compact" / "answers.py")
    assert answers["nn_predict"] == own["nn_predict"] != base["nn_predict"]
    assert answers["find_best_net"] == base["find_best_net"]
    assert "best_model.pt" in files
    assert "best_model.pt" not in samples.sample_contents(SAMPLES, "model_missing")[1]


def test_does_a_blank_sample_stay_all_stubs(tmp_path):
    course.copy_course(ROOT, tmp_path)
    (tmp_path / "release").mkdir()
    (tmp_path / "release" / ASSIGNMENT).mkdir()
    (tmp_path / "release" / ASSIGNMENT / RELEASED.name).write_bytes(RELEASED.read_bytes())
    path = samples.write_submission(tmp_path, ASSIGNMENT, SAMPLES, "blank", "s1")
    assert nbformat.read(path, as_version=4).cells == nbformat.read(RELEASED, as_version=4).cells
    assert (path.parent / "timestamp.txt").is_file()
