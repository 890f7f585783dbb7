"""The scriptable `warroom` command. Must not import Textual unless it opens the dashboard."""
