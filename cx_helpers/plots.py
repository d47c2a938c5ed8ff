"""Figures over tidy tables, in seaborn's manner: take ``data=`` and return the Axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

__all__ = ["coefficient_plot", "comparison_plot", "estimate_plot", "interval_plot",
           "pain_point_plot", "priority_plot", "rate_timeline_plot", "satisfaction_plot",
           "score_distributions", "segment_plot", "stage_channel_heatmap", "timeline_grid",
           "transition_heatmap"]


def interval_plot(data, y, x, low, high, hue=None, ax=None, xlabel=None, ylabel=None,
                  palette=None, hue_order=None):
    """Point estimates with interval bars, one row per category of ``y``.

    :func:`estimate_plot` without the rows whose estimate is missing.

    Parameters
    ----------
    data : DataFrame
        Tidy table, a row per category (rows with a missing ``x`` are left out).
    y, x, low, high : str
        Category column, estimate column and interval bound columns.
    hue : str, optional
        Column colouring the points (e.g. stage, or ``direction`` from
        :func:`cx_helpers.drivers.with_direction` to mark negative drivers).
    ax : matplotlib Axes, optional
    palette, hue_order : optional
        Passed to seaborn.

    Returns
    -------
    matplotlib Axes
    """
    return estimate_plot(data.dropna(subset=[x]), y, x, low, high, hue=hue, suppressed=None,
                         ax=ax, xlabel=xlabel, ylabel=ylabel, palette=palette,
                         hue_order=hue_order)


def coefficient_plot(data, ax=None, xlabel="effect on the outcome per rating point"):
    """Driver coefficients with their intervals (``driver, coef, low, high``), zero marked."""
    ax = interval_plot(data, y="driver", x="coef", low="low", high="high", ax=ax, xlabel=xlabel)
    ax.axvline(0, color="0.6", lw=0.8, ls="--")
    return ax


def importance_plot(data, outcome=None, method="lmg", higher_is_better=None, ax=None,
                    xlabel="share of the explained variance, % (95 % bootstrap interval)"):
    """Importance shares of one outcome's drivers with their intervals, largest first.

    Negative drivers (their rating goes with a worse outcome in the full model) are drawn in
    red and their labels end in "(negative)".

    Parameters
    ----------
    data : DataFrame
        The table of :func:`cx_helpers.drivers.key_drivers` (``cx.key_drivers(study)``).
    outcome : str, optional
        Default: the table's first outcome.
    method : str, default "lmg"
    higher_is_better : bool, optional
        Whether a higher outcome is good; default the direction already in the table (from the
        study's ``better:``).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    from cx_helpers.drivers import DIRECTION_COLOURS, with_direction

    outcome = data["outcome"].iloc[0] if outcome is None and len(data) else outcome
    part = data[(data["outcome"] == outcome) & (data["method"] == method)]
    if part.empty:
        raise ValueError(f"no {method!r} rows for outcome {outcome!r} in the table (outcomes: "
                         f"{', '.join(map(str, pd.unique(data['outcome'])))}).")
    part = part.sort_values("importance", ascending=False)
    if higher_is_better is None:
        negative = part["direction"] == "negative"
        part = part.assign(label=part["label"].where(~negative, part["label"] + " (negative)"))
    else:
        part = with_direction(part, higher_is_better=higher_is_better)
    shown = [d for d in DIRECTION_COLOURS if d in set(part["direction"])]
    ax = interval_plot(part, y="label", x="share", low="share_low", high="share_high",
                       hue="direction" if shown else None, palette=DIRECTION_COLOURS if shown
                       else None, hue_order=shown or None, ax=ax, xlabel=xlabel)
    ax.set_title(f"What drives {part['outcome_label'].iloc[0]}")
    return ax


# ----------------------------------------------------------------------------------------------
# journeys (notebook 03)
# ----------------------------------------------------------------------------------------------

def transition_heatmap(matrix, ax=None, title=None, annot_min=0.05):
    """Journey flow as a transition matrix: row = from, column = to, cell = probability.

    Parameters
    ----------
    matrix : DataFrame
        :func:`cx_helpers.journeys.transition_matrix` (rows ``(start)`` and touchpoints, columns
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


def comparison_plot(data, ax=None, kind="difference", labels=None):
    """Journey versus touchpoint models per outcome with their intervals.

    Parameters
    ----------
    data : DataFrame
        The comparison table (:func:`cx_helpers.journeys.compare_all`: ``outcome, model,
        metric, value, low, high``).
    ax : matplotlib Axes, optional
    labels : mapping or Series, optional
        Outcome -> the words shown for it (e.g. ``verdicts(...).set_index("outcome")["label"]``);
        outcomes not in it show their name.
    kind : {"difference", "levels"}
        ``"difference"`` (the headline): per outcome, journey minus touchpoint model (``J - T``)
        and combined minus touchpoint model (``T+J - T``) in out-of-sample R^2 (AUC for yes/no
        outcomes), with a line at zero, no difference. ``"levels"``: the R^2 or AUC of T, J
        and T+J themselves.

    Returns
    -------
    matplotlib Axes
    """
    if kind not in ("difference", "levels"):
        raise ValueError(f"kind must be 'difference' or 'levels', got {kind!r}.")
    models = {"difference": {"J-T": "J − T", "T+J-T": "T+J − T"},
              "levels": {"T": "T", "J": "J", "T+J": "T+J"}}[kind]
    binary = set(data.loc[data["metric"] == "auc", "outcome"])
    main = data["metric"].eq("auc") | (data["metric"].eq("r2") & ~data["outcome"].isin(binary))
    rows = data[main & data["model"].isin(list(models))]
    lookup = {} if labels is None else dict(labels)
    names = rows["outcome"].map(lambda o: str(lookup.get(o, o)))
    rows = rows.assign(model=rows["model"].map(models),
                       label=lambda r: names + " (" + r["metric"].map(
                           {"r2": "R²", "auc": "AUC"}) + "): " + r["model"])
    what = "difference in out-of-sample fit" if kind == "difference" else "out-of-sample fit"
    ax = interval_plot(rows, y="label", x="value", low="low", high="high", hue="model", ax=ax,
                       xlabel=f"{what}, R² or AUC (95 % bootstrap interval)")
    if kind == "difference":
        ax.axvline(0, color="0.6", lw=0.8, ls="--")
    return ax


# ----------------------------------------------------------------------------------------------
# inventory and CX metrics (notebook 01): suppressed rows are labelled, never drawn as numbers
# ----------------------------------------------------------------------------------------------

SUPPRESSED = "suppressed"


def estimate_plot(data, y, x, low, high, hue=None, suppressed="suppressed", ax=None,
                  xlabel=None, ylabel=None, palette=None, hue_order=None):
    """Estimates with interval bars, a row per category; suppressed rows say "suppressed".

    Like :func:`interval_plot`, but every row of ``data`` keeps its place (in the order given):
    a row whose ``suppressed`` column is true, or whose estimate is missing, shows the word
    "suppressed" instead of a point.

    Parameters
    ----------
    data : DataFrame
        Tidy table, a row per category, in display order (top to bottom).
    y, x, low, high : str
        Category column, estimate column and interval bound columns.
    hue : str, optional
        Column colouring the points (e.g. stage).
    suppressed : str or None, default "suppressed"
        Boolean column marking suppressed rows (ignored when absent or None).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    data = data.reset_index(drop=True)
    hidden = data[x].isna()
    if suppressed is not None and suppressed in data:
        hidden = hidden | data[suppressed].astype(bool)
    shown = data[~hidden]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.3 * len(data) + 1.2))
    if len(shown):
        # bars drawn from low to high: a percentile bootstrap interval need not contain the
        # estimate
        ax.errorbar((shown[low] + shown[high]) / 2, shown.index,
                    xerr=(shown[high] - shown[low]) / 2, fmt="none", ecolor="0.4", capsize=2,
                    lw=1)
        sns.scatterplot(data=shown, x=x, y=shown.index, hue=hue, ax=ax, s=40, zorder=3,
                        palette=palette, hue_order=hue_order, legend=hue is not None)
        left = shown[low].min() if shown[low].notna().any() else shown[x].min()
    else:
        ax.set_xlim(0, 1)
        left = 0
    for i in data.index[hidden]:
        ax.text(left, i, SUPPRESSED, va="center", ha="left", fontsize="small", color="0.45",
                style="italic")
    ax.set_yticks(data.index, data[y].astype(str))
    ax.set_ylim(len(data) - 0.5, -0.5)
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or "")
    if hue is not None and len(shown):
        ax.legend(title=hue, loc="best", fontsize="small")
    return ax


