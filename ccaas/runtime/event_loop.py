"""Runs the engine's coroutines on uvloop where it is installed, else on asyncio's own loop.

uvloop's faster socket and callback handling cuts the router's time per Redis round trip,
measured on the arrival-to-offer path (`ccaas bench routing --rate`): see docs/routing.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on the fastest loop available."""
    try:
        import uvloop
    except ImportError:  # not built for this platform (Windows): asyncio's loop works too
        return asyncio.run(main)
    return uvloop.run(main)
