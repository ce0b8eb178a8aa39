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

    import os

    work = tmp_path_factory.mktemp("graded") / "course"
    # crash_hang's endless loop costs this many seconds instead of the course's 180 (the
    # slowest honest cell takes ~2 s); the Dask workers inherit it
    saved = os.environ.get("COURSEKIT_CELL_TIMEOUT")
    os.environ["COURSEKIT_CELL_TIMEOUT"] = "60"
    try:
        return grade_samples(ROOT, work), work
    finally:
        if saved is None:
            os.environ.pop("COURSEKIT_CELL_TIMEOUT")
        else:
            os.environ["COURSEKIT_CELL_TIMEOUT"] = saved