def satisfaction_plot(data, x="sat_mean", low="sat_low", high="sat_high", y="label",
                      hue="stage", ax=None, xlabel="mean rating (95 % CI)"):
    """Touchpoint satisfaction with intervals, grouped by stage in journey order.

    Parameters
    ----------
    data : DataFrame
        The inventory (:func:`cx_helpers.inventory.touchpoint_inventory`); rows are sorted by
        ``stage`` (an ordered categorical in journey order) keeping their order within a stage.
        Suppressed touchpoints are listed with the word "suppressed".
    x, low, high : str
        Use ``"top_box", "top_box_low", "top_box_high"`` for the top-box share.

    Returns
    -------
    matplotlib Axes
    """
    data = data.sort_values(hue, kind="stable") if hue else data
    order = (list(data[hue].cat.categories) if hue and hasattr(data[hue], "cat")
             else None)
    if order is not None:
        order = [s for s in order if s in set(data[hue])]
        data = data.assign(**{hue: data[hue].astype(str)})
    return estimate_plot(data, y=y, x=x, low=low, high=high, hue=hue, hue_order=order, ax=ax,
                         xlabel=xlabel)


def segment_plot(data, x="value", low="low", high="high", y="segment", ax=None,
                 xlabel="NPS (95% CI)", reference=None, percent=False):
    """A metric by segment (e.g. NPS) with intervals; suppressed segments are labelled.

    Parameters
    ----------
    data : DataFrame
        :func:`cx_helpers.metrics.segment_table` (``segment, value, low, high, suppressed``).
    reference : float, optional
        A value marked by a dashed line; default the ``(all)`` row's value when there is one.
    percent : bool, default False
        The values are shares (0..1): draw them in percent.

    Returns
    -------
    matplotlib Axes
    """
    if percent:
        data = data.assign(**{c: 100 * data[c] for c in (x, low, high)})
        reference = None if reference is None else 100 * reference
    ax = estimate_plot(data, y=y, x=x, low=low, high=high, ax=ax, xlabel=xlabel)
    if reference is None and (data[y] == "(all)").any():
        reference = data.loc[data[y] == "(all)", x].iloc[0]
    if reference is not None and reference == reference:
        ax.axvline(reference, color="0.6", lw=0.8, ls="--")
    return ax


