"""coursekit.engine.outside: hidden tests are placeholders in the kernel under coursekit."""
import nbformat

from coursekit.engine.outside import HiddenTestsOutside, placeholder_regions

CELL = ("# Hidden tests: the loss.\n### BEGIN HIDDEN TESTS\nfrom coursekit.hidden import "
        "load_checks\nload_checks('a').check_loss(f)\n### END HIDDEN TESTS\nprint('after')\n")


def test_is_the_hidden_region_replaced_and_the_rest_kept():
    text = placeholder_regions(CELL, "# (graded elsewhere)")
    assert "load_checks" not in text and "# (graded elsewhere)" in text
    assert text.startswith("# Hidden tests") and "print('after')" in text
    assert "### BEGIN HIDDEN TESTS" in text and "### END HIDDEN TESTS" in text


def test_does_the_preprocessor_act_only_when_enabled():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    HiddenTestsOutside().preprocess(nb, {})
    assert "load_checks" in nb.cells[0].source  # plain nbgrader: the kernel runs them
    HiddenTestsOutside(enabled=True).preprocess(nb, {})
    assert "load_checks" not in nb.cells[0].source


def test_is_it_first_among_the_autograde_preprocessors():
    from coursekit.engine.recovering import RecoveringExecute, autograde_preprocessors

    pps = autograde_preprocessors()
    assert pps[0] is HiddenTestsOutside and RecoveringExecute in pps
