// The chat page: reads config.json beside index.html, signs in (or not, locally), then chats.

import * as auth from "./auth.js";
import { ApiError, createApi } from "./api.js";
import { AnswerView, addUserTurn, announce, clearTurns, countdown, page, showPickers } from "./ui.js";
import { createTelemetry } from "./telemetry.js";

let api;
let telemetry;
let busy = false;
let waiting = false; // a 429 countdown runs

function setBusy(value) {
  busy = value;
  page.send.disabled = busy || waiting;
  for (const button of page.messages.querySelectorAll(".regenerate")) button.disabled = busy || waiting;
}

function requestBody(message) {
  const body = { message, session_id: telemetry.sessionId };
  if (!page.architecturePicker.hidden && page.architecture.value) body.architecture = page.architecture.value;
  if (!page.taskPicker.hidden && page.task.value) body.task = page.task.value;
  return body;
}

function tooManyRequests(error) {
  const seconds = error.retryAfter ?? 60;
  waiting = true;
  setBusy(busy);
  announce(`Too many requests. You can send again in ${seconds} seconds.`);
  countdown(
    seconds,
    (left) => `You have sent too many requests. You can send again in ${left} s.`,
    () => {
      waiting = false;
      setBusy(busy);
      announce("You can send messages again.");
    },
  );
}

/** Streams one answer into `view`; the request body is `body`. */
async function ask(view, body) {
  setBusy(true);
  let finished = false;
  try {
    for await (const { event, data, receivedAt } of api.chat(body)) {
      if (event === "delta") view.append(data.text, receivedAt);
      else if (event === "citations") view.citations(data.items);
      else if (event === "blocked") {
        view.blocked(data);
        announce("The answer was withheld by the content policy.");
        finished = true;
      } else if (event === "done") {
        view.done(data);
        finished = true;
      } else if (event === "error") {
        const retry = data.code.endsWith("THROTTLED") ? " Please try again in a moment." : "";
        view.failed(`The answer failed (${data.code}).${retry}`, data.request_id);
        finished = true;
      }
    }
    if (!finished) view.failed("The answer was cut off. Please try again.", view.requestId);
    return true;
  } catch (error) {
    if (!(error instanceof ApiError)) {
      view.failed("The API could not be reached. Please try again.");
      return true;
    }
    if (error.status === 429) {
      tooManyRequests(error);
      return false;
    }
    view.failed(`${error.message} (${error.code}).`, error.requestId);
    return true;
  } finally {
    setBusy(false);
  }
}

async function onSubmit(event) {
  event.preventDefault();
  const message = page.message.value.trim();
  if (!message || busy || waiting) return;
  const turn = addUserTurn(message);
  page.message.value = "";
  const body = requestBody(message);
  const view = new AnswerView();
  wire(view, body);
  if (!(await ask(view, body))) {
    view.remove(); // not sent: the message goes back into the box
    turn.remove();
    page.message.value = message;
  }
}

function wire(view, body) {
  const b = view.buttons;
  b.copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(view.text);
      announce("Answer copied.");
    } catch {
      announce("Copying is not allowed here.");
      return;
    }
    telemetry.event("copy", view.requestId);
  });
  b.regenerate.addEventListener("click", async () => {
    if (busy || waiting) return;
    const previous = view.requestId;
    telemetry.event("regenerate", previous);
    view.reset();
    announce("Regenerating the answer.");
    if (await ask(view, { ...body, session_id: telemetry.sessionId })) b.regenerate.focus();
    else view.failed("The answer could not be regenerated yet: too many requests. Please try again later.");
  });
  b.up.addEventListener("click", async () => {
    await rate(view, "up");
  });
  b.down.addEventListener("click", () => {
    view.reason.hidden = false;
    view.reason.querySelector("input[name=reason]:checked").focus();
  });
  b.cancel.addEventListener("click", () => {
    view.reason.hidden = true;
    b.down.focus();
  });
  view.reason.addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(view.reason);
    await rate(view, "down", String(form.get("reason")), String(form.get("comment") || "").trim() || null);
    view.reason.hidden = true;
    b.down.focus();
  });
}

async function rate(view, rating, reason = null, comment = null) {
  try {
    await telemetry.feedback(view.requestId, rating, reason, comment);
  } catch (error) {
    announce(`The feedback was not recorded (${error.code || "network"}).`);
    return;
  }
  view.buttons.up.setAttribute("aria-pressed", String(rating === "up"));
  view.buttons.down.setAttribute("aria-pressed", String(rating === "down"));
  announce("Thank you for the feedback.");
}

async function main() {
  const config = await (await fetch("config.json", { cache: "no-store" })).json();
  if (!(await auth.start(config))) return; // on the way to the login page
  api = createApi(config.apiUrl.replace(/\/$/, ""), {
    headers: auth.freshAuthorization,
    refresh: auth.refresh,
    unauthorized: () => {
      if (!config.local) auth.login(); // a 401 that a refreshed token does not cure leads back to login
    },
  });
  telemetry = createTelemetry(api, { local: config.local, authorization: auth.authorization });
  page.mode.textContent = config.local ? "Local mode: signed in as the local user" : "";
  page.signOut.hidden = config.local;
  page.signOut.addEventListener("click", () => {
    telemetry.end();
    auth.logout();
  });
  page.newChat.addEventListener("click", () => {
    telemetry.end();
    clearTurns();
    telemetry.start();
    page.message.focus();
    announce("New chat started.");
  });
  showPickers(config.architectures || [], config.tasks || []);
  page.form.addEventListener("submit", onSubmit);
  page.skip.addEventListener("click", (event) => {
    event.preventDefault();
    page.message.focus();
  });
  page.message.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      page.form.requestSubmit();
    }
  });
  window.addEventListener("pagehide", () => telemetry.end());
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) telemetry.start(); // back from the back-forward cache: a new session
  });
  await telemetry.start();
  document.body.dataset.ready = "true";
}

main().catch((error) => {
  page.notice.hidden = false;
  page.notice.textContent = `The page could not start: ${error.message}`;
});
