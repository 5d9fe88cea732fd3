"""One scheduler tick: lease, reconcile, usage, plan and claim."""
