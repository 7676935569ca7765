"""Benchmarks, run on demand; each reports ratios against a baseline of its own run."""
