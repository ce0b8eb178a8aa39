"""Shared fixtures: the kit's root, and one real nbgrader grading of every sample per session."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "two_layer_net"
SAMPLES = ROOT / "assignments" / ASSIGNMENT / "samples"


@pytest.fixture(scope="session")
def graded_samples(tmp_path_factory):
    """Every sample autograded by real nbgrader in a scratch course: (results, course path)."""
    from coursekit.cli import grade_samples

    work = tmp_path_factory.mktemp("graded") / "course"
    return grade_samples(ROOT, work), work
