"""The public status page's model: what customers were told, built from the room (pure)."""
