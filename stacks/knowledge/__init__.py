"""Knowledge stage: the `Knowledge` stack (a Bedrock knowledge base over curated data) and knowledge.yaml's model.

- `stack`: `KnowledgeStack` and `KnowledgeProps`: the knowledge base, its ingestion sync and alarms.
- `settings`: `KnowledgeSettings`, the model of usecases/<id>/knowledge.yaml (vector store, chunking, sync).
"""
