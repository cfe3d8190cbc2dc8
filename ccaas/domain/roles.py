"""Who may call what: the four roles of the API and the signed-in caller a token names."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # rules, agents, passwords, tokens; may do anything
    SUPERVISOR = "supervisor"  # reads everything live, changes agents' presence
    AGENT = "agent"  # its own desk only: its offers, its work, customers it served
    ADAPTER = "adapter"  # a channel adapter: pushes contacts and messages, reads their state


EVERYONE = frozenset(Role)
STAFF = frozenset({Role.ADMIN, Role.SUPERVISOR})
ADMIN_ONLY = frozenset({Role.ADMIN})
PUBLIC: frozenset[Role] = frozenset()  # a route anyone may call, signed in or not


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller a valid token names: its role and who it is (an agent's id, or the name a
    token was created with)."""

    role: Role
    subject: str
    # when its token expires (s since the epoch; 0: not from a token); not who it is
    expires_at: int = field(default=0, compare=False)

    def is_agent(self, agent_id: str) -> bool:
        return self.role is Role.AGENT and self.subject == agent_id

    def acts_for(self, agent_id: str) -> bool:
        """May act on this agent's desk: the agent itself, or an admin on its behalf."""
        return self.role is Role.ADMIN or self.is_agent(agent_id)


def admits(*roles: Role) -> frozenset[Role]:
    """The roles a route admits, as it declares them."""
    return frozenset(roles)
