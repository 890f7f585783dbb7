"""Metrics: MTTD, MTTA, MTTR, MTTF and incidents per month against their targets."""
