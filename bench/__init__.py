"""Benchmark for runbook-miner: simulated ground truth, scorer, baselines and scale runs.

Run with ``python -m bench``; results go to ``bench/RESULTS.md``. Not part of the test suite.
"""
