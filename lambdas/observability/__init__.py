"""Runtime code of the Observability stack: the model invocation logging custom resource."""
