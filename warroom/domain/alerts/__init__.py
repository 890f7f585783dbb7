"""Alerts: wire formats, routing to services and policies, what an alert does to an incident."""
