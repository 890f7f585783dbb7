"""Errors the domain raises when a command does not fit the incident's state.

They carry a message meant for the person at the keyboard: every entry point (CLI, dashboard,
alert receiver) shows it as it is, so it must say what was refused and what is allowed instead.
"""

from __future__ import annotations


class DomainError(Exception):
    """A command was refused because of the incident's current state or bad input."""


class InvalidInput(DomainError):
    """A value given by the user cannot be understood (bad severity, time, role...)."""


class TransitionRefused(DomainError):
    """A status, role or other state move that the workflow does not allow."""
