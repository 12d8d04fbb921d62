"""Structural findings (Systemmanagement, FAQ KIM NRW Q32): gaps and barriers in the local
service system seen in cases, aggregated for coordination and never linked to a client."""