def pain_point_plot(data, top=10, ax=None, label="label", xlabel=None):
    """The pain-point ranking: the ``top`` touchpoints by ``pain_rank`` as bars.

    Touchpoints without a rank (suppressed, or an impact that could not be measured) are listed
    below the ranked ones with the word "suppressed" when ``top`` leaves room.

    Parameters
    ----------
    data : DataFrame
        The inventory (``pain_score``, ``pain_rank``, ``label``).
    top : int, default 10

    Returns
    -------
    matplotlib Axes
    """
    ranked = data.dropna(subset=["pain_rank"]).sort_values("pain_rank").head(top)
    rest = data[data["pain_rank"].isna()].head(max(top - len(ranked), 0))
    rows = pd.concat([ranked, rest], ignore_index=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.3 * len(rows) + 1.2))
    ax.barh(rows.index[: len(ranked)], ranked["pain_score"], color="#c0504d")
    for i in rows.index[len(ranked):]:
        ax.text(0.01 * (ranked["pain_score"].max() if len(ranked) else 1), i, SUPPRESSED,
                va="center", ha="left", fontsize="small", color="0.45",
                style="italic")
    names = [f"{int(r)}. {lab}" if r == r else str(lab)
             for r, lab in zip(rows["pain_rank"].astype(float), rows[label])]
    ax.set_yticks(rows.index, names)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel(xlabel or "pain score (reach x share not satisfied x outcome gap)")
    return ax


