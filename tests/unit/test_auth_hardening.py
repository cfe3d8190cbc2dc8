"""Sign-in hardening that needs no Redis: the signing secret, tokens between replicas,
the time a sign-in takes, the compose file and the CLI."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from ccaas.domain.roles import Principal, Role
from ccaas.domain.tokens import TokenSigner
from ccaas.errors import ConfigError, Unauthorized
from ccaas.runtime.settings import Settings
from ccaas.runtime.signing_secret import SECRET_FILE, signing_secret

SECRET = b"a-secret-of-more-than-32-bytes-for-these-tests"
REPO = Path(__file__).resolve().parents[2]


def test_replicas_starting_at_once_share_one_secret(tmp_path: Path) -> None:
    """Eight replicas on one data_dir make the secret at the same moment: each gets the same
    whole secret, none a part of one or a refusal to start."""
    settings = Settings(data_dir=tmp_path)
    start = threading.Barrier(8)

    def replica() -> bytes:
        start.wait()
        return signing_secret(settings)

    with ThreadPoolExecutor(8) as pool:
        seen = list(pool.map(lambda _: replica(), range(8)))
    assert len(set(seen)) == 1 and len(seen[0]) >= 32
    assert [p.name for p in tmp_path.iterdir()] == [SECRET_FILE]  # no file left half-made


def test_an_empty_auth_secret_means_the_one_made_in_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README and the setting's description: CCAAS_AUTH_SECRET empty → one made in data_dir."""
    monkeypatch.setenv("CCAAS_AUTH_SECRET", "")
    monkeypatch.setenv("CCAAS_DATA_DIR", str(tmp_path))
    secret = signing_secret(Settings())  # raises ConfigError: "got 0"
    assert secret == (tmp_path / SECRET_FILE).read_bytes().strip()


def test_a_token_signed_by_a_replica_whose_clock_is_a_little_ahead_is_accepted() -> None:
    """Replicas' clocks differ by a second or two; PyJWT refuses an `iat` in the future
    unless a leeway is given, so a fresh sign-in on one replica fails on the other."""
    signer = TokenSigner(SECRET, "t1")
    issued = signer.issue(Principal(Role.AGENT, "ann"), 3600, now=time.time() + 2)
    try:
        assert signer.verify(issued.token) == Principal(Role.AGENT, "ann")
    except Unauthorized as exc:
        pytest.fail(f"refused: {exc.detail}")


def test_once_warm_an_unknown_agents_sign_in_only_verifies_a_hash() -> None:
    """docs/api.md: 401 'in the same time'. The stand-in hash checked for nobody is made when
    the engine starts (passwords.warm), so an unknown agent's check is a verify, as a wrong
    password's is, and never a hash made on the spot (twice the time: it would tell)."""
    probe = """
from ccaas.domain import passwords
passwords.warm()
class VerifyOnly:
    def __init__(self, hasher):
        self.verify = hasher.verify
    def hash(self, *args, **kwargs):
        raise AssertionError("a hash was made for an unknown agent")
passwords._HASHER = VerifyOnly(passwords._HASHER)
print(passwords.password_matches(None, "a guess"))
"""
    answer = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert answer.stdout.strip() == "False"


def test_compose_replicas_check_each_others_tokens() -> None:
    """docker-compose.yml runs router-1 and router-2 ("either may serve any agent"), each with
    its own /app/var and no CCAAS_AUTH_SECRET: each makes its own secret, so a token signed
    by one (a sign-in on :8080) is 401 on the other (:8081)."""
    compose = YAML(typ="safe").load((REPO / "docker-compose.yml").read_text())
    routers = [s for name, s in compose["services"].items() if name.startswith("router")]
    assert len(routers) == 2
    for router in routers:
        shares_secret = "CCAAS_AUTH_SECRET" in (router.get("environment") or {})
        shares_dir = any(
            str(v).split(":")[1] == "/app/var" for v in router.get("volumes", []) if ":" in str(v)
        )
        assert shares_secret or shares_dir, "the replicas sign with different secrets"


def test_token_create_does_not_make_a_secret_no_engine_uses(tmp_path: Path) -> None:
    """`ccaas token create` in a folder (or with a CCAAS_DATA_DIR) where no engine keeps its
    secret makes a new one and prints a token that every running engine refuses."""
    from ccaas.runtime.credentials_cli import create_token

    settings = Settings(data_dir=tmp_path / "var")  # the default is the relative ./var
    with pytest.raises(ConfigError):
        create_token(settings, "admin", "me", 1)
    assert not (tmp_path / "var" / SECRET_FILE).exists()
