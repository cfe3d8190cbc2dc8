"""Loads the demo centre from seeds/: agents with their presence, then sample contacts."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from ..desk.service import Desk
from ..domain.intake import NewContact
from ..domain.models import Channel, Presence
from ..domain.passwords import hash_password
from ..errors import ConfigError, ContactRejected, InvalidInput
from ..ingest.service import Ingest
from ..store.agents import AgentProfile, AgentRepository
from ..store.context import StoreContext
from ..store.credentials import CredentialRepository

log = structlog.get_logger("ccaas.demo")


@dataclass(frozen=True)
class DemoSeeds:
    """The demo's agents (as in seeds/agents.yaml) and contacts (seeds/scenarios.yaml, each
    with the scenarios' `demo_skills` merged into its own skills)."""

    agents: list[dict[str, Any]]
    contacts: list[NewContact]
    console: list[dict[str, Any]] = field(default_factory=list)  # for people, not played

    @property
    def agent_ids(self) -> list[str]:
        """The agents the demo plays (the console's are left to people)."""
        return [str(item["id"]) for item in self.agents]


def _read(path: Path) -> dict[str, Any]:
    try:
        document = YAML(typ="safe", pure=True).load(path.read_text()) or {}
    except (OSError, YAMLError) as exc:
        raise ConfigError(f"cannot load demo data {path}: {exc}") from exc
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping")
    return document


def _section(document: dict[str, Any], path: Path, section: str) -> list[dict[str, Any]]:
    items = document.get(section, [])
    if not isinstance(items, list):
        raise ConfigError(f"{path}: '{section}' must be a list")
    return items


def read_seeds(seeds_dir: Path) -> DemoSeeds:
    agents_path, scenarios_path = seeds_dir / "agents.yaml", seeds_dir / "scenarios.yaml"
    scenarios = _read(scenarios_path)
    demo_skills = {str(k): int(v) for k, v in (scenarios.get("demo_skills") or {}).items()}
    contacts = []
    for item in _section(scenarios, scenarios_path, "contacts"):
        skills = {**demo_skills}
        for skill, level in dict(item.get("skills", {})).items():
            skills[skill] = max(int(level), skills.get(skill, 0))
        contacts.append(
            NewContact(
                channel=Channel(item["channel"]),
                external_id=str(item["external_id"]),
                queue=item.get("queue", ""),
                skills=skills,
                priority=int(item.get("priority", 0)),
                customer=item.get("customer"),
                attributes=dict(item.get("attributes", {})),
            )
        )
    agents = _read(agents_path)
    return DemoSeeds(
        _section(agents, agents_path, "agents"),
        contacts,
        _section(agents, agents_path, "console"),
    )


async def load_demo(ctx: StoreContext, seeds: DemoSeeds) -> tuple[int, int]:
    """Upsert the seeded agents and enqueue the seeded contacts; returns (agents, contacts
    enqueued). A contact the rules in force refuse is logged, naming it, and skipped."""
    agents, desk, ingest = AgentRepository(ctx), Desk(ctx), Ingest(ctx)
    credentials = CredentialRepository(ctx)
    for item in [*seeds.agents, *seeds.console]:
        profile = AgentProfile(
            name=item["name"],
            skills=dict(item.get("skills", {})),
            queues=list(item.get("queues", [])),
            capacity={Channel(ch): n for ch, n in item.get("capacity", {}).items()},
            profile=item.get("profile", ""),
            voice_endpoint=item.get("voice_endpoint", ""),
        )
        await agents.upsert(item["id"], profile)
        await desk.set_presence(
            item["id"], Presence(item.get("presence", "available")), item.get("reason", "")
        )
        if "password" in item:
            hashed = await asyncio.to_thread(hash_password, str(item["password"]))
            await credentials.set_password_hash(item["id"], hashed)
    enqueued = 0
    for index, contact in enumerate(seeds.contacts):
        try:
            await ingest.enqueue(contact)
        except (ContactRejected, InvalidInput) as exc:
            log.warning(
                "demo_contact_skipped",
                index=index,
                external_id=contact.external_id,
                channel=contact.channel.value,
                problem=exc.detail,
                **exc.fields,
            )
            continue
        enqueued += 1
    log.info("demo_loaded", agents=len(seeds.agents), contacts=enqueued)
    return len(seeds.agents), enqueued
