"""Agent stage runtime: the action groups of the Bedrock agents and the loader that feeds their tables."""
