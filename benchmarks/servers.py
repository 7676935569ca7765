"""Starting, watching and stopping the two servers under test.

Both are gunicorn with threaded workers, started with the same workers and
threads: the service through its own `serve` command, the baseline through
gunicorn's command line with the service's timeouts and keep-alive. Peak
memory is read from each worker's VmHWM, the most resident memory the
process has held since it started; CPU time from each process's utime and
stime, for the workers of a server and for every PostgreSQL process.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
READY_TIMEOUT = 90.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class ServerError(Exception):
    """A server under test did not start, or stopped on its own."""


@dataclass(frozen=True)
class ServerConfig:
    """How both servers are run: one setting, so the comparison is fair."""

    workers: int
    threads: int

    def describe(self) -> str:
        return (
            f"gunicorn gthread, {self.workers} workers x {self.threads} threads, "
            "keep-alive 5 s"
        )


class Server:
    """A running server: its gunicorn master, its URL and its log file."""

    def __init__(
        self,
        name: str,
        command: list[str],
        environment: dict[str, str],
        port: int,
        log_path: Path,
    ) -> None:
        self.name = name
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **environment},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_until_ready(self, key: str, workers: int) -> None:
        """Wait until every worker runs and an authenticated list answers 200."""
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"{self.name} stopped; see {self.log_path}")
            if len(self.worker_pids()) >= workers and self._answers(key):
                return
            time.sleep(0.2)
        raise ServerError(f"{self.name} was not ready in time; see {self.log_path}")

    def _answers(self, key: str) -> bool:
        request = urllib.request.Request(
            f"{self.url}/v1/projects?limit=1",
            headers={"Authorization": f"Bearer {key}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the processes whose parent is the master."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            fields = _stat_fields(int(entry.name))
            if fields and int(fields[1]) == self.process.pid:
                found.append(int(entry.name))
        return sorted(found)

    def cpu_seconds(self) -> float:
        """CPU time the workers have used so far, user and system."""
        return sum(cpu_seconds(pid) for pid in self.worker_pids())

    def peak_memory_mib(self) -> list[float]:
        """Each worker's peak resident memory (VmHWM), in MiB."""
        peaks = []
        for pid in self.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        return peaks

    def stop(self) -> None:
        """SIGTERM the master, which lets requests in flight finish."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


def _stat_fields(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name; empty when gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    # The command name may hold spaces and brackets; fields follow it.
    return stat.rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far; 0 when it is gone."""
    fields = _stat_fields(pid)
    # utime and stime are the 14th and 15th fields, counted from the pid.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS if fields else 0.0


def database_cpu_seconds() -> float:
    """CPU time of every PostgreSQL process on this machine, background included.

    Only one server is under load at a time, so the growth of this sum over a
    measurement is what that server's requests cost the database. It is 0
    when PostgreSQL runs on another machine.
    """
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                name = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if name == "postgres":
                total += cpu_seconds(int(entry.name))
    return total


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_service(
    database_url: str,
    config: ServerConfig,
    log_dir: Path,
    environment: dict[str, str] | None = None,
) -> Server:
    """The service, through its own `serve` command, with `environment` added."""
    port = free_port()
    command = [
        str(BIN / "sokosumi-projects"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(config.workers),
        "--threads",
        str(config.threads),
    ]
    return Server(
        "service",
        command,
        {**(environment or {}), "DATABASE_URL": database_url},
        port,
        log_dir / "service.log",
    )


def start_baseline(
    database_url: str, config: ServerConfig, log_dir: Path, cursor_secret: str
) -> Server:
    """The baseline, with the gunicorn settings that the service's `serve` uses."""
    port = free_port()
    command = [
        str(BIN / "gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--worker-class",
        "gthread",
        "--workers",
        str(config.workers),
        "--threads",
        str(config.threads),
        "--timeout",
        "60",
        "--graceful-timeout",
        "20",
        "--keep-alive",
        "5",
        "--no-control-socket",
        "--error-logfile",
        "-",
        "benchmarks.baseline:create_app()",
    ]
    environment = {
        "BASELINE_DATABASE_URL": database_url,
        "BASELINE_CURSOR_SECRET": cursor_secret,
    }
    return Server("baseline", command, environment, port, log_dir / "baseline.log")
