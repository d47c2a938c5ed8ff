"""Figures over tidy tables, in seaborn's manner: take ``data=`` and return the Axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns

__all__ = ["coefficient_plot", "comparison_plot", "interval_plot", "score_distributions",
           "transition_heatmap"]


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


# ----------------------------------------------------------------------------------------------
# journeys (notebook 03)
# ----------------------------------------------------------------------------------------------

def transition_heatmap(matrix, ax=None, title=None, annot_min=0.05):
    """Journey flow as a transition matrix: row = from, column = to, cell = probability.

    Parameters
    ----------
    matrix : DataFrame
        :func:`cx_helpers.paths.transition_matrix` (rows ``(start)`` and touchpoints, columns
        touchpoints and ``(end)``).
    annot_min : float
        Probabilities at least this large are written in their cell.

    Returns
    -------
    matplotlib Axes
    """
    if ax is None:
        size = 0.42 * max(matrix.shape) + 2.5
        _, ax = plt.subplots(figsize=(size + 1.5, size))
    labels = matrix.where(matrix >= annot_min).map(
        lambda v: "" if v != v else f"{v:.2f}".lstrip("0"))
    sns.heatmap(matrix, ax=ax, cmap="Blues", vmin=0, vmax=1, annot=labels, fmt="",
                annot_kws={"fontsize": 7}, linewidths=0.3, linecolor="0.9",
                cbar_kws={"label": "probability of the next step"})
    ax.set_xlabel("to")
    ax.set_ylabel("from")
    if title:
        ax.set_title(title)
    return ax


def score_distributions(data, x="value", y="journey", hue=None, ax=None, xlabel="score"):
    """Distribution of a journey measure by journey (or journey type): a box per row."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.45 * data[y].nunique() + 1.2))
    sns.boxplot(data=data, x=x, y=y, hue=hue, ax=ax, orient="h", color="#9ecae1",
                fliersize=1.5, linewidth=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("")
    return ax


def comparison_plot(data, ax=None):
    """Journey versus touchpoint models per outcome with their intervals.

    Parameters
    ----------
    data : DataFrame
        The comparison table (``outcome, model, metric, value, low, high``): the R^2 or AUC of
        T, J and T+J per outcome.

    Returns
    -------
    matplotlib Axes
    """
    rows = data[data["model"].isin(["T", "J", "T+J"]) & data["metric"].isin(["r2", "auc"])]
    rows = rows.assign(label=rows["outcome"] + " (" + rows["metric"].str.upper() + "): "
                       + rows["model"])
    ax = interval_plot(rows, y="label", x="value", low="low", high="high", hue="model", ax=ax,
                       xlabel="out-of-sample fit (95 % bootstrap interval)")
    return ax
