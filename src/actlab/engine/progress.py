"""Progress displays and trackers fed by :func:`actlab.engine.run_sweep`'s ``on_start``/``on_job``.

* :class:`LiveProgress` -- a rich bar on a terminal: units done / total, ETA, the units running now,
  failures;
* :class:`PlainProgress` -- one line per finished unit (CI logs, pipes);
* :class:`QuietProgress` -- nothing but what the caller prints at the end;
* :class:`TensorBoard` -- every record's curves and final metrics as TensorBoard scalars
  (``DIR/<study>/<config hash>/<activation>/seed<N>``; needs ``actlab[tracking]``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, Sequence

from .protocol import Record

__all__ = ["LiveProgress", "PlainProgress", "QuietProgress", "TensorBoard", "make_progress"]


class QuietProgress:
    def on_start(self, study: str, total: int, skipped: int) -> None:
        pass

    def on_running(self, units: Sequence[Any]) -> None:
        pass

    def on_job(self, units: Sequence[Any], records: Sequence[Record]) -> None:
        pass

    def close(self) -> None:
        pass


class PlainProgress(QuietProgress):
    def __init__(self, stream: Any = None):
        self.stream = stream or sys.stderr
        self.done = self.total = self.failed = 0

    def on_start(self, study: str, total: int, skipped: int) -> None:
        self.done, self.total, self.failed = skipped, total, 0
        print(f"{study}: {total} units, {skipped} already in the store", file=self.stream, flush=True)

    def on_job(self, units: Sequence[Any], records: Sequence[Record]) -> None:
        for r in records:
            self.done += 1
            self.failed += r.status == "failed"
            extra = f" ({r.error})" if r.error else ""
            print(f"[{self.done}/{self.total}] {r.study} {r.activation} seed={r.seed} {r.status} {r.seconds:.1f}s{extra}",
                  file=self.stream, flush=True)


class LiveProgress(QuietProgress):
    def __init__(self, console: Any = None):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn("eta"), TimeRemainingColumn(), TimeElapsedColumn(),
                                  TextColumn("[red]{task.fields[failures]}"), console=console or Console(stderr=True),
                                  transient=False)
        self._progress.start()
        self._task: Any = None
        self._failures = 0

    def on_start(self, study: str, total: int, skipped: int) -> None:
        self._failures = 0
        self._task = self._progress.add_task(f"{study}", total=total, completed=skipped, failures="")

    def on_running(self, units: Sequence[Any]) -> None:
        if units:
            first = units[0]
            more = f" (+{len(units) - 1} more)" if len(units) > 1 else ""
            self._progress.update(self._task, description=f"{first.study} · running {first.activation} "
                                                          f"seed={first.seed}{more}")

    def on_job(self, units: Sequence[Any], records: Sequence[Record]) -> None:
        self._failures += sum(r.status == "failed" for r in records)
        self._progress.update(self._task, advance=len(records),
                              failures=f"{self._failures} failed" if self._failures else "")

    def close(self) -> None:
        self._progress.stop()


def make_progress(quiet: bool = False, stream: Any = None) -> QuietProgress:
    """Live bar on a terminal, plain lines otherwise, nothing with ``quiet``."""
    stream = stream or sys.stderr
    if quiet:
        return QuietProgress()
    if getattr(stream, "isatty", lambda: False)():
        return LiveProgress()
    return PlainProgress(stream)


class TensorBoard:
    """Write each record's curves (and final metrics under ``final/``) as TensorBoard scalars."""

    def __init__(self, logdir: str | Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ValueError("--tensorboard needs tensorboard: pip install 'actlab[tracking]'") from None
        self._writer_cls = SummaryWriter
        self.logdir = Path(logdir)
        try:
            self.logdir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ValueError(f"cannot create TensorBoard folder {logdir}: {e.strerror}") from None

    def write(self, r: Record) -> Path:
        safe = re.sub(r"[^\w.=-]+", "_", r.activation)
        path = self.logdir / r.study / r.config_hash / safe / f"seed{r.seed}"
        w = self._writer_cls(log_dir=str(path))
        try:
            for name, c in r.curves.items():
                for step, value in zip(c.get("step", []), c.get("value", [])):
                    if value is not None:
                        w.add_scalar(name, float(value), int(step))
            for name, value in r.metrics.items():
                if isinstance(value, (int, float)):
                    w.add_scalar(f"final/{name}", float(value), 0)
        finally:
            w.close()
        return path

    def on_start(self, study: str, total: int, skipped: int) -> None:
        pass

    def on_job(self, units: Sequence[Any], records: Sequence[Record]) -> None:
        for r in records:
            self.write(r)
