"""Hypothesis strategies for the routing rules engine: valid routing documents and contacts.

Every document drawn by `routing_documents()` is meant to be valid: queues with channels,
hours whose spans never overlap, overflow targets that share a channel and form no loop,
profiles and rules that name existing queues, CEL conditions from a small grammar, a
default rule (when there is one) last, and relaxation steps with a trigger and an effect.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from ccaas.domain.intake import NewContact
from ccaas.domain.models import Channel
from ccaas.domain.rules.schema import RoutingConfig
from ccaas.domain.values import DAYS

CHANNELS = tuple(ch.value for ch in Channel)
STRATEGIES = ("longest-idle", "most-skilled", "least-occupied", "round-robin")
TIMEZONES = (
    "UTC",
    "Europe/London",
    "America/New_York",
    "Asia/Kolkata",  # +05:30
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Pacific/Chatham",  # +12:45 / +13:45
)
SKILLS = ("en", "fr", "es", "tech", "billing.l2", "vip:gold")
TIERS = ("gold", "silver", "bronze", "")
LANGUAGES = ("en", "es", "fr", "de")
ATTRIBUTE_KEYS = ("lang", "intent", "agent", "vip", "order_id")
ATTRIBUTE_VALUES = ("es", "en", "refund", "a1", "a2", "yes", "")
QUEUE_POOL = ("billing", "sales", "tech_support", "vip", "spanish", "q-1", "0day", "x")
NAME_POOL = ("vip", "spanish", "default", "Rule.1", "r:2", "late-night", "gold_tier")
STEP_POOL = ("widen", "boost", "escalate", "drop-fr", "s1", "s.2")
PROFILE_POOL = ("agent", "senior", "Back-office", "p.1")
HOURS_POOL = ("office", "weekend", "support-hours", "h1")
# January 2020 .. January 2031, where every zone above is known to the tz database
NOW_MIN = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp() * 1000)
NOW_MAX = int(datetime(2031, 1, 1, tzinfo=UTC).timestamp() * 1000)
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
# CEL's reserved words cannot follow a dot: such queue names are written queues["..."]
_CEL_RESERVED = frozenset(
    {"as", "break", "const", "continue", "else", "false", "for", "function", "if", "import"}
    | {"in", "let", "loop", "package", "namespace", "null", "return", "true", "var", "void"}
    | {"while"}
)


def queue_ref(name: str) -> str:
    """`queues.<name>` in CEL, or `queues["<name>"]` when the name is not an identifier."""
    if _IDENTIFIER.match(name) and name not in _CEL_RESERVED:
        return f"queues.{name}"
    return f'queues["{name}"]'


def cel_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


# --- CEL conditions -----------------------------------------------------------------------


_CHANNEL = st.sampled_from(CHANNELS)
_KEY = st.sampled_from(ATTRIBUTE_KEYS)
_VALUE = st.sampled_from(ATTRIBUTE_VALUES)
_SMALL = st.integers(min_value=0, max_value=20)
_KIND = st.integers(min_value=0, max_value=16)
_RELAXATION_KIND = st.integers(min_value=0, max_value=20)  # four more: queue.*, times
_FORM = st.integers(min_value=0, max_value=5)
_BOOL = st.booleans()


def pick(draw: st.DrawFn, items: tuple[str, ...] | list[str]) -> str:
    """One of `items` (cheaper than a sampled_from strategy built for each list)."""
    return items[draw(st.integers(min_value=0, max_value=len(items) - 1))]


def subset(
    draw: st.DrawFn, items: tuple[str, ...] | list[str], min_size: int = 0, max_size: int = 99
) -> list[str]:
    """Distinct items of `items` in random order (strategies built on lengths are cached)."""
    indices = st.integers(min_value=0, max_value=len(items) - 1)
    size = min(max_size, len(items))
    return [
        items[i]
        for i in draw(st.lists(indices, min_size=min(min_size, size), max_size=size, unique=True))
    ]


# Plain functions that take `draw` (not composites): building a strategy object per call
# is what makes nested composites slow.


def draw_atom(draw: st.DrawFn, queues: tuple[str, ...], relaxation: bool) -> str:
    kind = draw(_RELAXATION_KIND if relaxation else _KIND)
    if kind == 0:
        return "true"
    if kind == 1:
        return f'contact.channel == "{draw(_CHANNEL)}"'
    if kind == 2:
        chosen = subset(draw, CHANNELS, 1, 3)
        return f"contact.channel in {cel_list(chosen)}"
    if kind == 3:
        return f'customer.tier == "{draw(st.sampled_from(TIERS))}"'
    if kind == 4:
        tiers = subset(draw, TIERS, 1, 2)
        return f"customer.tier in {cel_list(tiers)}"
    if kind == 5:
        key = draw(_KEY)
        return f'has(contact.attributes.{key}) && contact.attributes.{key} == "{draw(_VALUE)}"'
    if kind == 6:
        return f'"{draw(_KEY)}" in contact.attributes'
    if kind == 7:  # fails at run time when the attribute is missing: then it counts as false
        return f'contact.attributes.{draw(_KEY)} == "{draw(_VALUE)}"'
    if kind == 8:
        return f"customer.lifetime_value > {draw(st.integers(0, 10_000))}.0"
    if kind == 9:
        return f'customer.language.startsWith("{draw(st.sampled_from(LANGUAGES))}")'
    if kind == 10:
        return f"now.hour >= {draw(st.integers(0, 23))}"
    if kind == 11:
        return "now.weekday in [6, 7]"
    if kind == 12:
        return f'open("{pick(draw, queues)}")'
    if kind == 13:
        return f"{queue_ref(pick(draw, queues))}.waiting > {draw(_SMALL)}"
    if kind == 14:
        return f"{queue_ref(pick(draw, queues))}.agents_available >= {draw(_SMALL)}"
    if kind == 15:
        return f"contact.priority > {draw(st.integers(-100, 100))}"
    if kind == 16:
        return "size(contact.skills) > 0"
    # the relaxation scope also has the contact's own queue and its times
    if kind == 17:
        return f"queue.waiting > {draw(_SMALL)}"
    if kind == 18:
        return "queue.eligible_agents == 0"
    if kind == 19:
        return f"contact.queue_seconds > {draw(_SMALL)}.0"
    return f"contact.waited_seconds >= {draw(_SMALL)}.0"


def draw_condition(
    draw: st.DrawFn, queues: tuple[str, ...], relaxation: bool = False, depth: int = 2
) -> str:
    """A CEL condition valid in the classification/priority (or relaxation) scope."""
    form = draw(_FORM) if depth > 0 else 0
    if form <= 2:
        return draw_atom(draw, queues, relaxation)
    if form == 3:
        return f"!({draw_condition(draw, queues, relaxation, depth - 1)})"
    left = draw_condition(draw, queues, relaxation, depth - 1)
    right = draw_condition(draw, queues, relaxation, depth - 1)
    return f"({left}) {'&&' if form == 4 else '||'} ({right})"


@st.composite
def conditions(draw: st.DrawFn, queues: tuple[str, ...], relaxation: bool = False) -> str:
    return draw_condition(draw, queues, relaxation)


# --- documents ----------------------------------------------------------------------------


def seconds(min_value: float, max_value: float) -> st.SearchStrategy[float | int]:
    """Seconds above min_value as an admin writes them: whole numbers, sometimes decimals."""
    return st.one_of(
        st.integers(min_value=int(min_value) + 1, max_value=int(max_value)),
        st.floats(min_value=min_value, max_value=max_value, exclude_min=True),
    )


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def draw_hours(draw: st.DrawFn) -> dict[str, Any]:
    """Opening hours whose spans never overlap on any day (they may touch)."""
    cuts = sorted(
        draw(st.sets(st.integers(min_value=0, max_value=24 * 60), min_size=2, max_size=8))
    )
    spans = [(a, b) for a, b in itertools.pairwise(cuts) if draw(_BOOL)]
    if not spans:
        spans = [(cuts[0], cuts[1])]
    keys = []
    for d1 in range(len(DAYS)):
        for d2 in range(d1, len(DAYS)):
            keys.append(DAYS[d1] if d1 == d2 else f"{DAYS[d1]}-{DAYS[d2]}")
    opening: dict[str, list[str]] = {}
    for start, end in spans:  # disjoint in time, so any days they land on are fine
        opening.setdefault(pick(draw, keys), []).append(f"{hhmm(start)}-{hhmm(end)}")
    hours: dict[str, Any] = {"open": opening}
    if draw(_BOOL):
        hours["timezone"] = draw(st.sampled_from(TIMEZONES))
    holidays = draw(
        st.lists(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)), max_size=3)
    )
    if holidays:
        hours["holidays"] = [d.isoformat() for d in holidays]
    return hours


hours_configs = st.composite(draw_hours)


def skill_levels(max_size: int = 3) -> st.SearchStrategy[dict[str, int]]:
    return st.dictionaries(
        st.sampled_from(SKILLS), st.integers(min_value=1, max_value=10), max_size=max_size
    )


def _milliseconds_as_seconds(ms: int) -> float:
    return ms / 1000  # the double nearest to the decimal, as YAML reads "12.345"


_TRIGGER = st.sampled_from(("time", "when", "both"))
# whole seconds, or seconds with up to three decimals
_AFTER = st.one_of(st.integers(0, 3600), st.integers(0, 3_600_000).map(_milliseconds_as_seconds))


def draw_steps(
    draw: st.DrawFn,
    queues: tuple[str, ...],
    own_queue: str,
    channels_of: dict[str, list[str]],
    max_size: int = 2,
) -> list[dict[str, Any]]:
    """Steps with unique names; a move goes to another queue sharing a channel."""
    names = subset(draw, STEP_POOL, 0, max_size)
    own = set(channels_of[own_queue])
    others = [q for q in queues if q != own_queue and own & set(channels_of[q])]
    steps = []
    for name in names:
        step: dict[str, Any] = {"name": name}
        trigger = draw(_TRIGGER)
        if trigger != "when":
            step["after_seconds"] = draw(_AFTER)
        if trigger != "time":
            step["when"] = draw_condition(draw, queues, relaxation=True, depth=1)
        require = draw(skill_levels(2))
        drop = subset(draw, SKILLS, 0, 2)
        drop = [s for s in drop if s not in require]
        add = draw(st.integers(min_value=-100, max_value=100))
        move = pick(draw, others) if others and draw(_BOOL) else None
        if not (require or drop or add or move):
            add = 1
        if require:
            step["require"] = require
        if drop:
            step["drop"] = drop
        if add:
            step["add_priority"] = add
        if move:
            step["move_to"] = move
        steps.append(step)
    return steps


def queue_names() -> st.SearchStrategy[list[str]]:
    name = st.one_of(
        st.sampled_from(QUEUE_POOL),
        st.from_regex(r"[a-z0-9][a-z0-9_-]{0,12}", fullmatch=True),
    )
    return st.lists(name, min_size=1, max_size=4, unique=True)


def _queue_settings(draw: st.DrawFn) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if draw(_BOOL):
        settings["strategy"] = draw(st.sampled_from(STRATEGIES))
    if draw(_BOOL):
        settings["sla_seconds"] = draw(st.integers(1, 14_400))
    if draw(_BOOL):
        settings["offer_timeout_seconds"] = draw(seconds(0, 3600))
    if draw(_BOOL):
        settings["wrap_up_seconds"] = draw(st.integers(0, 3600))
    if draw(_BOOL):
        settings["max_size"] = draw(st.integers(1, 1000))
    if draw(_BOOL):
        settings["expected_handle_seconds"] = draw(seconds(0, 3600))
    return settings


def _profile(draw: st.DrawFn, queues: tuple[str, ...]) -> dict[str, Any]:
    served = subset(draw, queues, 1)
    profile: dict[str, Any] = {}
    if draw(_BOOL):
        profile["queues"] = served  # the list form
    else:
        profile["queues"] = {
            q: {"priority": draw(st.integers(1, 100)), "delay_seconds": draw(st.integers(0, 60))}
            for q in served
        }
    if draw(_BOOL):
        profile["capacity"] = {ch: draw(st.integers(0, 100)) for ch in subset(draw, CHANNELS)}
    if draw(_BOOL):
        profile["max_total"] = draw(st.integers(1, 100))
    return profile


@st.composite
def routing_documents(draw: st.DrawFn, full: bool = True) -> dict[str, Any]:
    """A valid routing document, as the dict yaml.safe_load would give.

    With full=False only what routing reads: no channel settings, hours, queue settings,
    profiles, preferred agents nor priority rules (cheaper to draw).
    """
    doc: dict[str, Any] = {}
    if draw(_BOOL):
        doc["timezone"] = draw(st.sampled_from(TIMEZONES))
    catalogue = draw(st.sampled_from(("none", "list", "dict")))
    if catalogue == "list":
        doc["skills"] = [*SKILLS, "extra"]
    elif catalogue == "dict":
        doc["skills"] = {s: f"{s} skill" for s in SKILLS}
    if full and draw(_BOOL):
        doc["channels"] = {
            ch: {"capacity": draw(st.integers(0, 100)), "exclusive": draw(_BOOL)}
            for ch in subset(draw, CHANNELS)
        }
    hours_names = subset(draw, HOURS_POOL, 0, 2) if full else []
    if hours_names:
        doc["hours"] = {name: draw_hours(draw) for name in hours_names}
    queues = tuple(draw(queue_names()))
    channels_of = {name: subset(draw, CHANNELS, 1) for name in queues}
    doc["queues"] = {}
    for i, name in enumerate(queues):
        channels = channels_of[name]
        queue: dict[str, Any] = {"channels": channels}
        if full:
            queue.update(_queue_settings(draw))
        if hours_names and draw(_BOOL):
            queue["hours"] = pick(draw, hours_names)
        # overflow only to later queues that share a channel: no loop is possible
        later = [q for q in queues[i + 1 :] if set(channels_of[q]) & set(channels)]
        overflow: dict[str, Any] = {}
        if later:
            for kind in ("closed", "full"):
                if draw(_BOOL):
                    overflow[kind] = pick(draw, later)
            if draw(_BOOL):
                overflow["after_seconds"] = draw(seconds(0, 3600))
                overflow["to"] = pick(draw, later)
        if overflow:
            queue["overflow"] = overflow
        steps = draw_steps(draw, queues, name, channels_of)
        if steps:
            queue["relaxation"] = steps
        doc["queues"][name] = queue
    profiles = subset(draw, PROFILE_POOL, 0, 2) if full else []
    if profiles:
        doc["profiles"] = {name: _profile(draw, queues) for name in profiles}
    rule_names = subset(draw, NAME_POOL, 0, 4)
    has_default = bool(rule_names) and draw(_BOOL)
    rules = []
    for i, name in enumerate(rule_names):
        target = pick(draw, queues)
        rule: dict[str, Any] = {"name": name, "queue": target}
        if not (has_default and i == len(rule_names) - 1):
            rule["when"] = draw_condition(draw, queues)
        skills = draw(skill_levels())
        if skills:
            rule["skills"] = skills
        priority = draw(st.integers(-100, 100))
        if priority:
            rule["priority"] = priority
        tags = subset(draw, NAME_POOL, 0, 2)
        if tags:
            rule["tags"] = tags
        steps = draw_steps(draw, queues, target, channels_of, max_size=1)
        if steps:
            rule["relaxation"] = steps
        if full and draw(_BOOL):
            rule["preferred_agent"] = {
                "agent": draw(
                    st.sampled_from(
                        ("contact.attributes.agent", "customer.last_agent", '"a1"', "customer.id")
                    )
                ),
                "hold_seconds": draw(seconds(0, 3600)),
            }
        rules.append(rule)
    if rules:
        doc["classification"] = rules
    priority_names = subset(draw, NAME_POOL, 0, 2) if full else []
    if priority_names:
        doc["priority_rules"] = [
            {
                "name": name,
                "when": draw_condition(draw, queues),
                "add": draw(st.integers(-100, 100)),
            }
            for name in priority_names
        ]
    if draw(_BOOL):
        doc["aging_seconds_per_priority"] = draw(st.one_of(st.integers(0, 600), seconds(0, 600)))
    if full and draw(_BOOL):
        doc["max_missed_offers"] = draw(st.integers(1, 10))
    return doc


# --- contacts -----------------------------------------------------------------------------


def _json_containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    # a named function, not a lambda: hypothesis would parse a lambda's source for its repr
    return st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    )


# what json.loads can give (NaN and Infinity included)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
    _json_containers,
    max_leaves=6,
)
attributes = st.dictionaries(
    st.one_of(st.sampled_from(ATTRIBUTE_KEYS), st.text(max_size=6)),
    st.one_of(st.sampled_from(ATTRIBUTE_VALUES), json_values),
    max_size=4,
)


_CUSTOMER_FIELDS = {
    "id": st.text(max_size=6),
    "name": st.text(max_size=6),
    "tier": st.one_of(st.sampled_from(TIERS), json_values),
    "language": st.one_of(st.sampled_from(LANGUAGES), json_values),
    "segment": st.text(max_size=6),
    "lifetime_value": st.one_of(
        st.integers(0, 100_000), st.floats(0, 100_000), st.text(max_size=4)
    ),
    "consent": st.dictionaries(st.text(max_size=5), st.booleans(), max_size=2),
    "extras": st.one_of(st.dictionaries(st.text(max_size=5), json_values, max_size=2), json_values),
    "last_agent": st.sampled_from(("", "a1", "a2")),
    "unknown_field": json_values,  # goes to customer.extras
}


@st.composite
def customers(draw: st.DrawFn) -> dict[str, Any] | None:
    """A customer record as the CRM lookup or the API gives it; sometimes none, sometimes odd."""
    if draw(st.integers(0, 4)) == 0:
        return None
    chosen = subset(draw, sorted(_CUSTOMER_FIELDS))
    return {name: draw(_CUSTOMER_FIELDS[name]) for name in chosen}


@st.composite
def new_contacts(draw: st.DrawFn, config: RoutingConfig) -> NewContact:
    """A contact that passes the intake checks against `config`."""
    taken = sorted({ch for q in config.queues.values() for ch in q.channels})
    # with no rules an intake needs a queue: then the channel is one some queue takes
    channel = draw(st.sampled_from(list(Channel) if config.classification else taken))
    takers = sorted(name for name, q in config.queues.items() if channel in q.channels)
    queue = ""
    if takers and (not config.classification or draw(_BOOL)):
        queue = draw(st.sampled_from(takers))
    return NewContact(
        channel=channel,
        external_id=draw(st.text(max_size=8)),
        queue=queue,
        skills=draw(skill_levels()),
        priority=draw(st.integers(-100, 100)),
        customer=draw(customers()),
        attributes=draw(attributes),
    )


instants = st.integers(min_value=NOW_MIN, max_value=NOW_MAX)


def local_ms(zone: str, y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: float = 0) -> int:
    """Epoch ms of a wall-clock time in `zone` (seconds may have a fraction)."""
    whole = int(s)
    base = datetime(y, mo, d, h, mi, whole, tzinfo=ZoneInfo(zone))
    return int(base.timestamp() * 1000) + round((s - whole) * 1000)
