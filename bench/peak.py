"""Run a command and report its own peak resident memory, whatever the size of the caller.

On Linux a child's ru_maxrss starts from its parent's resident size at the fork (the kernel
keeps the old address space's high-water mark at exec), so a benchmark that holds large
pictures would inflate every child's figure. A small Python process in between keeps the
inheritance to a few megabytes.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

RELAY = r"""
import os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(proc.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss, time.perf_counter() - start, file=sys.stderr)
"""


def measure(cmd: list[str], env: dict[str, str] | None = None,
            cwd: str | Path | None = None) -> tuple[int, float, float, str, str]:
    """(exit status, peak RSS in MB, wall seconds, stdout, stderr without the relay's line); `cmd` runs
    in `cwd` (a peer's script that finds its files from there)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        subprocess.run([sys.executable, "-c", RELAY, *cmd], stdout=out, stderr=err, env=env, cwd=cwd, check=False)
        out.seek(0)
        err.seek(0)
        lines = err.read().rstrip("\n").split("\n")
        stdout = out.read()
    code, rss_kb, seconds = lines[-1].split()
    return int(code), int(rss_kb) / 1024, float(seconds), stdout, "\n".join(lines[:-1])


if __name__ == "__main__":
    code, mb, seconds, _, _ = measure(sys.argv[1:])
    print(f"exit {code}, peak {mb:.0f} MB, {seconds:.1f} s")
    sys.exit(code)
