"""The audit ledger: PynamoDB models and its conditional, monotonic writes."""
