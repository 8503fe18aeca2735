"""`config.json`: what the chat page (web/) reads at start, written beside index.html at deploy.

The page's contract with the stacks and with local mode: the API base URL, the region, the user pool and app client,
the Cognito managed-login origin, the redirect URI, the architectures and tasks a request may name, and `local`
(true only under `make local`, which serves its own file). Deploy-time ids are CloudFormation tokens here; the
deployment custom resource substitutes them when it writes the file.
"""

from __future__ import annotations

from collections.abc import Sequence

CONFIG_FILE = "config.json"


def page_config(
    *,
    site_url: str,
    region: str,
    user_pool_id: str,
    client_id: str,
    cognito_domain: str,
    architectures: Sequence[str],
    tasks: Sequence[str],
) -> dict[str, object]:
    """The deployed page's configuration. ``site_url`` is the distribution's `https://<domain>` (no trailing slash):
    the API is served from the same origin, so `apiUrl` is the site itself and `redirectUri` its root page."""
    return {
        "apiUrl": site_url,
        "region": region,
        "userPoolId": user_pool_id,
        "clientId": client_id,
        "cognitoDomain": cognito_domain,
        "redirectUri": f"{site_url}/",
        "architectures": list(architectures),
        "tasks": list(tasks),
        "local": False,
    }
