"""The results store: one SQLite file (stdlib ``sqlite3``, WAL), one row per unit.

Schema (version 2)::

    meta(key TEXT PRIMARY KEY, value TEXT)            -- 'schema_version' -> '2', 'created' -> ISO time
    configs(hash TEXT PRIMARY KEY, study TEXT, profile TEXT, config TEXT)   -- config as JSON
    units(study, config_hash, cell, hyper, arm, seed, fingerprint,          -- the unit key
          status TEXT,            -- 'done' | 'diverged' | 'failed'
          metrics TEXT, curves TEXT, arrays TEXT, env TEXT,                 -- JSON
          error TEXT, started REAL, finished REAL, seconds REAL, host TEXT, profile TEXT, claim TEXT,
          PRIMARY KEY (study, config_hash, cell, hyper, arm, seed, fingerprint))
    INDEX units_fingerprint ON units (study, config_hash, fingerprint)
    leases(study, config_hash, cell, hyper, arm, seed, fingerprint,         -- a unit being trained
           owner TEXT,            -- 'host:pid:nonce' of the sweep that claimed it
           expires REAL,          -- time.time() after which anyone may claim it again
           PRIMARY KEY (the unit key))

``cell`` and ``hyper`` are canonical JSON (:func:`actlab.engine.protocol.canonical`), ``seed`` is -1 for
a deterministic unit.  JSON columns write a non-finite float as the string ``"nan"``, ``"inf"`` or
``"-inf"``; in ``metrics``, ``curves`` and ``arrays`` those strings read back as the floats (``env`` is
free text and is read back as written).

A schema-1 store (``records`` keyed by ``(study, config_hash, activation, seed, version)``) is migrated
in one transaction when it is opened for writing: each row becomes a unit with ``cell = hyper = '{}'``,
``arm = activation``, ``fingerprint = 'v1-' + version``, ``arrays = '{}'`` and ``claim = ''`` (such a
key never matches a unit of a version-2 study, so those records are never resumed, but they stay
readable).  Opened read-only, a schema-1 store is read through the same mapping and nothing is written.

Leases.  Concurrent sweeps on one store claim a unit (:meth:`Store.claim`) before training it, so no
unit is trained twice: a claim is refused while another sweep holds an unexpired lease, and a lease
lapses when its ``expires`` passes (the holder renews it while it trains: :meth:`Store.renew`) or at
once when its owner ran on this host and its process is gone (a SIGKILLed sweep's units free up for
the next run without waiting).  Writing a unit's record drops its lease in the same transaction.  The
``leases`` table is coordination state, not results, so it does not change the schema version: it is
created with ``CREATE TABLE IF NOT EXISTS`` by any writer that opens a version-2 store, a version-2
reader (or an older actlab) ignores a table it does not know, and an older writer simply does not
claim (it may retrain a unit a newer sweep is training; the store still keeps one record per unit).
Bumping the version would make every older actlab refuse a store over state that holds no results.

Guarantees:

* every write is one transaction (``BEGIN IMMEDIATE``), so a killed process leaves either the whole
  write or nothing; many processes may write at once (WAL, busy timeout ``ACTLAB_STORE_TIMEOUT``
  seconds, default 60) and nothing is lost;
* a ``done`` or ``diverged`` record is final: writing the same key again is ignored (a finished unit
  never runs again); a ``failed`` record is replaced when the unit is retried;
* a store from a newer schema, a corrupt file, another program's SQLite file, a read-only or locked
  store raise :class:`StoreError` with one line naming the fix, and a file that is refused is left
  byte-identical: its schema is read on a read-only connection before anything (journal mode
  included) is written;
* ``readonly=True`` never writes: not the store, and no ``-wal``/``-shm`` files beside it when there
  were none (with no such files, SQLite reads the file as immutable and every read checks the file
  did not change under it, else it is read again through an ordinary read-only connection), so a
  store in a read-only folder can be read;
* when a write fails and its ROLLBACK fails too (a full disk), the error raised is the write's; an
  I/O error is diagnosed as what it is where that can be told (a full disk, a file-size limit,
  a read-only file system).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import resource
import socket
import sqlite3
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar
from urllib.parse import quote

from .protocol import STATUSES, Record

__all__ = ["Store", "StoreError", "default_path", "SCHEMA_VERSION", "decode_numbers", "encode_json", "plain", "validate"]

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS configs (
    hash TEXT PRIMARY KEY, study TEXT NOT NULL, profile TEXT NOT NULL, config TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS units (
    study TEXT NOT NULL, config_hash TEXT NOT NULL, cell TEXT NOT NULL, hyper TEXT NOT NULL, arm TEXT NOT NULL,
    seed INTEGER NOT NULL, fingerprint TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('done', 'diverged', 'failed')),
    metrics TEXT NOT NULL, curves TEXT NOT NULL, arrays TEXT NOT NULL, env TEXT NOT NULL, error TEXT,
    started REAL, finished REAL, seconds REAL, host TEXT, profile TEXT, claim TEXT,
    PRIMARY KEY (study, config_hash, cell, hyper, arm, seed, fingerprint));
CREATE INDEX IF NOT EXISTS units_fingerprint ON units (study, config_hash, fingerprint);
CREATE TABLE IF NOT EXISTS leases (
    study TEXT NOT NULL, config_hash TEXT NOT NULL, cell TEXT NOT NULL, hyper TEXT NOT NULL, arm TEXT NOT NULL,
    seed INTEGER NOT NULL, fingerprint TEXT NOT NULL, owner TEXT NOT NULL, expires REAL NOT NULL,
    PRIMARY KEY (study, config_hash, cell, hyper, arm, seed, fingerprint));
"""

