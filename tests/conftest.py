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


def nested_folders(top, depth):
    """``top/d/d/.../d`` (``depth`` folders), made one at a time (os.makedirs recurses)."""
    deep = Path(top)
    for _ in range(depth):
        deep = deep / "d"
        deep.mkdir()
    return deep


def remove_nested_folders(top):
    """Remove what :func:`nested_folders` made, bottom up: shutil.rmtree, and so pytest's
    clean-up of old temporary folders, recurses and fails on a thousand levels."""
    chain, path = [], Path(top) / "d"
    while path.is_dir():
        chain.append(path)
        path = path / "d"
    for folder in reversed(chain):
        for child in folder.iterdir():
            if not child.is_dir():
                child.unlink()
        folder.rmdir()
