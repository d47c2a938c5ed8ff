"""The touchpoint inventory, the stage x channel grid and their figures."""

from __future__ import annotations

import dataclasses
import json

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.weightstats import DescrStatsW

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from cx_helpers import inventory, load_study, metrics, plots, report, synth  # noqa: E402

ESTIMATES = ["reach", "frequency", "frequency_30d", "na_rate", "sat_mean", "sat_low", "sat_high",
             "top_box", "top_box_low", "top_box_high", "bottom_box", "event_mean", "event_low",
             "event_high", "importance", "importance_low", "importance_high", "impact",
             "impact_low", "impact_high", "pain_score"]
SURVEY_ESTIMATES = ["na_rate", "sat_mean", "sat_low", "sat_high", "top_box", "top_box_low",
                    "top_box_high", "bottom_box", "importance", "importance_low",
                    "importance_high", "impact", "impact_low", "impact_high", "pain_score"]


@pytest.fixture(scope="module")
def inv(sample_study):
    return inventory.touchpoint_inventory(sample_study)


@pytest.fixture(scope="module")
def raw(sample_dir):
    survey = pd.read_csv(sample_dir / "survey.csv")
    events = pd.read_csv(sample_dir / "events.csv")
    return survey, events


def test_columns_and_order(inv, sample_study):
    assert list(inv.columns) == inventory.INVENTORY_COLUMNS
    assert list(inv["touchpoint"]) == list(sample_study.catalog["touchpoint"])
    assert {"label", "pain_rank", "stage", "channel", "type", "n", "sat_mean", "sat_low",
            "sat_high", "suppressed"} <= set(inv.columns)
    assert all(c == c.lower() and " " not in c for c in inv.columns)
    assert (inv["outcome"] == "ltr").all()


def test_reach_and_frequency_against_pandas(inv, raw):
    _, events = raw
    customers = events["customer_id"].nunique()
    span = (pd.to_datetime(events["timestamp"]).max()
            - pd.to_datetime(events["timestamp"]).min()).total_seconds() / 86400
    g = events.groupby("touchpoint").agg(met=("customer_id", "nunique"),
                                         contacts=("customer_id", "size"))
    row = inv.set_index("touchpoint")
    assert row["reach"].to_numpy() == pytest.approx((g["met"] / customers)[row.index].to_numpy())
    freq = (g["contacts"] / g["met"])[row.index]
    assert row["frequency"].to_numpy() == pytest.approx(freq.to_numpy())
    assert row["frequency_30d"].to_numpy() == pytest.approx((freq / span * 30).to_numpy())
    assert (row["customers"].astype(int) == g["met"][row.index]).all()
    rated = events.dropna(subset=["rating"]).groupby("touchpoint")["rating"]
    phone = rated.get_group("phone_support")
    low, high = stats.t.interval(0.95, phone.size - 1, phone.mean(), stats.sem(phone))
    assert (row.loc["phone_support", ["event_n", "event_mean", "event_low", "event_high"]]
            .to_numpy(dtype=float) == pytest.approx([phone.size, phone.mean(), low, high]))
    assert np.isnan(row.loc["website_browse", "event_mean"])       # no transactional ratings


def test_satisfaction_and_na_rate_against_the_raw_survey(inv, raw):
    survey, _ = raw
    row = inv.set_index("touchpoint").loc["billing_call"]
    x = survey["q_billing_call"].where(survey["q_billing_call"] != 9)
    w = survey["weight"]
    keep = x.notna()
    assert row["n"] == keep.sum()
    assert row["na_rate"] == pytest.approx(w[~keep].sum() / w.sum())
    m = metrics.mean(x, w)
    assert (row["sat_mean"], row["sat_low"], row["sat_high"]) == pytest.approx(
        (m.value, m.low, m.high))
    assert row["sat_mean"] == pytest.approx(np.average(x[keep], weights=w[keep]))
    assert row["top_box"] == pytest.approx(w[x >= 4].sum() / w[keep].sum())
    assert row["bottom_box"] == pytest.approx(w[x <= 2].sum() / w[keep].sum())
    assert row["top_box_low"] < row["top_box"] < row["top_box_high"]


