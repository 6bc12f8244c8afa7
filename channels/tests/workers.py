"""Celery workers a test starts (and stops or kills) itself, on its own queue and settings."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from django.conf import settings


def start_worker(name: str, settings_module: str, queues: str) -> subprocess.Popen:
    """A solo-pool worker on the test database and Redis, consuming ``queues``."""
    db = settings.DATABASES["default"]
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE=settings_module,
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        REDIS_URL=settings.REDIS_URL,
    )
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
         "--queues", queues, "--hostname", f"{name}@%h", "--loglevel", "WARNING",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env=env,
    )


def stop_workers(*workers: subprocess.Popen | None) -> None:
    for worker in workers:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            worker.wait(timeout=30)


def wait_for(condition, seconds: float = 90.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False
