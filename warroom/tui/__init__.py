"""The full-screen Textual dashboard. The only layer that imports Textual."""
