"""What type a CEL condition gives, worked out from the declared types of the variables.

A small recursive-descent reading of CEL (the expression has already compiled) that
answers "bool", "string", "int", ... for the whole expression and for the operands of
`!`, `&&`, `||` and `?:`. Whatever cannot be known before run time (a value read from a
free-form map such as `contact.attributes`, `dyn(...)`, a macro's own variable) is DYN,
which is accepted anywhere: such a condition is still checked when it runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

DYN = "dyn"  # unknown until run time
OBJECT = "object"  # contact, customer, queue, now: fields with declared types
QUEUES = "queues"  # queues.<name>: one queue object per name


@dataclass(frozen=True, slots=True)
class Type:
    """A CEL type (`name`), with the type of its elements or fields where known."""

    name: str
    element: Type | None = None  # list element or map value
    fields: Mapping[str, Type] | None = None  # an object's fields

    def reads_as(self) -> str:
        """The type in an admin's words: 'a string', 'an int', 'a list'."""
        word = {"map": "map", "list": "list", OBJECT: "object"}.get(self.name, self.name)
        return f"{'an' if word[0] in 'aeio' else 'a'} {word}"


ANY = Type(DYN)
BOOL, INT, UINT, DOUBLE = Type("bool"), Type("int"), Type("uint"), Type("double")
STRING, BYTES, NULL = Type("string"), Type("bytes"), Type("null")
OPEN_MAP = Type("map", ANY)

_QUEUE = Type(
    OBJECT,
    fields={
        "name": STRING,
        "waiting": INT,
        "oldest_wait_seconds": DOUBLE,
        "agents_logged_in": INT,
        "agents_available": INT,
        "eligible_agents": INT,
        "ewt_seconds": DOUBLE,
        "open": BOOL,
    },
)
# The declared type of each variable (docs/rules.md, "Variables"), as facts.py builds them.
VARIABLES: Mapping[str, Type] = {
    "contact": Type(
        OBJECT,
        fields={
            "channel": STRING,
            "queue": STRING,
            "skills": Type("map", INT),
            "priority": INT,
            "tags": Type("list", STRING),
            "attributes": OPEN_MAP,
            "external_id": STRING,
            "waited_seconds": DOUBLE,
            "queue_seconds": DOUBLE,
            "rule": STRING,
            "repeat": BOOL,
        },
    ),
    "customer": Type(
        OBJECT,
        fields={
            **dict.fromkeys(("id", "name", "tier", "language", "segment", "last_agent"), STRING),
            "lifetime_value": DOUBLE,
            "consent": OPEN_MAP,
            "extras": OPEN_MAP,
        },
    ),
    "queue": _QUEUE,
    "queues": Type(QUEUES, element=_QUEUE),
    "now": Type(
        OBJECT,
        fields={
            **dict.fromkeys(("hour", "minute", "weekday", "epoch_seconds"), INT),
            "date": STRING,
            "time": STRING,
        },
    ),
}
_CALLS: Mapping[str, Type] = {
    "has": BOOL,
    "open": BOOL,
    "size": INT,
    "int": INT,
    "uint": UINT,
    "double": DOUBLE,
    "string": STRING,
    "bytes": BYTES,
    "type": Type("type"),
    "duration": Type("duration"),
    "timestamp": Type("timestamp"),
    "matches": BOOL,
}
# CEL's timestamp getters: each gives an int
TIME_GETTERS = (
    "getFullYear",
    "getMonth",
    "getDayOfYear",
    "getDayOfMonth",
    "getDate",
    "getDayOfWeek",
    "getHours",
    "getMinutes",
    "getSeconds",
    "getMilliseconds",
)
_METHODS: Mapping[str, Type] = {
    "contains": BOOL,
    "startsWith": BOOL,
    "endsWith": BOOL,
    "matches": BOOL,
    "exists": BOOL,
    "all": BOOL,
    "exists_one": BOOL,
    "hasValue": BOOL,
    "size": INT,
    **dict.fromkeys(TIME_GETTERS, INT),
}
_TOKEN = re.compile(
    r"""(?P<str>[bB]?[rR]?(?:'''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"))
    |(?P<id>[A-Za-z_]\w*)|(?P<num>(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)[uU]?
    |\.\d+(?:[eE][+-]?\d+)?)|(?P<space>\s+)
    |(?P<op>&&|\|\||==|!=|<=|>=|.)""",
    re.S | re.X,
)
_RELATIONS = {"<", "<=", ">", ">=", "==", "!=", "in"}


class NotBoolean(ValueError):
    """Part of the condition (`part`) gives a `found` type where true or false is needed."""

    def __init__(self, part: str, found: Type, whole: bool) -> None:
        super().__init__(part)
        self.part, self.found, self.whole = part, found, whole

    def __str__(self) -> str:
        what = "gives" if self.whole else f"'{self.part}' is"
        return f"{what} {self.found.reads_as()}, not true or false"


class _Unreadable(Exception):
    """Not a shape this reader knows: the type is left unknown."""


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    start: int
    end: int


def _literal(token: _Token) -> Type:
    if token.kind == "str":
        return BYTES if token.text[:1] in "bB" else STRING
    text = token.text.lower()
    if text.endswith("u"):
        return UINT
    if not text.startswith("0x") and any(c in text for c in ".e"):
        return DOUBLE
    return INT


