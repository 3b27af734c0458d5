"""Shipped evidence: records as JSON lines, text that diffs, read beside (never into) the store.

A study's evidence ships as ``results/<STUDY>.jsonl`` (or ``.jsonl.gz``) at the root of the source
checkout: one record per line (:meth:`Record.to_json`, keys sorted), lines sorted by the unit key, so two
writes of the same records give the same bytes and a re-run shows up as a diff of the lines it changed.
Non-finite floats are written as the strings ``"nan"``, ``"inf"`` and ``"-inf"`` (the store's encoding,
:func:`actlab.engine.store.plain`); in ``metrics``, ``curves``, ``arrays`` and the timings they read back as
the floats, so a round trip is exact (``env`` is free text and reads back as written).  A ``.gz`` file is
gzip with no name and mtime 0, so its bytes are reproducible too (for one zlib).

``$ACTLAB_RESULTS`` names another folder of shipped evidence.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable

from .protocol import Record
from .store import decode_numbers, plain, validate

__all__ = ["EvidenceError", "merged", "read_jsonl", "shipped_dir", "shipped_records", "write_jsonl"]

_NUMERIC = ("metrics", "curves", "arrays", "started", "finished", "seconds")


class EvidenceError(ValueError):
    """A shipped evidence file cannot be read (names the file and the line)."""


def _line(r: Record) -> str:
    validate(r)
    return json.dumps(plain(r.to_json()), sort_keys=True, allow_nan=False, ensure_ascii=False)


def _sorted_unique(records: Iterable[Record], where: str) -> list[Record]:
    out = sorted(records, key=lambda r: r.key)
    for a, b in zip(out, out[1:]):
        if a.key == b.key:
            raise EvidenceError(f"{where}: two records for the unit {a.key}")
    return out


def write_jsonl(path: str | os.PathLike, records: Iterable[Record]) -> int:
    """Write ``records`` to ``path`` atomically, one JSON object a line, sorted by key; returns the count.

    ``path`` ending in ``.gz`` is gzipped reproducibly.  Two records with the same key are refused.
    """
    path = Path(path)
    recs = _sorted_unique(records, str(path))
    data = "".join(_line(r) + "\n" for r in recs).encode("utf-8")
    if path.name.endswith(".gz"):
        buf = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as gz:
            gz.write(data)
        data = buf.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return len(recs)


def _record(d: Any) -> Record:
    if not isinstance(d, dict):
        raise ValueError(f"expected a JSON object, got {type(d).__name__}")
    d = dict(d)
    for k in _NUMERIC:
        if k in d:
            d[k] = decode_numbers(d[k])
    try:
        r = Record.from_json(d)
    except TypeError as e:  # a missing field
        raise ValueError(str(e)) from None
    validate(r)
    return r


def _read(path: Path) -> list[tuple[int, Record]]:
    try:
        raw = path.read_bytes()
        if path.name.endswith(".gz"):
            raw = gzip.decompress(raw)
        text = raw.decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise EvidenceError(f"{path}: cannot be read ({e})") from None
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append((n, _record(json.loads(line))))
        except ValueError as e:  # json.JSONDecodeError is one
            raise EvidenceError(f"{path}, line {n}: not a record ({e})") from None
    seen: dict[tuple, int] = {}
    for n, r in out:
        if r.key in seen:
            raise EvidenceError(f"{path}, line {n}: the unit of line {seen[r.key]} again")
        seen[r.key] = n
    return out


def read_jsonl(path: str | os.PathLike) -> list[Record]:
    """The records of a ``.jsonl`` or ``.jsonl.gz`` file, in file order; a bad line raises :class:`EvidenceError`."""
    return [r for _, r in _read(Path(path))]


def shipped_dir() -> Path | None:
    """``$ACTLAB_RESULTS``, else ``results/`` at the root of the source checkout actlab was imported from
    (an editable install), else ``None``."""
    env = os.environ.get("ACTLAB_RESULTS")
    if env:
        return Path(env).expanduser()
    import actlab

    root = Path(actlab.__file__).resolve().parents[2]
    results = root / "results"
    if (root / "pyproject.toml").is_file() and results.is_dir():
        return results
    return None


def _study_files(folder: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for f in sorted(folder.iterdir()):
        for ext in (".jsonl.gz", ".jsonl"):
            if f.name.endswith(ext) and f.is_file() and not f.name.startswith("."):
                study = f.name[: -len(ext)]
                if study in files:
                    raise EvidenceError(f"{folder}: both {files[study].name} and {f.name} ship study {study}; keep one")
                files[study] = f
                break
    return files


def shipped_records(study: str | None = None) -> list[Record]:
    """Every shipped record (of ``study``), sorted by key; ``[]`` when nothing is shipped."""
    folder = shipped_dir()
    if folder is None or not folder.is_dir():
        return []
    files = _study_files(folder)
    out: list[Record] = []
    for sid, f in sorted(files.items()):
        if study is not None and sid != study:
            continue
        for n, r in _read(f):
            if r.study != sid:
                raise EvidenceError(f"{f}, line {n}: a record of study {r.study} in the file of {sid}")
            out.append(r)
    return sorted(out, key=lambda r: r.key)


def merged(store_records: Iterable[Record], shipped: Iterable[Record]) -> list[Record]:
    """The union of both by unit key, sorted by key; on a clash the store's record wins."""
    by_key = {r.key: r for r in shipped}
    by_key.update((r.key, r) for r in store_records)
    return [by_key[k] for k in sorted(by_key)]


