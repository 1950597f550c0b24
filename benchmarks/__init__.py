"""Throughput, scaling, memory and wire-cost benchmarks that run the real services.

Entry point: ``python -m benchmarks`` (see ``--help``); results go to
benchmarks/results/*.json and the numbers are discussed in docs/BENCHMARKS.md.
"""
