"""Simulation and benchmarks that drive the real policy and store."""
