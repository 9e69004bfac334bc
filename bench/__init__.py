"""Benchmarks run with `make bench`; they print numbers and never assert timings."""
