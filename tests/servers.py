"""Real processes for the load and fault tests: `serve` and a private PostgreSQL.

Servers are started with the installed console script, as an operator would.
The private PostgreSQL cluster exists so that a test may stop and restart its
database without touching the server every other test shares.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

import psycopg
import requests

from infrastructure.identity import IssuedKey
from infrastructure.settings import Settings
from infrastructure.wiring import Services, build_services

READY_LINE = "sokosumi-projects ready on http://"
POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    """A TCP port on the loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def console_script() -> str:
    beside = Path(sys.executable).with_name("sokosumi-projects")
    found = str(beside) if beside.exists() else shutil.which("sokosumi-projects")
    if found is None:
        raise RuntimeError("the sokosumi-projects console script is not installed")
    return found


@contextmanager
def services_on(database_url: str) -> Iterator[Services]:
    """The service's parts in this process, on `database_url`, closed afterwards."""
    services = build_services(Settings.from_environ({"DATABASE_URL": database_url}))
    try:
        yield services
    finally:
        services.close()


def issue_key(database_url: str, email: str, workspace: str) -> IssuedKey:
    with services_on(database_url) as services:
        return services.create_key(email, workspace)


class ServerProcess:
    """One `sokosumi-projects serve`, logging to a file, in a session of its own."""

    def __init__(
        self,
        database_url: str,
        log_path: Path,
        *,
        workers: int = 2,
        threads: int = 8,
        environment: Mapping[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [
                console_script(),
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--threads",
                str(threads),
            ],
            env={**os.environ, **(environment or {}), "DATABASE_URL": database_url},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_until_ready(self, timeout: float = 45) -> ServerProcess:
        """Wait for the ready line and for every worker to answer."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.log()}")
            if READY_LINE in self.log() and self._answers():
                return self
            time.sleep(0.1)
        raise RuntimeError(f"the server was not ready in {timeout} s:\n{self.log()}")

    def _answers(self) -> bool:
        try:
            requests.get(f"{self.base_url}/health", timeout=5)
        except requests.RequestException:
            return False
        return True

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM, as an orchestrator stops a server; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL to every process of the server at once, mid-whatever."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        """Stop for good, however it is: gently first, then by force."""
        try:
            self.terminate(timeout=25)
        except subprocess.TimeoutExpired:
            self.kill()
        if self.process.poll() is not None:
            _kill_group(self.process.pid)
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_bytes().decode("utf-8", "replace")


def _kill_group(process_group: int) -> None:
    """Make sure no worker outlives its master."""
    with suppress(ProcessLookupError):
        os.killpg(process_group, signal.SIGKILL)


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own, which it may stop and start at will.

    The cluster belongs to the `postgres` user (initdb refuses root), listens
    on a free loopback port, and is removed when the test ends.
    """

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="sokosumi-pg-"))
        self.data = self.directory / "data"
        self.logfile = self.directory / "postgres.log"
        self.port = free_port()
        shutil.chown(self.directory, "postgres")
        self._as_postgres(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--no-sync",
        )  # fmt: skip

    def _as_postgres(self, program: str, *arguments: str) -> None:
        command = [str(POSTGRES_BIN / program), *arguments]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c max_connections=200"
        )
        self._as_postgres(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.logfile),
            "-w", "-t", "30", "start",
        )  # fmt: skip

    def stop(self, mode: str = "immediate") -> None:
        """Stop the cluster; `immediate` is as abrupt as a crash."""
        self._as_postgres(
            "pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop"
        )

    def create_database(self, name: str = "sokosumi") -> str:
        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def remove(self) -> None:
        with suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)
