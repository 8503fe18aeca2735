"""Knowledge stage runtime: keeps the Bedrock knowledge base in sync with the curated data."""
