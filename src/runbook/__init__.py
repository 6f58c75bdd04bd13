"""runbook-miner: turn many recorded operational runs into evidence-backed runbooks."""

__version__ = "0.1.0"
