"""Journeys reconstructed from an event log, in DuckDB: segmentation, types, paths, transitions.

Every customer's interactions are put in time order (ties keep the order of the rows as given)
and cut into journeys:

* by a **case id** (a ticket): every case is one journey; or
* by an **inactivity gap**: a new journey starts when more than ``gap_days`` passed since the
  customer's previous interaction, and/or
* at a **journey-starting touchpoint** (``starts``): an interaction there always opens a journey.

Each journey gets a type, from rules (first match wins, in the order given)::

    types:
      billing: {starts_with: [bill_received, billing_call]}
      repair:  {contains: [store_repair]}
      closed:  {ends_with: [Closed]}

or, without rules, the declared journey (``journeys.declared`` of the study) that holds most of
its interactions (ties: the one met first), or ``"all"``. :func:`discover_types` clusters paths
instead and describes each cluster in words.

The heavy work is SQL over the events (a pandas DataFrame or a Parquet/CSV file), not a Python
loop over customers: :class:`JourneyLog` keeps the labelled events and the journey table in an
in-process DuckDB connection and returns tidy DataFrames.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

__all__ = ["JourneyLog", "discover_types", "journey_log", "reconstruct_journeys",
           "transition_matrix"]

START, END = "(start)", "(end)"
_RULES = ("starts_with", "contains", "ends_with")


def _lit(value) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def _list(values) -> str:
    return "[" + ", ".join(_lit(v) for v in values) + "]"


def _type_sql(types: dict | None) -> str | None:
    """A SQL CASE expression over a journey's touchpoint list ``tps`` from the type rules."""
    if not types:
        return None
    whens = []
    for name, rule in types.items():
        if not isinstance(rule, dict) or not rule or set(rule) - set(_RULES):
            raise ValueError(f"journey type {name!r}: a rule is a mapping with one or more of "
                             f"{', '.join(_RULES)} -> list of touchpoints; found {rule!r}.")
        conds = []
        for kind, tps in rule.items():
            tps = [tps] if isinstance(tps, str) else list(tps)
            if kind == "starts_with":
                conds.append(f"list_contains({_list(tps)}, tps[1])")
            elif kind == "ends_with":
                conds.append(f"list_contains({_list(tps)}, tps[-1])")
            else:
                conds.append(f"list_has_any(tps, {_list(tps)})")
        whens.append(f"WHEN {' AND '.join(conds)} THEN {_lit(name)}")
    return "CASE " + " ".join(whens) + " ELSE 'other' END"