def test_importance_is_a_weighted_correlation_with_a_fisher_interval(inv, raw):
    survey, _ = raw
    row = inv.set_index("touchpoint").loc["sim_activation"]
    d = survey[["q_sim_activation", "q_recommend", "weight"]]
    d = d[d["q_sim_activation"] != 9].dropna()
    r = DescrStatsW(d[["q_sim_activation", "q_recommend"]].to_numpy(),
                    weights=d["weight"].to_numpy()).corrcoef[0, 1]
    n_eff = d["weight"].sum() ** 2 / (d["weight"] ** 2).sum()
    half = stats.norm.ppf(0.975) / np.sqrt(n_eff - 3)
    assert row["importance"] == pytest.approx(r)
    assert (row["importance_low"], row["importance_high"]) == pytest.approx(
        (np.tanh(np.arctanh(r) - half), np.tanh(np.arctanh(r) + half)))
    assert row["importance_n"] == len(d)


def test_impact_is_a_welch_difference(sample_study):
    flat = dataclasses.replace(sample_study, respondents=sample_study.respondents.assign(
        weight=1.0))
    row = inventory.touchpoint_inventory(flat).set_index("touchpoint").loc["phone_support"]
    x, y = flat.ratings["phone_support"], flat.respondents["ltr"]
    sat, dis = y[x >= 4].dropna(), y[x <= 2].dropna()
    ref = stats.ttest_ind(sat, dis, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert (row["impact"], row["impact_low"], row["impact_high"]) == pytest.approx(
        (sat.mean() - dis.mean(), ci.low, ci.high))
    assert (row["n_satisfied"], row["n_dissatisfied"]) == (sat.size, dis.size)
    assert row["pain_score"] == pytest.approx(row["reach"] * (1 - row["top_box"])
                                              * row["impact"])


def _no_numbers_when_suppressed(table, min_base):
    sup = table[table["suppressed"]]
    assert sup[SURVEY_ESTIMATES].isna().all().all()
    assert sup["pain_rank"].isna().all()
    small_groups = table[["n_satisfied", "n_dissatisfied"]].min(axis=1) < min_base
    assert table.loc[small_groups, ["impact", "impact_low", "impact_high", "pain_score"]] \
        .isna().all().all()
    assert table.loc[table["importance_n"] < min_base, ["importance", "importance_low"]] \
        .isna().all().all()
    assert table.loc[table["event_n"] < min_base, ["event_mean", "event_low"]].isna().all().all()
    if "customers" in table and table["customers"].notna().any():
        few = table["customers"].fillna(0).astype(int) < min_base
        assert table.loc[few, ["frequency", "frequency_30d"]].isna().all().all()
    ranked = table.dropna(subset=["pain_rank"])
    assert sorted(ranked["pain_rank"].astype(int)) == list(range(1, len(ranked) + 1))


@pytest.mark.parametrize("min_base", [30, 420, 700])
def test_nothing_under_min_base_leaves_the_package(sample_study, tmp_path, min_base):
    table = inventory.touchpoint_inventory(sample_study, min_base=min_base)
    assert (table["suppressed"] == (table["n"] < min_base)).all()
    if min_base > 30:
        assert table["suppressed"].any() and not table["suppressed"].all()
    _no_numbers_when_suppressed(table, min_base)
    # ... also after the notebook writes it: suppressed rows read back as blanks
    path = tmp_path / "inventory.csv"
    table.to_csv(path, index=False, float_format="%.6g")
    back = pd.read_csv(path)
    assert back.loc[back["suppressed"], SURVEY_ESTIMATES].isna().all().all()
    grid = inventory.stage_channel_grid(sample_study, min_base=min_base)
    assert grid.loc[grid["suppressed"], ["satisfaction", "sat_low", "sat_high"]].isna().all().all()
    assert (grid["suppressed"] == (grid["n"] < min_base)).all()


def test_everything_suppressed_in_a_tiny_segment(sample_study):
    everything = inventory.touchpoint_inventory(sample_study, min_base=10**6)
    assert everything["suppressed"].all()
    assert everything[ESTIMATES].isna().all().all()
    assert everything["pain_rank"].isna().all()


def test_without_events_reach_comes_from_ratings(sample_study):
    no_events = dataclasses.replace(sample_study, events=None)
    table = inventory.touchpoint_inventory(no_events).set_index("touchpoint")
    assert table["frequency"].isna().all() and table["event_mean"].isna().all()
    x = sample_study.ratings["chat"]
    w = sample_study.respondents["weight"]
    assert table.loc["chat", "reach"] == pytest.approx(w[x.notna()].sum() / w.sum())
    assert table.loc["chat", "reach"] == pytest.approx(1 - table.loc["chat", "na_rate"])
    assert table["pain_rank"].notna().sum() >= 10


def test_planted_effects_lead_the_impact_ranking(sample_study, sample_dir):
    """Criterion (bundled sample, and a fresh study with another seed): among the touchpoints
    with a measurable impact, the five largest planted effects (>= 0.7) hold at least 4 of the
    top 5 impact places and all lie within the top 6; Spearman rho between impact (and
    importance) and the planted effects >= 0.75; the pain ranking's top 3 are among those five.
    Impact is a marginal difference, so a touchpoint sharing a journey with strong ones can
    borrow their effect (within-journey correlation 0.35): hence top 6, not an exact order.
    Seeds 1, 2, 3, 7, 11 and the sample's all pass this (checked when the test was written)."""
    truth = json.loads((sample_dir / "truth.json").read_text())["touchpoint_effects"]
    table = inventory.touchpoint_inventory(sample_study)
    _check_ranking(table, truth)


def test_planted_effects_on_a_fresh_synthetic_study(tmp_path):
    out = synth.write_study(tmp_path / "s", customers=3000, seed=7)
    study = load_study(out)
    truth = json.loads((out / "truth.json").read_text())["touchpoint_effects"]
    _check_ranking(inventory.touchpoint_inventory(study), truth)


def _check_ranking(table, truth):
    measured = table.dropna(subset=["impact"]).set_index("touchpoint")
    assert len(measured) >= 12
    planted = pd.Series(truth)[measured.index]
    strongest = set(planted[planted >= 0.7].index)
    assert len(strongest) == 5
    top5 = set(measured["impact"].nlargest(5).index)
    top6 = set(measured["impact"].nlargest(6).index)
    assert len(strongest & top5) >= 4 and strongest <= top6, (strongest, top6)
    rho = stats.spearmanr(measured["impact"], planted).statistic
    assert rho >= 0.75, rho
    assert stats.spearmanr(measured["importance"], planted).statistic >= 0.75
    first = table.dropna(subset=["pain_rank"]).nsmallest(3, "pain_rank")["touchpoint"]
    assert (pd.Series(truth)[first] >= 0.7).all()


def test_stage_channel_grid(sample_study, inv, raw):
    _, events = raw
    grid = inventory.stage_channel_grid(sample_study)
    assert list(grid.columns) == ["stage", "channel", "touchpoints", "reach", "satisfaction",
                                  "sat_low", "sat_high", "n", "suppressed"]
    assert list(grid["stage"].cat.categories) == sample_study.stages
    assert grid["stage"].is_monotonic_increasing
    assert grid["touchpoints"].sum() == len(sample_study.catalog)
    one = grid[(grid["stage"] == "billing") & (grid["channel"] == "phone")].iloc[0]
    row = inv.set_index("touchpoint").loc["billing_call"]
    assert (one["reach"], one["satisfaction"], one["n"]) == pytest.approx(
        (row["reach"], row["sat_mean"], row["n"]))
    two = grid[(grid["stage"] == "onboarding") & (grid["channel"] == "app")].iloc[0]
    tps = ["sim_activation", "app_setup"]
    met = events.loc[events["touchpoint"].isin(tps), "customer_id"].nunique()
    assert two["touchpoints"] == 2
    assert two["reach"] == pytest.approx(met / events["customer_id"].nunique())
    per_resp = sample_study.ratings[tps].mean(axis=1)
    assert two["n"] == per_resp.notna().sum()
    w = sample_study.respondents["weight"]
    assert two["satisfaction"] == pytest.approx(np.average(per_resp.dropna(),
                                                           weights=w[per_resp.notna()]))


def test_executive_summary_reads_the_inventory(inv, tmp_path):
    inv.to_csv(tmp_path / "inventory.csv", index=False)
    items = dict(report.executive_summary(tmp_path))
    first = list(inv.nsmallest(3, "pain_rank")["label"])
    assert items["Pain points"].startswith(f"{first[0]}, {first[1]} and {first[2]} rank highest")


def test_inventory_table_for_readers(inv, sample_study):
    shown = inventory.inventory_table(inv, "Likelihood to recommend", "nps").frame
    # labels, not ids; proportions in %; the columns the sample fills
    assert list(shown["Touchpoint"]) == list(inv["label"])
    assert "touchpoint" not in shown.columns and "Touchpoint" in shown.columns
    row = inv.iloc[0]
    assert shown["Reach"].iloc[0] == f"{100 * row['reach']:.0f} %"
    assert shown["Satisfied"].iloc[0] == f"{100 * row['top_box']:.0f} %"
    assert shown["Ratings"].iloc[0] == f"{row['n']:,}"
    assert shown["Impact"].iloc[0] == f"{row['impact']:+.2f}"
    # a column blank in every row is not shown: without events there is no reach nor frequency
    no_log = dataclasses.replace(sample_study, events=None)
    bare = inventory.touchpoint_inventory(no_log)
    assert bare["frequency"].isna().all() and bare["event_mean"].isna().all()
    frame = inventory.inventory_table(bare).frame
    assert "Contacts per user" not in frame and "Rating after contact" not in frame
    assert all((frame[c] != "\u2013").any() for c in frame.columns)
    # a yes/no outcome's impact is a difference of shares, in percentage points
    churn = inventory.touchpoint_inventory(sample_study, outcome="churn")
    cell = inventory.inventory_table(churn, "Churned", "binary").frame["Impact"]
    value = churn["impact"].dropna().iloc[0]
    assert f"{100 * value:+.1f} pts" in set(cell)


def test_heatmap_colour_scale_is_fixed(sample_study):
    grid = inventory.stage_channel_grid(sample_study)
    fig, axes = plt.subplots(1, 2)
    plots.stage_channel_heatmap(grid, "satisfaction", ax=axes[0],
                                scale=inventory.rating_scale(sample_study))
    plots.stage_channel_heatmap(grid, "reach", ax=axes[1])
    assert inventory.rating_scale(sample_study) == (1.0, 5.0)
    assert axes[0].collections[0].get_clim() == (1.0, 5.0)
    assert axes[1].collections[0].get_clim() == (0.0, 1.0)
    ticks = [t.get_text() for t in axes[1].collections[0].colorbar.ax.get_yticklabels()]
    assert any(t.endswith("%") for t in ticks)
    plt.close("all")


# ----------------------------------------------------------------------------------------------
# figures
# ----------------------------------------------------------------------------------------------

def _texts(ax):
    return [t.get_text() for t in ax.texts]


def test_figures_label_suppressed_rows(sample_study):
    table = inventory.touchpoint_inventory(sample_study, min_base=420)
    n_sup = int(table["suppressed"].sum())
    ax = plots.satisfaction_plot(table)
    assert _texts(ax).count("suppressed") == n_sup
    points = sum(len(c.get_offsets()) for c in ax.collections if hasattr(c, "get_offsets")
                 and c.get_offsets().shape[1:] == (2,) and type(c).__name__ == "PathCollection")
    assert points == len(table) - n_sup
    labels = [t.get_text() for t in ax.get_yticklabels()]
    stages = table["stage"].cat.codes.to_numpy()
    assert list(np.sort(stages, kind="stable")) == list(
        table.set_index("label").loc[labels, "stage"].cat.codes)
    plt.close("all")

    seg = metrics.segment_table(sample_study.respondents, "ltr", "plan", weights="weight",
                                min_base=500)
    ax = plots.segment_plot(seg)
    assert _texts(ax).count("suppressed") == int(seg["suppressed"].sum()) >= 1
    plt.close("all")

    ax = plots.pain_point_plot(inventory.touchpoint_inventory(sample_study), top=20)
    assert "suppressed" in _texts(ax)
    assert len(ax.patches) == inventory.touchpoint_inventory(sample_study)["pain_rank"] \
        .notna().sum()
    plt.close("all")

    grid = inventory.stage_channel_grid(sample_study, min_base=500)
    fig, axes = plt.subplots(1, 2)
    plots.stage_channel_heatmap(grid, "satisfaction", ax=axes[0])
    plots.stage_channel_heatmap(grid, "reach", ax=axes[1])
    assert _texts(axes[0]).count("suppressed") == int(grid["suppressed"].sum()) >= 1
    assert "suppressed" not in _texts(axes[1])
    assert [t.get_text() for t in axes[0].get_yticklabels()] == [
        s for s in sample_study.stages if s in set(grid["stage"].astype(str))]
    with pytest.raises(ValueError):
        plots.stage_channel_heatmap(grid, "nps")
    plt.close("all")


def test_default_outcome_falls_back_to_a_yes_no_outcome(tmp_path):
    """A study whose only outcome is yes/no still gets importance and impact against it."""
    from cx_helpers import load_study
    from cx_helpers.inventory import default_outcome
    from cx_helpers.synth import write_study

    study = load_study(write_study(tmp_path / "airline", customers=400, seed=1, shape="airline"))
    kinds = {o.kind for o in study.outcome_specs.values()}
    assert kinds == {"binary"}
    assert study.outcome_specs[default_outcome(study)].kind == "binary"
