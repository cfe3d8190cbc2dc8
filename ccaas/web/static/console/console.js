// The agent console: signs in, keeps one websocket (docs/websocket.md), shows offers with a
// countdown, the work held with its context and conversation, and sends the agent's commands.
// Text from customers is only ever set as textContent, never parsed as HTML.
"use strict";

const state = {
  token: null,
  agentId: null,
  expiresAt: 0,
  socket: null,
  lastSeq: "",
  retry: 0,
  offers: new Map(), // offer id -> offer frame
  work: new Map(), // contact id -> card (+ unread, left)
  selected: null,
  nextId: 1,
  pending: new Map(), // command id -> {resolve, reject}
  drafts: new Map(), // contact id -> what the agent has typed and not sent
  wrapDrafts: new Map(), // contact id -> {code, notes} chosen and not yet completed
  notified: new Set(), // offer ids a notification was shown for
  presence: "offline",
  replaced: false,
  notification: null,
};
const $ = (id) => document.getElementById(id);
const RETRY_MS = [500, 1000, 2000, 5000, 10000];

// an agent's message shows how far it got (queued, sent, delivered, read, failed: why)
function messageView(m) {
  const view = el("div", { class: `message ${m.from}`, dataset: { testid: "message" }, text: m.text });
  if (m.from === "agent" && m.delivery) {
    const why = m.delivery === "failed" && m.delivery_reason ? `: ${m.delivery_reason}` : "";
    view.append(el("span", { class: `delivery ${m.delivery}`, dataset: { testid: "delivery" }, text: m.delivery + why }));
  }
  return view;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key === "on") for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