def stage_channel_heatmap(data, value="satisfaction", ax=None, cmap=None, fmt=None,
                          stages=None, title=None, scale=None):
    """The stage x channel map: a heatmap of satisfaction or reach, stages in journey order.

    The colour scale is fixed, so a map does not exaggerate small differences: reach runs from
    0 to 100 %, satisfaction over the rating scale (``scale``).

    Parameters
    ----------
    data : DataFrame
        :func:`cx_helpers.inventory.stage_channel_grid` (``stage, channel, reach,
        satisfaction, suppressed``).
    value : {"satisfaction", "reach"}, default "satisfaction"
        The cell colour; suppressed cells read "suppressed", empty cells stay blank.
    stages : list, optional
        Row order; default the categories of ``stage`` (journey order).
    scale : (min, max), optional
        The rating scale, the colour range of satisfaction (e.g. ``(1, 5)``). Default: the
        range of the values shown (for a study whose touchpoints use different scales).

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> fig, axes = plt.subplots(1, 2, figsize=(12, 4))           # doctest: +SKIP
    >>> stage_channel_heatmap(grid, "satisfaction", ax=axes[0])    # doctest: +SKIP
    >>> stage_channel_heatmap(grid, "reach", ax=axes[1])           # doctest: +SKIP
    """
    if value not in ("satisfaction", "reach"):
        raise ValueError(f"value must be 'satisfaction' or 'reach', not {value!r}.")
    if stages is None:
        stages = (list(data["stage"].cat.categories) if hasattr(data["stage"], "cat")
                  else list(pd.unique(data["stage"])))
    stages = [s for s in stages if s in set(data["stage"].astype(str))]
    frame = data.assign(stage=data["stage"].astype(str))
    hidden = frame[value].isna()
    if "suppressed" in frame and value == "satisfaction":
        hidden = hidden | frame["suppressed"].astype(bool)
    matrix = frame.assign(v=frame[value].where(~hidden)).pivot(
        index="stage", columns="channel", values="v").reindex(stages)
    is_hidden = frame.assign(h=hidden).pivot(index="stage", columns="channel",
                                             values="h").reindex(stages)
    if fmt is None:
        fmt = "{:.0f} %" if value == "reach" else "{:.2f}"
        scale_by = 100.0 if value == "reach" else 1.0
    else:
        scale_by = 1.0
    labels = matrix.copy().astype(object)
    for r in matrix.index:
        for c in matrix.columns:
            v, h = matrix.loc[r, c], is_hidden.loc[r, c]
            hidden_cell = h == h and bool(h)
            labels.loc[r, c] = SUPPRESSED if hidden_cell else (
                "" if v != v else fmt.format(scale_by * v))
    if ax is None:
        _, ax = plt.subplots(figsize=(1.2 * matrix.shape[1] + 2.5, 0.5 * matrix.shape[0] + 1.5))
    if value == "reach":
        vmin, vmax = 0.0, 1.0
    elif scale is not None:
        vmin, vmax = float(scale[0]), float(scale[1])
    else:
        vmin = vmax = None
    sns.heatmap(matrix.astype(float), ax=ax, cmap=cmap or ("Blues" if value == "reach"
                                                          else "RdYlGn"),
                annot=labels.where(labels != SUPPRESSED, "").to_numpy(), fmt="",
                annot_kws={"fontsize": 8}, linewidths=0.5, linecolor="white",
                vmin=vmin, vmax=vmax,
                cbar_kws={"label": "reach (share of customers)" if value == "reach" else
                          ("mean rating" + (f" ({vmin:g}-{vmax:g})" if vmin is not None
                                            else ""))})
    if value == "reach":
        from matplotlib.ticker import PercentFormatter
        ax.collections[0].colorbar.ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    # seaborn leaves NaN cells unannotated: write "suppressed" in them here
    for i, r in enumerate(matrix.index):
        for j, c in enumerate(matrix.columns):
            if labels.loc[r, c] == SUPPRESSED:
                ax.text(j + 0.5, i + 0.5, SUPPRESSED, ha="center", va="center", fontsize=7,
                        color="0.45", style="italic")
    ax.set_xlabel("channel")
    ax.set_ylabel("stage")
    if title:
        ax.set_title(title)
    return ax


# ----------------------------------------------------------------------------------------------
# key drivers (notebook 02)
# ----------------------------------------------------------------------------------------------

QUADRANT_COLOURS = {"fix first": "#c0392b", "maintain": "#2e86c1", "possible overkill": "#7f8c8d",
                    "low priority": "#b7b7b7"}


