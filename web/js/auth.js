// Sign-in through Cognito managed login: the OAuth 2.0 authorization code flow with PKCE (RFC 7636, S256).
// Tokens are kept in this module's memory only, never in storage a script injected later could read; a reload
// signs in again through managed login (its own session cookie makes that a redirect, not a form). The PKCE
// verifier and the state must survive the redirect, so they wait in sessionStorage and are removed on return.
// Hand-written rather than a library (amazon-cognito-identity-js, oidc-client-ts) to keep the page without a
// build chain and under its 100 KB budget: the flow is two requests.
// With "local": true (make local) there is no sign-in: the local app serves one fixed user.

const VERIFIER_KEY = "kit.pkce.verifier";
const STATE_KEY = "kit.pkce.state";
const REFRESH_EARLY_MS = 60_000; // refresh a minute before the ID token expires

let config = null;
let tokens = null; // {id, access, refresh, expiresAt}
let refreshTimer = 0;

function base64url(bytes) {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(size) {
  const bytes = new Uint8Array(size);
  crypto.getRandomValues(bytes);
  return base64url(bytes);
}

export async function challengeOf(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** Ready to call the API: true; false when the page is leaving for the login page. */
export async function start(pageConfig) {
  config = pageConfig;
  if (config.local) return true;
  const url = new URL(window.location.href);
  const code = url.searchParams.get("code");
  if (!code) {
    await login();
    return false;
  }
  const state = url.searchParams.get("state");
  const expected = sessionStorage.getItem(STATE_KEY);
  const verifier = sessionStorage.getItem(VERIFIER_KEY);
  sessionStorage.removeItem(STATE_KEY);
  sessionStorage.removeItem(VERIFIER_KEY);
  window.history.replaceState(null, "", config.redirectUri); // the code leaves the address bar and history
  if (!state || state !== expected || !verifier) {
    await login();
    return false;
  }
  await tokenRequest({
    grant_type: "authorization_code",
    code,
    redirect_uri: config.redirectUri,
    code_verifier: verifier,
  });
  return true;
}

export async function login() {
  tokens = null;
  const verifier = randomString(48);
  const state = randomString(16);
  sessionStorage.setItem(VERIFIER_KEY, verifier);
  sessionStorage.setItem(STATE_KEY, state);
  const query = new URLSearchParams({
    response_type: "code",
    client_id: config.clientId,
    redirect_uri: config.redirectUri,
    scope: "openid email",
    state,
    code_challenge: await challengeOf(verifier),
    code_challenge_method: "S256",
  });
  window.location.assign(`${config.cognitoDomain}/oauth2/authorize?${query}`);
}

export function logout() {
  tokens = null;
  clearTimeout(refreshTimer);
  if (config.local) return;
  const query = new URLSearchParams({ client_id: config.clientId, logout_uri: config.redirectUri });
  window.location.assign(`${config.cognitoDomain}/logout?${query}`);
}

async function tokenRequest(params) {
  const response = await fetch(`${config.cognitoDomain}/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: config.clientId, ...params }),
  });
  if (!response.ok) throw new Error(`the token endpoint answered ${response.status}`);
  const body = await response.json();
  tokens = {
    id: body.id_token,
    access: body.access_token,
    refresh: body.refresh_token || (tokens && tokens.refresh), // a refresh grant returns no new refresh token
    expiresAt: Date.now() + Number(body.expires_in || 3600) * 1000,
  };
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => refresh(), Math.max(5_000, tokens.expiresAt - Date.now() - REFRESH_EARLY_MS));
}

/** A new ID token from the refresh token; false when there is none or Cognito refused it. */
export async function refresh() {
  if (!tokens || !tokens.refresh) return false;
  try {
    await tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.refresh });
    return true;
  } catch {
    tokens = null;
    return false;
  }
}

/** The header API Gateway's Cognito authorizer reads: the ID token itself (no scopes are configured). */
export function authorization() {
  if (!config || config.local || !tokens) return {};
  return { authorization: tokens.id };
}

export async function freshAuthorization() {
  if (tokens && Date.now() > tokens.expiresAt - 30_000) await refresh();
  return authorization();
}
