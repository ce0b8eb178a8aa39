"""Every pair of submissions (and each submission with each ``--against`` file), scored overall
and function by function, all pairs at once.

Score of a pair: the share of the smaller side's fingerprints that the other side has too
(containment, as MOSS reports the share of each file matched, taking the larger). 1.0 means
everything the smaller side wrote, after the release's lines are removed, is in the other one;
renaming, comments, whitespace, line breaks and statement order do not change it.

A pair is flagged when its score reaches the threshold and both sides wrote at least
``MIN_TOKENS`` tokens of their own there: answers of a few lines (``nn_predict``,
``nn_forward_pass``, the SGD step of ``nn_train``) are what everyone writes, so they can never be
flagged alone, while a shared ``nn_forward_backward`` (150-200 tokens) is.

Fingerprints become one sparse 0/1 matrix per function (rows: submissions), and its product
with its transpose counts the shared fingerprints of every pair in one step (scipy).
"""
import numpy as np
from scipy import sparse

from coursekit.similarity.code import TOP_LEVEL

__all__ = ["MIN_TOKENS", "shared_counts", "score_pairs", "matched_lines"]

MIN_TOKENS = 40  # own tokens both sides need before a pair can be flagged (about 4 lines)


def shared_counts(print_sets):
    """Shared fingerprints of every pair of sets.

    Args:
        print_sets: list of n uint64 arrays of distinct fingerprints.

    Returns:
        (shared, totals): int64 arrays (n, n), shared[i, j] the fingerprints i and j share,
        and (n,), the fingerprints of each.
    """
    totals = np.array([len(p) for p in print_sets], dtype=np.int64)
    if not totals.sum():
        return np.zeros((len(print_sets),) * 2, dtype=np.int64), totals
    _, columns = np.unique(np.concatenate(print_sets), return_inverse=True)
    rows = np.repeat(np.arange(len(print_sets)), totals)
    matrix = sparse.csr_matrix((np.ones(len(rows), dtype=np.int64), (rows, columns.ravel())),
                               shape=(len(print_sets), int(columns.max()) + 1))
    return (matrix @ matrix.T).toarray(), totals


def _views(codes):
    """``{function name or None: [(code index, prints, size)]}``; None is the whole code."""
    views = {None: []}
    for i, code in enumerate(codes):
        units = list(code.units.values())
        prints = [u.prints for u in units] or [np.zeros(0, np.uint64)]
        views[None].append((i, np.unique(np.concatenate(prints)),
                            sum(u.size for u in units)))
        for unit in units:
            if unit.name != TOP_LEVEL:
                views.setdefault(unit.name, []).append((i, unit.prints, unit.size))
    return views


def score_pairs(codes, threshold, floor=None):
    """Score every pair of ``codes`` overall and per function.

    Args:
        codes: list of :class:`coursekit.similarity.code.Code`; two of kind "against" are
            never paired.
        threshold: the score in [0, 1] from which a pair is flagged.
        floor: per-function scores below it are left out (default: half the threshold); the
            overall score of every pair is always given.

    Returns:
        list of dicts ``{"a", "b", "score", "flagged", "function", "tokens"}`` (``tokens``:
        the own tokens of each side), flagged first, then by decreasing score.
    """
    floor = threshold / 2 if floor is None else floor
    against = np.array([code.kind == "against" for code in codes])
    pairs = []
    for function, members in _views(codes).items():
        index = np.array([i for i, _, _ in members], dtype=np.int64)
        sizes = np.array([size for _, _, size in members], dtype=np.int64)
        shared, totals = shared_counts([prints for _, prints, _ in members])
        i, j = np.triu_indices(len(members), k=1)
        keep = ~(against[index[i]] & against[index[j]])
        smaller = np.minimum(totals[i], totals[j])
        score = np.round(np.where(smaller > 0, shared[i, j] / np.maximum(smaller, 1), 0.0), 4)
        big = np.minimum(sizes[i], sizes[j]) >= MIN_TOKENS
        flagged = (score >= threshold) & big
        if function is not None:
            keep &= big & (score >= floor)
        for p, q, s, f in zip(i[keep], j[keep], score[keep], flagged[keep]):
            a, b = (q, p) if against[index[p]] else (p, q)  # b is the --against file
            pairs.append({"a": codes[index[a]].id, "b": codes[index[b]].id,
                          "score": float(s), "flagged": bool(f),
                          "function": function,
                          "tokens": [int(sizes[a]), int(sizes[b])]})
    pairs.sort(key=lambda e: (not e["flagged"], -e["score"], e["function"] or "", e["a"],
                              e["b"]))
    return pairs


def matched_lines(code, other, function=None):
    """Lines of ``code`` whose tokens are in a k-gram that ``other`` has too (not the release's).

    Args:
        code, other: :class:`coursekit.similarity.code.Code`.
        function: compare that function of each only (None: all of ``code`` with all of
            ``other``).

    Returns:
        ``{unit name: [1-based line numbers in the unit's source]}``, units with a match only.
    """
    mine = [code.units[function]] if function else list(code.units.values())
    theirs = [other.units[function]] if function else list(other.units.values())
    hashes = np.concatenate([u.hashes[u.own] for u in theirs] or [np.zeros(0, np.uint64)])
    out = {}
    for unit in mine:
        hit = unit.own & np.isin(unit.hashes, hashes)
        tokens = {t for first, end in unit.spans[hit] for t in range(first, end)}
        lines = sorted({line for t in tokens
                        for line in range(unit.tokens[t][1], unit.tokens[t][2] + 1)})
        if lines:
            out[unit.name] = lines
    return out
