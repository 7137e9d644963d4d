"""The platform core: what every package shares. It imports no other project code."""