_LEASES = _SCHEMA.split(";")[-2].strip()  # the leases table alone (added to version-2 stores that lack it)

_KEY = ("study", "config_hash", "cell", "hyper", "arm", "seed", "fingerprint")
_COLUMNS = _KEY + ("status", "metrics", "curves", "arrays", "env", "error", "started", "finished", "seconds", "host",
                   "profile", "claim")
_ORDER = ", ".join(_KEY)
_NUMERIC_JSON = ("metrics", "curves", "arrays")  # JSON columns whose "nan"/"inf"/"-inf" strings are floats

# schema 1, read as schema-2 rows (the migration copies exactly this); _actlab_v1_metrics re-encodes the
# metrics (schema 1 wrote NaN as null and read null back as NaN)
_V1_UNITS = ("(SELECT study, config_hash, '{}' AS cell, '{}' AS hyper, activation AS arm, seed, "
             "'v1-' || version AS fingerprint, status, _actlab_v1_metrics(metrics) AS metrics, curves, "
             "'{}' AS arrays, env, error, COALESCE(started, 0.0) AS started, COALESCE(finished, 0.0) AS finished, "
             "COALESCE(seconds, 0.0) AS seconds, COALESCE(host, '') AS host, COALESCE(profile, '') AS profile, "
             "'' AS claim FROM records)")

_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}

T = TypeVar("T")


class StoreError(RuntimeError):
    """The store cannot be used as asked (locked, read-only, corrupt, newer schema, not a store)."""


def default_path() -> Path:
    """``$ACTLAB_STORE`` or ``~/.actlab/results.db``."""
    env = os.environ.get("ACTLAB_STORE")
    return Path(env).expanduser() if env else Path.home() / ".actlab" / "results.db"


# -- JSON: one encoding for the store and for shipped evidence ------------------------------------
def plain(obj: Any) -> Any:
    """``obj`` as plain JSON data: non-finite floats become ``"nan"``/``"inf"``/``"-inf"``, tuples lists,
    numpy scalars and arrays Python numbers and lists, keys strings."""
    if isinstance(obj, float):
        if math.isfinite(obj):
            return obj
        return "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if obj is None or isinstance(obj, (str, bool, int)):
        return obj
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, (bytes, bytearray)):  # numpy/torch arrays and scalars
        return plain(obj.tolist())
    if hasattr(obj, "item"):
        return plain(obj.item())
    raise TypeError(f"cannot store a {type(obj).__name__} as JSON")


def encode_json(obj: Any) -> str:
    """Compact JSON text with sorted keys (:func:`plain` first)."""
    return json.dumps(plain(obj), sort_keys=True, separators=(",", ":"), allow_nan=False, ensure_ascii=False)


