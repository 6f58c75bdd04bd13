"""`python -m runbook` entry point."""

from runbook.cli import main

if __name__ == "__main__":
    main()
