"""Fair access when appointments are scarce (issue 15): a waiting list per service with offers of
freed times (``waiting_list.py``, ``offers.py``), release windows allocated by a seeded lottery
(``lottery.py``), the hooks the booking core calls (``hooks.py``), the citizen pages (``views.py``),
the staff page (``staff_views.py``), the API (``api.py``) and the worker jobs (``jobs.py``).

Submodules are imported directly (this ``__init__`` imports nothing, so ``hooks`` can be imported by
the slot engine without a cycle)."""
