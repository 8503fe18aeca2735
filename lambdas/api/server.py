"""The chat app with its real dependencies, as uvicorn serves it (`lambdas/api/run.sh`, docs/api.md).

``app`` is what uvicorn loads (``api.server:app``). Importing this module is light (Starlette and the app's
own modules): the dependencies (boto3 clients, the safety chain, the request pipeline, the stores, Powertools)
are built by `real_deps` when uvicorn starts the app (ASGI lifespan), before the server opens its port, so
the Lambda Web Adapter's readiness check passes only once everything is ready; no request pays for it.

Environment:

- ``API_SETTINGS``: the JSON of `api.contract.ApiSettings`; ``SAFETY_SETTINGS``: the JSON of
  `common.safety.policy.SafetySettings` (both written by the Api stack).
- ``POWERTOOLS_SERVICE_NAME``, ``POWERTOOLS_LOG_LEVEL``: Powertools' own.
- ``KIT_LOCAL_USER`` (local runs only): ``"<user id>[:<group>,...]"``; when set, a request without the Lambda
  Web Adapter's ``x-amzn-request-context`` header is served as that user. It is refused inside Lambda
  (``AWS_LAMBDA_FUNCTION_NAME`` set), where API Gateway's Cognito authorizer is the only identity.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from api.app import LOCAL_USER_ENV, AppDependencies, create_app

LAMBDA_ENV = "AWS_LAMBDA_FUNCTION_NAME"


class EmfMetrics:
    """`api.app.MetricsRecorder` as CloudWatch embedded metric format lines (Powertools `single_metric`)."""

    def __init__(self, namespace: str, service: str | None = None) -> None:
        self._namespace = namespace
        self._defaults = {"service": service} if service else None

    def record(self, name: str, value: float, unit: str, dimensions: Mapping[str, str]) -> None:
        from aws_lambda_powertools.metrics import MetricUnit, single_metric  # noqa: PLC0415 - from the layer

        with single_metric(
            name=name,
            unit=MetricUnit(unit),
            value=value,
            namespace=self._namespace,
            default_dimensions=self._defaults,
        ) as metric:
            for key, dimension in dimensions.items():
                metric.add_dimension(name=key, value=dimension)


def local_mode(environ: Mapping[str, str]) -> bool:
    """Whether the app serves ``KIT_LOCAL_USER`` (set, and not inside Lambda)."""
    if LOCAL_USER_ENV not in environ:
        return False
    if environ.get(LAMBDA_ENV):
        raise RuntimeError(f"{LOCAL_USER_ENV} is for local runs only; unset it in the function's environment")
    return True


def real_deps(environ: Mapping[str, str]) -> AppDependencies:
    """Settings from the environment, boto3 clients once per process, the pipeline and the stores."""
    # the heavy part, at startup: boto3, Powertools, the safety library, the pipeline and the stores
    from aws_lambda_powertools import Logger, Metrics  # noqa: PLC0415
    from common.clients import client  # noqa: PLC0415

    from api.deployed_settings import settings_from_deployment  # noqa: PLC0415
    from api.store import Conversations, Quotas, Telemetry  # noqa: PLC0415
    from api.wiring import real_pipeline  # noqa: PLC0415

    settings, safety_settings = settings_from_deployment(environ)  # settings layer + deploy-time ids
    service = environ.get("POWERTOOLS_SERVICE_NAME") or f"{settings.usecase}-api"
    logger = Logger(service=service)
    pipeline = real_pipeline(settings, safety_settings, service=service, logger=logger)
    dynamodb = client("dynamodb")
    return AppDependencies(
        settings=settings,
        pipeline=pipeline,
        conversations=Conversations(settings.conversations_table, dynamodb, ttl_days=settings.conversation_days),
        quotas=Quotas(settings.quotas_table, dynamodb),
        telemetry=Telemetry(
            settings.telemetry_table, dynamodb, Metrics(namespace=settings.metrics_namespace, service=service)
        ),
        metrics=EmfMetrics(settings.metrics_namespace, service),
        logger=logger,
        local_user=environ.get(LOCAL_USER_ENV, "") or "local-user:users",
    )


class LazyApp:
    """An ASGI app that builds the real one at lifespan startup (or, without lifespan, at the first request)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self._app: Any = None

    def build(self) -> Any:
        if self._app is None:
            self._app = create_app(real_deps(self._environ), local=local_mode(self._environ))
        return self._app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.build()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": f"{type(exc).__name__}: {exc}"})
                    return
                await send({"type": "lifespan.startup.complete"})
                message = await receive()
            if message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
            return
        await self.build()(scope, receive, send)


app = LazyApp(os.environ)
