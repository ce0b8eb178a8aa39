"""MOSS fingerprints of normalised tokens: k-grams within a statement, chosen by winnowing.

Why not a library: ``copydetect`` (PyPI, MIT; MOSS-style winnowing over Pygments tokens) is
the candidate; its last release, 0.5.0, and its last commit date from March 2024. It compares
whole files (we compare each function of hundreds of notebooks, the release's lines removed
first), turns every name into ``V`` including attributes such as ``.clamp``/``.t`` (honest
answers here all call the same torch API), hashes character k-grams with Python's salted
per-process ``hash``, keeps k-grams across statements (reordering breaks them) and compares
pairs one at a time in Python. Measured here on the samples' ``answers.py``: it scores the
honest ``correct_compact``/``correct_report_style`` 0.64 and the disguised copy
``correct_copy_disguised`` 0.82, too close to separate; and 44,850 pairs of whole files took
30 s (2 shared cores, load not recorded), seven times that per function. What we take from it
is the winnowing, a few lines of numpy below; the rest (statements from the standard ``ast``
and ``tokenize``, units and release lines from notebooks, all pairs at once as one sparse
matrix product) is ours.

k-grams never span two statements (:mod:`coursekit.similarity.tokens` ends each with ``;``)
and neither do winnowing windows, so reordering independent statements or whole functions
changes no fingerprint. Statements shorter than ``K`` tokens (``dscores /= N``,
``grads = {}``) are what everyone writes and give none.

Winnowing (Schleimer, Wilkerson, Aiken, SIGMOD 2003): of each window of ``WINDOW``
consecutive k-gram hashes the smallest is kept (the rightmost of equal ones), so any shared
run of ``K + WINDOW - 1`` tokens shares a fingerprint. Hashes listed as boilerplate (the
release's) are never chosen.
"""
import hashlib
from functools import lru_cache

import numpy as np

from coursekit.similarity.tokens import SEP

__all__ = ["K", "WINDOW", "kgram_hashes", "winnow", "token_id", "among"]

K = 7  # tokens per k-gram
WINDOW = 4  # k-grams per window: a shared run of K + 3 tokens in a statement always shows
_NONE = np.iinfo(np.uint64).max  # the hash of a k-gram that may never be chosen


def among(hashes, sorted_hashes):
    """bool array: which of ``hashes`` are in the sorted uint64 array ``sorted_hashes`` (as
    ``np.isin``, several times faster on the small arrays of one unit)."""
    if len(sorted_hashes) == 0:
        return np.zeros(len(hashes), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_hashes, hashes), len(sorted_hashes) - 1)
    return sorted_hashes[at] == hashes


@lru_cache(maxsize=1 << 16)
def token_id(text):
    """A stable 64-bit id of a normalised token (the same in every process and run)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def kgram_hashes(tokens, k=K):
    """64-bit hashes of the k-grams of ``tokens`` that lie within one statement.

    Args:
        tokens: list of ``(text, first line, last line)`` from
            :func:`coursekit.similarity.tokens.normalise`.

    Returns:
        (hashes, spans): uint64 array (M,) of the hashes, and int64 array (M, 2) of the
        ``[first, end)`` indices in ``tokens`` of the tokens each one hashes.
    """
    hashes, firsts, begin = [], [], 0
    ids = np.array([token_id(text) for text, _, _ in tokens], dtype=np.uint64)
    ends = [i for i, (text, _, _) in enumerate(tokens) if text == SEP] + [len(tokens)]
    with np.errstate(over="ignore"):  # arithmetic modulo 2**64 on purpose
        for end in ends:
            count = end - begin - k + 1
            if count > 0:
                h = np.zeros(count, dtype=np.uint64)
                for j in range(k):
                    h = h * np.uint64(1_000_003) + ids[begin + j:begin + j + count]
                hashes.append(h)
                firsts.append(np.arange(begin, begin + count, dtype=np.int64))
            begin = end + 1
    if not hashes:
        return np.zeros(0, dtype=np.uint64), np.zeros((0, 2), dtype=np.int64)
    first = np.concatenate(firsts)
    return np.concatenate(hashes), np.stack([first, first + k], axis=1)


def winnow(hashes, spans, boilerplate=None, window=WINDOW):
    """Positions of the k-grams that winnowing keeps as fingerprints, statement by statement.

    Windows never span two statements (a statement with fewer k-grams than ``window`` is one
    window), so a statement's fingerprints do not depend on its neighbours.

    Args:
        hashes, spans: from :func:`kgram_hashes`, (M,) and (M, 2).
        boilerplate: sorted uint64 array of hashes never to choose (the release's k-grams),
            or None.
        window: k-grams per window.

    Returns:
        int64 array of sorted, distinct positions into ``hashes`` (empty when none is left).
    """
    m = len(hashes)
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    hashes = hashes.copy()
    if boilerplate is not None and len(boilerplate):
        hashes[among(hashes, boilerplate)] = _NONE
    new = np.r_[True, spans[1:, 0] != spans[:-1, 0] + 1]  # a statement's first k-gram
    group = np.cumsum(new)
    cells = np.arange(m)[:, None] + np.arange(window)[None, :]  # (M, window)
    inside = np.concatenate([group, np.zeros(window, np.int64)])[cells] == group[:, None]
    windows = np.where(inside, np.concatenate([hashes, np.zeros(window, np.uint64)])[cells],
                       _NONE)
    full = inside[:, -1] | new  # a whole window, or the whole of a short statement
    # the rightmost minimum of each window (robust winnowing)
    column = window - 1 - np.argmin(windows[:, ::-1], axis=1)
    rows = np.arange(m)
    chosen = full & inside[rows, column] & (windows[rows, column] != _NONE)
    return np.unique(rows[chosen] + column[chosen])
