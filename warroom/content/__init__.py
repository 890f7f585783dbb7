"""Files a team provides (message templates, runbooks), read from disk for the entry points.

The domain parses and renders; this package only finds and reads the files, so the dashboard
and the CLI load them the same way and report a bad file the same way.
"""
