"""Households (Bedarfsgemeinschaft, FAQ KIM NRW Q33): clients linked together; each member
with own counselling has an own case and counts as its own case."""
