"""Where a study's tables live: a file, a Parquet dataset, a DuckDB database, a SQL database
or Apache Spark.

``tables.<role>`` in ``study.yaml`` takes its rows from exactly one of:

* ``path:`` a file (CSV, Parquet, an export: :mod:`cx_helpers.tables`), or a **Parquet
  dataset**: a folder of Parquet files (read recursively, ``key=value`` folders read as hive
  partitions) or a glob such as ``events/*.parquet``;
* ``duckdb:`` a DuckDB database file inside the study folder, with ``table:`` or ``query:``;
* ``database:`` a SQL database by connection URL (SQLAlchemy's form, e.g.
  ``postgresql://cx@db.example.com:5432/cx``) with ``table:`` or ``query:``. The URL never
  holds a password: ``password_env:`` (and ``user_env:``) name the environment variables that
  hold the credentials;
* ``spark:`` a Spark session's master URL (``local[*]``, ``spark://host:7077``, ``yarn``...) with
  ``table:`` (a table of the session's catalog) or ``query:`` (Spark SQL, e.g. ``SELECT * FROM
  parquet.`/lake/events```).

Every source is only read (DuckDB files are opened read-only, SQL databases in a read-only
transaction that is rolled back), and its rows come back as text columns, like a CSV's, so the
typed readers of :mod:`cx_helpers.tables` check them the same way, naming the table or query
where they would name a file. Credentials never reach a message, a log or the run manifest.

A database read is recorded for the run manifest as a :class:`DatabaseInput`: the URL without
credentials, the table or query, the row count and a sha256 of the rows read (in a canonical,
order-independent form), so that ``cx verify`` can tell whether the database still holds the
same rows.
"""

from __future__ import annotations

import glob as globlib
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cx_helpers.errors import StudyError

__all__ = ["DatabaseInput", "SOURCE_KEYS", "database_url", "dataset_files", "is_dataset",
           "is_glob", "read_database", "read_duckdb", "read_parquet_dataset", "read_spark",
           "rows_digest", "source_kind"]

# the keys that say where a table comes from, and those that go with a database
SOURCE_KEYS = ("path", "duckdb", "database", "spark")
_QUERY_KEYS = ("table", "query")
_DB_KEYS = ("table", "query", "user_env", "password_env")
_GLOB = re.compile(r"[*?\[]")


def _where(role, key):
    return f"tables.{role}.{key}"


