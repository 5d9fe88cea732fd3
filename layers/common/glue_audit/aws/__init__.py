"""AWS adapters: clients, Glue, the estate, quotas, tags, observability."""
