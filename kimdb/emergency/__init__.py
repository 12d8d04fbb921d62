"""Emergency access ("break the glass"): a supervisor opens one case of an absent colleague."""
