"""Data protection for one client: consent withdrawal and erasure (R2), retention purge, and
the Art. 15 GDPR export (issue 6 items 4-6)."""
