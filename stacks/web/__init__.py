"""Web stage: the chat page on CloudFront, same-origin with the Api (issue 12).

- `stack`: `WebStack` and `WebProps`: the page's SecureBucket behind CloudFront with origin access control, the
  Api routed through the same distribution, the deploy-time `config.json`, and the invalidation on deploy.
- `headers`: the response headers policy (strict CSP, HSTS, nosniff, frame-ancestors 'none', referrer policy).
- `login`: the Cognito managed-login domain and the page's own app client (authorization code + PKCE).
- `page_config`: the `config.json` contract between the stack and web/ (and `make local`).
"""