def decode_numbers(obj: Any) -> Any:
    """The inverse of :func:`plain` for numeric data: ``"nan"``/``"inf"``/``"-inf"`` back to floats."""
    if isinstance(obj, str):
        return _NONFINITE.get(obj, obj)
    if isinstance(obj, dict):
        return {k: decode_numbers(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode_numbers(v) for v in obj]
    return obj


def validate(r: Record) -> None:
    """Raise ``ValueError`` when ``r`` cannot be a stored unit (bad status, key field of the wrong type)."""
    if r.status not in STATUSES:
        raise ValueError(f"record status must be done, diverged or failed, got {r.status!r}")
    for name in ("study", "config_hash", "cell", "hyper", "arm", "fingerprint"):
        if not isinstance(getattr(r, name), str):
            raise ValueError(f"record {name} must be a string, got {type(getattr(r, name)).__name__}")
    if isinstance(r.seed, bool) or not isinstance(r.seed, int):
        raise ValueError(f"record seed must be an int (-1 for a deterministic unit), got {r.seed!r}")


def _v1_metrics(text: str) -> str:
    d = json.loads(text)
    return encode_json({k: (math.nan if v is None else float(v) if isinstance(v, str) else v) for k, v in d.items()})


def _row(r: Record) -> tuple:
    validate(r)
    return (r.study, r.config_hash, r.cell, r.hyper, r.arm, int(r.seed), r.fingerprint, r.status,
            encode_json(r.metrics), encode_json(r.curves), encode_json(r.arrays), encode_json(r.env), r.error,
            r.started, r.finished, r.seconds, r.host, r.profile, r.claim)


def _record(row: Sequence[Any]) -> Record:
    d = dict(zip(_COLUMNS, row))
    for k in _NUMERIC_JSON:
        d[k] = decode_numbers(json.loads(d[k]))
    d["env"] = json.loads(d["env"])
    return Record(**d)


def _key_tuple(k: Any) -> tuple:
    key = k.key if isinstance(k, Record) else tuple(k)
    if len(key) != len(_KEY):
        raise ValueError(f"a unit key has {len(_KEY)} fields ({', '.join(_KEY)}), got {key!r}")
    return key


class _Schema:
    """What a connection found: ``version`` (0: no tables), ``units`` (the SQL of its units, as schema-2 rows)."""

    def __init__(self, version: int, units: str):
        self.version, self.units = version, units


class Store:
    """An open results store.  ``Store(path)`` creates it (and its folder) when missing.

    ``readonly=True`` opens an existing store for reading only (``results``/``verdict``): it never
    creates, migrates or writes anything, not even SQLite's ``-wal``/``-shm`` files.
    """

    def __init__(self, path: str | os.PathLike | None = None, *, readonly: bool = False, timeout: float | None = None):
        self.path = Path(path).expanduser() if path is not None else default_path()
        self.readonly = readonly
        self.timeout = float(os.environ.get("ACTLAB_STORE_TIMEOUT", 60)) if timeout is None else float(timeout)
        self._conn: sqlite3.Connection | None = None
        self._open()

    # -- errors --------------------------------------------------------------------------------
    def _fail(self, what: str, fix: str) -> StoreError:
        return StoreError(f"store {self.path}: {what}; {fix}")

    def _translate(self, e: sqlite3.Error) -> StoreError:
        msg = " ".join(str(e).split())
        if "disk I/O error" in msg:
            return self._diagnose_io(msg)
        if "locked" in msg or "busy" in msg:
            return self._fail(f"is locked by another process ({msg})", "wait for it to finish or raise ACTLAB_STORE_TIMEOUT")
        if "full" in msg:
            return self._fail(f"disk is full ({msg})", "free some space or pass another --store PATH")
        if "readonly" in msg or "read-only" in msg:
            return self._fail(f"is read-only ({msg})", "make it (and its folder) writable or pass another --store PATH")
        if "not a database" in msg or "malformed" in msg or "corrupt" in msg:
            return self._fail(f"is not a valid actlab store ({msg})", "move it aside or pass another --store PATH")
        return self._fail(msg, "check the path passed with --store")

    def _diagnose_io(self, msg: str) -> StoreError:
        """SQLite says only "disk I/O error": tell a full disk, a file-size limit and a read-only file system."""
        folder = self.path.parent
        try:
            st = os.statvfs(folder)
        except OSError:
            st = None
        if st is not None and st.f_flag & getattr(os, "ST_RDONLY", 1):
            return self._fail(f"is on a read-only file system ({msg})", "remount it read-write or pass another --store PATH")
        if st is not None and st.f_bavail * st.f_frsize < 1 << 20:
            return self._fail(f"disk is full ({msg}; {st.f_bavail * st.f_frsize} bytes free)",
                              "free some space or pass another --store PATH")
        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        if limit != resource.RLIM_INFINITY:
            sizes = [os.path.getsize(f) for f in (self.path, f"{self.path}-wal") if os.path.exists(f)]
            if sizes and max(sizes) + (1 << 20) >= limit:
                return self._fail(f"reached this process's file-size limit ({msg}; ulimit -f is {limit} bytes)",
                                  "raise the limit (ulimit -f) or pass another --store PATH")
        return self._fail(f"cannot be written ({msg})", "check the disk and its file system, or pass another --store PATH")

    # -- connections ---------------------------------------------------------------------------
    def _sidecars(self) -> bool:
        return any(os.path.exists(f"{self.path}{s}") for s in ("-wal", "-shm", "-journal"))

    def _file_state(self) -> tuple | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, self._sidecars())

    def _reader(self, immutable: bool) -> sqlite3.Connection:
        """A read-only connection; ``immutable`` (only when no -wal/-shm/-journal exists) creates no files."""
        uri = f"file:{quote(str(self.path.absolute()))}?mode=ro" + ("&immutable=1" if immutable else "")
        conn = sqlite3.connect(uri, uri=True, timeout=self.timeout, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            conn.create_function("_actlab_v1_metrics", 1, _v1_metrics, deterministic=True)
        except BaseException:
            conn.close()
            raise
        return conn

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` (which reads everything it needs) on the writer's connection, or, read-only (and while
        opening), on a connection that writes nothing: immutable when no -wal/-shm/-journal exists and the
        file is unchanged afterwards, else an ordinary read-only one."""
        try:
            if self._conn is not None:  # opened for writing: its own connection sees every commit
                return fn(self._conn)
            before = self._file_state()
            if before is not None and not before[-1]:
                try:
                    conn = self._reader(immutable=True)
                    try:
                        out = fn(conn)
                    finally:
                        conn.close()
                except sqlite3.Error:
                    if self._file_state() == before:
                        raise  # the file is as it was: the error is the file's, not a torn read's
                else:
                    if self._file_state() == before:
                        return out
            # another process has the store open (or just changed it): read it the ordinary way
            conn = self._reader(immutable=False)
            try:
                return fn(conn)
            finally:
                conn.close()
        except sqlite3.Error as e:
            raise self._translate(e) from None

    def _schema(self, conn: sqlite3.Connection) -> _Schema:
        """Read (never write) which schema ``conn``'s file has; refuse what is not a store we can use."""
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            return _Schema(0, "units")
        if "meta" not in tables:
            raise self._fail(f"is an SQLite file but not an actlab store (tables: {', '.join(sorted(tables))})",
                             "pass another --store PATH")
        row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        try:
            version = int(row[0]) if row else -1
        except ValueError:
            version = -1
        if version > SCHEMA_VERSION:
            raise self._fail(f"written by a newer actlab (schema {version} > {SCHEMA_VERSION})",
                             "upgrade actlab or pass another --store PATH")
        table = {2: "units", 1: "records"}.get(version)
        if table is None:
            raise self._fail("is not a valid actlab store (no usable schema_version in meta)",
                             "move it aside or pass another --store PATH")
        missing = {table, "configs"} - tables
        if missing:
            raise self._fail(f"is not a valid actlab store (schema {version} without table {', '.join(sorted(missing))})",
                             "move it aside or pass another --store PATH")
        return _Schema(version, "units" if version == 2 else _V1_UNITS)

    # -- opening -------------------------------------------------------------------------------
    def _open(self) -> None:
        p = self.path
        if p.exists() and p.is_dir():
            raise self._fail("is a directory", "pass a file path with --store")
        if self.readonly:
            if not p.exists():
                raise self._fail("does not exist", "run a study first or pass --store PATH")
            if self._read(self._schema).version == 0:
                raise self._fail("has no actlab schema", "run a study first or pass --store PATH")
            return
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise self._fail(f"cannot create its folder ({e.strerror})", "pass a writable --store PATH") from None
        # no write bit means read-only even for root, who os.access would let write anyway
        if p.exists() and (not os.access(p, os.W_OK) or not p.stat().st_mode & 0o222):
            raise self._fail("is read-only", "make it writable or pass another --store PATH")
        if not os.access(p.parent, os.W_OK) and not (p.exists() and os.path.exists(f"{p}-wal")):
            raise self._fail("folder is read-only (SQLite keeps its -wal file beside the store)",
                             "pass a writable --store PATH or open it read-only")
        if p.exists() and p.stat().st_size > 0:
            # look before touching: a refused file must stay byte-identical (journal mode included)
            found = self._read(self._schema)
        else:
            found = _Schema(0, "units")
        try:
            conn = sqlite3.connect(str(p), timeout=self.timeout, isolation_level=None)
        except sqlite3.Error as e:
            raise self._translate(e) from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            conn.create_function("_actlab_v1_metrics", 1, _v1_metrics, deterministic=True)
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise self._fail(f"cannot switch to WAL journaling (got {mode})", "use a local file system")
            conn.execute("PRAGMA synchronous = NORMAL")
            if found.version != SCHEMA_VERSION:
                self._transaction(conn, self._create_or_migrate)
            elif not conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='leases'").fetchone():
                self._transaction(conn, lambda c: c.execute(_LEASES))  # a version-2 store from before leases
        except sqlite3.Error as e:
            conn.close()
            raise self._translate(e) from None
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _create_or_migrate(self, conn: sqlite3.Connection) -> None:
        found = self._schema(conn)  # again, inside the transaction: another process may have been first
        if found.version == SCHEMA_VERSION:
            return
        for stmt in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
            conn.execute(stmt)
        now = time.strftime("%Y-%m-%dT%H:%M:%S")
        if found.version == 1:
            conn.execute(f"INSERT INTO units ({', '.join(_COLUMNS)}) SELECT {', '.join(_COLUMNS)} FROM {_V1_UNITS}")
            conn.execute("DROP TABLE records")
            conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('migrated_from_1', ?)", (now,))
        else:
            conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('created', ?)", (now,))

    # -- writing -------------------------------------------------------------------------------
    @staticmethod
    def _transaction(conn: sqlite3.Connection, body: Callable[[sqlite3.Connection], Any]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            body(conn)
            conn.execute("COMMIT")
        except BaseException:
            # a failed COMMIT (disk full) may have rolled back already, and a ROLLBACK that fails must not
            # replace the error that matters
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise

    def _write(self, body: Callable[[sqlite3.Connection], Any]) -> int:
        """Run ``body`` in one transaction; returns how many rows it changed."""
        if self.readonly:
            raise self._fail("was opened read-only", "open it for writing")
        if self._conn is None:
            raise self._fail("is closed", "open it again")
        before = self._conn.total_changes
        try:
            self._transaction(self._conn, body)
        except sqlite3.Error as e:
            raise self._translate(e) from None
        return self._conn.total_changes - before

    def add_config(self, config_hash: str, study: str, profile: str, config: dict[str, Any]) -> None:
        """Remember a config by its hash (the first one written for a hash stays)."""
        row = (config_hash, study, profile, encode_json(config))
        self._write(lambda c: c.execute("INSERT OR IGNORE INTO configs VALUES (?, ?, ?, ?)", row))

    def put(self, records: Iterable[Record]) -> int:
        """Write records in one transaction (all or none); returns how many were new or replaced a failure.

        The units' leases (if any) go in the same transaction: a stored unit is no longer being trained."""
        rows = [_row(r) for r in records]
        if not rows:
            return 0
        sql = (f"INSERT INTO units ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
               f"ON CONFLICT ({_ORDER}) DO UPDATE SET "
               + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[len(_KEY):])
               + " WHERE units.status = 'failed'")
        where = " AND ".join(f"{c} = ?" for c in _KEY)
        keys = [row[:len(_KEY)] for row in rows]

        def body(c: sqlite3.Connection) -> None:
            c.executemany(sql, rows)
            before = c.total_changes
            c.executemany(f"DELETE FROM leases WHERE {where}", keys)
            self._lease_changes = c.total_changes - before

        self._lease_changes = 0
        n = self._write(body)
        return n - self._lease_changes

    # -- leases: concurrent sweeps claim units before training them ------------------------------
    @staticmethod
    def owner_id() -> str:
        """A lease owner for this process: ``host:pid:nonce``."""
        return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"

    @staticmethod
    def _owner_gone(owner: str) -> bool:
        """Whether a lease's owner was a process of this host that no longer runs."""
        host, _, rest = owner.partition(":")
        pid = rest.partition(":")[0]
        if host != socket.gethostname() or not pid.isdigit():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except OSError:  # exists, owned by someone else
            return False
        return False

    def claim(self, keys: Iterable[Any], owner: str, ttl: float) -> dict[tuple, str]:
        """Claim units (7-tuple keys) for ``owner`` for ``ttl`` seconds, in one transaction.

        Returns each key's state: ``"mine"`` (claimed, or already held by ``owner``: renewed),
        ``"stored"`` (a done or diverged record exists: nothing to train) or ``"busy"`` (another owner
        holds an unexpired lease, and is not a dead process of this host)."""
        params = [_key_tuple(k) for k in keys]
        out: dict[tuple, str] = {}
        where = " AND ".join(f"{c} = ?" for c in _KEY)

        def body(c: sqlite3.Connection) -> None:
            now = time.time()
            c.execute("DELETE FROM leases WHERE expires < ?", (now,))
            for key in params:
                row = c.execute(f"SELECT status FROM units WHERE {where}", key).fetchone()
                if row and row[0] in ("done", "diverged"):
                    out[key] = "stored"
                    continue
                held = c.execute(f"SELECT owner FROM leases WHERE {where}", key).fetchone()
                if held and held[0] != owner and not self._owner_gone(held[0]):
                    out[key] = "busy"
                    continue
                c.execute(f"INSERT OR REPLACE INTO leases ({', '.join(_KEY)}, owner, expires) "
                          f"VALUES ({', '.join('?' * (len(_KEY) + 2))})", (*key, owner, now + ttl))
                out[key] = "mine"

        if params:
            self._write(body)
        return out

    def renew(self, owner: str, ttl: float) -> int:
        """Extend every lease ``owner`` holds to ``ttl`` seconds from now; returns how many."""
        return self._write(lambda c: c.execute("UPDATE leases SET expires = ? WHERE owner = ?", (time.time() + ttl, owner)))

    def release(self, owner: str, keys: Iterable[Any] | None = None) -> int:
        """Drop ``owner`` 's leases (all of them, or those of ``keys``); returns how many."""
        if keys is None:
            return self._write(lambda c: c.execute("DELETE FROM leases WHERE owner = ?", (owner,)))
        params = [(*_key_tuple(k), owner) for k in keys]
        if not params:
            return 0
        where = " AND ".join(f"{c} = ?" for c in _KEY)
        return self._write(lambda c: c.executemany(f"DELETE FROM leases WHERE {where} AND owner = ?", params))

    def leases(self) -> list[dict[str, Any]]:
        """The leases held now (expired ones included until the next claim drops them)."""

        def fn(conn: sqlite3.Connection) -> list[tuple]:
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='leases'").fetchone():
                return []
            return conn.execute(f"SELECT {', '.join(_KEY)}, owner, expires FROM leases ORDER BY {_ORDER}").fetchall()

        return [dict(zip(_KEY + ("owner", "expires"), row)) for row in self._read(fn)]

    def delete(self, keys: Iterable[Any]) -> int:
        """Remove units by key (7-tuples or records) in one transaction; returns how many were removed."""
        params = [_key_tuple(k) for k in keys]
        if not params:
            return 0
        where = " AND ".join(f"{c} = ?" for c in _KEY)
        return self._write(lambda c: c.executemany(f"DELETE FROM units WHERE {where}", params))

    # -- reading -------------------------------------------------------------------------------
    def schema_version(self) -> int:
        return self._read(lambda c: self._schema(c).version)

    def finished_keys(self, study: str, config_hash: str, fingerprint: str) -> set[tuple[str, str, str, int]]:
        """``(cell, hyper, arm, seed)`` of the units that are done or diverged: they never run again."""

        def fn(conn: sqlite3.Connection) -> set[tuple[str, str, str, int]]:
            src = self._schema(conn).units
            rows = conn.execute(f"SELECT cell, hyper, arm, seed FROM {src} AS u WHERE study = ? AND config_hash = ? "
                                "AND fingerprint = ? AND status IN ('done', 'diverged')",
                                (study, config_hash, fingerprint)).fetchall()
            return {(c, h, a, int(s)) for c, h, a, s in rows}

        return self._read(fn)

    def records(self, study: str | None = None, config_hash: str | None = None, fingerprint: str | None = None, *,
                curves: bool = True, arrays: bool = True) -> list[Record]:
        """The matching records, ordered by key (``curves``/``arrays=False`` leave those fields empty)."""
        return list(self.iter_records(study, config_hash, fingerprint, curves=curves, arrays=arrays))

    def iter_records(self, study: str | None = None, config_hash: str | None = None, fingerprint: str | None = None,
                     *, curves: bool = True, arrays: bool = True, batch: int = 256) -> Iterator[Record]:
        """:meth:`records` as a generator that reads ``batch`` rows at a time (for stores too big for memory).

        It reads on a connection of its own (so writes may go on meanwhile); a read-only store read as an
        immutable file is checked after every batch, and read on from the last key through an ordinary
        read-only connection when another process opened or changed it.
        """
        where, params = [], []
        for col, val in (("study", study), ("config_hash", config_hash), ("fingerprint", fingerprint)):
            if val is not None:
                where.append(f"{col} = ?")
                params.append(val)
        cols = ", ".join(c if (c != "curves" or curves) and (c != "arrays" or arrays) else f"'{{}}' AS {c}"
                         for c in _COLUMNS)
        last: tuple | None = None
        allow_immutable = self.readonly
        while True:
            before = self._file_state()
            immutable = allow_immutable and before is not None and not before[-1]
            allow_immutable = False
            try:
                conn = self._reader(immutable)
            except sqlite3.Error as e:
                raise self._translate(e) from None
            try:
                try:
                    src = self._schema(conn).units
                    conds = list(where) + ([f"({_ORDER}) > ({', '.join('?' * len(_KEY))})"] if last else [])
                    sql = (f"SELECT {cols} FROM {src} AS u" + (f" WHERE {' AND '.join(conds)}" if conds else "")
                           + f" ORDER BY {_ORDER}")
                    cur = conn.execute(sql, tuple(params) + (last or ()))
                except sqlite3.Error as e:
                    raise self._translate(e) from None
                while True:
                    try:
                        rows = cur.fetchmany(batch)
                    except sqlite3.Error as e:
                        if immutable and self._file_state() != before:
                            break
                        raise self._translate(e) from None
                    if immutable and self._file_state() != before:
                        break  # this batch may mix two states of the file: read it again from `last`
                    if not rows:
                        return
                    for row in rows:
                        rec = _record(row)
                        last = rec.key
                        yield rec
            finally:
                conn.close()

    def configs(self, study: str | None = None) -> list[dict[str, Any]]:
        """Configs with their record counts, most records first."""

        def fn(conn: sqlite3.Connection) -> list[tuple]:
            src = self._schema(conn).units
            return conn.execute(
                f"SELECT c.hash, c.study, c.profile, c.config, COUNT(u.seed), MAX(u.finished) FROM configs c "
                f"LEFT JOIN {src} AS u ON u.config_hash = c.hash AND u.study = c.study "
                + ("WHERE c.study = ? " if study else "")
                + "GROUP BY c.hash ORDER BY COUNT(u.seed) DESC, MAX(u.finished) DESC, c.hash",
                (study,) if study else ()).fetchall()

        return [{"hash": h, "study": s, "profile": p, "config": json.loads(c), "records": n, "last": last}
                for h, s, p, c, n, last in self._read(fn)]

    # -- export --------------------------------------------------------------------------------
    @staticmethod
    def flat(records: Iterable[Record]) -> list[dict[str, Any]]:
        """One flat row per record: key, status, timings, then one column per metric (``m.<name>``)."""
        rows = []
        for r in records:
            row = {"study": r.study, "config_hash": r.config_hash, "profile": r.profile, "cell": r.cell,
                   "hyper": r.hyper, "arm": r.arm, "seed": r.seed, "fingerprint": r.fingerprint, "status": r.status,
                   "error": r.error or "", "seconds": r.seconds, "finished": r.finished, "host": r.host}
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
        """Write a Parquet file (needs ``actlab[parquet]``); curves and arrays are kept as JSON columns."""
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise ValueError("Parquet export needs pyarrow: pip install 'actlab[parquet]'") from None
        records = list(records)
        rows = cls.flat(records)
        for row, r in zip(rows, records):
            row["curves"] = encode_json(r.curves)
            row["arrays"] = encode_json(r.arrays)
        cols: list[str] = []
        for r in rows:
            cols += [c for c in r if c not in cols]
        table = pa.table({c: [r.get(c) for r in rows] for c in cols})
        pq.write_table(table, str(path))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __iter__(self) -> Iterator[Record]:
        return self.iter_records()
