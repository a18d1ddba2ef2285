"""Benchmarks: each entry times a subject against a floor measured in the same run."""
