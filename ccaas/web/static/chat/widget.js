// ccaas web chat widget: one <script src=".../chat/widget.js"> on any page. Options, as
// data- attributes of the tag: data-user-id and data-user-hash (a signed-in user: the hex
// HMAC-SHA256 of the id with the site's identity secret), data-name, data-email, data-title,
// data-open="true" (open at once). Protocol: docs/channels.md#web-chat.
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script) return;
  const base = new URL(script.src, location.href);
  const origin = base.origin;
  const opt = script.dataset;
  const storeKey = `ccaas-chat:${origin}`;
  const RETRY_MS = [500, 1000, 2000, 5000, 10000];

  const host = document.createElement("div");
  host.id = "ccaas-chat";
  const root = host.attachShadow({ mode: "open" });
  const page = opt.page === "true";
  root.innerHTML = `
<style>
  :host { all: initial; font: 14px/1.4 system-ui, sans-serif; color: #1f2933; }
  .launcher { position: fixed; right: 20px; bottom: 20px; border: 0; border-radius: 24px;
    padding: 12px 18px; background: #1d4ed8; color: #fff; font: inherit; cursor: pointer; }
  .panel { position: fixed; right: 20px; bottom: 20px; width: 340px; height: 480px;
    display: flex; flex-direction: column; background: #fff; border-radius: 10px;
    box-shadow: 0 6px 24px rgba(0,0,0,.18); overflow: hidden; }
  .panel.page { inset: 0; width: auto; height: auto; border-radius: 0; box-shadow: none; }
  header { display: flex; align-items: center; justify-content: space-between;
    padding: 10px 12px; background: #1d4ed8; color: #fff; }
  header button { background: none; border: 0; color: #fff; font: inherit; cursor: pointer; }
  .status { padding: 8px 12px; background: #eef2ff; color: #3730a3; font-size: 13px; }
  .messages { flex: 1; overflow-y: auto; padding: 10px; }
  .message { max-width: 80%; margin: 4px 0; padding: 6px 10px; border-radius: 10px;
    background: #eef1f4; white-space: pre-wrap; overflow-wrap: anywhere; }
  .message.customer { margin-left: auto; background: #dbe9ff; }
  .message.pending { opacity: .6; }
  form { display: flex; flex-direction: column; gap: 6px; padding: 10px; border-top: 1px solid #e4e7eb; }
  input, textarea { font: inherit; padding: 6px 8px; border: 1px solid #cbd2d9; border-radius: 6px; }
  textarea { resize: none; height: 56px; }
  form button { padding: 8px; border: 0; border-radius: 6px; background: #1d4ed8; color: #fff; font: inherit; cursor: pointer; }
  .hidden { display: none !important; }
  .error { color: #b42318; font-size: 13px; }
</style>
<button class="launcher" data-testid="chat-launcher" aria-label="Chat with us">Chat with us</button>
<section class="panel hidden" role="dialog" aria-label="Chat">
  <header><span data-testid="chat-title"></span>
    <button data-testid="chat-end" aria-label="End the chat">End chat</button></header>
  <div class="status" data-testid="chat-status" aria-live="polite"></div>
  <div class="messages" data-testid="chat-messages" aria-live="polite"></div>
  <form data-testid="chat-start-form">
    <input name="name" placeholder="Your name (optional)" autocomplete="name" data-testid="chat-name">
    <input name="email" type="email" placeholder="Your email (optional)" autocomplete="email" data-testid="chat-email">
    <textarea name="text" placeholder="How can we help?" required maxlength="4000" data-testid="chat-first"></textarea>
    <button type="submit" data-testid="chat-start">Start chat</button>
    <div class="error" data-testid="chat-error"></div>
  </form>
  <form class="hidden" data-testid="chat-reply-form">
    <textarea name="text" placeholder="Type a message" aria-label="Message" maxlength="4000" data-testid="chat-text"></textarea>
    <button type="submit" data-testid="chat-send">Send</button>
  </form>
</section>`;
  const $ = (sel) => root.querySelector(sel);
  const launcher = $(".launcher"), panel = $(".panel"), status = $(".status");
  const list = $(".messages"), startForm = $("[data-testid=chat-start-form]");
  const replyForm = $("[data-testid=chat-reply-form]"), endButton = $("[data-testid=chat-end]");
  $("[data-testid=chat-title]").textContent = opt.title || "Chat with us";
  if (page) panel.classList.add("page");
  if (opt.name) startForm.elements.name.value = opt.name;
  if (opt.email) startForm.elements.email.value = opt.email;

  let socket = null, attempt = 0, ended = false, opened = false;
  const shown = new Set();
  // what the customer sent that the server has not acknowledged yet: sent (again) once the
  // socket is open, with the same id, so nothing typed during a drop is lost or doubled
  const outbox = new Map();

  function saved() {
    try { return JSON.parse(localStorage.getItem(storeKey) || "null"); } catch { return null; }
  }
  function visitorId() {
    let id = localStorage.getItem("ccaas-visitor");
    if (!id) {
      id = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
      localStorage.setItem("ccaas-visitor", id);
    }
    return id;
  }
  function ordinal(n) {
    const s = { 1: "st", 2: "nd", 3: "rd" }[n % 10];
    return n + ((n % 100 >= 11 && n % 100 <= 13) || !s ? "th" : s);
  }
  function place(position, ewt) {
    if (!position) return "Waiting for an agent";
    const where = position === 1 ? "You are next" : `You are ${ordinal(position)}`;
    if (ewt === null || ewt === undefined) return where;
    if (ewt < 60) return `${where} — less than a minute`;
    const minutes = Math.round(ewt / 60);
    return `${where} — about ${minutes} minute${minutes === 1 ? "" : "s"}`;
  }
  function say(text) { status.textContent = text; }
  function add(message) {
    if (message.id && shown.has(message.id)) return;
    if (message.id) shown.add(message.id);
    const item = document.createElement("div");
    item.className = `message ${message.from}`;
    item.dataset.testid = "chat-message";
    item.textContent = message.text;
    list.append(item);
    list.scrollTop = list.scrollHeight;
    if (message.from === "agent" && message.id) read(message.id);
  }
  function read(messageId) {
    if (document.visibilityState === "visible") send({ type: "read", message_id: messageId });
  }
  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }
  function flush() {
    for (const frame of outbox.values()) send(frame);
  }
  function pending(frame) {
    const item = document.createElement("div");
    item.className = "message customer pending";
    item.dataset.testid = "chat-message";
    item.dataset.pending = frame.id;
    item.textContent = frame.text;
    list.append(item);
    list.scrollTop = list.scrollHeight;
  }
  function chatting(on) {
    startForm.classList.toggle("hidden", on);
    replyForm.classList.toggle("hidden", !on);
    endButton.classList.toggle("hidden", !on);
  }
  function finish(words) {
    ended = true;
    outbox.clear();
    localStorage.removeItem(storeKey);
    say(words);
    replyForm.classList.add("hidden");
    endButton.classList.add("hidden");
    startForm.classList.remove("hidden");
    startForm.elements.text.value = "";
    if (socket) socket.close();
  }

  function connect(conversation) {
    ended = false;
    const url = new URL("/v1/chat/ws", origin);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("token", conversation.token);
    socket = new WebSocket(url);
    opened = false;
    socket.onopen = () => { attempt = 0; opened = true; };
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      switch (frame.type) {
        case "snapshot":
          list.textContent = ""; shown.clear();
          (frame.messages || []).forEach(add);
          for (const waiting of outbox.values()) pending(waiting);
          flush();
          if (frame.state === "completed" || frame.state === "abandoned") return finish("This chat has ended.");
          say(frame.agent ? `You are chatting with ${frame.agent.name}` : place(frame.position, frame.ewt_seconds));
          break;
        case "position": say(place(frame.position, frame.ewt_seconds)); break;
        case "connected": say(`You are chatting with ${frame.agent ? frame.agent.name : "an agent"}`); break;
        case "waiting": say("Waiting for an agent"); break;
        case "message": add(frame.message); break;
        case "ack":
          if (outbox.has(frame.id)) {
            outbox.delete(frame.id);
            const mine = list.querySelector(`[data-pending="${CSS.escape(frame.id)}"]`);
            if (mine) {
              if (shown.has(frame.message_id)) mine.remove();
              else { shown.add(frame.message_id); mine.classList.remove("pending"); delete mine.dataset.pending; }
            }
          }
          break;
        case "ended": finish(frame.reason === "closed" ? "You ended the chat." : "This chat has ended."); break;
        case "error": say(frame.problem ? frame.problem.detail : "Something went wrong"); break;
      }
    };
    socket.onclose = async () => {
      socket = null;
      if (ended) return;
      const again = saved();
      if (!again || again.expires_at <= Date.now()) return finish("This chat has ended.");
      if (!opened && await refused(again)) return finish("This chat has ended. Start a new one below.");
      const wait = RETRY_MS[Math.min(attempt++, RETRY_MS.length - 1)];
      say("Reconnecting…");
      setTimeout(() => { const next = saved(); if (next && !ended) connect(next); }, wait);
    };
    chatting(true);
  }

  // a socket that never opened: was the token refused (the chat is gone), or is it the network?
  async function refused(conversation) {
    try {
      const url = new URL("/v1/chat/ws", origin);
      url.searchParams.set("token", conversation.token);
      const answer = await fetch(url);
      return answer.status === 401 || answer.status === 404;
    } catch {
      return false; // no answer at all: the network, so try again
    }
  }

  async function start(event) {
    event.preventDefault();
    const form = startForm.elements;
    const body = { text: form.text.value.trim(), visitor_id: visitorId() };
    if (!body.text) return;
    if (form.name.value.trim()) body.name = form.name.value.trim();
    if (form.email.value.trim()) body.email = form.email.value.trim();
    if (opt.userId && opt.userHash) { body.user_id = opt.userId; body.user_hash = opt.userHash; }
    $("[data-testid=chat-error]").textContent = "";
    try {
      const answer = await fetch(new URL("/v1/chat/conversations", origin), {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      const data = await answer.json();
      if (!answer.ok) throw new Error(data.detail || `error ${answer.status}`);
      localStorage.setItem(storeKey, JSON.stringify(data));
      list.textContent = ""; shown.clear();
      say("Waiting for an agent");
      connect(data);
    } catch (error) {
      $("[data-testid=chat-error]").textContent = `Sorry, we could not start the chat: ${error.message}`;
    }
  }

  function reply(event) {
    event.preventDefault();
    const box = replyForm.elements.text;
    const text = box.value.trim();
    if (!text) return;
    box.value = "";
    const frame = { type: "message", id: crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`, text };
    outbox.set(frame.id, frame);
    pending(frame);
    send(frame);
  }

  function open() {
    launcher.classList.add("hidden");
    panel.classList.remove("hidden");
    const conversation = saved();
    if (conversation && conversation.expires_at > Date.now() && !socket) connect(conversation);
    else chatting(false);
  }

  launcher.addEventListener("click", open);
  startForm.addEventListener("submit", start);
  replyForm.addEventListener("submit", reply);
  replyForm.elements.text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) reply(event);
  });
  endButton.addEventListener("click", () => send({ type: "close", id: "close" }));
  (document.body || document.documentElement).append(host);
  if (opt.open === "true" || saved()) open();
})();
