"""The results store: one SQLite file (stdlib ``sqlite3``, WAL), one row per unit.

Schema (version 1)::

    meta(key TEXT PRIMARY KEY, value TEXT)            -- 'schema_version' -> '1', 'created' -> ISO time
    configs(hash TEXT PRIMARY KEY, study TEXT, profile TEXT, config TEXT)   -- config as JSON
    records(study, config_hash, activation, seed, version,                  -- the unit key
            status TEXT,            -- 'done' | 'diverged' | 'failed'
            metrics TEXT, curves TEXT, env TEXT,                            -- JSON
            error TEXT, started REAL, finished REAL, seconds REAL, host TEXT, profile TEXT,
            PRIMARY KEY (study, config_hash, activation, seed, version))

Guarantees:

* every write is one transaction (``BEGIN IMMEDIATE``), so a killed process leaves either the whole
  record or nothing; many processes may write at once (WAL, busy timeout ``ACTLAB_STORE_TIMEOUT``
  seconds, default 60) and nothing is lost;
* a ``done`` or ``diverged`` record is final: writing the same key again is ignored (a finished unit
  never runs again); a ``failed`` record is replaced when the unit is retried;
* a store from a newer schema, a corrupt file, a read-only or locked store raise :class:`StoreError`
  with one line naming the fix, and the file is left untouched.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

from .protocol import Record

__all__ = ["Store", "StoreError", "default_path", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS configs (
    hash TEXT PRIMARY KEY, study TEXT NOT NULL, profile TEXT NOT NULL, config TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    study TEXT NOT NULL, config_hash TEXT NOT NULL, activation TEXT NOT NULL, seed INTEGER NOT NULL,
    version TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('done', 'diverged', 'failed')),
    metrics TEXT NOT NULL, curves TEXT NOT NULL, env TEXT NOT NULL, error TEXT,
    started REAL, finished REAL, seconds REAL, host TEXT, profile TEXT,
    PRIMARY KEY (study, config_hash, activation, seed, version));
CREATE INDEX IF NOT EXISTS records_study ON records (study, config_hash);
"""

_COLUMNS = ("study", "config_hash", "activation", "seed", "version", "status", "metrics", "curves", "env", "error",
            "started", "finished", "seconds", "host", "profile")


class StoreError(RuntimeError):
    """The store cannot be used as asked (locked, read-only, corrupt, newer schema)."""


def default_path() -> Path:
    """``$ACTLAB_STORE`` or ``~/.actlab/results.db``."""
    env = os.environ.get("ACTLAB_STORE")
    return Path(env).expanduser() if env else Path.home() / ".actlab" / "results.db"


def _json(obj: Any) -> str:
    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        if hasattr(v, "item") and not isinstance(v, (str, bytes)):
            return clean(v.item())
        return v

    return json.dumps(clean(obj), sort_keys=True, allow_nan=False)


