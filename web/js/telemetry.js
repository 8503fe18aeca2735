// User telemetry (POST /events, POST /feedback): session start and end with its duration, copy, regenerate,
// thumbs up and down. One session per visit (and per "New chat"): its id is also the conversation's.
//
// The session's end is sent on `pagehide`, when only a request the browser keeps alive after the page is gone
// arrives. In local mode that is navigator.sendBeacon, as the issue asks. A beacon cannot carry an Authorization
// header, and the deployed API's Cognito authorizer refuses any request without one (a route that took the token
// in the body would have to verify JWTs itself, outside API Gateway). So the deployed page sends the same body
// with fetch(..., {keepalive: true}), which the browser also completes after unload and which carries the header.

export function createTelemetry(api, { local, authorization }) {
  let sessionId = crypto.randomUUID();
  let startedAt = performance.now();
  let ended = false;

  function post(path, body) {
    return api.postJson(path, body).catch(() => undefined); // telemetry never interrupts the user
  }

  const telemetry = {
    get sessionId() {
      return sessionId;
    },
    start() {
      sessionId = crypto.randomUUID();
      startedAt = performance.now();
      ended = false;
      return post("/events", { session_id: sessionId, kind: "session_start" });
    },
    event(kind, requestId) {
      return post("/events", { session_id: sessionId, kind, request_id: requestId });
    },
    feedback(requestId, rating, reason = null, comment = null) {
      const body = { session_id: sessionId, request_id: requestId, rating };
      if (reason) body.reason = reason;
      if (comment) body.comment = comment;
      return api.postJson("/feedback", body);
    },
    /** The session's end with its duration in seconds; sent once, also while the page unloads. */
    end() {
      if (ended) return false;
      ended = true;
      const duration = Math.round(performance.now() - startedAt) / 1000;
      const body = JSON.stringify({ session_id: sessionId, kind: "session_end", duration_seconds: duration });
      const url = `${api.url}/events`;
      if (local) return navigator.sendBeacon(url, new Blob([body], { type: "application/json" }));
      fetch(url, {
        method: "POST",
        keepalive: true,
        headers: { "content-type": "application/json", ...authorization() },
        body,
      }).catch(() => undefined);
      return true;
    },
  };
  return telemetry;
}
