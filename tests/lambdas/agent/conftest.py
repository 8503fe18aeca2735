"""Fixtures of the agent tests (tests/lambdas/agent/world.py)."""

from tests.lambdas.agent.world import tables

__all__ = ["tables"]
