"""Rendering: `Runbook` -> markdown / JSON."""
