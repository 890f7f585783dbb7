"""The pure domain of an incident: no I/O, no clock reads, no Textual.

Time is always passed in, so every timer, countdown and metric can be tested with a fixed clock.
"""
