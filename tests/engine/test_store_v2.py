"""The results store, schema 2 (``actlab.engine.store``), and shipped evidence (``actlab.engine.evidence``).

These tests import only ``store``, ``protocol`` and ``evidence``.  When the package's ``__init__`` cannot
be imported (other engine modules mid-rewrite), the three modules are loaded under stand-in package
modules instead -- they depend on nothing else -- and so are the child processes the tests start.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import importlib.util
import json
import math
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import types
from pathlib import Path

import pytest

# -- loading the modules under test ---------------------------------------------------------------
_STUB = textwrap.dedent('''
    import importlib, importlib.util, sys, types
    from pathlib import Path

    def _stub_engine():
        """Load actlab.engine.{protocol,store,evidence} without running the package __init__ files."""
        for name in [m for m in sys.modules if m == "actlab" or m.startswith("actlab.")]:
            del sys.modules[name]
        src = Path(importlib.util.find_spec("actlab").submodule_search_locations[0])
        for name, d in (("actlab", src), ("actlab.engine", src / "engine")):
            mod = types.ModuleType(name)
            mod.__path__ = [str(d)]
            mod.__file__ = str(d / "__init__.py")
            sys.modules[name] = mod
            if "." in name:
                setattr(sys.modules["actlab"], "engine", mod)
        for m in ("protocol", "store", "evidence"):
            importlib.import_module("actlab.engine." + m)
''')

exec(_STUB)
try:
    importlib.import_module("actlab.engine.store")
    importlib.import_module("actlab.engine.evidence")
    IMPORTED = "package"
except Exception as e:  # noqa: BLE001 -- the package __init__ is broken while other modules are rewritten
    IMPORTED = f"stubbed ({type(e).__name__}: {e})"
    _stub_engine()  # noqa: F821 -- defined by exec(_STUB)

store_mod = sys.modules["actlab.engine.store"]
evidence = sys.modules["actlab.engine.evidence"]
protocol = sys.modules["actlab.engine.protocol"]
Store, StoreError, SCHEMA_VERSION = store_mod.Store, store_mod.StoreError, store_mod.SCHEMA_VERSION
Record, canonical = protocol.Record, protocol.canonical

# a child process: the stub loader, then the code of a test
_CHILD_HEAD = _STUB + "\n_stub_engine()\nfrom actlab.engine.store import Store, StoreError\nfrom actlab.engine.protocol import Record\n"

# schema 1, as the store of actlab 0.1 wrote it
V1_DDL = """
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

FP = "0123456789abcdef"
NAN, INF = float("nan"), float("inf")


def rec(arm="relu", seed=0, status="done", x=1.0, *, cell=None, hyper=None, study="T00", cfg="cfg", fp=FP, **kw):
    return Record(study, cfg, canonical(cell or {}), canonical(hyper or {}), arm, seed, fp, status, {"x": x},
                  kw.pop("curves", {"loss": {"step": [1, 2], "value": [x, x / 2]}}), **kw)


def text(r) -> str:
    """Exact comparison text of a record: NaN equals NaN, 1 differs from 1.0, -0.0 from 0.0."""
    return json.dumps(store_mod.plain(r.to_json()), sort_keys=True, allow_nan=False)


def texts(records) -> list[str]:
    return [text(r) for r in records]


def sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def sidecars(path) -> list[str]:
    return [s for s in ("-wal", "-shm", "-journal") if os.path.exists(f"{path}{s}")]


def full_record() -> "Record":
    return Record(study="C07", config_hash="6504fae6963d03fc", cell=canonical({"task": "mnist1d", "width": 64}),
                  hyper=canonical({"lr": 0.003, "wd": 0.0}), arm="gelu(approximate='tanh')", seed=-1,
                  fingerprint="fedcba9876543210", status="diverged",
                  metrics={"acc": 0.25, "loss": NAN, "grad": INF, "low": -INF, "n": 3, "neg0": -0.0, "none": None},
                  curves={"loss": {"step": [0, 10, 20], "value": [2.3, NAN, INF]},
                          "acc": {"step": [0], "value": [0.1]}},
                  arrays={"layers": [[1.0, 2.5], [NAN, -INF]], "map": {"a": [[[0.125]]], "b": []}},
                  error="loss not finite at step 20", started=1700000000.25, finished=1700000003.5, seconds=3.25,
                  host="node-7", env={"torch": "2.3.0", "threads": 1, "cuda": None, "ünï": "cödé"},
                  profile="evidence", claim="GELU trains deeper nets than ReLU")


