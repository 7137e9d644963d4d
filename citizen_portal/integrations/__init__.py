"""Connecting other software: API clients (OAuth 2.0 client credentials), the token endpoint, the
admin page for clients and their webhooks, the webhook API and ``flask api-clients``. Thin adapters
over ``citizen_portal.core.api_clients`` and ``citizen_portal.core.webhooks``."""