def reproduce(study: Any, units: int, *, log: Any = None) -> list[dict[str, Any]]:
    """Re-run ``units`` shipped evaluation units of ``study`` in this process and compare their metrics.

    The units are spread evenly over the shipped records (sorted by key), so every arm and cell has a
    chance to be picked.  Each row: ``unit``, ``metrics`` (how many), ``identical`` (every metric equal,
    NaN equal to NaN), ``max_abs_diff``.  A unit is re-run from its key alone (cell, hyper-parameters,
    arm, seed) with the profile config whose hash the record names.
    """
    import json as _json

    from .protocol import config_hash
    from .sweep import Unit, execute_job, study_ref

    recs = [r for r in shipped_records(study.id) if "phase" not in r.factors]
    if not recs:
        raise ValueError(f"no shipped records of {study.id}: nothing to reproduce (results/{study.id}.jsonl.gz)")
    configs = {config_hash(study.id, p.config): (name, p.config) for name, p in study.profiles.items()}
    recs = sorted((r for r in recs if r.config_hash in configs), key=lambda r: r.key)
    if not recs:
        raise ValueError(f"the shipped records of {study.id} were made with configs no profile has any more")
    step = max(1, len(recs) // units)
    picked = recs[::step][:units]
    ref = study_ref(study)
    rows = []
    for r in picked:
        profile, config = configs[r.config_hash]
        u = Unit(r.study, ref, r.config_hash, r.cell, r.hyper, r.arm, r.arm, r.seed, r.fingerprint)
        if log:
            log(f"re-running {u.label} ({profile})")
        (new,) = execute_job(ref, config, [u], profile)
        diffs = []
        same = new.status == r.status and set(new.metrics) == set(r.metrics)
        for k, v in r.metrics.items():
            w = new.metrics.get(k)
            if isinstance(v, float) and isinstance(w, float) and math.isnan(v) and math.isnan(w):
                continue
            if v != w:
                same = False
                if isinstance(v, (int, float)) and isinstance(w, (int, float)):
                    diffs.append(abs(float(v) - float(w)))
        rows.append({"unit": u.label, "cell": _json.loads(r.cell), "arm": r.arm, "seed": r.seed,
                     "metrics": len(r.metrics), "identical": same, "max_abs_diff": max(diffs) if diffs else 0.0})
    return rows