def source_kind(spec: dict, role: str, cfg_file, problems: list) -> str | None:
    """Which source ``tables.<role>`` names (``path``, ``duckdb``, ``database`` or ``spark``).

    Parameters
    ----------
    spec : dict
        The config of ``tables.<role>``.
    role : str
        ``survey``, ``touchpoints``, ``events`` or ``outcomes`` (named in messages).
    cfg_file : Path
        ``study.yaml`` (named in messages).
    problems : list
        Where a :class:`~cx_helpers.StudyError` is appended when the table names no source,
        several, or keys that do not go together (``table:`` and ``query:``, ``table:`` with
        ``path:``, ``format:`` with a database).

    Returns
    -------
    str or None
        The source's key, or None after a problem.
    """
    given = [k for k in SOURCE_KEYS if spec.get(k) is not None]
    fix_one = (f"give exactly one of tables.{role}.path (a file, a folder of Parquet files or a "
               f"glob), tables.{role}.duckdb (a DuckDB file, with table: or query:), "
               f"tables.{role}.database (a connection URL, with table: or query:) or "
               f"tables.{role}.spark (a Spark master URL, with table: or query:).")
    if not given:
        problems.append(StudyError(f"tables.{role} says nowhere to read the table from.",
                                   file=cfg_file, fix=fix_one))
        return None
    if len(given) > 1:
        problems.append(StudyError(
            f"tables.{role} names {' and '.join(given)}: a table comes from one place only.",
            file=cfg_file, fix=fix_one))
        return None
    kind = given[0]
    for key in ("duckdb", "database", "spark", *_DB_KEYS):  # path: by check_values
        value = spec.get(key)
        if value is not None and not isinstance(value, str):
            problems.append(StudyError(f"{_where(role, key)} is {value!r}.", file=cfg_file,
                                       expected="text"))
            return None
    if kind == "path":
        stray = [k for k in _DB_KEYS if spec.get(k) is not None]
        if stray:
            problems.append(StudyError(
                f"tables.{role} has {', '.join(k + ':' for k in stray)}, which go"
                f"{'es' if len(stray) == 1 else ''} with duckdb:, database: or spark:, not with "
                "path:.",
                file=cfg_file,
                fix=f"remove {', '.join(stray)}, or read the table from a database instead of "
                    "path:."))
            return None
        return kind
    chosen = [k for k in _QUERY_KEYS if spec.get(k) is not None]
    if len(chosen) != 1:
        said = (f"gives both table: and query: with {kind}:" if chosen
                else f"gives {kind}: without table: or query: (what to read from it)")
        problems.append(StudyError(
            f"tables.{role} {said}.", file=cfg_file,
            fix=f"give tables.{role}.table (a table or view, e.g. events or sales.events) or "
                f"tables.{role}.query (a SELECT), not both."))
        return None
    reading = [k for k in ("format", "sheet", "delimiter", "encoding") if spec.get(k) is not None]
    if reading:
        problems.append(StudyError(
            f"tables.{role} has {', '.join(k + ':' for k in reading)}, which say how to read a "
            f"file, with {kind}:.", file=cfg_file,
            fix=f"remove {', '.join(reading)}: a database's rows need no parsing."))
        return None
    if kind in ("duckdb", "spark"):
        stray = [k for k in ("user_env", "password_env") if spec.get(k) is not None]
        if stray:
            what = "a DuckDB file" if kind == "duckdb" else "Spark"
            problems.append(StudyError(
                f"tables.{role} has {', '.join(stray)}, which {what} does not use.",
                file=cfg_file, fix=f"remove {', '.join(stray)}."))
            return None
    return kind


# ----------------------------------------------------------------------------------------------
# text columns, as a CSV's
# ----------------------------------------------------------------------------------------------

def repeated(names) -> list[str]:
    """The names given more than once, in the order of their first repeat.

    Examples
    --------
    >>> repeated(["id", "q1", "id", "q2", "q1", "id"])
    ['id', 'q1']
    """
    seen, dup = set(), []
    for name in names:
        if name in seen and name not in dup:
            dup.append(name)
        seen.add(name)
    return dup


def _as_text(frame: pd.DataFrame, display) -> pd.DataFrame:
    """Every column as text (missing and blank: NA, as in a CSV), named as text, refusing
    repeated names and no rows."""
    names = [str(c) for c in frame.columns]
    dup = repeated(names)
    if dup:
        raise StudyError(f"duplicate column names ({', '.join(repr(d) for d in dup)}).",
                         file=display, column=dup[0], expected="each column named once",
                         fix="give each column of the table or query its own name.")
    if len(frame) == 0:
        raise StudyError("the table is empty (no data rows).", file=display,
                         expected="at least one row", fix="point at the table holding the rows.")
    out = {}
    for i, name in enumerate(names):
        col = frame.iloc[:, i]
        if isinstance(col.dtype, pd.DatetimeTZDtype):
            text = col.dt.tz_convert("UTC").map(lambda t: t.isoformat(), na_action="ignore")
        elif pd.api.types.is_datetime64_any_dtype(col.dtype):
            text = col.map(lambda t: t.isoformat(), na_action="ignore")
        else:
            text = col.astype(object).map(_text, na_action="ignore")
        text = text.astype("string")
        out[name] = text.mask(text == "")  # a blank is missing, as in a CSV
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def _text(value) -> str:
    if hasattr(value, "isoformat"):  # datetime, date, time objects
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _select_columns(names, drop, quote) -> str:
    keep = [n for n in names if n not in set(drop)]
    return ", ".join(quote(n) for n in keep) if keep else "*"


