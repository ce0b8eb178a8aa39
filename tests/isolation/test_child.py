"""coursekit.isolation.child: what of the student's cells the verification child runs."""
from coursekit.isolation.child import statements


def _runs(source):
    return {code.splitlines()[0]: runs for _, code, runs in statements(source)}


def test_does_the_child_run_definitions_and_nothing_else():
    runs = _runs("import torch\n%matplotlib inline\nEPS = 1e-3\nX = f()\n"
                 "for i in range(9):\n    print(i)\ntrain()\n"
                 "def g(x):\n    return x + EPS\n")
    assert runs == {"import torch": True, "EPS = 0.001": True, "X = f()": False,
                    "for i in range(9):": False, "train()": False, "def g(x):": True}


def test_are_colab_style_guarded_imports_and_constructors_definitions():
    runs = _runs("try:\n    import google.colab\nexcept ImportError:\n    pass\n"
                 "KEYS = ('W1', 'W2')\nW = torch.zeros(3)\nrelu = lambda z: z.clamp(min=0)\n"
                 "stats = nn_train(params)\n")
    assert runs == {"try:": True, "KEYS = ('W1', 'W2')": True, "W = torch.zeros(3)": True,
                    "relu = lambda z: z.clamp(min=0)": True, "stats = nn_train(params)": False}


def test_is_a_cell_that_does_not_parse_reported():
    import pytest

    with pytest.raises(SyntaxError):
        statements("def broken(:\n")
