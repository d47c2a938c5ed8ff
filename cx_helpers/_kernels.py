"""Compiled kernels of :mod:`cx_helpers.importance`: the all-subsets walk and Shapley sums.

Private: numba-compiled loops over bitmask-indexed subsets (see the module docstring of
:mod:`cx_helpers.importance` for the method). The public API, checks and error messages live in
:mod:`cx_helpers.importance`; everything here takes and returns plain numpy arrays.
"""

from __future__ import annotations


import numpy as np

try:  # numba compiles the all-subsets walk; without it the same code runs (slowly) in Python.
    import numba
    from numba import prange
except ImportError:  # pragma: no cover - numba is a dependency
    numba = None
    prange = range

PIVOT_TOL = 1e-12           # a pivot (1 - R^2 of a driver on those already in) below this fails


# ---------------------------------------------------------------------------------------------
# compiled all-subsets walk
# ---------------------------------------------------------------------------------------------

def _jit(**options):
    """numba.njit with an on-disk cache when a cache folder is writable, else without."""
    def wrap(func):
        if numba is None:  # pragma: no cover
            return func
        try:
            return numba.njit(cache=True, **options)(func)
        except Exception:  # pragma: no cover - no writable cache location
            return numba.njit(cache=False, **options)(func)
    return wrap


@_jit(inline="always")
def _sweep_unit(levels, src, dst, lo, hi):
    """Sweep indices ``hi, hi-1, ..., lo`` out of the leading ``hi + 1`` block of ``levels[src]``.

    Only lower triangles are read and written. The result, the leading ``lo`` block (outcome and
    the drivers below the unit, conditioned on the unit), goes to ``levels[dst]``. Returns False
    on a pivot below PIVOT_TOL (the unit is collinear with the drivers already in). The levels
    are indexed in place (no array views per subset): the walk spends a few nanoseconds per
    subset, so bookkeeping counts.
    """
    piv = levels[src, hi, hi]
    if not piv > PIVOT_TOL:
        return False
    for i in range(hi):
        f = levels[src, hi, i] / piv
        for j in range(i + 1):
            levels[dst, i, j] = levels[src, i, j] - f * levels[src, hi, j]
    for k in range(hi - 1, lo - 1, -1):
        piv = levels[dst, k, k]
        if not piv > PIVOT_TOL:
            return False
        for i in range(k):
            f = levels[dst, k, i] / piv
            for j in range(i + 1):
                levels[dst, i, j] -= f * levels[dst, k, j]
    return True


@_jit(inline="always")
def _step(m, n_units):
    """Subset ``m``'s lowest unit ``b`` (the one swept in last) and the level holding its
    parent's matrix: that of the next unit up, or ``n_units`` (the top) when ``b`` is alone."""
    b = 0
    while (m >> b) & 1 == 0:
        b += 1
    rest = m >> (b + 1)
    if rest == 0:
        return b, n_units
    parent = b + 1
    while rest & 1 == 0:
        rest >>= 1
        parent += 1
    return b, parent


@_jit()
def _walk_task(corr, off, top_bits, task, values, levels):
    """Fill ``values`` for the subsets whose top ``top_bits`` units are the bits of ``task``.

    Returns -1, or the first subset whose sweep failed.
    """
    n_units = off.size - 1
    low_bits = n_units - top_bits
    syy = corr[0, 0]
    levels[n_units] = corr
    top = task << low_bits
    base = n_units
    for g in range(n_units - 1, low_bits - 1, -1):
        if (top >> g) & 1:
            if not _sweep_unit(levels, base, g, off[g] + 1, off[g + 1]):
                return top
            base = g
    values[top] = 1.0 - levels[base, 0, 0] / syy if top else 0.0
    for low in range(1, 1 << low_bits):
        m = top | low
        b, parent = _step(m, n_units)
        if not _sweep_unit(levels, parent, b, off[b] + 1, off[b + 1]):
            return m
        values[m] = 1.0 - levels[b, 0, 0] / syy
    return -1


@_jit(parallel=True)
def _subset_r2_kernel(corr, off, top_bits):
    """R^2 of every subset of units; ``corr`` has the outcome at 0, unit g at off[g]+1..off[g+1].

    The ``2^top_bits`` tasks (fixed top units) run in parallel. Returns the R^2 vector and, per
    task, -1 or the first subset whose sweep failed.
    """
    n_units = off.size - 1
    q = corr.shape[0]
    values = np.empty(1 << n_units)
    n_tasks = 1 << top_bits
    failed = np.empty(n_tasks, np.int64)
    for task in prange(n_tasks):
        levels = np.empty((n_units + 1, q, q))
        failed[task] = _walk_task(corr, off, top_bits, task, values, levels)
    return values, failed


@_jit()
def _subset_r2_serial(corr, off):
    """As :func:`_subset_r2_kernel` in one task, without starting threads (small problems)."""
    n_units = off.size - 1
    q = corr.shape[0]
    values = np.empty(1 << n_units)
    failed = np.empty(1, np.int64)
    failed[0] = _walk_task(corr, off, 0, 0, values, np.empty((n_units + 1, q, q)))
    return values, failed


@_jit()
def _popcount64(m):
    c = 0
    while m:
        m &= m - 1
        c += 1
    return c


SHAPLEY_BLOCK = 12          # low bits summed per block (two-level summation, as exact as numpy)


@_jit()
def _shapley_tables(w):
    """Per subset size ``s``: ``wz[s] = w(s)`` (0 at ``s = p``), ``coef[s] = w(s - 1) + w(s)``;
    and the popcount of the low ``SHAPLEY_BLOCK`` bits."""
    p = w.size
    wz = np.zeros(p + 1)
    coef = np.zeros(p + 1)
    for s in range(p):
        wz[s] = w[s]
        coef[s + 1] += w[s]
        if s > 0:
            coef[s] += w[s]
    size = 1 << min(SHAPLEY_BLOCK, p)
    pop_lo = np.zeros(size, np.int64)
    for lo in range(1, size):
        pop_lo[lo] = pop_lo[lo >> 1] + (lo & 1)
    return wz, coef, pop_lo


