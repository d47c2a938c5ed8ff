"""Tables where they live (cx_helpers.sources): a Parquet dataset (a hive-partitioned folder, a
glob), a DuckDB database file, and a real PostgreSQL server started here.

Each source is checked against the same rows read from the sample's CSV: the loaded events
must be equal. The PostgreSQL server is Debian's (``initdb``/``pg_ctl``), started on a free
local port in a temporary folder, with a password-protected role; the tests skip only when
the server binaries are absent and CX_REQUIRE_POSTGRES is unset (CI sets it).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml
from conftest import FAST, SAMPLE

from cx_helpers import StudyError, load_study
from cx_helpers.cli import main
from cx_helpers.layout import SUMMARY, input_record, sha256
from cx_helpers.sources import DatabaseInput
from cx_helpers.verify import check_inputs

PASSWORD = "Pg-s3cret-4f9d0c7e"       # the study role's password: must never reach an output
ADMIN_PASSWORD = "admin-7c2e91b5"
PASSWORD_ENV = "CX_TEST_PG_PASSWORD"


def _events_csv() -> pd.DataFrame:
    return pd.read_csv(SAMPLE / "events.csv", dtype=str, keep_default_na=False, na_values=[""])


def _study_copy(tmp_path: Path, events: dict, drop_events_csv: bool = True) -> Path:
    """A copy of the sample whose ``tables.events`` reads from ``events`` (path/duckdb/...)."""
    study = tmp_path / "study"
    shutil.copytree(SAMPLE, study)
    if drop_events_csv:
        (study / "events.csv").unlink()
    cfg = yaml.safe_load((study / "study.yaml").read_text())
    spec = {k: v for k, v in cfg["tables"]["events"].items() if k != "path"}
    cfg["tables"]["events"] = {**events, **spec}
    (study / "study.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return study


def _write_hive(folder: Path) -> None:
    """The sample's events as Parquet files partitioned by month (month=2026-01/...)."""
    df = _events_csv()
    df["month"] = df["timestamp"].str[:7]
    for month, part in df.groupby("month", sort=True):
        sub = folder / f"month={month}"
        sub.mkdir(parents=True)
        part.drop(columns="month").to_parquet(sub / "part-0.parquet", index=False)


# ---------------------------------------------------------------------------------------------
# Parquet datasets and DuckDB files
# ---------------------------------------------------------------------------------------------

def test_parquet_folder_hive_partitioned_equals_csv(tmp_path, sample_study):
    study = _study_copy(tmp_path, {"path": "events"})
    _write_hive(study / "events")
    loaded = load_study(study)
    pd.testing.assert_frame_equal(loaded.events, sample_study.events)
    files = sorted((study / "events").rglob("*.parquet"))
    assert len(files) > 3 and all(f in loaded.inputs for f in files)


def test_parquet_glob_equals_csv(tmp_path, sample_study):
    study = _study_copy(tmp_path, {"path": "export/events-*.parquet"})
    (study / "export").mkdir()
    df = _events_csv()
    half = len(df) // 2
    df.iloc[:half].to_parquet(study / "export" / "events-1.parquet", index=False)
    df.iloc[half:].to_parquet(study / "export" / "events-2.parquet", index=False)
    (study / "export" / "other.parquet").write_bytes(b"not parquet, not matched by the glob")
    loaded = load_study(study)
    pd.testing.assert_frame_equal(loaded.events, sample_study.events)


def test_parquet_glob_outside_the_study_is_refused(tmp_path):
    study = _study_copy(tmp_path, {"path": "../*.parquet"})
    _events_csv().to_parquet(tmp_path / "events.parquet", index=False)
    with pytest.raises(StudyError, match="outside the study folder"):
        load_study(study)


