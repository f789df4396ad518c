"""Run a program (argv list, no shell) with a timeout; failures carry stderr."""

from __future__ import annotations

import subprocess


class CommandError(Exception):
    def __init__(self, argv: list[str], returncode: int | None, stderr: str, timed_out: bool = False) -> None:
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr
        self.timed_out = timed_out
        what = "timed out" if timed_out else f"exited with code {returncode}"
        tail = stderr.strip()[-1500:]
        super().__init__(f"{argv[0]} {what}" + (f": {tail}" if tail else ""))


def run(argv: list[str], timeout: float, env: dict[str, str] | None = None) -> str:
    """Return the program's stdout; raise ``CommandError`` on a non-zero exit or a timeout."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, env=env)
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr or ""
        raise CommandError(argv, None, stderr, timed_out=True) from exc
    if done.returncode != 0:
        raise CommandError(argv, done.returncode, done.stderr)
    return done.stdout