@_jit(inline="always")
def _shapley_block(x, hi, wz, coef, pop_lo, c, acc):
    """Add the Shapley sums of one block (the subsets ``hi | lo``, values ``x[lo]``) to ``acc``.

    ``acc[j]`` gathers ``coef(|m|) v[m]`` over subsets ``m`` holding player ``j``, and
    ``acc[p]`` gathers ``w(|m|) v[m]`` over all subsets with ``|m| < p`` (the part every player
    subtracts), so that ``phi_j = acc[j] - acc[p]``. A block's terms are summed first, per low
    bit over contiguous runs, and the block sums then added (two-level summation).
    """
    p = wz.size - 1
    size = pop_lo.size
    low = 0
    while (1 << low) < size:
        low += 1
    pop_hi = _popcount64(hi)
    base = 0.0
    for lo in range(size):
        s = pop_hi + pop_lo[lo]
        base += wz[s] * x[lo]
        c[lo] = coef[s] * x[lo]
    s_hi = 0.0
    for lo in range(size):
        s_hi += c[lo]
    for j in range(low):
        step = 1 << j
        t = 0.0
        for start in range(step, size, 2 * step):
            for k in range(start, start + step):
                t += c[k]
        acc[j] += t
    r = hi >> low
    j = low
    while r:
        if r & 1:
            acc[j] += s_hi
        r >>= 1
        j += 1
    acc[p] += base


@_jit()
def _shapley_range(v, ext, w, first, last, acc):
    """Add to ``acc`` (length p + 1) the Shapley sums of blocks ``first..last-1`` of the game
    ``v`` (read at ``ext[m]`` when ``ext`` is not empty: units with shared indicators, see
    ``_game``)."""
    wz, coef, pop_lo = _shapley_tables(w)
    size = pop_lo.size
    c = np.empty(size)
    x = np.empty(size)
    for blk in range(first, last):
        hi = blk * size
        if ext.size:
            for lo in range(size):
                x[lo] = v[ext[hi + lo]]
        else:
            x[:] = v[hi:hi + size]
        _shapley_block(x, hi, wz, coef, pop_lo, c, acc)


@_jit()
def _walk_shapley(corr, off, w, levels, acc):
    """The walk of :func:`_walk_task` (one task) fused with the Shapley sums: each block of
    ``2^SHAPLEY_BLOCK`` subset values is summed as soon as it is filled, so the ``2^p`` values
    are never stored (same arithmetic, same result). Returns -1 or the first failed subset."""
    n_units = off.size - 1
    wz, coef, pop_lo = _shapley_tables(w)
    size = pop_lo.size
    c = np.empty(size)
    x = np.empty(size)
    syy = corr[0, 0]
    levels[n_units] = corr
    for hi in range(0, 1 << n_units, size):
        for lo in range(size):
            m = hi + lo
            if m == 0:
                x[0] = 0.0
                continue
            b, parent = _step(m, n_units)
            if not _sweep_unit(levels, parent, b, off[b] + 1, off[b + 1]):
                return m
            x[lo] = 1.0 - levels[b, 0, 0] / syy
        _shapley_block(x, hi, wz, coef, pop_lo, c, acc)
    return -1


@_jit(parallel=True)
def _shapley_kernel(v, ext, w):
    """Shapley values of the game ``v`` (length 2^p), blocks split over threads."""
    p = w.size
    n_blocks = 1 << (p - min(SHAPLEY_BLOCK, p))
    n_tasks = min(n_blocks, 64)
    per = n_blocks // n_tasks
    accs = np.zeros((n_tasks, p + 1))
    for t in prange(n_tasks):
        _shapley_range(v, ext, w, t * per, (t + 1) * per, accs[t])
    tot = np.zeros(p + 1)
    for t in range(n_tasks):
        tot += accs[t]
    return tot[:p] - tot[p]


@_jit()
def _shapley_serial(v, ext, w):
    """As :func:`_shapley_kernel` in one thread."""
    p = w.size
    acc = np.zeros(p + 1)
    _shapley_range(v, ext, w, 0, 1 << (p - min(SHAPLEY_BLOCK, p)), acc)
    return acc[:p] - acc[p]


@_jit(parallel=True)
def _bootstrap_kernel(corrs, off, ext, w):
    """Shapley values of the R^2 game for a batch of correlation matrices (one per resample).

    The resamples run in parallel, each with a serial walk fused with its Shapley sums (without
    shared indicators; with them the values are stored, then summed). Returns the
    values (``(R, p)``) and per resample -1 or the first subset whose sweep failed.
    """
    n_res, q = corrs.shape[0], corrs.shape[1]
    n_units = off.size - 1
    p = w.size
    out = np.full((n_res, p), np.nan)
    failed = np.empty(n_res, np.int64)
    for r in prange(n_res):
        levels = np.empty((n_units + 1, q, q))
        acc = np.zeros(p + 1)
        if ext.size:
            values = np.empty(1 << n_units)
            failed[r] = _walk_task(corrs[r], off, 0, 0, values, levels)
            if failed[r] < 0:
                _shapley_range(values, ext, w, 0, 1 << (p - min(SHAPLEY_BLOCK, p)), acc)
        else:
            failed[r] = _walk_shapley(corrs[r], off, w, levels, acc)
        if failed[r] < 0:
            out[r] = acc[:p] - acc[p]
    return out, failed