class Store:
    """An open results store.  ``Store(path)`` creates it (and its folder) when missing.

    ``readonly=True`` opens an existing store for reading only (``results``/``verdict``): it never
    creates or migrates anything.
    """

    def __init__(self, path: str | os.PathLike | None = None, *, readonly: bool = False, timeout: float | None = None):
        self.path = Path(path).expanduser() if path is not None else default_path()
        self.readonly = readonly
        self.timeout = float(os.environ.get("ACTLAB_STORE_TIMEOUT", 60)) if timeout is None else timeout
        self._conn = self._open()

    # -- opening -------------------------------------------------------------------------------
    def _fail(self, what: str, fix: str) -> StoreError:
        return StoreError(f"store {self.path}: {what}; {fix}")

    def _open(self) -> sqlite3.Connection:
        p = self.path
        if p.exists() and p.is_dir():
            raise self._fail("is a directory", "pass a file path with --store")
        if self.readonly:
            if not p.exists():
                raise self._fail("does not exist", "run a study first or pass --store PATH")
        else:
            try:
                p.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise self._fail(f"cannot create its folder ({e.strerror})", "pass a writable --store PATH") from None
            # no write bit means read-only even for root, who os.access would let write anyway
            if p.exists() and (not os.access(p, os.W_OK) or not p.stat().st_mode & 0o222):
                raise self._fail("is read-only", "make it writable or pass another --store PATH")
            if not p.exists() and not os.access(p.parent, os.W_OK):
                raise self._fail("folder is read-only", "pass a writable --store PATH")
        try:
            if self.readonly:
                conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True, timeout=self.timeout, isolation_level=None)
            else:
                conn = sqlite3.connect(str(p), timeout=self.timeout, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            if not self.readonly:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if mode.lower() != "wal":
                    raise self._fail(f"cannot switch to WAL journaling (got {mode})", "use a local file system")
                conn.execute("PRAGMA synchronous = NORMAL")
            self._check_schema(conn)
        except sqlite3.DatabaseError as e:
            raise self._translate(e) from None
        return conn

    def _translate(self, e: sqlite3.Error) -> StoreError:
        msg = str(e)
        if "locked" in msg or "busy" in msg:
            return self._fail(f"is locked by another process ({msg})", "wait for it to finish or raise ACTLAB_STORE_TIMEOUT")
        if "readonly" in msg or "read-only" in msg:
            return self._fail("is read-only", "make it writable or pass another --store PATH")
        if "not a database" in msg or "malformed" in msg or "corrupt" in msg:
            return self._fail(f"is not a valid actlab store ({msg})", "move it aside or pass another --store PATH")
        return self._fail(msg, "check the path passed with --store")

    def _check_schema(self, conn: sqlite3.Connection) -> None:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "meta" in tables:
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise StoreError(f"store {self.path}: written by a newer actlab (schema {version} > {SCHEMA_VERSION}); "
                                 "upgrade actlab or pass another --store PATH")
            if version == SCHEMA_VERSION:
                return
        elif tables:
            raise self._fail(f"is an SQLite file but not an actlab store (tables: {', '.join(sorted(tables))})",
                             "pass another --store PATH")
        if self.readonly:
            raise self._fail("has no actlab schema", "run a study first or pass --store PATH")
        conn.execute("BEGIN IMMEDIATE")
        try:
            for stmt in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
                conn.execute(stmt)
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('created', ?)", (time.strftime("%Y-%m-%dT%H:%M:%S"),))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    # -- writing -------------------------------------------------------------------------------
    def _write(self, sql_params: Iterable[tuple[str, tuple]]) -> None:
        if self.readonly:
            raise self._fail("was opened read-only", "open it for writing")
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in sql_params:
                    self._conn.execute(sql, params)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as e:
            raise self._translate(e) from None

    def add_config(self, config_hash: str, study: str, profile: str, config: dict[str, Any]) -> None:
        self._write([("INSERT OR IGNORE INTO configs VALUES (?, ?, ?, ?)", (config_hash, study, profile, _json(config)))])

    def put(self, records: Iterable[Record]) -> int:
        """Write records atomically (all or none); returns how many were new or replaced a failure."""
        rows = [self._row(r) for r in records]
        sql = (f"INSERT INTO records ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
               "ON CONFLICT (study, config_hash, activation, seed, version) DO UPDATE SET "
               + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[5:])
               + " WHERE records.status = 'failed'")
        before = self._conn.total_changes
        self._write([(sql, row) for row in rows])
        return self._conn.total_changes - before

    @staticmethod
    def _row(r: Record) -> tuple:
        if r.status not in ("done", "diverged", "failed"):
            raise ValueError(f"record status must be done, diverged or failed, got {r.status!r}")
        return (r.study, r.config_hash, r.activation, int(r.seed), r.version, r.status, _json(r.metrics),
                _json(r.curves), _json(r.env), r.error, r.started, r.finished, r.seconds, r.host, r.profile)

    # -- reading -------------------------------------------------------------------------------
    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as e:
            raise self._translate(e) from None

    def finished_keys(self, study: str, config_hash: str, version: str) -> set[tuple[str, int]]:
        """``(activation, seed)`` of units that are done or diverged: they never run again."""
        rows = self._query("SELECT activation, seed FROM records WHERE study=? AND config_hash=? AND version=? "
                           "AND status IN ('done', 'diverged')", (study, config_hash, version))
        return {(a, int(s)) for a, s in rows}

    def records(self, study: str | None = None, config_hash: str | None = None, *, curves: bool = True) -> list[Record]:
        where, params = [], []
        if study is not None:
            where.append("study = ?")
            params.append(study)
        if config_hash is not None:
            where.append("config_hash = ?")
            params.append(config_hash)
        cols = ", ".join(c if (c != "curves" or curves) else "'{}'" for c in _COLUMNS)
        sql = f"SELECT {cols} FROM records" + (f" WHERE {' AND '.join(where)}" if where else "")
        sql += " ORDER BY study, config_hash, activation, seed, version"
        return [self._record(row) for row in self._query(sql, tuple(params))]

    @staticmethod
    def _record(row: tuple) -> Record:
        d = dict(zip(_COLUMNS, row))
        for k in ("metrics", "curves", "env"):
            d[k] = json.loads(d[k])
        d["metrics"] = {k: (math.nan if v is None else float(v) if isinstance(v, str) else v) for k, v in d["metrics"].items()}
        return Record(**d)

    def configs(self, study: str | None = None) -> list[dict[str, Any]]:
        """Configs with their record counts, most records first."""
        rows = self._query(
            "SELECT c.hash, c.study, c.profile, c.config, COUNT(r.seed), MAX(r.finished) FROM configs c "
            "LEFT JOIN records r ON r.config_hash = c.hash AND r.study = c.study "
            + ("WHERE c.study = ? " if study else "") + "GROUP BY c.hash ORDER BY COUNT(r.seed) DESC, MAX(r.finished) DESC",
            (study,) if study else ())
        return [{"hash": h, "study": s, "profile": p, "config": json.loads(c), "records": n, "last": last}
                for h, s, p, c, n, last in rows]

    def schema_version(self) -> int:
        return int(self._query("SELECT value FROM meta WHERE key='schema_version'")[0][0])

    # -- export --------------------------------------------------------------------------------
    @staticmethod
    def flat(records: Iterable[Record]) -> list[dict[str, Any]]:
        """One flat row per record: key, status, timings, then one column per metric (``m.<name>``)."""
        rows = []
        for r in records:
            row = {"study": r.study, "config_hash": r.config_hash, "profile": r.profile, "activation": r.activation,
                   "seed": r.seed, "version": r.version, "status": r.status, "error": r.error or "",
                   "seconds": r.seconds, "finished": r.finished, "host": r.host}
            row.update({f"m.{k}": v for k, v in sorted(r.metrics.items())})
            rows.append(row)
        return rows

    @classmethod
    def to_csv(cls, records: Iterable[Record]) -> str:
        rows = cls.flat(records)
        cols: list[str] = []
        for r in rows:
            cols += [c for c in r if c not in cols]
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        return buf.getvalue()

    @classmethod
    def to_parquet(cls, records: Iterable[Record], path: str | os.PathLike) -> None:
        """Write a Parquet file (needs ``actlab[parquet]``); curves are kept as a JSON column."""
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise ValueError("Parquet export needs pyarrow: pip install 'actlab[parquet]'") from None
        records = list(records)
        rows = cls.flat(records)
        for row, r in zip(rows, records):
            row["curves"] = _json(r.curves)
        cols: list[str] = []
        for r in rows:
            cols += [c for c in r if c not in cols]
        table = pa.table({c: [r.get(c) for r in rows] for c in cols})
        pq.write_table(table, str(path))

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records())
