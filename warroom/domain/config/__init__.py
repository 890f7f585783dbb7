"""Configuration: the validated model of warroom.toml and its field types."""