@dataclass
class JourneyLog:
    """Events labelled with their journey, and the journey table, held in DuckDB.

    Built by :func:`reconstruct_journeys`. Tables in the connection: ``labelled`` (an event a
    row, with ``journey``, ``step``, ``new_journey``, ``prev_touchpoint``) and ``journeys``.
    """

    con: duckdb.DuckDBPyConnection
    settings: dict

    def events(self) -> pd.DataFrame:
        """Events with their journey: ``customer, journey, step, time, touchpoint, channel,
        rating`` (plus ``case``), in customer, journey and step order."""
        case = ', "case"' if self.settings["has_case"] else ""
        return self.con.execute(
            "SELECT l.customer, j.journey, j.type, l.step, l.time, l.touchpoint, l.channel, "
            f"l.rating{case} FROM labelled l JOIN journeys j USING (pkey, jn) "
            "ORDER BY l.customer, j.start, j.journey, l.step").df()

    def journeys(self) -> pd.DataFrame:
        """A row per journey.

        Columns: ``journey, customer, type, start, end, duration_h, contacts, touchpoints``
        (distinct), ``path`` (touchpoints joined by " > "), ``first_touchpoint,
        last_touchpoint, channel_switches`` (consecutive contacts on different channels),
        ``longest_wait_h`` (longest time between two consecutive contacts), ``resolution_h``
        (hours to the first resolving touchpoint, if any), ``rating_mean,
        ratings`` (transactional ratings given), ``is_repeat`` (the customer had a journey of
        the same type that ended at most ``repeat_days`` before this one started: failure
        demand), ``followed_by_repeat``, ``is_repeat_any`` (the same, for a previous journey
        of any type, e.g. another ticket), ``resolved`` (contains a resolving touchpoint;
        without resolving touchpoints: not followed by a repeat).
        """
        return self.con.execute(
            "SELECT * EXCLUDE (tps, pkey, jn) FROM journeys ORDER BY customer, start, journey"
        ).df()

    def transitions(self, type: str | None = None) -> pd.DataFrame:
        """Transition counts and probabilities between touchpoints within journeys.

        Parameters
        ----------
        type : str, optional
            Only journeys of this type.

        Returns
        -------
        DataFrame
            ``from, to, n, probability`` where ``from`` includes ``"(start)"`` (journey entry)
            and ``to`` includes ``"(end)"`` (journey exit); probabilities sum to 1 per ``from``.
        """
        where = "" if type is None else f"WHERE j.type = {_lit(type)}"
        return self.con.execute(f"""
            WITH l AS (SELECT l.* FROM labelled l JOIN journeys j USING (pkey, jn) {where}),
            pairs AS (
                SELECT CASE WHEN new_journey THEN '{START}' ELSE prev_touchpoint END AS "from",
                       touchpoint AS "to" FROM l
                UNION ALL
                SELECT last_touchpoint, '{END}' FROM journeys j {where}),
            counts AS (SELECT "from", "to", count(*) AS n FROM pairs GROUP BY ALL)
            SELECT "from", "to", n, n / sum(n) OVER (PARTITION BY "from") AS probability
            FROM counts ORDER BY "from", "to"
        """).df()

    def funnel(self) -> pd.DataFrame:
        """Step funnel per journey type: how many journeys reach each step, and the drop-off.

        Returns
        -------
        DataFrame
            ``type, step, journeys, share`` (of the type's journeys reaching the step),
            ``drop_off`` (share of those at the step that end there), ``top_touchpoint`` (the
            commonest touchpoint at the step) and its ``top_share``.
        """
        return self.con.execute("""
            WITH s AS (
                SELECT j.type, l.step, count(*) AS journeys
                FROM labelled l JOIN journeys j USING (pkey, jn) GROUP BY ALL),
            top AS (
                SELECT j.type, l.step, l.touchpoint, count(*) AS n
                FROM labelled l JOIN journeys j USING (pkey, jn) GROUP BY ALL),
            best AS (
                SELECT type, step, arg_max(touchpoint, n * 1e6 - rank) AS top_touchpoint,
                       max(n) AS top_n
                FROM (SELECT *, row_number() OVER (PARTITION BY type, step ORDER BY touchpoint)
                      AS rank FROM top) GROUP BY ALL),
            f AS (
                SELECT s.type, s.step, s.journeys,
                       s.journeys / first_value(s.journeys) OVER w AS share,
                       1 - coalesce(lead(s.journeys) OVER w, 0) / s.journeys AS drop_off,
                       b.top_touchpoint, b.top_n / s.journeys AS top_share
                FROM s JOIN best b USING (type, step)
                WINDOW w AS (PARTITION BY s.type ORDER BY s.step))
            SELECT * FROM f ORDER BY type, step
        """).df()

    def touchpoint_coverage(self) -> pd.DataFrame:
        """Share of each type's journeys that include each touchpoint: ``type, touchpoint,
        journeys, share``."""
        return self.con.execute("""
            WITH c AS (SELECT j.type, l.touchpoint, count(DISTINCT (l.pkey, l.jn)) AS journeys
                       FROM labelled l JOIN journeys j USING (pkey, jn) GROUP BY ALL),
            t AS (SELECT type, count(*) AS total FROM journeys GROUP BY ALL)
            SELECT c.type, c.touchpoint, c.journeys, c.journeys / t.total AS share
            FROM c JOIN t USING (type) ORDER BY c.type, share DESC, c.touchpoint
        """).df()

    def summary(self) -> pd.DataFrame:
        """A row per journey type: ``type, journeys, customers, contacts_mean, duration_h_median,
        resolution_h_median, channel_switches_mean, repeat_share, resolved_share, top_path, top_path_share``."""
        return self.con.execute("""
            WITH p AS (SELECT type, path, count(*) AS n FROM journeys GROUP BY ALL),
            tp AS (SELECT type, arg_max(path, n * 1e6 - rank) AS top_path, max(n) AS top_n
                   FROM (SELECT *, row_number() OVER (PARTITION BY type ORDER BY path) AS rank
                         FROM p) GROUP BY ALL)
            SELECT type, count(*) AS journeys, count(DISTINCT customer) AS customers,
                   avg(contacts) AS contacts_mean, median(duration_h) AS duration_h_median,
                   median(resolution_h) AS resolution_h_median,
                   avg(channel_switches) AS channel_switches_mean,
                   avg(is_repeat::DOUBLE) AS repeat_share, avg(resolved::DOUBLE) AS resolved_share,
                   any_value(top_path) AS top_path, any_value(top_n) / count(*) AS top_path_share
            FROM journeys JOIN tp USING (type) GROUP BY type ORDER BY journeys DESC, type
        """).df()

    def customers(self) -> pd.DataFrame:
        """A row per customer: ``customer, journeys, contacts, repeat_journeys, unresolved,
        first, last``."""
        return self.con.execute("""
            SELECT customer, count(*) AS journeys, sum(contacts) AS contacts,
                   sum(is_repeat::INT) AS repeat_journeys, sum((NOT resolved)::INT) AS unresolved,
                   min(start) AS first, max("end") AS last
            FROM journeys GROUP BY customer ORDER BY customer
        """).df()

    def set_types(self, labels: pd.DataFrame) -> "JourneyLog":
        """Replace the journey types (``journey, type``, e.g. from :func:`discover_types`) and
        recompute the repeat flags."""
        self.con.register("_new_types", labels[["journey", "type"]])
        self.con.execute("UPDATE journeys SET type = n.type FROM _new_types n "
                         "WHERE journeys.journey = n.journey")
        self.con.unregister("_new_types")
        _repeat_flags(self.con, self.settings)
        return self