def _place_labels(ax, xs, ys, texts, fontsize=7, pad=1.5):
    """Write each label next to its point where it overlaps no other label and no point.

    Deterministic greedy placement: labels are placed from the most crowded point out; each
    tries positions around its point (12 directions, at growing distances) and takes the first
    whose box, measured by the renderer, overlaps nothing placed so far nor any point; failing
    all, the one with the least overlap. A label set away from its point is joined to it by a
    thin line.

    Returns
    -------
    list of matplotlib Text
    """
    import numpy as np

    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    px_per_pt = fig.dpi / 72
    pts = (ax.transData.transform(np.column_stack([xs, ys])) if len(xs)
           else np.zeros((0, 2)))
    r = 4.5 * px_per_pt                                  # a marker's radius in pixels
    boxes = [(px - r, py - r, px + r, py + r) for px, py in pts]
    n_points = len(boxes)
    sizes = []
    for text in texts:
        probe = ax.text(0, 0, text, fontsize=fontsize)
        bb = probe.get_window_extent(renderer)
        sizes.append((bb.width, bb.height))
        probe.remove()
    angles = np.deg2rad([15, 165, 90, 270, 45, 135, 315, 225, 0, 180, 60, 120])
    nearest = [np.sort(np.sqrt(((pts - p) ** 2).sum(axis=1)))[1:4].mean() if len(pts) > 1
               else np.inf for p in pts]
    order = sorted(range(len(texts)), key=lambda k: (nearest[k], k))
    placed = [None] * len(texts)

    def overlap(box):
        total = 0.0
        for k, b in enumerate(boxes):
            w = min(box[2], b[2]) - max(box[0], b[0])
            h = min(box[3], b[3]) - max(box[1], b[1])
            if w > 0 and h > 0:
                total += w * h * (3 if k < n_points else 1)
        return total

    for k in order:
        w, h = sizes[k]
        best = None
        for dist in (6, 10, 16, 24, 34, 46):
            for t in angles:
                dx, dy = np.cos(t) * dist * px_per_pt, np.sin(t) * dist * px_per_pt
                cx = pts[k, 0] + dx + (w / 2 if dx > 1 else -w / 2 if dx < -1 else 0)
                cy = pts[k, 1] + dy + (h / 2 if dy > 1 else -h / 2 if dy < -1 else 0)
                box = (cx - w / 2 - pad, cy - h / 2 - pad, cx + w / 2 + pad, cy + h / 2 + pad)
                score = overlap(box)
                if best is None or score < best[0]:
                    best = (score, dx, dy, dist, box)
                if score == 0:
                    break
            if best[0] == 0:
                break
        _, dx, dy, dist, box = best
        ha = "left" if dx > 1 else "right" if dx < -1 else "center"
        va = "bottom" if dy > 1 else "top" if dy < -1 else "center"
        arrow = ({"arrowstyle": "-", "color": "0.6", "lw": 0.5, "shrinkA": 0, "shrinkB": 3}
                 if dist > 10 else None)
        placed[k] = ax.annotate(texts[k], (xs[k], ys[k]),
                                xytext=(dx / px_per_pt, dy / px_per_pt),
                                textcoords="offset points", fontsize=fontsize, ha=ha, va=va,
                                arrowprops=arrow)
        boxes.append(box)
    return placed