// --- sign-in ---------------------------------------------------------------------------------
async function signIn(event) {
  event.preventDefault();
  $("signin-error").textContent = "";
  const body = { agent_id: $("agent-id").value.trim(), password: $("password").value };
  let answer;
  try {
    answer = await fetch("/v1/auth/sign-in", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch (error) {
    $("signin-error").textContent = "The engine cannot be reached.";
    return;
  }
  const result = await answer.json().catch(() => ({}));
  if (!answer.ok) {
    $("signin-error").textContent = result.detail || `Sign-in refused (${answer.status}).`;
    return;
  }
  sessionStorage.setItem("ccaas.session", JSON.stringify(result));
  $("password").value = "";
  start(result);
}

function start(session) {
  setTimeout(loadQueues, 0);
  state.token = session.token;
  state.agentId = session.agent_id;
  state.expiresAt = session.expires_at;
  state.replaced = false;
  $("signin").hidden = true;
  $("desk").hidden = false;
  $("agent-name").textContent = session.agent_id;
  if ("Notification" in window && Notification.permission === "default") {
    Notification.requestPermission().catch(() => {});
  }
  connect();
}

function signOut() {
  sessionStorage.removeItem("ccaas.session");
  state.token = null;
  state.lastSeq = ""; // the next sign-in starts from a snapshot
  state.retry = 0;
  if (state.socket) state.socket.close(1000, "signed out");
  state.offers.clear();
  state.work.clear();
  state.selected = null;
  $("desk").hidden = true;
  $("signin").hidden = false;
  render();
}

// --- the websocket ---------------------------------------------------------------------------
function connect() {
  if (!state.token) return;
  if (Date.now() / 1000 > state.expiresAt) {
    signOut();
    $("signin-error").textContent = "Your sign-in expired: sign in again.";
    return;
  }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = new URLSearchParams({ access_token: state.token });
  if (state.lastSeq) query.set("last_seq", state.lastSeq);
  const socket = new WebSocket(`${scheme}://${location.host}/v1/agent/ws?${query}`);
  state.socket = socket;
  setConnection(state.retry ? "reconnecting" : "connecting");
  socket.onopen = () => {
    state.retry = 0;
    setConnection("connected");
  };
  socket.onmessage = (event) => receive(JSON.parse(event.data));
  socket.onclose = (event) => {
    if (state.socket !== socket) return;
    for (const { reject } of state.pending.values()) reject(new Error("connection lost"));
    state.pending.clear();
    if (event.code === 4003) {
      signOut();
      $("signin-error").textContent = "Your sign-in expired: sign in again.";
      return;
    }
    if (event.code === 4001 || state.replaced) {
      setConnection("offline");
      showBanner("This desk was opened somewhere else; this page no longer receives offers.");
      return;
    }
    if (!state.token) return;
    setConnection("reconnecting");
    const wait = RETRY_MS[Math.min(state.retry, RETRY_MS.length - 1)];
    state.retry += 1;
    setTimeout(connect, wait);
  };
}

function setConnection(status) {
  const node = $("connection");
  node.textContent = status;
  node.className = `connection ${status}`;
}

function send(command) {
  const id = String(state.nextId++);
  return new Promise((resolve, reject) => {
    if (!state.socket || state.socket.readyState !== WebSocket.OPEN) {
      reject(new Error("not connected: wait for the connection to come back"));
      return;
    }
    state.pending.set(id, { resolve, reject });
    state.socket.send(JSON.stringify({ ...command, id }));
  });
}

async function act(command) {
  try {
    return await send(command);
  } catch (error) {
    toast(error.message);
    return null;
  }
}

function receive(frame) {
  // an event of two frames marks the first `more`: resume from the seq of a whole event
  if (frame.seq && !frame.more) state.lastSeq = frame.seq;
  switch (frame.type) {
    case "ack":
    case "error": {
      const waiting = state.pending.get(frame.id);
      state.pending.delete(frame.id);
      if (!waiting) return;
      if (frame.type === "ack") waiting.resolve(frame.result || {});
      else waiting.reject(new Error(frame.problem.detail || frame.problem.title));
      return;
    }
    case "snapshot":
      state.offers = new Map(frame.offers.map((o) => [o.offer_id, localTimes(o)]));
      state.work = new Map(frame.work.map((card) => [card.contact_id, wrapUpTimes({ ...card, unread: 0 })]));
      if (state.selected && !state.work.has(state.selected)) state.selected = null;
      if (!state.selected && state.work.size) state.selected = state.work.keys().next().value;
      $("away-reason").replaceChildren(
        ...(frame.away_reasons || []).map((r) => el("option", { value: r, text: r })));
      $("next-presence").replaceChildren(
        el("option", { value: "", text: "stay" }),
        ...(frame.away_reasons || []).map((r) => el("option", { value: `away:${r}`, text: `away: ${r}` })),
        el("option", { value: "offline:", text: "offline" }));
      showNext(frame.agent.next_presence);
      setPresence(frame.agent.presence, frame.agent.away_reason || "");
      break;
    case "resumed":
      return;
    case "offer":
      state.offers.set(frame.offer_id, localTimes(frame));
      break;
    case "offer_ended":
      for (const [id, offer] of state.offers) {
        if (id === frame.offer_id || (!frame.offer_id && offer.contact_id === frame.contact_id)) {
          state.offers.delete(id);
        }
      }
      if (frame.reason === "timed_out") toast("An offer rang out: nobody answered it in time.");
      break;
    case "connected":
      state.work.set(frame.contact_id, { ...frame.card, unread: 0 });
      state.selected = frame.contact_id;
      break;
    case "card": {
      // what the console shows of a contact changed (its customer was erased): show it anew
      const item = state.work.get(frame.contact_id);
      if (item) {
        state.work.set(frame.contact_id, {
          ...frame.card, unread: item.unread, left: item.left, localWrapUpEnd: item.localWrapUpEnd,
        });
      }
      for (const offer of state.offers.values()) {
        if (offer.contact_id === frame.contact_id) offer.card = frame.card;
      }
      break;
    }
    case "customer_left": {
      const item = state.work.get(frame.contact_id);
      if (item) item.left = true;
      break;
    }
    case "message": {
      const item = state.work.get(frame.contact_id);
      if (!item) return;
      item.messages = item.messages || [];
      if (!item.messages.some((m) => m.id === frame.message.id)) {
        item.messages.push(frame.message);
        if (state.selected !== frame.contact_id || document.hidden) item.unread += 1;
      }
      break;
    }
    case "delivery": {
      const item = state.work.get(frame.contact_id);
      const message = item && (item.messages || []).find((m) => m.id === frame.message_id);
      if (message) Object.assign(message, { delivery: frame.state, delivery_reason: frame.reason });
      break;
    }
    case "presence":
      setPresence(frame.presence, frame.reason || "");
      showNext(null);
      break;
    case "next_presence":
      showNext(frame.presence ? { presence: frame.presence, reason: frame.reason } : null);
      break;
    case "wrap_up": {
      const item = state.work.get(frame.contact_id);
      if (item) {
        item.state = "wrap_up";
        item.wrap_up_remaining_ms = frame.remaining_ms;
        wrapUpTimes(item);
      }
      break;
    }
    case "wrap_up_ended":
      state.work.delete(frame.contact_id);
      if (state.selected === frame.contact_id) {
        state.selected = state.work.size ? state.work.keys().next().value : null;
      }
      break;
    case "transferred":
      state.work.delete(frame.contact_id);
      if (state.selected === frame.contact_id) {
        state.selected = state.work.size ? state.work.keys().next().value : null;
      }
      toast(`Transferred to ${frame.to_agent || frame.queue}.`);
      break;
    case "callback_scheduled": {
      state.work.delete(frame.contact_id);
      if (state.selected === frame.contact_id) {
        state.selected = state.work.size ? state.work.keys().next().value : null;
      }
      const at = new Date(frame.due_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      toast(`No answer: the callback is tried again at ${at}.`);
      break;
    }
    case "session_replaced":
      state.replaced = true;
      break;
    default:
      return;
  }
  render();
}

// Countdowns run on this PC's clock from the time left when the frame came, never from the
// server's deadline: a PC whose clock is off would show a wrong time left.
function localTimes(offer) {
  offer.localDeadline = Date.now() + Math.max(0, offer.remaining_ms || 0);
  return offer;
}

function wrapUpTimes(item) {
  if (item.state === "wrap_up" && item.wrap_up_remaining_ms !== undefined) {
    item.localWrapUpEnd = Date.now() + Math.max(0, item.wrap_up_remaining_ms);
  }
  return item;
}

// --- presence --------------------------------------------------------------------------------
function setPresence(presence, reason) {
  state.presence = presence;
  const select = $("presence");
  if ([...select.options].some((o) => o.value === presence)) select.value = presence;
  $("away-reason").hidden = presence !== "away";
  const note = presence === "away" && reason ? `away: ${reason}` : presence === "wrap_up" ? "in wrap-up" : "";
  $("presence-note").textContent = note;
}

function showNext(next) {
  $("next-presence").value = next ? `${next.presence}:${next.reason || ""}` : "";
}

async function chooseNext() {
  const [presence, reason] = $("next-presence").value.split(":");
  await act({ type: "next_presence", presence: presence || null, reason: reason || "" });
}

async function choosePresence() {
  const presence = $("presence").value;
  $("away-reason").hidden = presence !== "away";
  const reason = presence === "away" ? $("away-reason").value : "";
  await act({ type: "presence", presence, reason });
}

// --- rendering -------------------------------------------------------------------------------
function seconds(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function customerName(card) {
  const customer = card.customer || {};
  if (customer.name) return customer.name;
  const first = (customer.identities || [])[0];
  return first ? first.value : "unknown customer";
}

function firstWords(card) {
  const first = (card.messages || []).find((m) => m.from === "customer");
  if (first) return first.text;
  return card.attributes && card.attributes.subject ? card.attributes.subject : "";
}

function renderOffers() {
  const box = $("offers");
  box.replaceChildren();
  for (const offer of state.offers.values()) {
    const card = offer.card || {};
    box.append(
      el("article", { class: "offer", dataset: { testid: "offer", offer: offer.offer_id } },
        el("span", { class: "countdown", dataset: { testid: "countdown", deadline: offer.localDeadline } },
          seconds(offer.localDeadline - Date.now())),
        el("strong", { text: `${card.channel || ""} · ${card.queue || ""}` }),
        el("div", { text: customerName(card), dataset: { testid: "offer-customer" } }),
        el("div", { class: "first", text: firstWords(card) }),
        card.repeat ? el("div", { text: "repeat contact" }) : null,
        card.callback ? el("div", { class: "callback", dataset: { testid: "offer-callback" }, text: `Call back ${card.callback.number}` }) : null,
        el("div", { class: "actions" },
          el("button", { class: "primary", type: "button", dataset: { testid: "accept" },
            on: { click: () => accept(offer.offer_id) }, text: "Accept (a)" }),
          el("button", { class: "danger", type: "button", dataset: { testid: "reject" },
            on: { click: () => reject(offer.offer_id) }, text: "Reject (r)" }))));
  }
}

function renderWork() {
  const nav = $("work");
  nav.replaceChildren();
  for (const item of state.work.values()) {
    const label = `${item.channel} · ${customerName(item)}${item.left ? " (left)" : ""}`;
    const button = el("button", {
      type: "button",
      class: item.contact_id === state.selected ? "selected" : "",
      dataset: { testid: "work-item", contact: item.contact_id },
      on: { click: () => select(item.contact_id) },
    }, el("span", { text: label }));
    if (item.unread) button.append(el("span", { class: "unread", text: String(item.unread), dataset: { testid: "unread" } }));
    nav.append(button);
  }
}

function renderPanel() {
  const panel = $("panel");
  const old = $("composer");
  const wasTyping = old && document.activeElement === old;
  if (old) state.drafts.set(old.dataset.contact, old.value);
  const oldCode = $("wrap-up-code");
  const oldNotes = $("wrap-up-notes");
  if (oldCode && oldNotes) {
    state.wrapDrafts.set(oldCode.dataset.contact, { code: oldCode.value, notes: oldNotes.value });
  }
  const item = state.selected && state.work.get(state.selected);
  if (!item) {
    panel.replaceChildren(el("p", { class: "empty", text: "Nothing selected. Offers appear above; accept with a, reject with r." }));
    return;
  }
  if (!document.hidden) item.unread = 0; // read only when the agent can see it
  const customer = item.customer || {};
  const facts = el("dl", {},
    el("dt", { text: "Name" }), el("dd", { text: customer.name || "—" }),
    el("dt", { text: "Tier" }), el("dd", { text: customer.tier || "—" }),
    el("dt", { text: "Waited" }), el("dd", { text: seconds(item.waited_ms || 0) }),
    el("dt", { text: "Repeat" }), el("dd", { text: item.repeat ? "yes" : "no" }));
  const identities = el("ul", {}, ...(customer.identities || []).map((i) => el("li", { text: `${i.kind}: ${i.value}` })));
  const answers = el("ul", {}, ...Object.entries(item.attributes || {}).map(([k, v]) => el("li", { text: `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}` })));
  const history = el("ul", { dataset: { testid: "history" } }, ...(customer.history || []).map((h) =>
    el("li", { text: `${h.channel} ${h.state}${h.disposition ? ` · ${h.disposition}` : ""}${h.notes ? ` — ${h.notes}` : ""}` })));
  const context = el("aside", { class: "context", dataset: { testid: "context" } },
    el("h2", { text: customerName(item) }), facts,
    el("h3", { text: "Identities" }), identities,
    el("h3", { text: "Before routing" }), answers,
    el("h3", { text: "Previous contacts" }), history);
  const conversation = el("section", { class: "conversation" });
  if (item.callback) conversation.append(callbackControls(item));
  if (item.channel !== "voice") {
    const list = el("div", { class: "messages", dataset: { testid: "messages" } },
      ...(item.messages || []).map(messageView));
    const box = el("textarea", { id: "composer", "aria-label": "Reply", dataset: { testid: "composer", contact: item.contact_id } });
    box.value = state.drafts.get(item.contact_id) || "";
    if (wasTyping) requestAnimationFrame(() => box.focus());
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        reply(item.contact_id, box);
      }
    });
    const sendButton = el("button", { type: "button", class: "primary", text: "Send", dataset: { testid: "send" },
      on: { click: () => reply(item.contact_id, box) } });
    conversation.append(list, el("div", { class: "composer" }, box, sendButton));
    requestAnimationFrame(() => { list.scrollTop = list.scrollHeight; });
  } else if (!item.callback) {
    conversation.append(el("p", { class: "messages", text: "Voice call in progress." }));
  }
  conversation.append(wrapUpControls(item));
  if (item.state === "connected") conversation.append(transferControls(item));
  panel.replaceChildren(context, conversation);
}

function wrapUpControls(item) {
  if (item.state === "wrap_up") {
    return el("div", { class: "wrapup", dataset: { testid: "wrap-up" } },
      el("span", { text: "Wrap-up ends in " }),
      el("strong", { class: "wrapup-countdown", dataset: { testid: "wrap-up-countdown", deadline: item.localWrapUpEnd || 0 } },
        seconds((item.localWrapUpEnd || 0) - Date.now())),
      el("button", { type: "button", text: "End wrap-up", dataset: { testid: "end-wrap-up" },
        on: { click: () => act({ type: "end_wrap_up", contact_id: item.contact_id }) } }));
  }
  const codes = item.wrap_up_codes || [];
  const code = el("select", { id: "wrap-up-code", "aria-label": "Wrap-up code", dataset: { testid: "wrap-up-code", contact: item.contact_id } },
    el("option", { value: "", text: codes.length ? "wrap-up code…" : "no codes" }),
    ...codes.map((c) => el("option", { value: c, text: c })));
  const notes = el("input", { id: "wrap-up-notes", placeholder: "notes", "aria-label": "Notes", dataset: { testid: "notes" } });
  const kept = state.wrapDrafts.get(item.contact_id);
  if (kept) {
    code.value = kept.code;
    notes.value = kept.notes;
  }
  const done = el("button", { type: "button", class: "primary", text: "Complete", dataset: { testid: "complete" },
    disabled: item.wrap_up_code_required ? "" : null,
    title: item.wrap_up_code_required ? "this queue needs a wrap-up code" : null,
    on: { click: () => complete(item.contact_id, code.value, notes.value) } });
  if (item.wrap_up_code_required) {
    code.addEventListener("change", () => { done.disabled = !code.value; });
    done.disabled = !code.value;
  }
  return el("div", { class: "wrapup" }, code, notes, done);
}

// --- transfer: to a queue (with its waiting contacts and available agents) or to an agent ---
let queues = [];
async function loadQueues() {
  try {
    const answer = await fetch("/v1/queues", { headers: { Authorization: `Bearer ${state.token}` } });
    if (answer.ok) queues = await answer.json();
  } catch (error) {
    queues = [];
  }
}

// a callback: the agent calls the number and says how it went (no answer / busy: tried again)
function callbackControls(item) {
  const tries = item.callback.attempts ? ` (tried ${item.callback.attempts} time${item.callback.attempts === 1 ? "" : "s"})` : "";
  const box = el("div", { class: "callback", dataset: { testid: "callback" } },
    el("p", { text: `Call the customer back on ${item.callback.number}${tries}.` }));
  if (item.state === "connected") {
    const outcomes = [["reached", "Reached"], ["no_answer", "No answer"], ["busy", "Busy"], ["invalid", "Invalid number"]];
    box.append(el("div", { class: "wrapup" }, ...outcomes.map(([outcome, label]) =>
      el("button", { type: "button", text: label, dataset: { testid: `callback-${outcome}` },
        on: { click: async () => {
          const result = await act({ type: "callback_outcome", contact_id: item.contact_id, outcome });
          if (result && !result.scheduled) toast(`Noted: ${label.toLowerCase()}. Complete the contact when you are done.`);
        } } }))));
  }
  return box;
}

function transferControls(item) {
  const where = el("select", { "aria-label": "Transfer to queue", dataset: { testid: "transfer-queue" } },
    el("option", { value: "", text: "transfer to queue…" }),
    ...queues.filter((q) => q.channels.includes(item.channel)).map((q) =>
      el("option", { value: q.name, text: `${q.name} · ${q.waiting} waiting · ${q.agents_available} available` })));
  const agent = el("input", { placeholder: "or agent id", "aria-label": "Transfer to agent", dataset: { testid: "transfer-agent" } });
  const note = el("input", { placeholder: "note for the next agent", "aria-label": "Transfer note", dataset: { testid: "transfer-note" } });
  const go = el("button", { type: "button", text: "Transfer", dataset: { testid: "transfer" },
    on: { click: async () => {
      const command = { type: "transfer", contact_id: item.contact_id, note: note.value };
      if (where.value) command.queue = where.value;
      if (agent.value.trim()) command.agent_id = agent.value.trim();
      await act(command);
    } } });
  where.addEventListener("focus", () => { loadQueues(); }, { once: true });
  return el("div", { class: "wrapup" }, where, agent, note, go);
}

function render() {
  const seen = state.selected && state.work.get(state.selected);
  if (seen && !document.hidden) seen.unread = 0; // the agent is reading it
  renderOffers();
  renderWork();
  renderPanel();
  ringing();
}

function tick() {
  for (const node of document.querySelectorAll("[data-deadline]")) {
    node.textContent = seconds(Number(node.dataset.deadline) - Date.now());
  }
}

// --- ringing: a sound while an offer rings, a notification while the tab is hidden ------------
let audio = null;
let lastRing = 0;
function ringing() {
  if (!state.offers.size) {
    if (state.notification) state.notification.close();
    state.notification = null;
    return;
  }
  const now = Date.now();
  if (now - lastRing < 2500) return;
  lastRing = now;
  try {
    audio = audio || new AudioContext();
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.value = 0.08;
    tone.connect(gain).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.25);
  } catch (error) {
    // no sound without a user gesture first: the card still pulses
  }
  const fresh = [...state.offers.values()].find((o) => !state.notified.has(o.offer_id));
  if (fresh && document.hidden && "Notification" in window && Notification.permission === "granted") {
    const offer = fresh;
    state.notified.add(offer.offer_id);
    if (state.notification) state.notification.close();
    state.notification = new Notification("ccaas: an offer rings", {
      body: `${offer.card ? offer.card.channel : ""} · ${offer.card ? customerName(offer.card) : ""}`,
      tag: "ccaas-offer",
      requireInteraction: true,
    });
    state.notification.onclick = () => window.focus();
  }
}