# -- round trip, finality ----------------------------------------------------------------------------
def test_round_trip_of_every_field_writable_and_readonly(tmp_path):
    path = tmp_path / "r.db"
    r = full_record()
    with Store(path) as s:
        assert s.schema_version() == SCHEMA_VERSION == 2
        assert s.put([r]) == 1
        (got,) = s.records()
        assert text(got) == text(r)
        assert math.isnan(got.metrics["loss"]) and got.metrics["grad"] == INF and got.metrics["low"] == -INF
        assert math.copysign(1, got.metrics["neg0"]) == -1 and isinstance(got.metrics["n"], int)
        assert got.key == r.key and got.seed == -1
    (ro,) = Store(path, readonly=True).records()
    assert text(ro) == text(r)
    (bare,) = Store(path, readonly=True).records(curves=False, arrays=False)
    assert bare.curves == {} and bare.arrays == {} and bare.metrics.keys() == r.metrics.keys()


def test_records_are_ordered_by_key_and_filtered(tmp_path):
    s = Store(tmp_path / "r.db")
    recs = [rec(a, seed, cell={"w": w}, study=st, cfg=c, fp=fp, finished=float(seed))
            for st in ("T00", "T01") for c in ("c1", "c2") for fp in (FP, "f" * 16) for w in (1, 2)
            for a in ("silu", "relu") for seed in (1, 0)]
    random.Random(0).shuffle(recs)
    assert s.put(recs) == len(recs)
    got = s.records()
    assert [r.key for r in got] == sorted(r.key for r in recs)
    assert {r.study for r in s.records("T01")} == {"T01"}
    sub = s.records("T00", "c2", "f" * 16)
    assert len(sub) == 8 and all((r.study, r.config_hash, r.fingerprint) == ("T00", "c2", "f" * 16) for r in sub)
    s.add_config("c1", "T00", "quick", {"steps": 5, "lr": NAN})
    s.add_config("c1", "T00", "other", {"steps": 6})  # the first config of a hash stays
    s.add_config("c9", "T00", "quick", {"steps": 1})
    cfgs = s.configs("T00")
    assert [c["hash"] for c in cfgs] == ["c1", "c9"]
    assert cfgs[0]["records"] == 16 and cfgs[0]["last"] == 1.0 and cfgs[0]["profile"] == "quick"
    assert cfgs[0]["config"] == {"steps": 5, "lr": "nan"} and cfgs[1]["records"] == 0
    assert Store(tmp_path / "r.db", readonly=True).configs() == s.configs()


def test_finished_records_are_final_and_failed_ones_replaced(tmp_path):
    s = Store(tmp_path / "r.db")
    assert s.put([rec(x=1.0), rec("silu", 1, "diverged", x=NAN, error="loss not finite"),
                  rec("gelu", 2, "failed", error="boom")]) == 3
    assert s.put([rec(x=2.0), rec("silu", 1, "done", x=5.0)]) == 0  # finished units never change
    assert s.finished_keys("T00", "cfg", FP) == {("{}", "{}", "relu", 0), ("{}", "{}", "silu", 1)}
    assert s.put([rec("gelu", 2, x=3.0)]) == 1  # the retry replaces the failure
    got = {r.arm: r for r in s.records()}
    assert got["relu"].metrics["x"] == 1.0 and got["silu"].status == "diverged"
    assert got["gelu"].status == "done" and got["gelu"].error is None and got["gelu"].metrics["x"] == 3.0
    # the same arm and seed under another cell, hyper or fingerprint is another unit
    assert s.put([rec(cell={"w": 2}), rec(hyper={"lr": 0.1}), rec(fp="f" * 16)]) == 3
    assert ("{\"w\":2}", "{}", "relu", 0) in s.finished_keys("T00", "cfg", FP)
    assert s.finished_keys("T00", "cfg", "f" * 16) == {("{}", "{}", "relu", 0)}
    assert s.finished_keys("T00", "other", FP) == set()


def test_put_is_all_or_nothing_and_checks_records(tmp_path):
    s = Store(tmp_path / "r.db")
    with pytest.raises(ValueError, match="status"):
        s.put([rec(), rec("silu", status="running")])
    with pytest.raises(ValueError, match="seed"):
        s.put([rec(seed="0")])
    with pytest.raises(TypeError, match="JSON"):
        s.put([rec(), rec("silu", env={"obj": object()})])
    assert s.records() == [] and s.put([]) == 0


def test_delete_removes_units_by_key_in_one_transaction(tmp_path):
    s = Store(tmp_path / "r.db")
    recs = [rec(a, i) for a in ("relu", "silu") for i in range(3)]
    s.put(recs)
    assert s.delete([recs[0].key, recs[4], ("T00", "cfg", "{}", "{}", "tanh", 0, FP)]) == 2
    assert [r.key for r in s.records()] == [r.key for r in recs if r.key not in (recs[0].key, recs[4].key)]
    assert ("{}", "{}", "relu", 0) not in s.finished_keys("T00", "cfg", FP)
    with pytest.raises(ValueError, match="7 fields"):
        s.delete([("T00", "cfg", "relu", 0)])
    assert s.delete([]) == 0 and len(s.records()) == 4
    assert s.put([recs[0]]) == 1  # a deleted unit can be written again


# -- schema 1 -------------------------------------------------------------------------------------
def make_v1(path, bad_metrics=False):
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")  # as the v1 store kept its files
    con.executescript(V1_DDL)
    con.execute("INSERT INTO meta VALUES ('schema_version', '1'), ('created', '2024-01-01T00:00:00')")
    con.execute("INSERT INTO configs VALUES ('h1', 'C01', 'quick', '{\"steps\": 5}')")
    rows = [("C01", "h1", "relu", 0, "0.1.0", "done", '{"acc": 0.5, "loss": null, "big": "inf"}',
             '{"loss": {"step": [1], "value": [0.7]}}', '{"torch": "2.2"}', None, 1.0, 2.0, 1.0, "box", "quick"),
            ("C01", "h1", "silu", 1, "0.1.0", "diverged", "{invalid" if bad_metrics else '{"acc": 0.1}', "{}", "{}",
             "loss not finite", None, None, None, None, None)]
    con.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.close()


def test_v1_store_is_read_through_the_mapping_and_migrated_once(tmp_path):
    path = tmp_path / "v1.db"
    make_v1(path)
    assert sidecars(path) == []
    before = sha(path)
    ro = Store(path, readonly=True)
    assert ro.schema_version() == 1
    old = ro.records()
    assert [(r.arm, r.seed, r.cell, r.hyper, r.fingerprint, r.arrays, r.claim) for r in old] == [
        ("relu", 0, "{}", "{}", "v1-0.1.0", {}, ""), ("silu", 1, "{}", "{}", "v1-0.1.0", {}, "")]
    relu, silu = old
    assert relu.metrics["acc"] == 0.5 and math.isnan(relu.metrics["loss"]) and relu.metrics["big"] == INF
    assert relu.curves == {"loss": {"step": [1], "value": [0.7]}} and relu.env == {"torch": "2.2"}
    assert (relu.started, relu.finished, relu.host, relu.profile) == (1.0, 2.0, "box", "quick")
    assert (silu.started, silu.host, silu.profile, silu.error) == (0.0, "", "", "loss not finite")
    assert ro.finished_keys("C01", "h1", "v1-0.1.0") == {("{}", "{}", "relu", 0), ("{}", "{}", "silu", 1)}
    assert [r.key for r in ro.iter_records(fingerprint="v1-0.1.0", batch=1)] == [r.key for r in old]
    assert ro.configs()[0]["records"] == 2
    assert sha(path) == before and sidecars(path) == []  # reading wrote nothing

    s = Store(path)  # migrates
    assert s.schema_version() == 2
    assert texts(s.records()) == texts(old)
    tables = {t for (t,) in s._conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"meta", "configs", "units", "leases"}  # leases: coordination state, not results
    assert s.finished_keys("C01", "h1", "v1-0.1.0") == {("{}", "{}", "relu", 0), ("{}", "{}", "silu", 1)}
    # a v2 unit of the same arm and seed never matches a v1 record
    assert s.put([rec("relu", 0, study="C01", cfg="h1")]) == 1 and len(s.records()) == 3
    s.close()
    assert Store(path).schema_version() == 2  # once


