"""Statistics and reporting: the annual KIM report (FDE NRW), anonymous and safe to publish."""