// --- commands --------------------------------------------------------------------------------
function select(contactId) {
  state.selected = contactId;
  render();
}

async function accept(offerId) {
  await act({ type: "accept", offer_id: offerId });
}

async function reject(offerId) {
  await act({ type: "reject", offer_id: offerId });
}

async function reply(contactId, box) {
  const text = box.value.trim();
  if (!text) return;
  // cleared now, not on the ack: a frame before the ack would bring it back as a draft
  box.value = "";
  state.drafts.delete(contactId);
  const done = await act({ type: "message", contact_id: contactId, text });
  if (!done && !box.value) box.value = text; // not sent: the agent keeps what it wrote
}

async function complete(contactId, disposition, notes) {
  await act({ type: "complete", contact_id: contactId, disposition, notes });
}

function toast(text) {
  const node = $("toast");
  node.textContent = text;
  node.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { node.hidden = true; }, 6000);
}

function showBanner(text) {
  $("banner").textContent = text;
  $("banner").hidden = false;
}

function keys(event) {
  const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement && document.activeElement.tagName);
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
  const first = state.offers.values().next().value;
  if (!first) return;
  if (event.key === "a") accept(first.offer_id);
  if (event.key === "r") reject(first.offer_id);
}

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", signIn);
  $("signout").addEventListener("click", signOut);
  $("presence").addEventListener("change", choosePresence);
  $("away-reason").addEventListener("change", choosePresence);
  $("next-presence").addEventListener("change", chooseNext);
  document.addEventListener("keydown", keys);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) render(); });
  setInterval(() => { tick(); ringing(); }, 250);
  const saved = sessionStorage.getItem("ccaas.session");
  if (saved) start(JSON.parse(saved));
});