def priority_plot(data, x="performance", y="importance", label="label", ax=None,
                  xlabel="performance (mean satisfaction)",
                  ylabel="importance (share of explained variance, %)", sign="sign"):
    """Importance-performance map: a point per driver, quadrant lines at the averages.

    Labels are placed so that they do not overlap each other or the points (a deterministic
    greedy placement, see :func:`_place_labels`). Drivers whose rating goes with a *worse*
    outcome (``sign`` -1) are drawn as downward triangles and labelled "(negative)": their
    importance is not a reason to improve them.

    Parameters
    ----------
    data : DataFrame
        :func:`cx_helpers.drivers.priority_map` output (``quadrant`` and the two lines in
        ``attrs``); rows in the quadrant ``suppressed`` are left out and listed in the title.
    x, y, label : str
        Performance, importance and label columns.
    sign : str or None, default "sign"
        Column of +1/-1 directions (ignored when absent).

    Returns
    -------
    matplotlib Axes
    """
    import numpy as np

    shown = data[data["quadrant"] != "suppressed"].reset_index(drop=True)
    negative = (shown[sign] < 0).to_numpy() if sign and sign in shown else \
        np.zeros(len(shown), dtype=bool)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 6))
    order = [q for q in QUADRANT_COLOURS if q in set(shown["quadrant"])]
    for q in order:
        for neg in (False, True):
            part = shown[(shown["quadrant"] == q).to_numpy() & (negative == neg)]
            if len(part):
                ax.scatter(part[x], part[y], s=60 if not neg else 70, zorder=3,
                           color=QUADRANT_COLOURS[q], marker="v" if neg else "o",
                           edgecolors="black" if neg else "none", linewidths=0.6,
                           label=q if not neg or not (shown["quadrant"] == q)[~negative].any()
                           else None)
    if negative.any():
        ax.scatter([], [], marker="v", color="white", edgecolors="black", linewidths=0.6,
                   label="negative driver (higher rating, worse outcome)")
    ax.axvline(data.attrs.get("performance_line", shown[x].mean()), color="0.5", lw=0.8, ls="--")
    ax.axhline(data.attrs.get("importance_line", shown[y].mean()), color="0.5", lw=0.8, ls="--")
    if len(shown):
        ax.margins(0.12)
    ax.autoscale_view()
    ax.set_xlim(ax.get_xlim())                  # fixed, so the labels' places stay valid
    ax.set_ylim(ax.get_ylim())
    texts = [f"{lab} (negative)" if neg else str(lab)
             for lab, neg in zip(shown[label], negative)]
    _place_labels(ax, shown[x].to_numpy(float), shown[y].to_numpy(float), texts)
    hidden = data.loc[data["quadrant"] == "suppressed", label]
    if len(hidden):
        ax.set_title("suppressed (base under the minimum): " + ", ".join(map(str, hidden)),
                     fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(title="", fontsize="small", loc="best")
    return ax


# ----------------------------------------------------------------------------------------------
# journeys over time (notebook 03): rates by period with interval bands, periods that stand out
# ----------------------------------------------------------------------------------------------

def rate_timeline_plot(data, x="period", y="rate", low="low", high="high", hue="group",
                       flag="stands_out", ax=None, ylabel="rate", title=None, palette=None):
    """A rate by period with its interval band, a line per group; periods that stand out marked.

    Parameters
    ----------
    data : DataFrame
        Tidy rows of one measure and step, e.g. of :func:`cx_helpers.journeys.timeline.timeline`
        (``period, group, rate, low, high, suppressed, stands_out``). Suppressed periods (a
        missing rate) leave a gap; they are never drawn as numbers.
    x, y, low, high : str
        Period column, rate column and interval bound columns.
    hue : str or None
        Column separating the lines (e.g. ``group``: ``all`` and the platforms).
    flag : str or None
        Boolean column: periods that stand out get a ring around their point.
    ax : matplotlib Axes, optional
    ylabel, title : str, optional
    palette : dict, optional
        Group -> colour.

    Returns
    -------
    matplotlib Axes
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.2))
    groups = list(dict.fromkeys(data[hue])) if hue else [None]
    colours = palette or dict(zip(groups, sns.color_palette(n_colors=max(len(groups), 1))))
    marked = False
    for g in groups:
        d = (data[data[hue] == g] if hue else data).sort_values(x)
        c = colours.get(g, "0.3")
        ax.fill_between(d[x], d[low], d[high], color=c, alpha=0.18, lw=0)
        ax.plot(d[x], d[y], color=c, lw=1.4, marker="o", ms=3, label=None if g is None else g)
        if flag and flag in d:
            f = d[d[flag].astype(bool) & d[y].notna()]
            if len(f):
                ax.scatter(f[x], f[y], s=90, facecolors="none", edgecolors="crimson", lw=1.6,
                           zorder=4, label=None if marked else "stands out")
                marked = True
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("")
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    if title:
        ax.set_title(title, fontsize="medium")
    if hue or marked:
        ax.legend(fontsize="small", loc="best", ncol=2)
    ax.figure.autofmt_xdate()
    return ax


def timeline_grid(data, measure="conversion", steps=None, hue="group", ylabel=None,
                  suptitle=None):
    """One :func:`rate_timeline_plot` per step of a measure, stacked, sharing the time axis.

    Parameters
    ----------
    data : DataFrame
        :func:`cx_helpers.journeys.timeline.timeline`.
    measure : {"conversion", "reach"}
    steps : list of str, optional
        The steps to draw, in order (default: every step of the measure, in table order).
    hue : str
        Column separating the lines in each panel.

    Returns
    -------
    matplotlib Figure
    """
    d = data[data["measure"] == measure]
    steps = list(steps) if steps is not None else list(dict.fromkeys(d["step"]))
    if not steps:
        raise ValueError(f"no rows of measure {measure!r} to draw.")
    fig, axes = plt.subplots(len(steps), 1, figsize=(8, 2.3 * len(steps) + 0.6), sharex=True,
                             squeeze=False)
    groups = list(dict.fromkeys(d[hue])) if hue else [None]
    palette = dict(zip(groups, sns.color_palette(n_colors=max(len(groups), 1))))
    for ax, step in zip(axes[:, 0], steps):
        rate_timeline_plot(d[d["step"] == step], hue=hue, ax=ax, palette=palette,
                           ylabel=ylabel or measure, title=step)
        if ax is not axes[0, 0] and ax.get_legend() is not None:
            ax.get_legend().remove()
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig
