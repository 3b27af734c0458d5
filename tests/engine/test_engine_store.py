import multiprocessing as mp
import os
import sqlite3
import time

import pytest

from actlab.engine import SCHEMA_VERSION, Record, Store, StoreError

import engine_toy


def rec(act="relu", seed=0, status="done", x=1.0, **kw):
    return Record("T00", "cfg", act, seed, "0.1.0", status, {"x": x}, {"c": {"step": [1], "value": [x]}},
                  finished=time.time(), **kw)


def test_roundtrip_and_finished_units_are_final(tmp_path):
    s = Store(tmp_path / "r.db")
    assert s.schema_version() == SCHEMA_VERSION
    assert s.put([rec(x=1.0), rec("silu", 1, "diverged", x=float("nan"), error="loss not finite")]) == 2
    assert s.put([rec(x=2.0)]) == 0  # a done unit is never overwritten
    got = {(r.activation, r.seed): r for r in s.records()}
    assert got[("relu", 0)].metrics == {"x": 1.0} and got[("relu", 0)].curves["c"]["value"] == [1.0]
    assert got[("silu", 1)].status == "diverged" and got[("silu", 1)].metrics["x"] != got[("silu", 1)].metrics["x"]
    assert s.finished_keys("T00", "cfg", "0.1.0") == {("relu", 0), ("silu", 1)}


def test_failed_unit_is_replaced_on_retry(tmp_path):
    s = Store(tmp_path / "r.db")
    s.put([rec(status="failed", error="boom")])
    assert s.finished_keys("T00", "cfg", "0.1.0") == set()
    assert s.put([rec(x=3.0)]) == 1
    (r,) = s.records()
    assert r.status == "done" and r.metrics["x"] == 3.0 and r.error is None


def test_concurrent_writers_lose_nothing(tmp_path):
    path = str(tmp_path / "r.db")
    Store(path).close()
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=engine_toy.write_records, args=(path, w, 40)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    recs = Store(path).records()
    assert len(recs) == 160
    assert {(r.activation, r.seed) for r in recs} == {(f"act{w}", i) for w in range(4) for i in range(40)}


def test_newer_schema_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "r.db"
    Store(path).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer actlab"):
        Store(path)
    assert path.read_bytes() == before


def test_corrupt_and_foreign_files(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match="not a valid actlab store"):
        Store(bad)
    assert bad.read_bytes() == b"this is not a database at all" * 100
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="not an actlab store"):
        Store(other)


def test_read_only_store(tmp_path):
    path = tmp_path / "r.db"
    s = Store(path)
    s.put([rec()])
    s.close()
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
    finally:
        con.execute("ROLLBACK")
        con.close()
    assert Store(path).put([rec()]) == 1


def test_csv_and_parquet_export(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    s = Store(tmp_path / "r.db")
    s.put([rec(), rec("silu", 1, x=2.5)])
    text = Store.to_csv(s.records())
    lines = text.strip().splitlines()
    assert lines[0].startswith("study,config_hash") and "m.x" in lines[0] and len(lines) == 3
    Store.to_parquet(s.records(), tmp_path / "r.parquet")
    table = pq.read_table(tmp_path / "r.parquet")
    assert table.num_rows == 2 and sorted(table.column("m.x").to_pylist()) == [1.0, 2.5]
