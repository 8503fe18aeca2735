// The page's DOM. Text from the API always goes in as text (textContent, text nodes), never as HTML.

const $ = (selector, root = document) => root.querySelector(selector);

export const page = {
  skip: $(".skip"),
  messages: $("#messages"),
  notice: $("#notice"),
  form: $("#composer"),
  message: $("#message"),
  send: $("#send"),
  architecture: $("#architecture"),
  architecturePicker: $("#architecture-picker"),
  task: $("#task"),
  taskPicker: $("#task-picker"),
  status: $("#status"),
  mode: $("#mode"),
  newChat: $("#new-chat"),
  signOut: $("#sign-out"),
};

/** Say `text` through the polite status region (screen readers read it once). */
export function announce(text) {
  page.status.textContent = "";
  requestAnimationFrame(() => {
    page.status.textContent = text;
  });
}

function options(select, values, labels = {}) {
  select.replaceChildren(
    ...values.map((value) => {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = labels[value] || value;
      return option;
    }),
  );
}

/** The architecture and task pickers, shown only when the deployment offers a choice. */
export function showPickers(architectures, tasks) {
  options(page.architecture, architectures);
  page.architecturePicker.hidden = architectures.length < 2;
  const refreshTasks = () => {
    const needsTask = page.architecture.value === "multi-task"; // multi-task always names its task
    options(page.task, needsTask ? tasks : ["", ...tasks], { "": "Default" });
    page.taskPicker.hidden = tasks.length === 0 || (tasks.length === 1 && !needsTask);
  };
  page.architecture.addEventListener("change", refreshTasks);
  refreshTasks();
}

export function addUserTurn(text) {
  const turn = document.createElement("p");
  turn.className = "turn user";
  turn.textContent = text;
  page.messages.append(turn);
  return turn;
}

export function clearTurns() {
  page.messages.replaceChildren();
}

/** One answer as it streams, then its citations, actions and feedback form. */
export class AnswerView {
  constructor() {
    this.el = $("#answer-template").content.firstElementChild.cloneNode(true);
    this.textEl = $(".text", this.el);
    this.citationsEl = $(".citations", this.el);
    this.actions = $(".actions", this.el);
    this.reason = $(".reason", this.el);
    this.buttons = {
      copy: $(".copy", this.el),
      regenerate: $(".regenerate", this.el),
      up: $(".up", this.el),
      down: $(".down", this.el),
      cancel: $(".cancel", this.el),
    };
    this.reset();
    page.messages.append(this.el);
  }

  reset() {
    this.text = "";
    this.requestId = null;
    this.measured = false;
    this.el.classList.remove("blocked", "failed");
    this.el.setAttribute("aria-busy", "false");
    this.textEl.replaceChildren();
    this.citationsEl.hidden = true;
    $("ol", this.citationsEl).replaceChildren();
    this.actions.hidden = true;
    this.reason.hidden = true;
    this.buttons.up.setAttribute("aria-pressed", "false");
    this.buttons.down.setAttribute("aria-pressed", "false");
  }

  /** Appends streamed text; the first delta's time from its bytes' arrival to the DOM is measured. */
  append(text, receivedAt) {
    this.text += text;
    this.textEl.append(document.createTextNode(text));
    if (!this.measured && receivedAt !== undefined) {
      this.measured = true;
      performance.measure("kit:first-token", { start: receivedAt, end: performance.now() });
      requestAnimationFrame(() => performance.measure("kit:first-token-frame", { start: receivedAt }));
    }
  }

  citations(items) {
    if (!items || !items.length) return;
    const list = $("ol", this.citationsEl);
    list.replaceChildren(
      ...items.map((item) => {
        const entry = document.createElement("li");
        const source = document.createElement("span");
        source.className = "source";
        source.textContent = item.source.split("/").pop() || item.source;
        source.title = item.source;
        const excerpt = document.createElement("blockquote");
        excerpt.textContent = item.text;
        entry.append(source, excerpt);
        return entry;
      }),
    );
    this.citationsEl.hidden = false;
  }

  /** The content policy withheld the answer: the partial text is replaced by a polite notice. */
  blocked(data) {
    this.text = "";
    this.requestId = data.request_id;
    this.el.classList.add("blocked");
    this.citationsEl.hidden = true;
    const code = document.createElement("code");
    code.textContent = data.request_id;
    this.textEl.replaceChildren(
      `Sorry, I can't help with that. ${data.message} If you think this is a mistake, please contact support ` +
        "and quote request id ",
      code,
      ".",
    );
  }

  failed(message, requestId) {
    this.el.classList.add("failed");
    const parts = [`${message}`];
    if (requestId) {
      const code = document.createElement("code");
      code.textContent = requestId;
      parts.push(" Request id ", code, ".");
    }
    this.textEl.replaceChildren(...parts);
  }

  done(meta) {
    this.requestId = meta.request_id;
    if (meta.citations && this.citationsEl.hidden) this.citations(meta.citations);
    this.actions.hidden = false;
  }

  remove() {
    this.el.remove();
  }
}

/** A countdown in the notice (e.g. from Retry-After); `onEnd` runs when it reaches zero. */
export function countdown(seconds, render, onEnd) {
  let left = seconds;
  page.notice.hidden = false;
  page.notice.textContent = render(left);
  const timer = setInterval(() => {
    left -= 1;
    if (left > 0) {
      page.notice.textContent = render(left);
      return;
    }
    clearInterval(timer);
    page.notice.hidden = true;
    page.notice.textContent = "";
    onEnd();
  }, 1000);
  return () => clearInterval(timer);
}
