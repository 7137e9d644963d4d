"""Every rule of polls and suggestions, split by sub-domain (see each module's docstring)."""
