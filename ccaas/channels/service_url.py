"""The address of a service the engine talks to (a broker, a mail relay), read from a URL
setting: scheme (plain or TLS), host, port (each scheme's default) and credentials."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self
from urllib.parse import unquote, urlsplit

from ..errors import ConfigError


@dataclass(frozen=True, slots=True)
class ServiceUrl:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False

    SETTING: ClassVar[str] = ""
    SCHEMES: ClassVar[dict[str, tuple[int, bool]]] = {}  # scheme -> (default port, TLS)

    @classmethod
    def parse(cls, url: str) -> Self:
        """scheme://[user[:password]@]host[:port]; ConfigError naming the setting."""
        parts = urlsplit(url)
        forms = " or ".join(f"{scheme}://host:port" for scheme in cls.SCHEMES)
        if parts.scheme not in cls.SCHEMES or not parts.hostname:
            raise ConfigError(f"{cls.SETTING} must be {forms}, not {shown(url)!r}")
        default_port, tls = cls.SCHEMES[parts.scheme]
        try:
            port = parts.port or default_port
        except ValueError as exc:
            raise ConfigError(f"{cls.SETTING} has a bad port: {shown(url)!r}") from exc
        return cls(
            parts.hostname,
            port,
            unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password else None,
            tls,
        )

    @property
    def url(self) -> str:
        """The address without its credentials, for logs and /healthz."""
        scheme = next(name for name, (_, tls) in self.SCHEMES.items() if tls == self.tls)
        return f"{scheme}://{self.host}:{self.port}"


def shown(url: str) -> str:
    """A URL with any password left out."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(":" + parts.password + "@", ":***@")).geturl()
