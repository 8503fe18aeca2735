"""Shared runtime code: Powertools setup, AWS clients, safety library."""
