// The Api's routes (docs/api.md): JSON requests, and POST /chat/stream read as server-sent events.
// Each event is `event: <name>` and one `data:` line of JSON, then a blank line. Parsed here rather than with
// EventSource, which cannot POST nor send an Authorization header.

export class ApiError extends Error {
  constructor({ status, code, message, requestId = "", retryAfter = null }) {
    super(message);
    this.status = status;
    this.code = code;
    this.requestId = requestId;
    this.retryAfter = retryAfter;
  }
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date), or null. */
export function parseRetryAfter(value) {
  if (value === null || value === undefined || value === "") return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

async function errorOf(response) {
  let error = {};
  try {
    error = (await response.json()).error || {};
  } catch {
    // not JSON (a gateway's own page): the status says enough
  }
  return new ApiError({
    status: response.status,
    code: error.code || `HTTP_${response.status}`,
    message: error.message || response.statusText || "the request failed",
    requestId: error.request_id || response.headers.get("x-request-id") || "",
    retryAfter: parseRetryAfter(response.headers.get("retry-after")),
  });
}

function parseFrame(frame) {
  let event = "message";
  const data = [];
  for (const raw of frame.split("\n")) {
    const line = raw;
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (name === "event") event = value;
    else if (name === "data") data.push(value);
  }
  if (!data.length) return null;
  return { event, data: JSON.parse(data.join("\n")) };
}

/** The events of a text/event-stream body; `receivedAt` is performance.now() when their bytes were read. */
export async function* readEvents(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let carriageReturn = false; // a chunk ended with "\r": its "\n" may start the next one
  try {
    for (;;) {
      const { value, done } = await reader.read();
      const receivedAt = performance.now();
      let text = (carriageReturn ? "\r" : "") + (done ? "" : decoder.decode(value, { stream: true }));
      carriageReturn = !done && text.endsWith("\r");
      if (carriageReturn) text = text.slice(0, -1);
      buffer += text.replace(/\r\n?/g, "\n"); // SSE lines end with CRLF, LF or CR
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const parsed = parseFrame(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (parsed) yield { ...parsed, receivedAt };
        end = buffer.indexOf("\n\n");
      }
      if (done) break;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * A client of the API at `apiUrl`. `headers()` gives the Authorization header. On a 401, `refresh()` may get a
 * new token (resolves true) for one retry; when it cannot, or the retry is refused too, `unauthorized()` runs
 * (the page goes back to login) and the 401 is thrown.
 */
export function createApi(apiUrl, { headers, refresh, unauthorized }) {
  async function send(path, init, retried = false) {
    const response = await fetch(apiUrl + path, {
      ...init,
      headers: { ...init.headers, ...(await headers()) },
    });
    if (response.status === 401) {
      if (!retried && (await refresh())) return send(path, init, true);
      unauthorized();
    }
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  return {
    url: apiUrl,
    async postJson(path, body) {
      const response = await send(path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return response.json();
    },
    async *chat(body) {
      const response = await send("/chat/stream", {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify(body),
      });
      yield* readEvents(response.body);
    },
  };
}
