"""Journeys reconstructed from an event log, on DuckDB or Spark: segmentation, types, paths,
transitions.

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

The heavy work is SQL over the events (a pandas DataFrame, a CSV file, a Parquet file or
dataset, or a Spark DataFrame), not a Python loop over customers. It is written once, in Spark's
dialect, and runs on the embedded DuckDB (translated by sqlglot) or on Spark
(:mod:`~cx_helpers.journeys.engines`). :class:`JourneyLog` holds the journey table in an
in-process DuckDB connection, derives everything else from it there, and returns tidy
DataFrames.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from cx_helpers.journeys.engines import DuckDBEngine, SparkEngine

__all__ = ["JourneyLog", "discover_types", "journey_log", "reconstruct_journeys",
           "transition_matrix"]

START, END = "(start)", "(end)"
_RULES = ("starts_with", "contains", "ends_with")


def _lit(value) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def _ident(name) -> str:
    """A quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def _bq(name) -> str:
    """A quoted Spark SQL identifier."""
    return "`" + str(name).replace("`", "``") + "`"


def _names(tp_names) -> str:
    """The touchpoints' names as a DuckDB list indexed by code + 1 (code ``n_tp``: NULL)."""
    return "([" + ", ".join(_lit(v) for v in tp_names) + ", NULL]::VARCHAR[])"


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
    """Journeys reconstructed from events, queried in a local DuckDB connection.

    Built by :func:`reconstruct_journeys`. Tables in the connection: ``_keys`` (customers, or
    cases, numbered ``kid``) and ``_jbase`` (a row per journey ``kid, jn``: the measures of the
    heavy pass and ``codes``, its touchpoint codes in step order). Views: ``journey_core`` (the
    journey measures with ``journey`` id, ``customer`` and ``path`` strings, computed when
    read) and ``steps`` (``kid, jn, step, touchpoint``). The events labelled with their journey
    (``labelled``: ``kid, jn``, row number ``rn`` in the customer's time order,
    ``new_journey``, ``last_step``, touchpoint code ``tp``, channel ``ch``...) stay with the
    engine; :meth:`events` reads them (from Spark, it copies them here first). The full
    ``journeys`` table (plus type and repeat flags) is built on first use, by any method that
    needs it.
    """

    con: duckdb.DuckDBPyConnection
    settings: dict
    engine: DuckDBEngine | SparkEngine | None = None

    def _full(self) -> None:
        """Build the ``journeys`` table (types, repeat flags) once, when first needed."""
        if self.settings.get("_full_built"):
            return
        con, s = self.con, self.settings
        type_sql = _type_sql(s["types"])
        join = ""
        if type_sql is None and s["declared"]:
            mapping = pd.DataFrame(
                [(tp, name) for name, tps in s["declared"].items() for tp in tps],
                columns=["touchpoint", "declared"]).drop_duplicates("touchpoint")
            con.register("_declared", mapping)
            con.execute("""
                CREATE OR REPLACE TEMP TABLE _dtype AS
                SELECT kid, jn, arg_max(declared, n * 1e6 - first_step) AS type FROM (
                    SELECT l.kid, l.jn, d.declared, count(*) AS n, min(l.step) AS first_step
                    FROM steps l JOIN _declared d USING (touchpoint) GROUP BY ALL)
                GROUP BY ALL
            """)
            type_sql, join = "coalesce(d.type, 'other')", "LEFT JOIN _dtype d USING (kid, jn)"
        elif type_sql is None:
            type_sql = "'all'"
        # one statement: the journey table, its type and the repeat flags
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE journeys AS
            WITH t AS (
                SELECT journey, kid, jn, customer, ({type_sql})::VARCHAR AS type, start, "end",
                       duration_h, contacts, touchpoints, path, first_touchpoint,
                       last_touchpoint, channel_switches, longest_wait_h, resolution_h,
                       rating_mean, ratings, tps
                FROM journey_core {join})
            SELECT * FROM ({_flags_sql("t", s, replace=False)})
        """)
        s["_full_built"] = True

    def _events_view(self) -> None:
        """The view ``events_v`` (events with ``customer``, ``step``, touchpoint and channel as
        text) over the labelled events, copied from Spark first when they are there."""
        if self.settings.get("_events_built"):
            return
        s, con = self.settings, self.con
        if self.engine is not None:
            self.engine.fetch("labelled")
        names = _names(s["tp_names"])
        columns = con.execute("SELECT * FROM labelled LIMIT 0").df().columns
        person = "l.customer" if s["by_case"] else "k.key"
        case = ', l."case"' if s["has_case"] else ""
        case += "".join(f", l.{_ident(c)}" for c in s["keep"])
        channel = "l.ch" if "ch" in columns else "NULL::VARCHAR"
        rating = "l.rating" if "rating" in columns else "NULL::DOUBLE"
        con.execute(f"""
            CREATE VIEW events_v AS
            SELECT l.kid, l.jn, {person} AS customer, l.rn::BIGINT - b.first_rn + 1 AS step,
                   l.time, {names}[l.tp + 1] AS touchpoint, {channel} AS channel,
                   {rating} AS rating{case}
            FROM labelled l JOIN _jbase b USING (kid, jn) JOIN _keys k USING (kid)
        """)
        s["_events_built"] = True

    def events(self) -> pd.DataFrame:
        """Events with their journey: ``customer, journey, type, step, time, touchpoint,
        channel, rating`` (plus ``case`` and the ``keep`` columns), in customer, journey and
        step order."""
        self._full()
        self._events_view()
        case = ', "case"' if self.settings["has_case"] else ""
        kept = "".join(f", l.{_ident(c)}" for c in self.settings.get("keep") or [])
        return self.con.execute(
            "SELECT l.customer, j.journey, j.type, l.step, l.time, l.touchpoint, l.channel, "
            f"l.rating{case}{kept} FROM events_v l JOIN journeys j USING (kid, jn) "
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
        self._full()
        return self.con.execute(
            "SELECT * EXCLUDE (tps, kid, jn) FROM journeys ORDER BY customer, start, journey"
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
        src = "_jbase"
        if type is not None:
            self._full()
            src = (f"(SELECT b.* FROM _jbase b SEMI JOIN (SELECT kid, jn FROM journeys "
                   f"WHERE type = {_lit(type)}) j USING (kid, jn))")
        names = _names(self.settings["tp_names"])
        m = len(self.settings["tp_names"]) + 1
        # each journey's touchpoint codes, paired with the next (-1: entry, -2: exit)
        return self.con.execute(f"""
            WITH c AS (SELECT list_transform(codes, lambda x: x % {m}) AS c FROM {src}),
            pairs AS (SELECT unnest(list_prepend(-1, c)) AS f, unnest(list_append(c, -2)) AS t
                      FROM c),
            counts AS (
                SELECT CASE WHEN f = -1 THEN '{START}' ELSE {names}[f + 1] END AS "from",
                       CASE WHEN t = -2 THEN '{END}' ELSE {names}[t + 1] END AS "to",
                       count(*) AS n
                FROM pairs GROUP BY ALL)
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
        self._full()
        return self.con.execute("""
            WITH s AS (
                SELECT j.type, l.step, count(*) AS journeys
                FROM steps l JOIN journeys j USING (kid, jn) GROUP BY ALL),
            top AS (
                SELECT j.type, l.step, l.touchpoint, count(*) AS n
                FROM steps l JOIN journeys j USING (kid, jn) GROUP BY ALL),
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
        self._full()
        return self.con.execute("""
            WITH c AS (SELECT j.type, l.touchpoint, count(DISTINCT (l.kid, l.jn)) AS journeys
                       FROM steps l JOIN journeys j USING (kid, jn) GROUP BY ALL),
            t AS (SELECT type, count(*) AS total FROM journeys GROUP BY ALL)
            SELECT c.type, c.touchpoint, c.journeys, c.journeys / t.total AS share
            FROM c JOIN t USING (type) ORDER BY c.type, share DESC, c.touchpoint
        """).df()

    def summary(self) -> pd.DataFrame:
        """A row per journey type: ``type, journeys, customers, contacts_mean, duration_h_median,
        resolution_h_median, channel_switches_mean, repeat_share, resolved_share, top_path, top_path_share``."""
        self._full()
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
        self._full()
        return self.con.execute("""
            SELECT customer, count(*) AS journeys, sum(contacts) AS contacts,
                   sum(is_repeat::INT) AS repeat_journeys, sum((NOT resolved)::INT) AS unresolved,
                   min(start) AS first, max("end") AS last
            FROM journeys GROUP BY customer ORDER BY customer
        """).df()

    def set_types(self, labels: pd.DataFrame) -> "JourneyLog":
        """Replace the journey types (``journey, type``, e.g. from :func:`discover_types`) and
        recompute the repeat flags."""
        self._full()
        self.con.register("_new_types", labels[["journey", "type"]])
        self.con.execute("UPDATE journeys SET type = n.type FROM _new_types n "
                         "WHERE journeys.journey = n.journey")
        self.con.unregister("_new_types")
        _repeat_flags(self.con, self.settings)
        return self


def _flags_sql(source: str, settings: dict, replace: bool = True) -> str:
    """The journeys of ``source`` with the repeat flags and ``resolved`` (re)computed."""
    days = settings["repeat_days"]
    resolving = settings["resolving"]
    limit = "NULL" if days is None else str(float(days) * 86400.0)
    resolved = (f"list_has_any(tps, {_list(resolving)})" if resolving
                else f"NOT coalesce(until_next <= {limit}, false)")
    drop = "EXCLUDE (is_repeat, followed_by_repeat, is_repeat_any, resolved)" if replace else ""
    # a customer's journeys in time order: by customer number and journey number when journeys
    # are cut from the customer's own events (the same order as by start and journey id)
    part, order = (("customer", "start, journey") if settings["by_case"]
                   else ("kid", "start, jn"))
    return f"""
        WITH r AS (
            SELECT * {drop},
                   epoch(start) - epoch(lag("end") OVER w) AS since_prev,
                   epoch(lead(start) OVER w) - epoch("end") AS until_next,
                   epoch(start) - max(epoch("end")) OVER (PARTITION BY {part} ORDER BY {order}
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS since_any
            FROM {source} WINDOW w AS (PARTITION BY {part}, type ORDER BY {order}))
        SELECT * EXCLUDE (since_prev, until_next, since_any),
               coalesce(since_prev <= {limit}, false) AS is_repeat,
               coalesce(until_next <= {limit}, false) AS followed_by_repeat,
               coalesce(since_any <= {limit}, false) AS is_repeat_any,
               {resolved} AS resolved
        FROM r
    """


def _repeat_flags(con, settings):
    con.execute("CREATE OR REPLACE TEMP TABLE journeys AS " + _flags_sql("journeys", settings))


def reconstruct_journeys(events, gap_days: float | None = None, starts=None,
                         by_case: bool = False, types: dict | None = None,
                         declared: dict | None = None, repeat_days: float | None = 30.0,
                         resolving=None, keep=None, engine: str = "duckdb", spark=None,
                         memory_limit: str | None = None,
                         temp_directory: str | Path | None = None) -> JourneyLog:
    """Cut each customer's interactions into journeys and describe every journey.

    Parameters
    ----------
    events : DataFrame or str or Path or pyspark.sql.DataFrame
        A row per interaction with columns ``customer, time, touchpoint`` and optionally
        ``channel, rating, case`` (as :attr:`Study.events`), or the path of a CSV file, a
        Parquet file or a Parquet dataset (a folder, hive-partitioned or not, or a glob), or
        (``engine="spark"``) a Spark DataFrame, e.g. ``spark.table("cx.events")``. Rows need not
        be sorted; rows with the same customer and time keep their order in the input (for a
        dataset: files in path order, then rows within a file).
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
    keep : list of str, optional
        Further event columns carried along (as text) to :meth:`JourneyLog.events`, e.g. a
        platform or an acquisition channel.
    engine : {"duckdb", "spark"}
        Where the heavy pass runs: the embedded DuckDB (default) or Apache Spark. The results
        are the same tables either way (tested); with Spark, only the journey and customer
        tables come back to this process (and the labelled events when
        :meth:`JourneyLog.events` asks for them).
    spark : pyspark.sql.SparkSession, optional
        The Spark session for ``engine="spark"`` (default: the active session, else
        :func:`~cx_helpers.journeys.engines.spark_session`, a local one).
    memory_limit : str, optional
        DuckDB's memory limit for the reconstruction, e.g. ``"8GB"``; beyond it, DuckDB spills
        to ``temp_directory``. Default: DuckDB's (80 % of the machine's memory).
    temp_directory : str or Path, optional
        Where DuckDB spills (default: DuckDB's, ``.tmp`` under the working folder).

    Returns
    -------
    JourneyLog
        Query it with ``.journeys()``, ``.transitions()``, ``.funnel()``, ``.events()``...

    Notes
    -----
    The heavy work is done here, once, on integer codes, in SQL written once in Spark's dialect
    (:mod:`~cx_helpers.journeys.engines` translates it for DuckDB): customers (or cases) are
    numbered, touchpoints become integer codes, one window pass over each customer's events in
    time order finds the journey starts and ends (and the previous touchpoint and channel), a
    second numbers the journeys, and one aggregation gives the journey measures. Text (journey
    ids, paths), journey types and repeat flags are derived from that, locally, only when asked
    for.
    """
    if not by_case and gap_days is None and not starts:
        raise ValueError("give gap_days and/or starts (or by_case=True) to cut journeys.")
    _type_sql(types)                                        # validate the rules early
    if engine not in ("duckdb", "spark"):
        raise ValueError(f"engine: 'duckdb' or 'spark', not {engine!r}.")
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")     # every output has its ORDER BY
    if memory_limit is not None:
        con.execute(f"SET memory_limit = {_lit(memory_limit)}")
    if temp_directory is not None:
        con.execute(f"SET temp_directory = {_lit(str(temp_directory))}")
    eng = DuckDBEngine(con) if engine == "duckdb" else SparkEngine(con, spark)
    eng.register_events(events)
    cols = {c.lower(): c for c in eng.columns("src_raw")}
    has_case = "case" in cols
    if by_case and not has_case:
        raise ValueError("by_case=True needs a 'case' column in the events.")
    has_channel, has_rating = "channel" in cols, "rating" in cols
    keep = [c for c in (keep or []) if c not in ("customer", "time", "touchpoint", "channel",
                                                 "rating", "case")]
    for c in keep:
        if c.lower() not in cols:
            raise ValueError(f"keep: no column {c!r} in the events; columns: "
                             f"{', '.join(c for c in cols.values() if c != '_row')}.")
    sql = _heavy_sql(eng, by_case=by_case, has_case=has_case, has_channel=has_channel,
                     has_rating=has_rating, keep=[cols[c.lower()] for c in keep], names=keep,
                     gap_days=gap_days, starts=starts, resolving=resolving)
    tp_names = sql.pop("tp_names")
    for name in ("_keys", "labelled", "_jbase"):
        eng.create(name, sql[name])
    for name in ("_keys", "_jbase"):           # the compact tables, local for both engines
        eng.fetch(name)
    _local_views(con, tp_names, by_case)
    settings = {"gap_days": gap_days, "starts": list(starts or []), "by_case": by_case,
                "types": types, "declared": declared, "repeat_days": repeat_days,
                "resolving": list(resolving or []), "has_case": has_case, "keep": keep,
                "tp_names": tp_names}
    return JourneyLog(con, settings, eng)


def _heavy_sql(eng, *, by_case, has_case, has_channel, has_rating, keep, names, gap_days,
               starts, resolving) -> dict:
    """The reconstruction's heavy pass, in Spark SQL: ``_keys`` (customers, or cases,
    numbered), ``labelled`` (an event a row, in each one's time order, with its journey) and
    ``_jbase`` (a journey a row, with its measures and its touchpoint codes in step order).

    Touchpoints become integer codes (their rank in text order; ``n_tp`` for a missing one).
    """
    tp_names = sorted(r[0] for r in eng.rows(
        "SELECT DISTINCT CAST(touchpoint AS STRING) FROM src_raw WHERE touchpoint IS NOT NULL"))
    n_tp, m = len(tp_names), len(tp_names) + 1
    code = {name: i for i, name in enumerate(tp_names)}
    eng.register("_tp", pd.DataFrame({"touchpoint": pd.Series(tp_names or [""], dtype=object),
                                      "code": np.arange(max(n_tp, 1), dtype=np.int32)}))

    def codes_of(touchpoints) -> str:
        known = sorted(code[t] for t in set(touchpoints or []) if t in code)
        return f"tp IN ({', '.join(map(str, known))})" if known else "false"

    part = "`case`" if by_case else "customer"
    null_key = eng.rows(f"SELECT count(*) FROM src_raw WHERE {part} IS NULL")[0][0]
    match = "<=>" if null_key else "="
    cols = [("k.kid", "kid"), ("s.time", "time"), (f"coalesce(d.code, {n_tp})", "tp")]
    cols += [("CAST(s.channel AS STRING)", "ch")] if has_channel else []
    cols += [("CAST(s.rating AS DOUBLE)", "rating")] if has_rating else []
    cols += [("CAST(s.customer AS STRING)", "customer")] if by_case else []
    cols += [("CAST(s.`case` AS STRING)", "`case`")] if has_case else []
    cols += [(f"CAST(s.{_bq(c)} AS STRING)", _bq(n)) for c, n in zip(keep, names)]
    carried = [name for _, name in cols]
    ch = ", lag(ch) OVER w AS prev_ch" if has_channel else ""
    last = ", lead(_row) OVER w IS NULL AS last_step" if by_case else ""
    switch = ", NOT (ch <=> prev_ch) AS switch" if has_channel else ""
    cuts = ([] if by_case or gap_days is None else [f"wait > {float(gap_days) * 86400e6!r}"])
    cuts += [] if by_case or not starts else [codes_of(starts)]
    kept = ", ".join(carried + ["prev_tp", "rn", "wait"] + (["switch"] if has_channel else [])
                     + (["last_step"] if by_case else []))
    if by_case:                   # a case is one journey
        number = "1 AS jn"
    else:                         # journeys numbered by a running count of starts
        number = ("count(CASE WHEN new_journey THEN 1 END) OVER (PARTITION BY kid ORDER BY rn "
                  "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS jn, "
                  "lead(new_journey, 1, true) OVER (PARTITION BY kid ORDER BY rn) AS last_step")
    labelled = f"""
        WITH s AS (
            SELECT {', '.join(f"{expr} AS {name}" for expr, name in cols)}, s._row
            FROM src_raw s JOIN _keys k ON CAST(s.{part} AS STRING) {match} k.key
            LEFT JOIN _tp d ON CAST(s.touchpoint AS STRING) = d.touchpoint),
        o AS (
            SELECT {', '.join(carried)}, lag(time) OVER w AS prev_time, lag(tp) OVER w AS prev_tp,
                   row_number() OVER w AS rn{ch}{last}
            FROM s WINDOW w AS (PARTITION BY kid ORDER BY time, _row)),
        f AS (
            SELECT {', '.join(carried)}, prev_tp, rn{', last_step' if by_case else ''},
                   unix_micros(time) - unix_micros(prev_time) AS wait{switch}
            FROM o)
        SELECT {kept}, new_journey, {number}
        FROM (SELECT f.*, rn = 1 OR {' OR '.join(cuts) or 'false'} AS new_journey FROM f) g
    """
    resolution = (f"(min(CASE WHEN {codes_of(resolving)} THEN unix_micros(time) END) "
                  "- min(unix_micros(time))) / 3.6e9" if resolving else "CAST(NULL AS DOUBLE)")
    ratings = ("avg(rating) AS rating_mean, count(rating) AS ratings" if has_rating
               else "CAST(NULL AS DOUBLE) AS rating_mean, CAST(0 AS BIGINT) AS ratings")
    switches = ("CAST(count(CASE WHEN NOT new_journey AND switch THEN 1 END) AS DOUBLE)"
                if has_channel else "CAST(0 AS DOUBLE)")
    jbase = f"""
        SELECT kid, jn, {'min_by(customer, rn) AS customer, ' if by_case else ''}
               min(time) AS start, max(time) AS `end`, count(*) AS contacts,
               min(rn) AS first_rn,
               array_sort(collect_list(CAST(rn AS BIGINT) * {m} + tp)) AS codes,
               {switches} AS channel_switches,
               coalesce(max(CASE WHEN NOT new_journey THEN wait END), 0) / 3.6e9 AS longest_wait_h,
               {resolution} AS resolution_h, {ratings}
        FROM labelled GROUP BY kid, jn
    """
    keys = ("SELECT key, dense_rank() OVER (ORDER BY key) AS kid FROM "
            f"(SELECT DISTINCT CAST({part} AS STRING) AS key FROM src_raw) k")
    return {"_keys": keys, "labelled": labelled, "_jbase": jbase, "tp_names": tp_names}


def _local_views(con, tp_names, by_case) -> None:
    """Views of the local connection over the compact tables: ``journey_core`` (a journey a
    row, with its id, customer and path as text) and ``steps`` (a journey's touchpoints in step
    order, from its codes)."""
    n_tp, m = len(tp_names), len(tp_names) + 1
    names = _names(tp_names)
    if by_case:
        journey_id, customer = "k.key", "b.customer"
    else:
        journey_id = ("k.key || '#' || CASE WHEN b.jn < 1000 THEN lpad(b.jn::VARCHAR, 3, '0') "
                      "ELSE b.jn::VARCHAR END")
        customer = "k.key"
    con.execute(f"""
        CREATE VIEW journey_core AS
        SELECT {journey_id} AS journey, b.kid, b.jn, {customer} AS customer, b.start, b."end",
               (epoch(b."end") - epoch(b.start)) / 3600.0 AS duration_h, b.contacts,
               len(list_distinct(list_transform(b.codes, lambda x: nullif(x % {m}, {n_tp}))))
                   AS touchpoints,
               array_to_string(list_transform(b.codes, lambda x: {names}[x % {m} + 1]), ' > ')
                   AS path,
               {names}[b.codes[1] % {m} + 1] AS first_touchpoint,
               {names}[b.codes[-1] % {m} + 1] AS last_touchpoint, b.channel_switches,
               b.longest_wait_h, b.resolution_h, b.rating_mean, b.ratings,
               list_transform(b.codes, lambda x: {names}[x % {m} + 1]) AS tps
        FROM _jbase b JOIN _keys k USING (kid)
    """)
    con.execute(f"""
        CREATE VIEW steps AS
        SELECT kid, jn, unnest(range(1, len(codes) + 1)) AS step,
               unnest(list_transform(codes, lambda x: {names}[x % {m} + 1])) AS touchpoint
        FROM _jbase
    """)


def journey_log(study, gap_days=None, by_case=None, repeat_days=None, resolving=None,
                types=None, engine=None, spark=None) -> JourneyLog | None:
    """Reconstruct the journeys of a study's events with its ``journeys.events`` config.

    Arguments given here override the config. The events' ``keep`` columns are carried along
    to :meth:`JourneyLog.events`. Without events, returns ``None``. Defaults: one
    journey per case when the events have a case id and no ``gap_days`` is configured,
    otherwise a 7-day gap; ``repeat_days`` 30; types from the rules, else from the declared
    journeys; resolving touchpoints: those whose catalog ``type`` is ``resolution``; the
    engine ``journeys.events.engine`` (``duckdb``), a Spark session from
    ``journeys.events.master``, else the events' ``spark:`` URL, else ``local[*]``.
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
    kept = [c for c in study.events.columns
            if c not in ("customer", "time", "touchpoint", "channel", "rating", "case")]
    engine = engine or cfg.get("engine") or "duckdb"
    if engine == "spark" and spark is None:
        from cx_helpers.journeys.engines import spark_session

        source = (study.config.get("tables") or {}).get("events") or {}
        spark = spark_session(cfg.get("master") or source.get("spark"))
    return reconstruct_journeys(
        study.events, gap_days=gap, starts=cfg.get("starts"), by_case=by_case,
        types=types if types is not None else cfg.get("types"), declared=declared or None,
        repeat_days=repeat_days if repeat_days is not None else cfg.get("repeat_days", 30.0),
        resolving=resolving, keep=kept, engine=engine, spark=spark)


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

    log._full()
    counts = log.con.execute("""
        SELECT j.journey, l.touchpoint, count(*)::DOUBLE AS n
        FROM steps l JOIN journeys j USING (kid, jn) GROUP BY ALL
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
