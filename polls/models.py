"""Models of this area. Stub: filled in by the issue that owns it."""
