"""Every rule of desk and room booking lives in this package, split by sub-domain:
``common`` (site settings, closures, actors), ``desks``, ``rooms``, ``blocks``, ``feeds``,
``presence``, ``occupancy`` and ``housekeeping`` (auto-release, retention)."""
