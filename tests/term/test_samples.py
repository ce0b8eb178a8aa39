"""coursekit.term.samples: building student submissions from the sample answers."""
import nbformat
import pytest

from conftest import ASSIGNMENT, ROOT, SAMPLES
from coursekit import course
from coursekit.term import samples

RELEASED = ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


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
