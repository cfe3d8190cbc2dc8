"""Pure routing domain: values, ordering, eligibility and the matching policy (no I/O)."""
