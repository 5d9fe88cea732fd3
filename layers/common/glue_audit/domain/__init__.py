"""The pure domain: states, worker sizes, the scheduling policy, schedules, events. No AWS."""
