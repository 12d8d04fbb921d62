"""Substitution (Vertretungsregelung), takeover (Vorgangsübernahme) and reassignment (R7)."""