def _duck_quote(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _duck_literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _qualified(name: str, quote) -> str:
    """A table name, possibly schema-qualified (``sales.events``), quoted part by part."""
    return ".".join(quote(part) for part in str(name).split("."))


# ----------------------------------------------------------------------------------------------
# Parquet datasets
# ----------------------------------------------------------------------------------------------

def is_glob(path_text: str) -> bool:
    """True when ``path:`` is a glob (``*``, ``?`` or ``[``)."""
    return bool(_GLOB.search(path_text))


def is_dataset(path_text: str, file: Path) -> bool:
    """True when ``path:`` names a Parquet dataset: a folder, or a glob.

    Parameters
    ----------
    path_text : str
        ``path:`` as written.
    file : Path
        It joined to the study folder.
    """
    return is_glob(path_text) or file.is_dir()


def dataset_files(root: Path, path_text: str, role: str, cfg_file) -> list[Path]:
    """The Parquet files of a dataset (a folder, read recursively, or a glob), sorted.

    Parameters
    ----------
    root : Path
        The study folder.
    path_text : str
        ``path:`` as written (relative to ``root``).
    role : str
        The table's role (named in messages).
    cfg_file : Path
        ``study.yaml`` (named in messages).

    Returns
    -------
    list of Path

    Raises
    ------
    StudyError
        When the folder or glob holds no Parquet file.
    """
    base = root / path_text
    if _GLOB.search(path_text):
        files = [Path(p) for p in globlib.glob(str(base), recursive=True)]
        files = [p for p in files if p.is_file()]
        what = f"the glob {path_text!r}"
    else:
        files = [p for p in base.rglob("*") if p.is_file() and p.suffix.lower() == ".parquet"]
        what = f"the folder {path_text!r}"
    if not files:
        raise StudyError(f"{what} holds no Parquet file.", file=cfg_file,
                         expected="a file (CSV, Parquet, an export), a folder of .parquet files "
                                  "or a glob such as events/*.parquet",
                         fix=f"check {_where(role, 'path')} (paths are relative to the study).")
    return sorted(files)


def read_parquet_dataset(files: list[Path], display, drop=()) -> pd.DataFrame:
    """Read the Parquet files of a dataset as one table of text columns.

    DuckDB's ``read_parquet`` with hive partitioning: ``month=2026-01/`` folders add a
    ``month`` column, kept as text. Rows keep the files' order (sorted by path).

    Parameters
    ----------
    files : list of Path
        The dataset's files (:func:`dataset_files`).
    display : str or Path
        The name used in messages.
    drop : iterable of str
        Columns never selected (personal data).

    Returns
    -------
    pandas.DataFrame
        Text columns (missing and blank: NA); the full header in ``attrs["header"]``.

    Raises
    ------
    StudyError
        When the files cannot be read as one dataset, or hold no rows.
    """
    import duckdb

    listing = "[" + ", ".join(_duck_literal(str(f)) for f in files) + "]"
    source = (f"read_parquet({listing}, hive_partitioning = true, hive_types_autocast = false, "
              "union_by_name = true)")
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET preserve_insertion_order = true")
        names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        frame = con.execute(
            f"SELECT {_select_columns(names, drop, _duck_quote)} FROM {source}").df()
    except StudyError:
        raise
    except Exception as exc:  # a file that is not Parquet, schemas that do not fit
        raise StudyError(f"cannot be read as a Parquet dataset ({_first_line(exc)}).",
                         file=display, fix="give a folder or glob of Parquet files with the "
                                           "same columns.") from None
    finally:
        con.close()
    table = _as_text(frame, display)
    table.attrs["header"] = [str(n) for n in names]
    return table


# ----------------------------------------------------------------------------------------------
# DuckDB database files
# ----------------------------------------------------------------------------------------------

def _source_sql(spec: dict, quote) -> str:
    if spec.get("table") is not None:
        return _qualified(spec["table"], quote)
    query = str(spec["query"]).strip().rstrip(";")
    return f"({query}) AS cx_source"


def read_duckdb(file: Path, spec: dict, display, drop=()) -> pd.DataFrame:
    """Read ``table:`` or ``query:`` from a DuckDB database file, opened read-only.

    Parameters
    ----------
    file : Path
        The DuckDB file.
    spec : dict
        The table's config (``table:`` or ``query:``).
    display : str
        The name used in messages (the file and the table or query).
    drop : iterable of str
        Columns never selected (personal data).

    Returns
    -------
    pandas.DataFrame
        Text columns (missing and blank: NA); the full header in ``attrs["header"]``.

    Raises
    ------
    StudyError
        When the file is missing or not a DuckDB database, or the table or query fails.
    """
    import duckdb

    if not file.is_file():
        raise StudyError("DuckDB database file not found.", file=file,
                         fix="check the duckdb: path in study.yaml (relative to the study).")
    with open(file, "rb") as fh:
        head = fh.read(12)
    if head[8:12] != b"DUCK":  # DuckDB's magic bytes
        raise StudyError("the file is not a DuckDB database.", file=file,
                         expected="a database file written by DuckDB",
                         fix="give the DuckDB file in duckdb:, or name a CSV or Parquet file "
                             "in path: instead.")
    try:
        con = duckdb.connect(str(file), read_only=True)
    except Exception as exc:
        raise StudyError(f"cannot be opened as a DuckDB database ({_first_line(exc)}).",
                         file=file, fix="give a DuckDB database file (made by DuckDB).") from None
    try:
        con.execute("SET TimeZone = 'UTC'")
        source = _source_sql(spec, _duck_quote)
        names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        frame = con.execute(
            f"SELECT {_select_columns(names, drop, _duck_quote)} FROM {source}").df()
    except Exception as exc:
        what = "table" if spec.get("table") is not None else "query"
        raise StudyError(f"the {what} cannot be read ({_first_line(exc)}).", file=display,
                         fix=f"check the {what} in study.yaml (DuckDB's SQL; tables are listed "
                             "by SHOW TABLES).") from None
    finally:
        con.close()
    table = _as_text(frame, display)
    table.attrs["header"] = [str(n) for n in names]
    return table


# ----------------------------------------------------------------------------------------------
# SQL databases
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DatabaseInput:
    """A table read from a SQL database, as recorded for the run manifest.

    Attributes
    ----------
    url : str
        The connection URL as written in ``study.yaml`` (it never holds a password).
    table, query : str or None
        What was read (one of the two).
    rows : int
        How many rows were read.
    digest : str
        sha256 of the rows read, in a canonical order-independent form (:func:`rows_digest`).
    size : int
        Bytes of that canonical form.

    The object stands beside the files in ``Study.inputs``: ``str()`` names it (the URL and
    the table or query), and :meth:`record` is its manifest entry
    (:func:`cx_helpers.layout.input_record`).
    """

    url: str
    table: str | None
    query: str | None
    rows: int
    digest: str
    size: int

    def __str__(self) -> str:
        what = f"table {self.table}" if self.table is not None else f"query {self.query!r}"
        return f"{self.url}, {what}"

    def record(self) -> dict:
        """The manifest entry: no credentials, enough to check the rows again."""
        out = {"path": str(self), "database": self.url, "rows": self.rows,
               "sha256": self.digest, "bytes": self.size}
        out["table" if self.table is not None else "query"] = self.table or self.query
        return out


def rows_digest(table: pd.DataFrame) -> tuple[str, int]:
    """sha256 (and size in bytes) of a table's header and rows, independent of the rows'
    order: the rows sorted as text, written as CSV.

    Parameters
    ----------
    table : pandas.DataFrame
        The rows read.

    Returns
    -------
    tuple of (str, int)
    """
    text = table.astype("string")
    ordered = text.sort_values(list(text.columns), na_position="first", kind="stable") \
        if len(text.columns) else text
    data = ordered.to_csv(index=False, lineterminator="\n", na_rep="\\N").encode("utf-8")
    return hashlib.sha256(data).hexdigest(), len(data)


def _first_line(exc) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def _scrub(text: str, secrets) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _env(spec: dict, key: str, role: str, cfg_file) -> str | None:
    name = spec.get(key)
    if name is None:
        return None
    value = os.environ.get(name)
    if value is None:
        raise StudyError(
            f"{_where(role, key)} names the environment variable {name}, which is not set.",
            file=cfg_file, fix=f"set {name} before running (e.g. export {name}=...), or correct "
                               f"{_where(role, key)}.")
    return value


def database_url(spec: dict, role: str, cfg_file):
    """The SQLAlchemy URL of ``tables.<role>.database`` with its credentials from the
    environment, and the secrets to keep out of messages.

    Parameters
    ----------
    spec : dict
        The table's config (``database:``, ``user_env:``, ``password_env:``).
    role : str
        The table's role (named in messages).
    cfg_file : Path
        ``study.yaml`` (named in messages).

    Returns
    -------
    tuple
        ``(sqlalchemy.engine.URL, list of secrets)``.

    Raises
    ------
    StudyError
        When the URL cannot be parsed, holds a password, or names an unset variable.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    written = spec["database"]
    try:
        url = make_url(written)
    except (ArgumentError, ValueError):
        raise StudyError(f"{_where(role, 'database')} is not a database URL.", file=cfg_file,
                         expected="a URL such as postgresql://user@host:5432/database",
                         fix="write the URL without a password; name the variable holding "
                             f"the password in {_where(role, 'password_env')}.") from None
    if url.password is not None or any(k.lower() in ("password", "passwd", "pwd")
                                       for k in url.query):
        raise StudyError(
            f"{_where(role, 'database')} holds a password: a study file must never hold "
            "credentials.", file=cfg_file,
            fix=f"remove the password from the URL (postgresql://user@host/db) and put it in an "
                f"environment variable named by {_where(role, 'password_env')}, e.g. "
                "password_env: CX_DB_PASSWORD.")
    user = _env(spec, "user_env", role, cfg_file)
    password = _env(spec, "password_env", role, cfg_file)
    changes = {}
    if user is not None:
        changes["username"] = user
    if password is not None:
        changes["password"] = password
    if url.drivername in ("postgresql", "postgres"):  # the driver installed: psycopg 3
        changes["drivername"] = "postgresql+psycopg"
    return url.set(**changes), [password]


def read_database(spec: dict, role: str, cfg_file, drop=()) -> tuple[pd.DataFrame,
                                                                     DatabaseInput]:
    """Read ``table:`` or ``query:`` from the SQL database of ``tables.<role>.database``.

    The connection is read-only where the database allows it (PostgreSQL: a read-only
    transaction), and nothing is committed.

    Parameters
    ----------
    spec : dict
        The table's config (``database:``, ``table:`` or ``query:``, ``user_env:``,
        ``password_env:``).
    role : str
        The table's role (named in messages).
    cfg_file : Path
        ``study.yaml`` (named in messages).
    drop : iterable of str
        Columns never selected (personal data).

    Returns
    -------
    tuple
        The rows as text columns, and the :class:`DatabaseInput` recording the read.

    Raises
    ------
    StudyError
        When the URL holds a password or names an unset variable, the database refuses the
        connection (the host and port are named) or the table or query cannot be read.
    """
    import sqlalchemy as sa

    url, secrets = database_url(spec, role, cfg_file)
    written = str(spec["database"])
    table_name, query = spec.get("table"), spec.get("query")
    display = f"{written}, " + (f"table {table_name}" if table_name is not None
                                else f"query {query!r}")
    where = f"{url.host or 'localhost'}:{url.port or 'the default port'}" \
        if url.host or url.port else (url.database or written)
    connect_args = {"connect_timeout": 10} if url.get_backend_name() == "postgresql" else {}
    try:
        engine = sa.create_engine(url, connect_args=connect_args, poolclass=sa.pool.NullPool)
    except Exception as exc:  # an unknown dialect or a driver that is not installed
        raise StudyError(
            f"{_where(role, 'database')}: no driver for this database "
            f"({_scrub(_first_line(exc), secrets)}).", file=cfg_file,
            fix="use a postgresql:// URL (the suite installs psycopg), or install the "
                "SQLAlchemy driver of your database.") from None
    try:
        try:
            conn = engine.connect()
        except Exception as exc:
            raise StudyError(
                f"cannot connect to the database at {where} "
                f"({_scrub(_first_line(exc), secrets)}).", file=written,
                fix="check that the server runs and accepts connections there, the URL, and "
                    f"the credentials in the variables named by {_where(role, 'user_env')} / "
                    f"{_where(role, 'password_env')}.") from None
        with conn:
            if url.get_backend_name() == "postgresql":
                conn = conn.execution_options(postgresql_readonly=True)
            quote = conn.dialect.identifier_preparer.quote
            source = _source_sql(spec, quote)
            try:
                probe = conn.execute(sa.text(f"SELECT * FROM {source} WHERE 1 = 0"))
                names = list(probe.keys())
                probe.close()
                frame = pd.read_sql_query(
                    sa.text(f"SELECT {_select_columns(names, drop, quote)} FROM {source}"),
                    conn)
            except Exception as exc:
                what = "table" if table_name is not None else "query"
                raise StudyError(
                    f"the {what} cannot be read ({_scrub(_first_line(exc), secrets)}).",
                    file=display, fix=f"check tables.{role}.{what} in study.yaml, and that the "
                                      "user may read it.") from None
            finally:
                conn.rollback()  # nothing is ever written
    finally:
        engine.dispose()
    return _recorded(frame, names, display, written, table_name, query)


def _recorded(rows: pd.DataFrame, names, display, url, table_name, query):
    """The rows read from a database or Spark as text columns (header kept), and the
    :class:`DatabaseInput` that records the read."""
    table = _as_text(rows, display)
    table.attrs["header"] = [str(n) for n in names]
    digest, size = rows_digest(table)
    return table, DatabaseInput(url, table_name, query, len(table), digest, size)


# ----------------------------------------------------------------------------------------------
# Apache Spark
# ----------------------------------------------------------------------------------------------

def read_spark(spec: dict, role: str, cfg_file, drop=()) -> tuple[pd.DataFrame, DatabaseInput]:
    """Read ``table:`` or ``query:`` through a Spark session (``tables.<role>.spark``: its
    master URL; an active session is used as it is).

    Parameters
    ----------
    spec : dict
        The table's config (``spark:``, ``table:`` or ``query:``).
    role : str
        The table's role (named in messages).
    cfg_file : Path
        ``study.yaml`` (named in messages).
    drop : iterable of str
        Columns never selected (personal data).

    Returns
    -------
    tuple
        The rows as text columns, and a :class:`DatabaseInput` recording the read (its URL:
        ``spark <master>``), which ``cx verify`` checks by reading the rows again.

    Raises
    ------
    StudyError
        When PySpark or Java is missing, the session cannot start, or the table or query
        cannot be read.
    """
    master = str(spec["spark"])
    table_name, query = spec.get("table"), spec.get("query")
    display = f"spark {master}, " + (f"table {table_name}" if table_name is not None
                                     else f"query {query!r}")
    try:
        from cx_helpers.journeys.engines import _quiet, spark_session

        spark = spark_session(master)
    except Exception as exc:
        raise StudyError(f"{_where(role, 'spark')}: Spark could not start "
                         f"({_first_line(exc)}).", file=cfg_file,
                         fix="install PySpark (pip install 'cx-helpers[spark]') and Java 17 or "
                             "newer, and check the master URL.") from None
    try:
        frame = spark.table(table_name) if table_name is not None else spark.sql(query)
        names = list(frame.columns)
        frame = frame.select(*[c for c in names if c not in set(drop)])
        with _quiet():
            rows = frame.toArrow().to_pandas()
    except Exception as exc:
        what = "table" if table_name is not None else "query"
        raise StudyError(f"the {what} cannot be read ({_first_line(exc)}).", file=display,
                         fix=f"check tables.{role}.{what} in study.yaml (Spark SQL; the "
                             "session's tables are listed by SHOW TABLES).") from None
    return _recorded(rows, names, display, f"spark {master}", table_name, query)
