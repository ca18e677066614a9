"""Benchmarks that compare Centralino with reference implementations and write JSON."""
