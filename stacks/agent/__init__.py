"""Agent stage: the use case's Bedrock agents (agent.yaml), their tools and tables."""
