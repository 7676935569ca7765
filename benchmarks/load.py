"""Driving load with wrk: one thread per connection, a Lua script per scenario.

wrk is written in C and waits on epoll, so at the rates these servers reach
it uses a small share of one core; the suite measures that share for every
point (`generator_cores`) to show that the load does not eat the cores it
measures. The scripts live in benchmarks/lua/ and read their data (keys,
ids, paths) from a Lua file that the suite writes for each run.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

LUA_DIR = Path(__file__).resolve().parent / "lua"
RESULT_MARK = "BENCH_RESULT "
# A deep page by number can be slow at 64 connections; never drop its answers.
REQUEST_TIMEOUT = "30s"


class LoadError(Exception):
    """wrk could not run, or printed no result."""


@dataclass(frozen=True)
class Measurement:
    """What one run of wrk measured against one server."""

    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    answers_2xx: int
    answers_404: int
    answers_409: int
    answers_4xx: int
    answers_5xx: int
    socket_errors: int
    timeouts: int
    generator_cores: float
    # CPU milliseconds per request, of the server's workers and of PostgreSQL;
    # filled in by the suite, which knows the processes.
    server_cpu_ms: float = 0.0
    database_cpu_ms: float = 0.0

    @property
    def unexpected(self) -> int:
        """Answers other than success; no scenario expects any."""
        return self.answers_404 + self.answers_409 + self.answers_4xx + self.answers_5xx

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def wrk_path() -> str:
    """Where wrk is; an error saying how to get it when it is missing."""
    found = shutil.which("wrk")
    if found is None:
        raise LoadError("wrk is not installed; `make bench` installs it with apt-get")
    return found


def lua_literal(value: Any) -> str:
    """`value` (str, int, float, list, dict with str keys) written as Lua source."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + "".join(_lua_char(char) for char in value) + '"'
    if isinstance(value, Mapping):
        fields = ", ".join(
            f"[{lua_literal(k)}] = {lua_literal(v)}" for k, v in value.items()
        )
        return "{" + fields + "}"
    if isinstance(value, Sequence):
        return "{" + ", ".join(lua_literal(item) for item in value) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as Lua")


def _lua_char(char: str) -> str:
    if char.isascii() and (char.isalnum() or char in " _-.:/?=&%+,;()[]{}!*~@#$^|"):
        return char
    return "".join(f"\\{byte}" for byte in char.encode())


def write_data(path: Path, data: Mapping[str, Any]) -> Path:
    """Write `data` as a Lua file that evaluates to it, for the scripts' init()."""
    path.write_text("return " + lua_literal(data) + "\n")
    return path


def run_wrk(
    script: str, url: str, connections: int, seconds: float, data_file: Path
) -> Measurement:
    """Run `script` against `url` with `connections` connections for `seconds`."""
    command = [
        wrk_path(),
        f"-t{connections}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        REQUEST_TIMEOUT,
        "-s",
        str(LUA_DIR / script),
        url,
        "--",
        str(data_file),
        str(connections),
    ]
    environment = {**os.environ, "LUA_PATH": f"{LUA_DIR}/?.lua;;"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    finished = subprocess.run(
        command, env=environment, capture_output=True, text=True, check=False
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)

    lines = [
        line for line in finished.stdout.splitlines() if line.startswith(RESULT_MARK)
    ]
    if finished.returncode != 0 or not lines:
        raise LoadError(
            f"wrk failed ({finished.returncode}) on {script}:\n"
            f"{finished.stdout[-2000:]}\n{finished.stderr[-2000:]}"
        )
    found = json.loads(lines[-1][len(RESULT_MARK) :])
    duration = found["duration_us"] / 1e6
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Measurement(
        requests=found["requests"],
        seconds=duration,
        requests_per_second=found["requests"] / duration if duration else 0.0,
        p50_ms=found["p50_us"] / 1000,
        p99_ms=found["p99_us"] / 1000,
        mean_ms=found["mean_us"] / 1000,
        max_ms=found["max_us"] / 1000,
        answers_2xx=found["answers_2xx"],
        answers_404=found["answers_404"],
        answers_409=found["answers_409"],
        answers_4xx=found["answers_4xx"],
        answers_5xx=found["answers_5xx"],
        socket_errors=found["socket_errors"],
        timeouts=found["timeouts"],
        generator_cores=cpu / duration if duration else 0.0,
    )
