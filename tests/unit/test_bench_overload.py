"""How an overload run's event times become its figures: routed/s, loss and drain."""

from __future__ import annotations

from ccaas.sim.bench_routing import _overload_figures

SECOND = 1_000_000  # event `ts` are microseconds


def test_offers_after_the_last_arrival_are_the_drain_not_the_overload_rate() -> None:
    queued = [0, SECOND // 2, 2 * SECOND]  # three arrivals over 2 s
    offers = {"a": [SECOND], "b": [2 * SECOND], "c": [2 * SECOND + 250_000]}
    seen = _overload_figures(3, queued, offers)
    assert seen.arrival_per_s == 1.5
    assert seen.routed_per_s == 1.0  # two offers by the last arrival, over 2 s
    assert seen.drain_seconds == 0.25
    assert seen.lost == 0


def test_a_contact_never_offered_or_offered_twice_is_lost() -> None:
    queued = [0, 1, 2, 3]
    offers = {"a": [5], "b": [6, 9]}  # "b" twice; the other two never
    assert _overload_figures(4, queued, offers).lost == 3
