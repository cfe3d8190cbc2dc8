"""Starting and stopping real `ccaas serve` processes for the multi-process tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ccaas.runtime.embedded_redis import free_port
from tests.helpers import TEST_SECRET


def distinct_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def serve_env(redis_url: str, tenant: str, port: int, routing_file: Path) -> dict[str, str]:
    """Each process keeps its files (its embedded broker's) in a folder of its own."""
    return {
        "CCAAS_DATA_DIR": str(routing_file.parent / f"var-{port}"),
        "CCAAS_SMTP_PORT": "0",  # several processes on one machine: each its own port
        **os.environ,
        "CCAAS_REDIS_URL": redis_url,
        "CCAAS_TENANT": tenant,
        "CCAAS_HTTP_PORT": str(port),
        "CCAAS_ROUTING_FILE": str(routing_file),
        "CCAAS_LOG_FORMAT": "json",
        "CCAAS_LOG_LEVEL": "WARNING",
        "CCAAS_AUTH_SECRET": TEST_SECRET.decode(),
    }


def start_serve(env: dict[str, str], capture: bool = False) -> subprocess.Popen[str]:
    stderr = subprocess.PIPE if capture else None
    return subprocess.Popen(
        [sys.executable, "-m", "ccaas.cli", "serve"], env=env, stderr=stderr, text=True
    )


def stop(process: subprocess.Popen[str]) -> int | None:
    """Wait for a terminated process; one that hangs is killed so no test leaks it."""
    try:
        return process.wait(timeout=40)  # serve itself gives up after 20 s
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None
