"""Factories for core test data (users, locations, services, staff). Filled in by the foundation issue."""
