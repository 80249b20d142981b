"""Micro-benchmarks: each native piece against its pure-Python twin (pytest-benchmark)."""
