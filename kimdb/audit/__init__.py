"""The audit log: who read or wrote which client's data, when, chained against tampering."""