class _Reader:
    """Reads one expression, giving each sub-expression's type (and checking booleans)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = [
            _Token(m.lastgroup or "op", m.group(), m.start(), m.end())
            for m in _TOKEN.finditer(source)
            if m.lastgroup != "space"
        ]
        self.at = 0
        self.bound: set[str] = set()

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, text: str | None = None) -> _Token:
        token = self.peek()
        if token is None or (text is not None and token.text != text):
            raise _Unreadable(text)
        self.at += 1
        return token

    def is_next(self, *texts: str) -> bool:
        token = self.peek()
        return token is not None and token.kind in ("op", "id") and token.text in texts

    def text_from(self, start: int) -> str:
        return self.source[self.tokens[start].start : self.tokens[self.at - 1].end].strip()

    def need_bool(self, start: int, found: Type) -> None:
        if found.name not in (DYN, "bool"):
            raise NotBoolean(self.text_from(start), found, whole=False)

    def expression(self) -> Type:
        start, condition = self.at, self.disjunction()
        if not self.is_next("?"):
            return condition
        self.need_bool(start, condition)
        self.take("?")
        yes = self.disjunction()
        self.take(":")
        return _either(yes, self.expression())

    def _logic(self, op: str, operand: Callable[[], Type]) -> Type:
        start, found = self.at, operand()
        if not self.is_next(op):
            return found
        self.need_bool(start, found)
        while self.is_next(op):
            self.take(op)
            start = self.at
            self.need_bool(start, operand())
        return BOOL

    def disjunction(self) -> Type:
        return self._logic("||", self.conjunction)

    def conjunction(self) -> Type:
        return self._logic("&&", self.relation)

    def relation(self) -> Type:
        found = self.addition()
        while self.is_next(*_RELATIONS):
            self.take()
            self.addition()
            found = BOOL
        return found

    def addition(self) -> Type:
        found = self.multiplication()
        while self.is_next("+", "-"):
            self.take()
            found = _arithmetic(found, self.multiplication())
        return found

    def multiplication(self) -> Type:
        found = self.unary()
        while self.is_next("*", "/", "%"):
            self.take()
            found = _arithmetic(found, self.unary())
        return found

    def unary(self) -> Type:
        if self.is_next("!"):
            self.take()
            start, found = self.at, self.unary()
            self.need_bool(start, found)
            return BOOL
        if self.is_next("-"):
            self.take()
            return self.unary()
        return self.member()

    def arguments(self, closing: str) -> list[Type]:
        found: list[Type] = []
        while not self.is_next(closing):
            found.append(self.expression())
            if not self.is_next(closing):
                self.take(",")
        self.take(closing)
        return found

    def member(self) -> Type:
        found = self.primary()
        while True:
            if self.is_next("."):
                self.take(".")
                name = self.take()
                if name.kind != "id":
                    raise _Unreadable(name.text)
                if self.is_next("("):
                    found = self.method(found, name.text)
                else:
                    found = _field(found, name.text)
            elif self.is_next("["):
                self.take("[")
                self.expression()
                self.take("]")
                found = _index(found)
            else:
                return found

    def method(self, target: Type, name: str) -> Type:
        self.take("(")
        macro = name in ("all", "exists", "exists_one", "map", "filter")
        variable = self.peek()
        if macro and variable is not None and variable.kind == "id":
            self.bound.add(variable.text)
        self.arguments(")")
        if name in ("map", "filter"):
            return Type("list", ANY if name == "map" else target.element)
        return _METHODS.get(name, ANY)

    def primary(self) -> Type:
        token = self.take()
        if token.kind in ("str", "num"):
            return _literal(token)
        if token.text == "(":
            found = self.expression()
            self.take(")")
            return found
        if token.text == "[":
            items = self.arguments("]")
            return Type("list", items[0] if items and all(i == items[0] for i in items) else ANY)
        if token.text == "{":
            self.map_entries()
            return OPEN_MAP
        if token.text == ".":
            token = self.take()
        if token.kind != "id":
            raise _Unreadable(token.text)
        if self.is_next("("):
            self.take("(")
            self.arguments(")")
            return _CALLS.get(token.text, ANY)  # dyn(), and any other function: not known
        if token.text in ("true", "false"):
            return BOOL
        if token.text == "null":
            return NULL
        if token.text in self.bound:
            return ANY
        return VARIABLES.get(token.text, ANY)

    def map_entries(self) -> None:
        while not self.is_next("}"):
            self.expression()
            self.take(":")
            self.expression()
            if not self.is_next("}"):
                self.take(",")
        self.take("}")


def _either(one: Type, other: Type) -> Type:
    """The type of `c ? one : other`: known when both branches agree (or one is unknown)."""
    if one.name == DYN:
        return other
    if other.name == DYN or one == other:
        return one
    return one if other.name == "bool" else other  # not one type: never just true/false


def _arithmetic(left: Type, right: Type) -> Type:
    if left.name == right.name and left.name != DYN:
        return left
    return ANY


def _field(target: Type, name: str) -> Type:
    if target.name == OBJECT and target.fields is not None:
        return target.fields.get(name, ANY)
    if target.name in ("map", QUEUES):
        return target.element or ANY
    return ANY


def _index(target: Type) -> Type:
    if target.name in ("list", "map", QUEUES):
        return target.element or ANY
    return ANY


def result_type(source: str) -> Type:
    """The type the expression gives (DYN when not knowable); NotBoolean for an operand of
    `!`, `&&`, `||` or a `?:` condition that is known not to be true or false."""
    reader = _Reader(source)
    try:
        found = reader.expression()
    except _Unreadable:
        return ANY
    return found if reader.peek() is None else ANY
