"""The async routing service: wake-ups, matching rounds, offer and wrap-up timers."""