def test_duckdb_file_table_and_query_equal_csv(tmp_path, sample_study):
    study = _study_copy(tmp_path, {"duckdb": "warehouse.duckdb", "table": "crm.events"})
    con = duckdb.connect(str(study / "warehouse.duckdb"))
    con.execute("CREATE SCHEMA crm")
    # typed columns, as a warehouse holds them: a timestamp with time zone, an integer rating
    con.execute("CREATE TABLE crm.events AS SELECT * FROM read_csv(?, all_varchar = false)",
                [str(SAMPLE / "events.csv")])
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'events'").fetchall())
    con.close()
    assert types["timestamp"] == "TIMESTAMP WITH TIME ZONE" and types["rating"] == "BIGINT"
    before = sha256(study / "warehouse.duckdb")
    loaded = load_study(study)
    pd.testing.assert_frame_equal(loaded.events, sample_study.events)
    assert study / "warehouse.duckdb" in loaded.inputs
    # a query instead of a table
    cfg = yaml.safe_load((study / "study.yaml").read_text())
    del cfg["tables"]["events"]["table"]
    cfg["tables"]["events"]["query"] = "SELECT * FROM crm.events WHERE channel <> 'store'"
    (study / "study.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    loaded = load_study(study)
    expected = sample_study.events[sample_study.events["channel"] != "store"]
    pd.testing.assert_frame_equal(loaded.events, expected.reset_index(drop=True))
    assert sha256(study / "warehouse.duckdb") == before, "the DuckDB file was written"


def test_wrong_column_in_a_database_table_names_the_table(tmp_path):
    study = _study_copy(tmp_path, {"duckdb": "w.duckdb", "table": "events"})
    con = duckdb.connect(str(study / "w.duckdb"))
    con.execute("CREATE TABLE events AS SELECT * RENAME (timestamp AS ts) FROM read_csv(?)",
                [str(SAMPLE / "events.csv")])
    con.close()
    with pytest.raises(StudyError) as err:
        load_study(study)
    assert "w.duckdb, table events" in str(err.value)
    assert "no column 'timestamp' (configured as tables.events.time)" in str(err.value)
    assert "valid: customer_id, ts, touchpoint" in str(err.value)


def test_personal_data_is_never_selected_from_a_database(tmp_path, sample_study):
    """A survey in a DuckDB view whose pii column raises when read: the study loads, so the
    column was never selected."""
    study = tmp_path / "study"
    shutil.copytree(SAMPLE, study)
    (study / "survey.csv").rename(tmp_path / "survey.csv")
    con = duckdb.connect(str(study / "crm.duckdb"))
    con.execute("CREATE TABLE answers AS SELECT * FROM read_csv(?, all_varchar = true)",
                [str(tmp_path / "survey.csv")])
    con.execute("CREATE VIEW survey AS SELECT * REPLACE (error('email was read')::VARCHAR AS "
                "email) FROM answers")
    con.close()
    cfg = yaml.safe_load((study / "study.yaml").read_text())
    assert "email" in cfg["pii"]
    cfg["tables"]["survey"] = {**{k: v for k, v in cfg["tables"]["survey"].items()
                                  if k != "path"}, "duckdb": "crm.duckdb", "table": "survey"}
    (study / "study.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    loaded = load_study(study)
    pd.testing.assert_frame_equal(loaded.respondents, sample_study.respondents)
    pd.testing.assert_frame_equal(loaded.ratings, sample_study.ratings)
    cfg["pii"].remove("email")
    (study / "study.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    with pytest.raises(StudyError, match="email was read"):
        load_study(study)


# ---------------------------------------------------------------------------------------------
# a real PostgreSQL server
# ---------------------------------------------------------------------------------------------

def _pg_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    candidates = ([Path(os.path.realpath(found)).parent] if found else []) + sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    """A PostgreSQL server on a free local port, with database ``cx``: the sample's events in
    ``events`` (typed columns) and a copy ``events_run`` for the end-to-end run, readable by
    the role ``cx`` (password :data:`PASSWORD`). Yields ``(host, port)``."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        if os.environ.get("CX_REQUIRE_POSTGRES"):
            pytest.fail("CX_REQUIRE_POSTGRES is set but PostgreSQL's initdb/pg_ctl are absent "
                        "(apt-get install postgresql)")
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are absent; .ci/run installs "
                    "Debian's postgresql package")
    as_root = os.geteuid() == 0
    if as_root:  # postgres refuses to run as root: run it as the unprivileged postgres user
        import pwd
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root, and there is no 'postgres' user to run the server")
        # pytest's folders are root's (mode 700): the server gets its own folder under /tmp
        base = Path(tempfile.mkdtemp(prefix="cx-pg-"))
        os.chown(base, owner.pw_uid, owner.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    else:
        base, prefix = tmp_path_factory.mktemp("pg"), []
    pwfile = base / "pw"
    pwfile.write_text(ADMIN_PASSWORD + "\n")
    if as_root:
        os.chown(pwfile, owner.pw_uid, owner.pw_gid)
    data, port = base / "data", _free_port()
    run = lambda *args: subprocess.run([*prefix, *map(str, args)], check=True,
                                       capture_output=True, text=True)
    run(bin_dir / "initdb", "-D", data, "-U", "cxadmin", f"--pwfile={pwfile}",
        "--auth=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync")
    run(bin_dir / "pg_ctl", "-D", data, "-l", base / "log", "-w", "-t", "60", "-o",
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    try:
        import psycopg

        admin = f"host=127.0.0.1 port={port} user=cxadmin password={ADMIN_PASSWORD}"
        with psycopg.connect(admin + " dbname=postgres", autocommit=True) as con:
            con.execute(f"CREATE ROLE cx LOGIN PASSWORD '{PASSWORD}'")
            con.execute("CREATE DATABASE cx")
        with psycopg.connect(admin + " dbname=cx", autocommit=True) as con:
            for table in ("events", "events_run"):
                con.execute(f"CREATE TABLE {table} (customer_id text, timestamp timestamptz, "
                            "touchpoint text, channel text, rating integer)")
                with con.cursor().copy(f"COPY {table} FROM STDIN WITH (FORMAT csv, "
                                       "HEADER true)") as copy:
                    copy.write((SAMPLE / "events.csv").read_bytes())
                con.execute(f"GRANT SELECT ON {table} TO cx")
        yield "127.0.0.1", port
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "-w", "stop"], check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def _pg_study(tmp_path, host, port, **spec) -> Path:
    return _study_copy(tmp_path, {"database": f"postgresql://cx@{host}:{port}/cx",
                                  "password_env": PASSWORD_ENV, **spec})


def test_postgres_table_equals_csv(postgres, tmp_path, sample_study, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    host, port = postgres
    study = _pg_study(tmp_path, host, port, table="events")
    loaded = load_study(study)
    pd.testing.assert_frame_equal(loaded.events, sample_study.events)
    record = [i for i in loaded.inputs if isinstance(i, DatabaseInput)]
    assert len(record) == 1 and record[0].rows == len(_events_csv())
    assert PASSWORD not in json.dumps(record[0].record())
    # the same rows by a query, in another order: the same events, the same hash of the rows
    cfg = yaml.safe_load((study / "study.yaml").read_text())
    del cfg["tables"]["events"]["table"]
    cfg["tables"]["events"]["query"] = "SELECT * FROM events ORDER BY rating, touchpoint"
    (study / "study.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    again = load_study(study)
    assert [i.digest for i in again.inputs if isinstance(i, DatabaseInput)] == [record[0].digest]
    assert set(map(tuple, again.events.astype(str).values)) == \
        set(map(tuple, sample_study.events.astype(str).values))


def test_postgres_nothing_is_written(postgres, tmp_path, monkeypatch):
    """A query that writes is refused by the read-only transaction, and the rows stay."""
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    host, port = postgres
    study = _pg_study(tmp_path, host, port, query="DELETE FROM events RETURNING *")
    with pytest.raises(StudyError, match="query cannot be read"):
        load_study(study)
    import psycopg

    with psycopg.connect(f"host={host} port={port} user=cxadmin password={ADMIN_PASSWORD} "
                         "dbname=cx") as con:
        assert con.execute("SELECT count(*) FROM events").fetchone()[0] == len(_events_csv())


def test_postgres_errors_name_the_source_and_never_the_password(postgres, tmp_path,
                                                                 monkeypatch):
    host, port = postgres
    study = _pg_study(tmp_path, host, port, table="events")
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD + "-wrong")
    with pytest.raises(StudyError) as err:
        load_study(study)
    text = str(err.value)
    assert f"{host}:{port}" in text and "password authentication failed" in text
    assert PASSWORD not in text
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    cfg = yaml.safe_load((study / "study.yaml").read_text())
    cfg["tables"]["events"]["table"] = "event"
    (study / "study.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    with pytest.raises(StudyError, match=r"table event: the table cannot be read") as err:
        load_study(study)
    assert PASSWORD not in str(err.value)


def test_verify_proves_a_database_input_only_by_its_rows(postgres, tmp_path, monkeypatch):
    """cx verify's input check: the rows' hash must match; changed rows are refused."""
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    host, port = postgres
    study = _pg_study(tmp_path, host, port, query="SELECT * FROM events WHERE rating >= 4")
    loaded = load_study(study)
    record = next(i for i in loaded.inputs if isinstance(i, DatabaseInput))
    # the manifest's entry, as cx run writes it (layout.input_record: the URL, the query, the
    # row count and the rows' sha256)
    manifest = {"inputs": [input_record(p, study) for p in loaded.inputs]}
    entry = next(e for e in manifest["inputs"] if "database" in e)
    assert entry == {"path": str(record), "database": f"postgresql://cx@{host}:{port}/cx",
                     "query": "SELECT * FROM events WHERE rating >= 4",
                     "rows": int((_events_csv()["rating"].astype(float) >= 4).sum()),
                     "sha256": record.digest, "bytes": record.size}
    assert [e["path"] for e in manifest["inputs"] if "database" not in e] == [
        "study.yaml", "survey.csv", "touchpoints.csv", "outcomes.csv"]
    check_inputs(manifest, study)
    entry["sha256"] = "0" * 64
    with pytest.raises(StudyError, match="rows changed since the run"):
        check_inputs(manifest, study)
    monkeypatch.delenv(PASSWORD_ENV)
    with pytest.raises(StudyError, match="cannot be proved unchanged") as err:
        check_inputs(manifest, study)
    assert PASSWORD_ENV in str(err.value)


@pytest.mark.slow
def test_cx_run_with_events_in_postgres(postgres, tmp_path, monkeypatch):
    """cx run end to end on events read from PostgreSQL: the report is written, the journey
    tables equal a CSV run's, and the password appears in no output and no message."""
    from cx_helpers.runner import run_study

    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    host, port = postgres
    study = _pg_study(tmp_path, host, port, table="events_run")
    out = tmp_path / "run"
    err, stdout = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(stdout):
        code = main(["run", str(study), "--out", str(out), *FAST])
    messages = err.getvalue() + stdout.getvalue()
    assert code == 0, messages
    assert (out / "report.html").is_file()
    manifest = json.loads((out / "manifest.json").read_text())
    db = [i for i in manifest["inputs"] if "://" in i["path"]]
    assert db == [{"path": f"postgresql://cx@{host}:{port}/cx, table events_run",
                   "database": f"postgresql://cx@{host}:{port}/cx", "table": "events_run",
                   "rows": len(pd.read_csv(SAMPLE / "events.csv")),
                   "sha256": db[0]["sha256"], "bytes": db[0]["bytes"]}]
    # the journey notebook alone on the CSV events: the same journey tables
    csv_run = run_study(SAMPLE, out=tmp_path / "csv-run",
                        parameters={"n_boot": 30, "n_repeats": 2},
                        notebooks=("03_journey_vs_touchpoint.ipynb",), progress=False)
    # every journey table (the summary gathers lines of all three notebooks: not compared)
    csv_tables = [t for t in sorted((csv_run / "tables").glob("*.csv"))
                  if t.name != f"{SUMMARY}.csv"]
    assert len(csv_tables) >= 3
    for table in csv_tables:
        ours = out / "tables" / table.name
        assert ours.is_file(), table.name
        pd.testing.assert_frame_equal(pd.read_csv(ours), pd.read_csv(table), obj=table.name)
    leaked = [p for p in out.rglob("*") if p.is_file() and PASSWORD.encode() in p.read_bytes()]
    assert not leaked and PASSWORD not in messages
    # cx verify's input check: the rows are the same now; after a change they are refused
    check_inputs(manifest, study)
    import psycopg

    with psycopg.connect(f"host={host} port={port} user=cxadmin password={ADMIN_PASSWORD} "
                         "dbname=cx", autocommit=True) as con:
        con.execute("DELETE FROM events_run WHERE ctid IN (SELECT ctid FROM events_run LIMIT 1)")
    with pytest.raises(StudyError, match="rows changed since the run"):
        check_inputs(manifest, study)
