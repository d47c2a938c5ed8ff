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


def _ident(name) -> str:
    """A quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


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
    row: integer key ``kid`` of the customer, or of the case, journey number ``jn``, row number
    ``rn`` in the customer's time order, ``new_journey``, ``last_step``, touchpoint and channel
    as ENUM codes) and ``_jbase`` (a row per journey: the measures of the heavy pass). Views:
    ``events_v`` (events with ``customer``, ``step``, touchpoint and channel as text) and
    ``journey_core`` (the journey measures with ``journey`` id, ``customer`` and ``path``
    strings, computed when read). The full ``journeys`` table (plus type and repeat flags) is
    built on first use, by any method that needs it.
    """

    con: duckdb.DuckDBPyConnection
    settings: dict

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
                    FROM events_v l JOIN _declared d USING (touchpoint) GROUP BY ALL)
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

    def events(self) -> pd.DataFrame:
        """Events with their journey: ``customer, journey, type, step, time, touchpoint,
        channel, rating`` (plus ``case`` and the ``keep`` columns), in customer, journey and
        step order."""
        self._full()
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
        if type is None:
            src = "labelled"
        else:
            self._full()
            src = ("(SELECT l.* FROM labelled l SEMI JOIN (SELECT kid, jn FROM journeys "
                   f"WHERE type = {_lit(type)}) j USING (kid, jn))")
        # one pass over the events on the touchpoint codes; text only for the few pairs
        return self.con.execute(f"""
            WITH c AS (
                SELECT new_journey, CASE WHEN new_journey THEN NULL ELSE prev_tp END AS p, tp,
                       count(*) AS n, count(*) FILTER (WHERE last_step) AS n_end
                FROM {src} GROUP BY ALL),
            pairs AS (
                SELECT CASE WHEN new_journey THEN '{START}' ELSE p::VARCHAR END AS "from",
                       tp::VARCHAR AS "to", n FROM c
                UNION ALL
                SELECT tp::VARCHAR, '{END}', n_end FROM c WHERE n_end > 0),
            counts AS (SELECT "from", "to", sum(n)::BIGINT AS n FROM pairs GROUP BY ALL)
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
                FROM events_v l JOIN journeys j USING (kid, jn) GROUP BY ALL),
            top AS (
                SELECT j.type, l.step, l.touchpoint, count(*) AS n
                FROM events_v l JOIN journeys j USING (kid, jn) GROUP BY ALL),
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
                       FROM events_v l JOIN journeys j USING (kid, jn) GROUP BY ALL),
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
                         resolving=None, keep=None, memory_limit: str | None = None,
                         temp_directory: str | Path | None = None) -> JourneyLog:
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
    keep : list of str, optional
        Further event columns carried along (as text) to :meth:`JourneyLog.events`, e.g. a
        platform or an acquisition channel.
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
    The heavy work is done here, once, on integer codes: customers (or cases) are numbered,
    touchpoints and channels become ENUM codes, one window pass over each customer's events in
    time order finds the journey starts and ends (and the previous touchpoint and channel), a
    second numbers the journeys, and one aggregation gives the journey measures. Text (journey
    ids, paths), journey types and repeat flags are derived from that only when asked for.
    """
    if not by_case and gap_days is None and not starts:
        raise ValueError("give gap_days and/or starts (or by_case=True) to cut journeys.")
    _type_sql(types)                                        # validate the rules early
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")     # every output has its ORDER BY
    if memory_limit is not None:
        con.execute(f"SET memory_limit = {_lit(memory_limit)}")
    if temp_directory is not None:
        con.execute(f"SET temp_directory = {_lit(str(temp_directory))}")
    src = _source(con, events)
    cols = {c.lower(): c for c in con.execute(f"SELECT * FROM {src} LIMIT 0").df().columns}
    has_case = "case" in cols
    if by_case and not has_case:
        raise ValueError("by_case=True needs a 'case' column in the events.")
    has_channel, has_rating = "channel" in cols, "rating" in cols
    part = '"case"' if by_case else "customer"

    # touchpoints and channels as ENUM codes (sorted, so code order is text order)
    def _enum(name, column):
        values = [r[0] for r in con.execute(
            f"SELECT DISTINCT {column}::VARCHAR FROM {src} WHERE {column} IS NOT NULL "
            "ORDER BY 1").fetchall()] or [""]
        con.execute(f"CREATE TYPE {name} AS ENUM ({', '.join(_lit(v) for v in values)})")
        return values

    tp_names = _enum("tp_t", "touchpoint")
    n_tp = len(tp_names)
    if has_channel:
        _enum("ch_t", "channel")
    # customers (or cases) numbered: the windows and the grouping work on integers, 32-bit ones
    # when they fit (narrow sort keys are cheaper)
    n_rows = con.execute(f"SELECT count(*) FROM {src}").fetchall()[0][0]
    itype = "UINTEGER" if n_rows < 2 ** 32 else "BIGINT"
    con.execute(f"""
        CREATE TEMP TABLE _keys AS
        SELECT key, (row_number() OVER ())::{itype} AS kid
        FROM (SELECT DISTINCT {part}::VARCHAR AS key FROM {src})
    """)
    null_key = con.execute(
        "SELECT count(*) FROM _keys WHERE key IS NULL").fetchall()[0][0]
    match = "IS NOT DISTINCT FROM" if null_key else "="
    cols_s = ["src.touchpoint::tp_t AS tp"]
    if has_channel:
        cols_s.append("src.channel::ch_t AS ch")
    if has_rating:
        cols_s.append("src.rating::DOUBLE AS rating")
    if by_case:
        cols_s.append("src.customer::VARCHAR AS customer")
    if has_case:
        cols_s.append('src."case"::VARCHAR AS "case"')
    keep = [c for c in (keep or []) if c not in ("customer", "time", "touchpoint", "channel",
                                                 "rating", "case")]
    for c in keep:
        if c.lower() not in cols:
            raise ValueError(f"keep: no column {c!r} in the events; columns: "
                             f"{', '.join(cols.values())}.")
        cols_s.append(f"src.{_ident(cols[c.lower()])}::VARCHAR AS {_ident(c)}")
    gap = None if by_case or gap_days is None else float(gap_days) * 86400e6   # microseconds
    start_set = [] if by_case else list(starts or [])
    cuts = []
    if gap is not None:
        cuts.append(f"wait > {gap!r}")
    if start_set:
        cuts.append(f"list_contains({_list(start_set)}, tp::VARCHAR)")
    cut = " OR ".join(cuts) if cuts else "false"
    prev_ch = ", lag(ch) OVER w AS prev_ch" if has_channel else ""
    switch = ", ch IS DISTINCT FROM prev_ch AS switch" if has_channel else ""
    if by_case:      # a case is one journey: no second pass
        last = ", lead(1) OVER w IS NULL AS last_step"
        number = f"1::{itype} AS jn"
    else:            # journeys numbered by a running count of starts; the last step: next starts
        last = ""
        number = (f"(count(CASE WHEN new_journey THEN 1 END) OVER w2)::{itype} AS jn, "
                  "lead(new_journey, 1, true) OVER w2 AS last_step")
    con.execute(f"""
        CREATE TEMP TABLE labelled AS
        WITH s AS (
            SELECT k.kid, src.time, {', '.join(cols_s)}, src._row::{itype} AS _row
            FROM {src} src JOIN _keys k ON src.{part}::VARCHAR {match} k.key),
        o AS (
            SELECT * EXCLUDE (_row), lag(time) OVER w AS prev_time,
                   lag(tp) OVER w AS prev_tp{prev_ch}, (row_number() OVER w)::{itype} AS rn{last}
            FROM s WINDOW w AS (PARTITION BY kid ORDER BY time, _row)),
        f AS (
            SELECT * EXCLUDE (prev_time{', prev_ch' if has_channel else ''}),
                   epoch_us(time) - epoch_us(prev_time) AS wait{switch}
            FROM o),
        g AS (SELECT *, rn = 1 OR {cut} AS new_journey FROM f)
        SELECT *, {number} FROM g
        WINDOW w2 AS (PARTITION BY kid ORDER BY rn ROWS UNBOUNDED PRECEDING)
    """)
    resolving = list(resolving or [])
    resolution = ("(min(epoch_us(time)) FILTER (WHERE list_contains("
                  f"{_list(resolving)}, tp::VARCHAR)) - min(epoch_us(time))) / 3.6e9"
                  if resolving else "NULL::DOUBLE")
    ratings = ("avg(rating) AS rating_mean, count(rating) AS ratings" if has_rating
               else "NULL::DOUBLE AS rating_mean, 0::BIGINT AS ratings")
    switches = ("count(*) FILTER (WHERE NOT new_journey AND switch)::DOUBLE" if has_channel
                else "0::DOUBLE")
    customer = "arg_min(customer, rn) AS customer, " if by_case else ""
    # the touchpoints of a journey in step order: codes packed with the row number, sorted
    # one integer group key per journey when it fits
    if itype == "UINTEGER":
        key = "(kid::UBIGINT << 32) | jn"
        ids = "(j >> 32)::UINTEGER AS kid, (j & 4294967295)::UINTEGER AS jn"
    else:
        key, ids = "(kid, jn)", "j.kid AS kid, j.jn AS jn"
    con.execute(f"""
        CREATE TEMP TABLE _jbase AS
        SELECT {ids}, {customer}min(time) AS start, max(time) AS "end", count(*) AS contacts,
               min(rn) AS first_rn,
               list_sort(list(rn::BIGINT * {n_tp + 1} + coalesce(enum_code(tp)::BIGINT, {n_tp})))
                   AS codes,
               {switches} AS channel_switches,
               coalesce(max(wait) FILTER (WHERE NOT new_journey), 0) / 3.6e9 AS longest_wait_h,
               {resolution} AS resolution_h, {ratings}
        FROM (SELECT *, {key} AS j FROM labelled) GROUP BY j
    """)
    # touchpoint text from the codes (code n_tp stands for a missing touchpoint)
    names = "([" + ", ".join(_lit(v) for v in tp_names) + ", NULL]::VARCHAR[])"
    m = n_tp + 1
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
    person = "l.customer" if by_case else "k.key"
    case = ', l."case"' if has_case else ""
    case += "".join(f", l.{_ident(c)}" for c in keep)
    channel = "l.ch::VARCHAR" if has_channel else "NULL::VARCHAR"
    rating = "l.rating" if has_rating else "NULL::DOUBLE"
    con.execute(f"""
        CREATE VIEW events_v AS
        SELECT l.kid, l.jn, {person} AS customer, l.rn::BIGINT - b.first_rn + 1 AS step, l.time,
               l.tp::VARCHAR AS touchpoint, {channel} AS channel, {rating} AS rating{case}
        FROM labelled l JOIN _jbase b USING (kid, jn) JOIN _keys k USING (kid)
    """)
    settings = {"gap_days": gap_days, "starts": list(starts or []), "by_case": by_case,
                "types": types, "declared": declared, "repeat_days": repeat_days,
                "resolving": resolving, "has_case": has_case, "keep": keep}
    return JourneyLog(con, settings)


def journey_log(study, gap_days=None, by_case=None, repeat_days=None, resolving=None,
                types=None) -> JourneyLog | None:
    """Reconstruct the journeys of a study's events with its ``journeys.events`` config.

    Arguments given here override the config. The events' ``keep`` columns are carried along
    to :meth:`JourneyLog.events`. Without events, returns ``None``. Defaults: one
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
    kept = [c for c in study.events.columns
            if c not in ("customer", "time", "touchpoint", "channel", "rating", "case")]
    return reconstruct_journeys(
        study.events, gap_days=gap, starts=cfg.get("starts"), by_case=by_case,
        types=types if types is not None else cfg.get("types"), declared=declared or None,
        repeat_days=repeat_days if repeat_days is not None else cfg.get("repeat_days", 30.0),
        resolving=resolving, keep=kept)


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
        FROM events_v l JOIN journeys j USING (kid, jn) GROUP BY ALL
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