def test_failed_migration_leaves_the_v1_store(tmp_path):
    path = tmp_path / "v1.db"
    make_v1(path, bad_metrics=True)
    with pytest.raises(StoreError) as e:
        Store(path)
    assert "\n" not in str(e.value)
    con = sqlite3.connect(path)
    assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == ("1",)
    assert con.execute("SELECT COUNT(*) FROM records").fetchone() == (2,)
    assert con.execute("SELECT name FROM sqlite_master WHERE name='units'").fetchone() is None
    con.close()


# -- refused files ----------------------------------------------------------------------------------
def _foreign(path):
    con = sqlite3.connect(path)  # rollback-journal mode, as `sqlite3 x.db 'create table u(id)'`
    con.execute("CREATE TABLE u (id)")
    con.commit()
    con.close()
    return "not an actlab store"


def _newer(path):
    Store(path).close()
    con = sqlite3.connect(path, isolation_level=None)
    assert con.execute("PRAGMA journal_mode = DELETE").fetchone() == ("delete",)
    con.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    con.close()
    return "newer actlab"


def _corrupt(path):
    Path(path).write_bytes(b"this is not a database at all" * 100)
    return "not a valid actlab store"


def _no_version(path):
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    con.commit()
    con.close()
    return "not a valid actlab store"


@pytest.mark.parametrize("make", [_foreign, _newer, _corrupt, _no_version], ids=lambda f: f.__name__[1:])
def test_refused_files_are_left_byte_identical(tmp_path, make):
    path = tmp_path / "x.db"
    match = make(path)
    assert sidecars(path) == []
    before, header = sha(path), path.read_bytes()[:20]
    for readonly in (False, True):
        with pytest.raises(StoreError, match=match) as e:
            Store(path, readonly=readonly)
        assert "\n" not in str(e.value) and str(path) in str(e.value)
        assert sha(path) == before and sidecars(path) == [], readonly
    assert path.read_bytes()[:20] == header  # bytes 18-19: still the rollback journal, not WAL


