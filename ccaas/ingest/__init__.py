"""One way in for every channel: validate, resolve the customer, classify, hold, store."""
