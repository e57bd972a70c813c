"""Benchmarks: each prints its figures and the ratio to a reference measured in the same run."""