def _source(con, events) -> str:
    """Register the events (DataFrame, Parquet or CSV path) as the relation ``src``."""
    if isinstance(events, (str, Path)):
        path = str(events)
        if path.endswith(".parquet"):
            con.execute("CREATE VIEW src_raw AS SELECT * EXCLUDE (file_row_number), "
                        f"file_row_number AS _row FROM read_parquet({_lit(path)}, "
                        "file_row_number = true)")
        else:
            con.execute("CREATE VIEW src_raw AS SELECT *, row_number() OVER () AS _row "
                        f"FROM read_csv_auto({_lit(path)})")
        return "src_raw"
    con.register("src_events", events)
    con.register("src_order", pd.DataFrame({"_row": np.arange(len(events), dtype=np.int64)}))
    con.execute("CREATE VIEW src_raw AS SELECT * FROM src_events POSITIONAL JOIN src_order")
    return "src_raw"


def _repeat_flags(con, settings):
    days = settings["repeat_days"]
    resolving = settings["resolving"]
    limit = "NULL" if days is None else str(float(days) * 86400.0)
    resolved = (f"list_has_any(tps, {_list(resolving)})" if resolving
                else f"NOT coalesce(until_next <= {limit}, false)")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE journeys AS
        WITH r AS (
            SELECT * EXCLUDE (is_repeat, followed_by_repeat, is_repeat_any, resolved),
                   epoch(start) - epoch(lag("end") OVER w) AS since_prev,
                   epoch(lead(start) OVER w) - epoch("end") AS until_next,
                   epoch(start) - max(epoch("end")) OVER (PARTITION BY customer ORDER BY start,
                       journey ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS since_any
            FROM journeys WINDOW w AS (PARTITION BY customer, type ORDER BY start, journey))
        SELECT * EXCLUDE (since_prev, until_next, since_any),
               coalesce(since_prev <= {limit}, false) AS is_repeat,
               coalesce(until_next <= {limit}, false) AS followed_by_repeat,
               coalesce(since_any <= {limit}, false) AS is_repeat_any,
               {resolved} AS resolved
        FROM r
    """)


def reconstruct_journeys(events, gap_days: float | None = None, starts=None,
                         by_case: bool = False, types: dict | None = None,
                         declared: dict | None = None, repeat_days: float | None = 30.0,
                         resolving=None) -> JourneyLog:
    """Cut each customer's interactions into journeys and describe every journey.

    Parameters
    ----------
    events : DataFrame or str or Path
        A row per interaction with columns ``customer, time, touchpoint`` and optionally
        ``channel, rating, case`` (as :attr:`Study.events`), or the path of a Parquet/CSV file
        with those columns. Rows need not be sorted; rows with the same customer and time keep
        their order in the input.
    gap_days : float, optional
        A new journey starts after more than this many days without an interaction.
    starts : list of str, optional
        Touchpoints that always open a new journey.
    by_case : bool
        One journey per case id (column ``case``), ignoring gaps and starts.
    types : dict, optional
        Type rules ``type -> {starts_with|contains|ends_with: [touchpoints]}``; the first
        matching rule wins; journeys matching none are ``"other"``.
    declared : dict, optional
        ``journey name -> touchpoints`` (the study's declared journeys), used to type journeys
        when there are no rules.
    repeat_days : float, optional
        A journey is a repeat (failure demand) when the same customer's previous journey of the
        same type ended at most this many days before it started.
    resolving : list of str, optional
        Touchpoints that mark a journey as resolved (e.g. "Resolve ticket"). Without them, a
        journey counts as resolved when no repeat journey of the same type follows within
        ``repeat_days``.

    Returns
    -------
    JourneyLog
        Query it with ``.journeys()``, ``.transitions()``, ``.funnel()``, ``.events()``...
    """
    if not by_case and gap_days is None and not starts:
        raise ValueError("give gap_days and/or starts (or by_case=True) to cut journeys.")
    con = duckdb.connect()
    src = _source(con, events)
    cols = {c.lower(): c for c in con.execute(f"SELECT * FROM {src} LIMIT 0").df().columns}
    has_case = "case" in cols
    if by_case and not has_case:
        raise ValueError("by_case=True needs a 'case' column in the events.")
    channel = "channel" if "channel" in cols else "NULL::VARCHAR"
    rating = "rating::DOUBLE" if "rating" in cols else "NULL::DOUBLE"
    case = ', "case"::VARCHAR AS "case"' if has_case else ""
    part = '"case"' if by_case else "customer"
    cuts = []
    if not by_case and gap_days is not None:
        cuts.append(f"ts - prev_ts > {float(gap_days) * 86400.0}")
    if not by_case and starts:
        cuts.append(f"list_contains({_list(starts)}, touchpoint)")
    cut = " OR ".join(cuts) if cuts else "false"
    journey_id = "pkey" if by_case else "pkey || '#' || lpad(jn::VARCHAR, 3, '0')"
    con.execute(f"""
        CREATE TEMP TABLE labelled AS
        WITH s AS (
            SELECT customer::VARCHAR AS customer, time, touchpoint::VARCHAR AS touchpoint,
                   {channel}::VARCHAR AS channel, {rating} AS rating{case},
                   _row
            FROM {src}),
        o AS (
            SELECT *, epoch(time) AS ts,
                   lag(epoch(time)) OVER w AS prev_ts,
                   lag(touchpoint) OVER w AS prev_touchpoint,
                   lag(channel) OVER w AS prev_channel,
                   row_number() OVER w AS rn
            FROM s WINDOW w AS (PARTITION BY {part} ORDER BY time, _row)),
        f AS (SELECT *, prev_ts IS NULL OR {cut} AS new_journey FROM o),
        g AS (SELECT *, sum(new_journey::INT) OVER w2 AS jn,
                     max(CASE WHEN new_journey THEN rn END) OVER w2 AS jrn
              FROM f WINDOW w2 AS (PARTITION BY {part} ORDER BY rn ROWS UNBOUNDED PRECEDING))
        SELECT * EXCLUDE (jrn), {part} AS pkey, rn - jrn + 1 AS step FROM g
    """)
    type_sql = _type_sql(types)
    if type_sql is None and declared:
        mapping = pd.DataFrame([(tp, name) for name, tps in declared.items() for tp in tps],
                               columns=["touchpoint", "declared"]).drop_duplicates("touchpoint")
        con.register("_declared", mapping)
        con.execute("""
            CREATE TEMP TABLE _dtype AS
            SELECT pkey, jn, arg_max(declared, n * 1e6 - first_step) AS type FROM (
                SELECT l.pkey, l.jn, d.declared, count(*) AS n, min(l.step) AS first_step
                FROM labelled l JOIN _declared d USING (touchpoint) GROUP BY ALL) GROUP BY ALL
        """)
    resolving_list = _list(resolving or [])
    con.execute(f"""
        CREATE TEMP TABLE journeys AS
        WITH a AS (
            SELECT pkey, jn, arg_min(customer, step) AS customer,
                   min(time) AS start, max(time) AS "end", count(*) AS contacts,
                   count(DISTINCT touchpoint) AS touchpoints,
                   list(touchpoint ORDER BY step) AS tps,
                   sum(CASE WHEN NOT new_journey AND channel IS DISTINCT FROM prev_channel
                            THEN 1 ELSE 0 END) AS channel_switches,
                   coalesce(max(CASE WHEN NOT new_journey THEN ts - prev_ts END), 0) / 3600.0
                       AS longest_wait_h,
                   (min(CASE WHEN list_contains({resolving_list}, touchpoint) THEN ts END)
                    - min(ts)) / 3600.0 AS resolution_h,
                   avg(rating) AS rating_mean, count(rating) AS ratings
            FROM labelled GROUP BY pkey, jn)
        SELECT {journey_id} AS journey, pkey, jn, customer, NULL::VARCHAR AS type, start, "end",
               (epoch("end") - epoch(start)) / 3600.0 AS duration_h, contacts, touchpoints,
               array_to_string(tps, ' > ') AS path, tps[1] AS first_touchpoint,
               tps[-1] AS last_touchpoint, channel_switches, longest_wait_h, resolution_h,
               rating_mean, ratings, tps,
               false AS is_repeat, false AS followed_by_repeat, false AS is_repeat_any,
               false AS resolved
        FROM a
    """)
    if type_sql is not None:
        con.execute(f"UPDATE journeys SET type = {type_sql}")
    elif declared:
        con.execute("UPDATE journeys SET type = d.type FROM _dtype d "
                    "WHERE journeys.pkey = d.pkey AND journeys.jn = d.jn")
        con.execute("UPDATE journeys SET type = 'other' WHERE type IS NULL")
    else:
        con.execute("UPDATE journeys SET type = 'all'")
    settings = {"gap_days": gap_days, "starts": list(starts or []), "by_case": by_case,
                "types": types, "repeat_days": repeat_days,
                "resolving": list(resolving or []), "has_case": has_case}
    _repeat_flags(con, settings)
    return JourneyLog(con, settings)


def journey_log(study, gap_days=None, by_case=None, repeat_days=None, resolving=None,
                types=None) -> JourneyLog | None:
    """Reconstruct the journeys of a study's events with its ``journeys.events`` config.

    Arguments given here override the config. Without events, returns ``None``. Defaults: one
    journey per case when the events have a case id and no ``gap_days`` is configured,
    otherwise a 7-day gap; ``repeat_days`` 30; types from the rules, else from the declared
    journeys; resolving touchpoints: those whose catalog ``type`` is ``resolution``.
    """
    if study.events is None:
        return None
    cfg = ((study.config.get("journeys") or {}).get("events")) or {}
    gap = gap_days if gap_days is not None else cfg.get("gap_days")
    if by_case is None:
        by_case = "case" in study.events.columns and gap is None and not cfg.get("starts")
    if not by_case and gap is None and not cfg.get("starts"):
        gap = 7.0
    declared = {name: list(j.touchpoints) for name, j in study.journeys.items()}
    if resolving is None:
        cat = study.catalog
        resolving = list(cat.loc[cat["type"] == "resolution", "touchpoint"]) or None
    return reconstruct_journeys(
        study.events, gap_days=gap, starts=cfg.get("starts"), by_case=by_case,
        types=types if types is not None else cfg.get("types"), declared=declared or None,
        repeat_days=repeat_days if repeat_days is not None else cfg.get("repeat_days", 30.0),
        resolving=resolving)


def transition_matrix(transitions: pd.DataFrame, value: str = "probability",
                      order=None) -> pd.DataFrame:
    """The transitions table as a square matrix (rows ``from``, columns ``to``), zeros filled.

    ``order`` fixes the touchpoint order; ``"(start)"`` comes first in the rows and
    ``"(end)"`` last in the columns.
    """
    nodes = list(order) if order is not None else sorted(
        (set(transitions["from"]) | set(transitions["to"])) - {START, END})
    m = transitions.pivot_table(index="from", columns="to", values=value, aggfunc="sum",
                                fill_value=0.0)
    return m.reindex(index=[START, *nodes], columns=[*nodes, END], fill_value=0.0).fillna(0.0)


def discover_types(log: JourneyLog, k: int = 5, seed: int = 0, top: int = 3) -> tuple:
    """Group journeys into ``k`` types by clustering their touchpoint content, and describe them.

    Each touchpoint gets a profile, the share of the journeys through it that also pass each
    other touchpoint; a journey is the mix of its touchpoints' profiles (weighted by its
    contacts), so journeys through touchpoints that go together land close even when they share
    no touchpoint. k-means (scikit-learn, seeded) groups them.

    Returns
    -------
    labels : DataFrame
        ``journey, type`` (type = the cluster's name, its most characteristic touchpoints).
    description : DataFrame
        ``type, journeys, share, description`` with the cluster described in words.
    """
    from sklearn.cluster import KMeans

    counts = log.con.execute("""
        SELECT j.journey, l.touchpoint, count(*)::DOUBLE AS n
        FROM labelled l JOIN journeys j USING (pkey, jn) GROUP BY ALL
    """).df()
    ends = log.con.execute(
        "SELECT journey, first_touchpoint, last_touchpoint, contacts, duration_h FROM journeys"
    ).df().set_index("journey").sort_index()
    share = counts.pivot_table(index="journey", columns="touchpoint", values="n",
                               fill_value=0.0).sort_index()
    share = share.div(share.sum(axis=1), axis=0)
    present = (share > 0).astype(float)
    # a touchpoint's profile: the share of journeys through it that also pass each touchpoint
    co = present.T @ present
    profile = co.div(np.diag(co), axis=0)
    x = share @ profile
    k = min(k, len(x))
    km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(x.to_numpy())
    cluster = pd.Series(km.labels_, index=x.index)
    names, rows = {}, []
    for c in range(k):
        members = cluster.index[cluster == c]
        inc = (share.loc[members] > 0).mean().sort_values(ascending=False, kind="stable")
        overall = (share > 0).mean()
        lift = (inc - overall).sort_values(ascending=False, kind="stable")
        key = [tp for tp in lift.index[:top] if inc[tp] > 0]
        names[c] = " + ".join(key[:2])
        start = ends.loc[members, "first_touchpoint"].value_counts()
        words = (f"{len(members)} journeys; {start.iloc[0 if len(start) else 0] / len(members):.0%} "
                 f"start at {start.index[0]}; usually include "
                 + ", ".join(f"{tp} ({inc[tp]:.0%})" for tp in key)
                 + f"; median {ends.loc[members, 'contacts'].median():g} contacts over "
                 f"{ends.loc[members, 'duration_h'].median():.1f} h")
        rows.append({"cluster": c, "journeys": len(members), "description": words})
    # unique names, ordered by size
    desc = pd.DataFrame(rows)
    desc["type"] = [names[c] for c in desc["cluster"]]
    dup = desc["type"].duplicated(keep=False)
    desc.loc[dup, "type"] = desc.loc[dup, "type"] + " #" + desc.loc[dup, "cluster"].astype(str)
    desc["share"] = desc["journeys"] / desc["journeys"].sum()
    labels = pd.DataFrame({"journey": cluster.index,
                           "type": desc.set_index("cluster")["type"].reindex(
                               cluster.to_numpy()).to_numpy()})
    desc = desc.sort_values(["journeys", "type"], ascending=[False, True]).reset_index(drop=True)
    return labels, desc[["type", "journeys", "share", "description"]]
