#!/bin/bash
# The Api functions' handler under the Lambda Web Adapter (AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap runs this
# script, then forwards each invocation to http://127.0.0.1:$PORT). Code is in $LAMBDA_TASK_ROOT (this asset's
# root, lambdas/), the dependency layer in /opt/python. See docs/api.md.
PATH=$PATH:$LAMBDA_TASK_ROOT/bin \
    PYTHONPATH=$LAMBDA_TASK_ROOT:/opt/python:$PYTHONPATH \
    exec python -m uvicorn api.server:app --host 0.0.0.0 --port "${PORT:-8080}" --no-access-log --timeout-graceful-shutdown 1
