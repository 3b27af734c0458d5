"""Soak test of a sweep's fault handling: many random kills and signals, every promise checked each time.

    python benchmarks/soak_faults.py                 # 12 rounds (about 6 minutes on 2 busy cores)
    python benchmarks/soak_faults.py --rounds 30 --seed 7 --json soak.json

Each round starts a fresh store and runs ``actlab run engine_toy:SLOW --seeds N -j 2`` (the toy study of
``tests/engine/engine_toy.py``: units sleep ``--sleep`` seconds and train a tiny MLP; every unit appends
``arm seed`` to ``$TOY_LOG`` when it starts), injects one fault at a random moment, then reruns the same
command to completion.  Faults, drawn at random:

* ``kill-driver``: SIGKILL to the driver; its workers must be gone within 5 s;
* ``kill-worker``: SIGKILL to one worker; the sweep must go on and end with exit 0 (the unit retried);
* ``sigint`` / ``sigterm``: one signal; exit 130 / 143, the ``stopped: N of M units stored`` line with N the
  store's count, and no unit that started training lost (the units in flight finish and are stored);
* ``double-sigint``: two Ctrl-C 0.3 s apart; exit 130 within 10 s, workers gone.

After every round: each record whole and ``done``, the rerun trained only what the store lacked, every
unit stored exactly once.  Reported: per fault, rounds, exit codes, seconds until the workers were gone,
units lost in flight (trained but not stored: only a kill or a second Ctrl-C may lose any), retrained
units (must be 0) and broken promises (must be 0).  A round whose two runs saw different code fingerprints
(someone edited the checkout meanwhile) is reported as such, not as a broken promise.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOYS = ROOT / "tests" / "engine"
STOPPED = re.compile(r"^stopped: (\d+) of (\d+) units stored, rerun the same command to resume$")
FAULTS = ("kill-driver", "kill-worker", "sigint", "sigterm", "double-sigint")


def _stat(pid: int):
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else (fields[0], int(fields[1]))


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            st = _stat(int(d.name))
            if st and st[1] == pid:
                try:
                    if b"spawn_main" in (d / "cmdline").read_bytes():
                        out.append(int(d.name))
                except OSError:
                    pass
    return out


def _stored(db: Path) -> list:
    from actlab.engine import Store

    if not db.exists():
        return []
    return Store(db, readonly=True, timeout=10).records("T00", curves=False)


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def one_round(rng: random.Random, work: Path, fault: str, seeds: int, sleep: float) -> dict:
    db, log = work / "r.db", work / "log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(TOYS), os.environ.get("PYTHONPATH")])),
           "OMP_NUM_THREADS": "1", "TOY_LOG": str(log), "TOY_SLEEP": str(sleep)}
    cmd = [sys.executable, "-c", "from actlab.cli import main; main()", "run", "engine_toy:SLOW", "--seeds",
           str(seeds), "-j", "2", "-q", "--store", str(db)]
    total = 2 * seeds
    err = open(work / "err", "wb")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    row: dict = {"fault": fault, "broken": []}
    # a random moment once training has begun: after 1 .. total-2 units started
    at = rng.randint(1, max(1, total - 3))
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and len(_lines(log)) < at:
        time.sleep(0.02)
    time.sleep(rng.uniform(0, sleep))
    if proc.poll() is not None:
        row["broken"].append(f"the run ended before the fault (rc {proc.returncode})")
    workers = _children(proc.pid)
    started = len(_lines(log))
    t0 = time.time()
    if fault == "kill-driver":
        os.kill(proc.pid, signal.SIGKILL)
    elif fault == "kill-worker":
        if workers:
            os.kill(rng.choice(workers), signal.SIGKILL)
        else:
            row["broken"].append("no worker to kill")
    elif fault in ("sigint", "sigterm"):
        os.kill(proc.pid, signal.SIGINT if fault == "sigint" else signal.SIGTERM)
    else:
        os.kill(proc.pid, signal.SIGINT)
        time.sleep(0.3)
        os.kill(proc.pid, signal.SIGINT)
    try:
        rc = proc.wait(120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        rc = proc.wait()
        row["broken"].append("the run did not end within 120 s")
    err.close()
    row["rc"] = rc
    ended = time.time()
    row["seconds_to_exit"] = round(ended - t0, 2)
    gone_at = None
    while time.time() - ended < 10:
        if not any(_stat(p) for p in workers):
            gone_at = time.time() - ended
            break
        time.sleep(0.05)
    row["workers_gone_s"] = None if gone_at is None else round(gone_at, 2)  # after the driver ended
    if gone_at is None or gone_at > 5:
        row["broken"].append(f"workers alive {row['workers_gone_s']} s after the driver ended")
    text = (work / "err").read_text()
    last = ([line for line in text.splitlines() if line.strip()] or [""])[-1]
    recs = _stored(db)
    expect = {"kill-driver": -9, "kill-worker": 0, "sigint": 130, "sigterm": 143, "double-sigint": 130}[fault]
    if rc != expect:
        row["broken"].append(f"exit {rc}, expected {expect}: {last[:200]}")
    if fault in ("sigint", "sigterm", "double-sigint"):
        m = STOPPED.match(last)
        if not m or int(m.group(1)) != len(recs) or int(m.group(2)) != total:
            row["broken"].append(f"stop line {last[:200]!r} vs {len(recs)} stored")
        if fault != "double-sigint" and len(_lines(log)) != len(recs):
            row["broken"].append(f"{len(_lines(log)) - len(recs)} units lost although the first signal should finish them")
    trained_first = len(_lines(log))
    row["started_at_fault"] = started
    row["stored_after_fault"] = len(recs)
    row["lost_in_flight"] = trained_first - len(recs) if fault != "kill-worker" else 0
    if any(r.status != "done" or not r.metrics for r in recs):
        row["broken"].append("a record is not whole/done")
    # resume: the same command to completion
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    recs2 = _stored(db)
    trained = _lines(log)
    rerun = trained[trained_first:]
    stored_before = {f"{r.arm} {r.seed}" for r in recs}
    row["retrained"] = len([t for t in rerun if t in stored_before])
    if len({r.fingerprint for r in recs2}) > 1:  # someone edited the code between the two runs: not a fault
        row["code_changed"] = True
        row["broken"] = [b for b in row["broken"] if "after resume" not in b]
        row["retrained"] = 0
        return row
    if res.returncode != 0:
        row["broken"].append(f"resume exit {res.returncode}: {res.stderr[-300:]}")
    if len(recs2) != total or len({(r.arm, r.seed) for r in recs2}) != total or any(r.status != "done" for r in recs2):
        row["broken"].append(f"after resume {len(recs2)} records of {total}")
    if row["retrained"]:
        row["broken"].append(f"{row['retrained']} stored units trained again")
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", type=int, default=6, help="seeds per arm of the toy sweep (2 arms)")
    ap.add_argument("--sleep", type=float, default=0.5, help="seconds each unit sleeps")
    ap.add_argument("--json", type=Path, default=None, help="write the rounds and the summary here")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    faults = [FAULTS[i % len(FAULTS)] for i in range(args.rounds)]
    rng.shuffle(faults)
    rows = []
    t0 = time.time()
    for i, fault in enumerate(faults):
        with tempfile.TemporaryDirectory(prefix="actlab-soak-") as d:
            row = one_round(rng, Path(d), fault, args.seeds, args.sleep)
        rows.append(row)
        print(f"round {i + 1:>2}/{args.rounds} {fault:<13} rc={row['rc']:>4} exit {row['seconds_to_exit']:>5.2f}s "
              f"workers gone {row['workers_gone_s']}s stored {row['stored_after_fault']:>2}/{2 * args.seeds} "
              f"lost {row['lost_in_flight']} retrained {row['retrained']}"
              + (f"  BROKEN: {'; '.join(row['broken'])}" if row["broken"] else ""), flush=True)
    summary = {"rounds": len(rows), "seconds": round(time.time() - t0, 1),
               "code_changed_rounds": sum(bool(r.get("code_changed")) for r in rows),
               "broken": sum(bool(r["broken"]) for r in rows),
               "retrained": sum(r["retrained"] for r in rows),
               "by_fault": {f: {"rounds": sum(r["fault"] == f for r in rows),
                                "lost_in_flight": sum(r["lost_in_flight"] for r in rows if r["fault"] == f),
                                "max_workers_gone_s": max([r["workers_gone_s"] or 0 for r in rows if r["fault"] == f],
                                                          default=None),
                                "max_seconds_to_exit": max([r["seconds_to_exit"] for r in rows if r["fault"] == f],
                                                           default=None)}
                            for f in FAULTS}}
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rounds": rows}, indent=2) + "\n")
    sys.exit(1 if summary["broken"] else 0)


if __name__ == "__main__":
    main()
