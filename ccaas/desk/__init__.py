"""The agent's desk: what an agent sees (offers, work, the customer) and what it does."""
