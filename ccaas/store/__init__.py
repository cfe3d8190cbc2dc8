"""Redis persistence: key names, atomic Lua transitions and the repositories built on them."""
