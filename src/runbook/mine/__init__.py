"""Mining: many executions -> one consensus procedure."""
