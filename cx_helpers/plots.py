"""Figures over tidy tables, in seaborn's manner: take ``data=`` and return the Axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns

__all__ = ["coefficient_plot", "interval_plot"]


def interval_plot(data, y, x, low, high, hue=None, ax=None, xlabel=None, ylabel=None):
    """Point estimates with interval bars, one row per category of ``y``.

    Parameters
    ----------
    data : DataFrame
        Tidy table, a row per category (rows with a missing ``x`` are left out).
    y, x, low, high : str
        Category column, estimate column and interval bound columns.
    hue : str, optional
        Column colouring the points (e.g. stage).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    data = data.dropna(subset=[x]).reset_index(drop=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.3 * len(data) + 1.2))
    ax.errorbar(data[x], data.index, xerr=[data[x] - data[low], data[high] - data[x]], fmt="none",
                ecolor="0.4", capsize=2, lw=1)
    sns.scatterplot(data=data, x=x, y=data.index, hue=hue, ax=ax, s=40, zorder=3)
    ax.set_yticks(data.index, data[y])
    ax.invert_yaxis()
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or "")
    if hue is not None:
        ax.legend(title=hue, loc="best", fontsize="small")
    return ax


def coefficient_plot(data, ax=None, xlabel="effect on the outcome per rating point"):
    """Driver coefficients with their intervals (``driver, coef, low, high``), zero marked."""
    ax = interval_plot(data, y="driver", x="coef", low="low", high="high", ax=ax, xlabel=xlabel)
    ax.axvline(0, color="0.6", lw=0.8, ls="--")
    return ax
