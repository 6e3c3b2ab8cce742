"""A tiny progress bar for long command-line work.

Drawn on stderr, only when stderr is a terminal, only once the work has lasted ``delay``
seconds, and redrawn at most every ``interval`` seconds. No dependencies.

    with Progress(total, "copy") as bar:
        copy_file(src, dst, progress=bar)     # bar(done, total) as a callback
"""
import os
import sys
import time

__all__ = ["Progress", "human_bytes", "run_paths_command"]


def human_bytes(n):
    """``1536`` -> ``'1.5 KiB'``."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


class Progress:
    """``Progress(total, label="", *, stream=None, interval=0.1, delay=0.5, enabled=None)``:
    call ``update(done)`` (or the object itself, ``bar(done, total)``), then ``close()``.
    ``enabled=None`` means: when ``stream`` (default ``sys.stderr``) is a terminal."""

    def __init__(self, total, label="", *, stream=None, interval=0.1, delay=0.5, enabled=None):
        self.stream = sys.stderr if stream is None else stream
        if enabled is None:
            try:
                enabled = bool(self.stream.isatty())
            except (AttributeError, ValueError, OSError):
                enabled = False
        self.enabled = enabled
        self.total = total
        self.label = label
        self.interval = interval
        self.done = 0
        self._start = time.monotonic()
        self._next = self._start + delay
        self._drawn = False
        self._width = 0

    def __call__(self, done, total=None):
        self.update(done, total)

    def update(self, done, total=None):
        """Record progress; redraw if enabled and the throttle allows it."""
        self.done = done
        if total is not None:
            self.total = total
        if not self.enabled:
            return
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self.interval
        self._draw(now)

    def _columns(self):
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
        return columns if columns > 0 else 80       # a pty without a window size says 0

    def render(self, now=None, columns=80):
        """The bar as a string of at most ``columns`` characters (no control characters)."""
        now = time.monotonic() if now is None else now
        elapsed = max(now - self._start, 1e-9)
        total = self.total or 0
        frac = min(self.done / total, 1.0) if total else 1.0
        rate = human_bytes(self.done / elapsed) + "/s"
        text = f" {frac * 100:3.0f}% {human_bytes(self.done)}/{human_bytes(total)} {rate}"
        head = f"{self.label} " if self.label else ""
        room = columns - 1 - len(head) - len(text) - 2
        if room >= 10:
            fill = int(frac * room)
            return f"{head}[{'#' * fill}{'.' * (room - fill)}]{text}"
        return (head + text.strip())[:max(columns - 1, 0)]

    def _draw(self, now):
        line = self.render(now, self._columns())
        pad = " " * max(self._width - len(line), 0)
        self._width = len(line)
        try:
            self.stream.write("\r" + line + pad)
            self.stream.flush()
        except (OSError, ValueError):
            self.enabled = False
            return
        self._drawn = True

    def close(self):
        """Draw the final state (if anything was drawn) and end the line."""
        if self.enabled and self._drawn:
            self._draw(time.monotonic())
            try:
                self.stream.write("\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass
        self.enabled = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def run_paths_command(prog, args, source, work, done):
    """What ``python -m ioring unzip`` and ``install`` share: ``work(progress)`` (the call that
    returns the paths written, its progress drawn for ``source`` unless ``args.quiet``), the
    paths printed with ``args.verbose``, then ``done`` (formatted with ``n``, how many) on stderr.
    Returns the exit status: 1 with the error on stderr for OSError, ValueError, BadZipFile."""
    import zipfile
    bar = Progress(0, os.path.basename(source), enabled=False if args.quiet else None)
    try:
        with bar:
            paths = work(bar)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        print(f"python -m ioring {prog}: {exc}", file=sys.stderr)
        return 1
    if args.verbose:
        for path in paths:
            print(path)
    if not args.quiet:
        print(done.format(n=len(paths)), file=sys.stderr)
    return 0