def test_bad_paths_and_read_only_stores(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        Store(tmp_path / "missing.db", readonly=True)
    assert not (tmp_path / "missing.db").exists()
    with pytest.raises(StoreError, match="is a directory"):
        Store(tmp_path)
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(StoreError, match="no actlab schema"):
        Store(empty, readonly=True)
    assert empty.read_bytes() == b""
    path = tmp_path / "r.db"
    with Store(path) as s:
        s.put([rec()])
    ro = Store(path, readonly=True)
    with pytest.raises(StoreError, match="opened read-only"):
        ro.put([rec("silu")])
    with pytest.raises(StoreError, match="opened read-only"):
        ro.delete([rec().key])
    os.chmod(path, 0o444)
    try:
        with pytest.raises(StoreError, match="read-only"):
            Store(path)
        assert len(Store(path, readonly=True).records()) == 1
    finally:
        os.chmod(path, 0o644)


def test_locked_store_times_out_with_a_clear_error(tmp_path):
    path = tmp_path / "r.db"
    Store(path).close()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    try:
        s = Store(path, timeout=0.2)
        with pytest.raises(StoreError, match="locked"):
            s.put([rec()])
        assert Store(path, readonly=True).records() == []  # WAL: readers are not blocked
    finally:
        con.execute("ROLLBACK")
        con.close()
    assert s.put([rec()]) == 1


# -- read-only opening writes nothing --------------------------------------------------------------
def test_readonly_use_leaves_no_wal_or_shm(tmp_path):
    path = tmp_path / "r.db"
    with Store(path) as s:
        s.put([rec(a, i) for a in ("relu", "silu") for i in range(3)])
        s.add_config("cfg", "T00", "quick", {})
    assert sidecars(path) == []  # the last writer to close removes them
    before = sha(path)
    ro = Store(path, readonly=True)
    assert len(ro.records()) == 6 and len(list(ro.iter_records(batch=2))) == 6 and len(list(ro)) == 6
    assert len(ro.finished_keys("T00", "cfg", FP)) == 6 and ro.configs()[0]["records"] == 6
    assert ro.schema_version() == 2
    it = ro.iter_records(batch=1)
    next(it)
    assert sidecars(path) == []  # not even while a read is under way
    it.close()
    ro.close()
    assert sidecars(path) == [] and sha(path) == before


def test_readonly_sees_what_an_open_writer_committed(tmp_path):
    path = tmp_path / "r.db"
    w = Store(path)
    w.put([rec()])
    assert sidecars(path)  # the writer is open: its commits may be in the -wal file only
    assert [r.arm for r in Store(path, readonly=True).records()] == ["relu"]
    w.put([rec("silu")])
    assert len(Store(path, readonly=True).records()) == 2
    w.close()


def test_readonly_store_in_a_read_only_folder(tmp_path):
    """The folder and file are made read-only (0555/0444) and read by a process that cannot write there.

    As root, permissions do not bind, so the reader runs as ``nobody`` (setpriv) and first proves it cannot
    create a file in the folder; the store then lives under a world-readable temporary folder.  Without
    root, the reader runs as the current user.  Either way the read is done by a process for which the
    folder really is read-only, and no -wal/-shm appears.
    """
    as_root = os.geteuid() == 0
    if as_root and shutil.which("setpriv") is None:
        pytest.skip("root without setpriv: cannot drop to a user for whom chmod binds")
    base = Path(tempfile.mkdtemp(prefix="actlab-ro-"))
    folder = base / "ro"
    folder.mkdir()
    path = folder / "r.db"
    try:
        os.chmod(base, 0o755)
        with Store(path) as s:
            s.put([rec(a, i) for a in ("relu", "silu") for i in range(2)])
        os.chmod(path, 0o444)
        os.chmod(folder, 0o555)
        script = base / "reader.py"
        script.write_text(_CHILD_HEAD + textwrap.dedent(f'''
            import os, sqlite3
            path = {str(path)!r}
            try:
                open(os.path.join(os.path.dirname(path), "probe"), "w")
                raise SystemExit("the folder is writable for this process: the test would prove nothing")
            except PermissionError:
                pass
            try:  # what the store did before: an ordinary read-only connection needs to create -shm here
                sqlite3.connect("file:" + path + "?mode=ro", uri=True).execute("SELECT 1 FROM meta").fetchall()
                print("plain-ro-ok")
            except sqlite3.OperationalError:
                print("plain-ro-fails")
            s = Store(path, readonly=True)
            print(len(s.records()), len(s.finished_keys("T00", "cfg", {FP!r})))
        '''))
        os.chmod(script, 0o644)
        cmd = [sys.executable, str(script)]
        if as_root:
            cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        lines = out.stdout.split()
        assert lines[-2:] == ["4", "4"], out.stdout
        assert sidecars(path) == []
    finally:
        for p in (folder, base):
            os.chmod(p, 0o755)
        shutil.rmtree(base)


# -- many processes --------------------------------------------------------------------------------
WRITER = '''
import sys, time
path, writer, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
store = Store(path)
for i in range(n):
    store.put([Record("T00", "h", "{}", "{}", f"act{writer}", i, "f" * 16, "done", {"x": float(i)},
                      finished=time.time())])
store.close()
'''

READER = '''
import os, sys
path, flag = sys.argv[1], sys.argv[2]
last, reads = 0, 0
while True:
    done = os.path.exists(flag)
    recs = Store(path, readonly=True).records()
    assert all(r.metrics == {"x": float(r.seed)} for r in recs)
    assert len(recs) >= last, (len(recs), last)
    last, reads = len(recs), reads + 1
    if done:
        break
print(reads, last)
'''


def test_concurrent_writers_lose_nothing_and_readers_see_whole_records(tmp_path):
    path = str(tmp_path / "r.db")
    Store(path).close()
    (tmp_path / "w.py").write_text(_CHILD_HEAD + WRITER)
    (tmp_path / "r.py").write_text(_CHILD_HEAD + READER)
    flag = tmp_path / "writers-done"
    reader = subprocess.Popen([sys.executable, str(tmp_path / "r.py"), path, str(flag)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    writers = [subprocess.Popen([sys.executable, str(tmp_path / "w.py"), path, str(w), "40"], stderr=subprocess.PIPE,
                                text=True) for w in range(4)]
    for p in writers:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    flag.touch()
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    assert out.split()[1] == "160"
    recs = Store(path).records()
    assert len(recs) == 160
    assert {(r.arm, r.seed) for r in recs} == {(f"act{w}", i) for w in range(4) for i in range(40)}


KILLED = '''
import sys
path, start = sys.argv[1], int(sys.argv[2])
store = Store(path)
values = [float(v) / 7 for v in range(4000)]
b = start
while True:
    store.put([Record("T00", "h", "{}", "{}", f"a{j}", b, "f" * 16, "done", {"x": float(b)},
                      {"c": {"step": list(range(4000)), "value": values}}, {"m": [values[:500]] * 4})
               for j in range(4)])
    print(b, flush=True)
    b += 1
'''


def test_kill_9_mid_write_leaves_whole_records_only(tmp_path):
    path = str(tmp_path / "r.db")
    Store(path).close()
    (tmp_path / "k.py").write_text(_CHILD_HEAD + KILLED)
    committed: set[int] = set()
    start = 0
    for delay in (0.05, 0.13, 0.31):
        p = subprocess.Popen([sys.executable, str(tmp_path / "k.py"), path, str(start)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == str(start)  # it is writing
        time.sleep(delay)
        os.kill(p.pid, signal.SIGKILL)
        out, _ = p.communicate(timeout=30)
        assert p.returncode == -signal.SIGKILL
        committed |= {start} | {int(b) for b in out.split()}
        start = max(committed) + 10
    for readonly in (True, False):  # readers recover the same whole records from the -wal a kill leaves
        s = Store(path, readonly=readonly)
        recs = s.records()
        batches: dict[int, list] = {}
        for r in recs:
            batches.setdefault(r.seed, []).append(r)
        assert committed <= set(batches)  # every put that returned is there
        for b, rs in batches.items():  # and every batch is whole
            assert sorted(r.arm for r in rs) == ["a0", "a1", "a2", "a3"], b
            assert all(len(r.curves["c"]["value"]) == 4000 and r.arrays["m"][3][499] == 499 / 7 for r in rs)
        if not readonly:
            assert s._conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        s.close()


# -- streaming -----------------------------------------------------------------------------------------
def test_iter_records_streams_the_same_records_in_order(tmp_path):
    path = tmp_path / "r.db"
    s = Store(path)
    s.put([rec(a, i, cell={"w": w}) for a in ("relu", "silu", "gelu") for i in range(4) for w in (1, 2)])
    it = s.iter_records(batch=5)
    assert isinstance(it, types.GeneratorType)
    first = next(it)
    s.put([rec("tanh", 0)])  # writes may go on while a stream is open (it reads on its own connection)
    rest = list(it)
    # the stream reads one snapshot: the record written meanwhile is not in it
    assert texts([first, *rest]) == texts([r for r in s.records() if r.arm != "tanh"]) and len(rest) == 23
    assert texts(s.iter_records(batch=1)) == texts(s.records())
    assert texts(s.iter_records("T00", "cfg", FP, batch=7, curves=False)) == texts(s.records(curves=False))
    s.close()
    ro = Store(path, readonly=True)
    assert texts(ro.iter_records(batch=3)) == texts(ro.records())
    assert list(ro.iter_records("nope")) == []


def test_readonly_stream_reads_on_when_a_writer_appears(tmp_path):
    """A read-only stream reads the file as immutable; a writer opening it mid-stream must not tear it."""
    path = tmp_path / "r.db"
    with Store(path) as s:
        s.put([rec("relu", i) for i in range(10)])
    ro = Store(path, readonly=True)
    it = ro.iter_records(batch=2)
    head = [next(it) for _ in range(3)]
    assert sidecars(path) == []
    w = Store(path)  # another process starts writing
    w.put([rec("relu", 100 + i) for i in range(3)] + [rec("abc", 0)])
    tail = list(it)
    keys = [r.key for r in head + tail]
    assert keys == sorted(set(keys))  # no record twice, still in key order
    assert [r.seed for r in head + tail][:10] == list(range(10))
    assert {r.seed for r in tail} >= {100, 101, 102}  # read on through the writer's -wal
    w.close()


# -- failures inside a transaction ------------------------------------------------------------------------
class _DiskFull:
    """A connection whose COMMIT fails for want of space and whose ROLLBACK fails too."""

    def __init__(self, conn):
        self._real = conn

    def execute(self, sql, *args):
        if sql == "COMMIT":
            raise sqlite3.OperationalError("database or disk is full")
        if sql == "ROLLBACK":
            raise sqlite3.OperationalError("cannot rollback - no transaction is active")
        return self._real.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._real, name)


def test_a_failing_rollback_does_not_hide_the_real_error(tmp_path):
    s = Store(tmp_path / "r.db")
    s.put([rec()])
    real = s._conn
    s._conn = _DiskFull(real)
    try:
        with pytest.raises(StoreError, match="disk is full") as e:
            s.put([rec("silu"), rec("gelu")])
        assert "cannot rollback" not in str(e.value) and "\n" not in str(e.value)
        real.execute("ROLLBACK")  # the stand-in refused it; a real full disk has rolled back already
        with pytest.raises(StoreError, match="disk is full"):
            s.delete([rec().key])
        real.execute("ROLLBACK")
    finally:
        s._conn = real
    assert [r.arm for r in s.records()] == ["relu"]  # nothing of the failed writes
    assert s.put([rec("silu")]) == 1


# -- export -------------------------------------------------------------------------------------------
def test_csv_and_parquet_export(tmp_path):
    s = Store(tmp_path / "r.db")
    s.put([rec(), rec("silu", 1, x=2.5, cell={"w": 2})])
    lines = Store.to_csv(s.records()).strip().splitlines()
    header = lines[0].split(",")
    assert header[:9] == ["study", "config_hash", "profile", "cell", "hyper", "arm", "seed", "fingerprint", "status"]
    assert "m.x" in header and "activation" not in header and "version" not in header and len(lines) == 3
    assert [r["cell"] for r in Store.flat(s.records())] == ['{"w":2}', "{}"]  # sorted by key
    pq = pytest.importorskip("pyarrow.parquet")
    Store.to_parquet(s.records(), tmp_path / "r.parquet")
    table = pq.read_table(tmp_path / "r.parquet")
    assert table.num_rows == 2 and sorted(table.column("m.x").to_pylist()) == [1.0, 2.5]
    assert json.loads(table.column("curves").to_pylist()[1]) == {"loss": {"step": [1, 2], "value": [1.0, 0.5]}}
    assert table.column("arm").to_pylist() == ["silu", "relu"]


# -- shipped evidence -----------------------------------------------------------------------------------
def evidence_records():
    r = full_record()
    other = rec("silu", 3, "done", x=NAN, study="C07", cell={"task": "mnist1d"},
                curves={"loss": {"step": [1], "value": [-INF]}}, arrays={"deep": [[[1, 2], [3.5]], []]})
    return [r, other, rec("relu", 0, study="C07")]


@pytest.mark.parametrize("name", ["C07.jsonl", "C07.jsonl.gz"])
def test_jsonl_round_trip_is_exact(tmp_path, name):
    recs = evidence_records()
    path = tmp_path / "results" / name
    assert evidence.write_jsonl(path, recs) == 3
    back = evidence.read_jsonl(path)
    assert texts(back) == texts(sorted(recs, key=lambda r: r.key))
    assert math.isnan(next(r for r in back if r.arm == "silu").metrics["x"])
    assert [p.name for p in path.parent.iterdir()] == [name]  # no temporary file left
    # and through the store, too
    s = Store(tmp_path / "r.db")
    s.put(back)
    evidence.write_jsonl(tmp_path / "again" / name, s.records())
    assert (tmp_path / "again" / name).read_bytes() == path.read_bytes()


def test_jsonl_bytes_are_reproducible_and_sorted(tmp_path):
    recs = evidence_records()
    for ext in ("jsonl", "jsonl.gz"):
        a, b = tmp_path / f"a.{ext}", tmp_path / f"b.{ext}"
        evidence.write_jsonl(a, recs)
        time.sleep(0.01)
        evidence.write_jsonl(b, list(reversed(recs)))
        assert a.read_bytes() == b.read_bytes(), ext
    gz = (tmp_path / "a.jsonl.gz").read_bytes()
    assert gz[4:8] == b"\0\0\0\0" and gz[3] & 0x08 == 0  # mtime 0, no file name in the header
    lines = (tmp_path / "a.jsonl").read_text().splitlines()
    assert gzip.decompress(gz).decode().splitlines() == lines and len(lines) == 3
    assert [Record.from_json(json.loads(x)).key for x in lines] == sorted(r.key for r in recs)
    d = json.loads(lines[0])
    assert list(d) == sorted(d) and "NaN" not in "".join(lines) and '"nan"' in "".join(lines)
    with pytest.raises(evidence.EvidenceError, match="two records"):
        evidence.write_jsonl(tmp_path / "dup.jsonl", [recs[0], recs[0]])
    assert not (tmp_path / "dup.jsonl").exists()


def test_a_failed_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "C07.jsonl"
    evidence.write_jsonl(path, evidence_records())
    before = path.read_bytes()
    with pytest.raises(TypeError):
        evidence.write_jsonl(path, [rec(study="C07", env={"x": object()})])
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["C07.jsonl"]


def test_malformed_lines_name_the_file_and_line(tmp_path):
    path = tmp_path / "C07.jsonl"
    evidence.write_jsonl(path, evidence_records())
    good = path.read_text().splitlines()
    bad = {"json": "{not json", "field": json.dumps({**json.loads(good[0]), "extra": 1}),
           "missing": json.dumps({k: v for k, v in json.loads(good[0]).items() if k != "status"}),
           "status": json.dumps({**json.loads(good[0]), "status": "running"}), "array": "[1, 2]",
           "dup": good[0]}
    for what, line in bad.items():
        path.write_text("\n".join([good[0], line, *good[1:]]) + "\n")
        with pytest.raises(evidence.EvidenceError, match=r"C07\.jsonl, line 2") as e:
            evidence.read_jsonl(path)
        assert isinstance(e.value, ValueError) and "\n" not in str(e.value), what
    path.write_text("\n".join(good) + "\n\n")  # a blank line is not an error
    assert len(evidence.read_jsonl(path)) == 3
    gz = tmp_path / "C08.jsonl.gz"
    gz.write_bytes(b"not gzip")
    with pytest.raises(evidence.EvidenceError, match="C08.jsonl.gz"):
        evidence.read_jsonl(gz)


def test_shipped_records_come_from_actlab_results(tmp_path, monkeypatch):
    folder = tmp_path / "shipped"
    c07 = evidence_records()
    c01 = [rec("relu", i, study="C01") for i in range(2)]
    evidence.write_jsonl(folder / "C07.jsonl.gz", c07)
    evidence.write_jsonl(folder / "C01.jsonl", c01)
    (folder / "README.md").write_text("not evidence")
    monkeypatch.setenv("ACTLAB_RESULTS", str(folder))
    assert evidence.shipped_dir() == folder
    assert texts(evidence.shipped_records("C07")) == texts(sorted(c07, key=lambda r: r.key))
    assert texts(evidence.shipped_records()) == texts(sorted(c01 + c07, key=lambda r: r.key))
    assert evidence.shipped_records("C99") == []
    evidence.write_jsonl(folder / "C02.jsonl", [rec(study="C03")])
    with pytest.raises(evidence.EvidenceError, match="C02.jsonl, line 1"):
        evidence.shipped_records("C02")
    evidence.write_jsonl(folder / "C01.jsonl.gz", c01)
    with pytest.raises(evidence.EvidenceError, match="keep one"):
        evidence.shipped_records()
    monkeypatch.setenv("ACTLAB_RESULTS", str(tmp_path / "nowhere"))
    assert evidence.shipped_records() == []


def test_shipped_dir_defaults_to_the_checkouts_results_folder(monkeypatch):
    monkeypatch.delenv("ACTLAB_RESULTS", raising=False)
    import actlab

    root = Path(actlab.__file__).resolve().parents[2]
    expected = root / "results" if (root / "pyproject.toml").is_file() and (root / "results").is_dir() else None
    assert evidence.shipped_dir() == expected
    assert (root / "src" / "actlab" / "engine" / "evidence.py").is_file()  # this is the source checkout


def test_merged_is_the_union_by_key_and_the_store_wins():
    shipped = [rec("relu", 0, x=1.0), rec("relu", 1, x=1.0)]
    stored = [rec("relu", 1, x=9.0), rec("silu", 0, x=2.0)]
    out = evidence.merged(stored, shipped)
    assert [(r.arm, r.seed, r.metrics["x"]) for r in out] == [("relu", 0, 1.0), ("relu", 1, 9.0), ("silu", 0, 2.0)]
    assert evidence.merged([], []) == []
