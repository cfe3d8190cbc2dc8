"""A private, real MQTT broker for when no CCAAS_MQTT_URL is given (and for tests).

mosquitto from PATH when there is one (it keeps persistent sessions on disk and sends an
unacknowledged QoS 1 message again when the bridge reconnects); otherwise amqtt, which
the project's own dependencies install. amqtt does not send again what was in flight when
the bridge's connection broke (docs/mqtt.md says what that means for a crash).
"""

from __future__ import annotations

import getpass
import shutil
import subprocess
import sys
from pathlib import Path

import structlog

from ..errors import ConfigError
from .embedded_redis import (
    PRIVATE_UMASK,
    dies_with_parent,
    end_process,
    free_port,
    private_dir,
    wait_listening,
)

log = structlog.get_logger("ccaas.embedded_mqtt")
QUEUED_PER_SESSION = 1_000_000  # mosquitto's default (1000) drops what an offline bridge misses


class EmbeddedBroker:
    """Starts an MQTT broker on loopback with its data under `data_dir`; stop() ends it."""

    def __init__(self, data_dir: Path, port: int | None = None, prefer: str = "auto") -> None:
        """`prefer`: "auto" (mosquitto if on PATH, else amqtt), "mosquitto" or "amqtt"."""
        self.data_dir = data_dir
        self.port = port or free_port()
        self.kind = _choose(prefer)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def redelivers(self) -> bool:
        """Whether an unacknowledged message is sent again to a reconnecting session."""
        return self.kind == "mosquitto"

    def command(self) -> list[str]:
        if self.kind == "mosquitto":
            return [_mosquitto(), "-c", str(self._write_mosquitto_conf())]
        return [
            sys.executable,
            "-m",
            "amqtt.scripts.broker_script",
            "-c",
            str(self._write_amqtt_conf()),
        ]

    def _write_mosquitto_conf(self) -> Path:
        folder = self.data_dir.resolve()
        conf = folder / "mosquitto.conf"
        conf.write_text(
            "\n".join(
                [
                    f"listener {self.port} 127.0.0.1",
                    "allow_anonymous true",  # loopback only: this machine's processes
                    "persistence true",
                    f"persistence_location {folder}/",
                    "autosave_interval 1",
                    f"max_queued_messages {QUEUED_PER_SESSION}",
                    f"log_dest file {folder}/mosquitto.log",
                    f"user {getpass.getuser()}",  # as root it would switch to "mosquitto"
                    "",
                ]
            )
        )
        return conf

    def _write_amqtt_conf(self) -> Path:
        conf = self.data_dir.resolve() / "amqtt.yaml"
        conf.write_text(
            "listeners:\n"
            "  default:\n"
            "    type: tcp\n"
            f"    bind: 127.0.0.1:{self.port}\n"
            "plugins:\n"
            "  amqtt.plugins.authentication.AnonymousAuthPlugin:\n"
            "    allow_anonymous: true\n"
        )
        return conf

    async def start(self, wait_seconds: float = 15.0) -> None:
        private_dir(self.data_dir)
        logfile = self.data_dir / f"{self.kind}.out"
        with logfile.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: ASYNC220
                self.command(),
                stdout=out,
                stderr=out,
                umask=PRIVATE_UMASK,
                preexec_fn=dies_with_parent,
            )
        try:
            await wait_listening(self.process, self.port, wait_seconds, self.kind, logfile)
        except ConfigError:
            self.stop()
            raise
        log.info("embedded_mqtt_started", url=self.url, broker=self.kind)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            end_process(self.process)
            log.info("embedded_mqtt_stopped", port=self.port, broker=self.kind)
        self.process = None


def _choose(prefer: str) -> str:
    if prefer not in ("auto", "mosquitto", "amqtt"):
        raise ConfigError(f"no MQTT broker {prefer!r}: use auto, mosquitto or amqtt")
    if prefer in ("auto", "mosquitto") and _mosquitto():
        return "mosquitto"
    if prefer == "mosquitto":
        raise ConfigError("mosquitto is not on PATH (apt-get install mosquitto)")
    return "amqtt"


def _mosquitto() -> str:
    """mosquitto on PATH, or where Debian puts it (/usr/sbin, off a normal user's PATH)."""
    found = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
    return found or ""
