// Stackwise chat page. All user and bot text is inserted with textContent (never as HTML);
// links are made only from http(s) URLs.
(function () {
  "use strict";
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("message");
  // The conversation: an id and its secret, issued once by /api/widget-config (the secret is
  // the proof that continues it; a known id alone is refused).
  const KEY = "stackwise.session";
  let session = null;
  try { session = JSON.parse(localStorage.getItem(KEY) || "null"); } catch (e) { session = null; }

  async function ensureSession() {
    const known = session && session.id ? { session_id: session.id, session_secret: session.secret } : {};
    const r = await fetch("/api/widget-config", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(known),
    });
    if (!r.ok) throw new Error("config " + r.status);
    const cfg = await r.json();
    if (!session || cfg.session_id !== session.id) {
      session = { id: cfg.session_id, secret: cfg.session_secret };
      try { localStorage.setItem(KEY, JSON.stringify(session)); } catch (e) { /* blocked */ }
    }
    session.metadata = cfg.metadata;
  }
  const ready = ensureSession();

  // The catalog's credit lines (each source names itself and its date), as text only.
  fetch("/api/sources").then((r) => (r.ok ? r.json() : { sources: [] })).then((body) => {
    const list = document.getElementById("sources");
    if (!list) return;
    for (const s of body.sources || []) {
      const li = document.createElement("li");
      li.textContent = s.credit + (s.as_of ? " (as of " + s.as_of + ")" : "");
      list.appendChild(li);
    }
  }).catch(() => { /* the footer is optional */ });

  function appendText(parent, text) {
    const urlRe = /https?:\/\/[^\s)]+/g;
    let last = 0;
    for (const m of text.matchAll(urlRe)) {
      parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      const a = document.createElement("a");
      a.href = m[0];
      a.textContent = m[0];
      a.rel = "noopener noreferrer";
      a.target = "_blank";
      parent.appendChild(a);
      last = m.index + m[0].length;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function bubble(kind, text) {
    const li = document.createElement("li");
    li.className = "msg " + kind;
    appendText(li, text);
    log.appendChild(li);
    li.scrollIntoView({ block: "end" });
    return li;
  }

  function money(v) { return v === null || v === undefined ? "cost not recorded" : v === 0 ? "free" : "$" + Math.round(v).toLocaleString(); }
  function hours(v) { return v === null || v === undefined ? "hours not recorded" : v + " hours"; }

  function cards(list) {
    const li = document.createElement("li");
    li.className = "cards";
    for (const c of list) {
      const div = document.createElement("article");
      div.className = "card";
      const h = document.createElement("h2");
      const a = document.createElement("a");
      if (/^https?:\/\//.test(c.url || "")) { a.href = c.url; a.rel = "noopener noreferrer"; a.target = "_blank"; }
      a.textContent = c.name;
      h.appendChild(a);
      div.appendChild(h);
      const p = document.createElement("p");
      p.textContent = c.provider + " · " + money(c.cost_usd) + (c.cost_period === "month" && c.cost_usd ? " a month" : "") + " · " + hours(c.hours);
      div.appendChild(p);
      const badges = document.createElement("p");
      if (c.credit_recommended) { const b = document.createElement("span"); b.className = "badge"; b.textContent = c.credits ? c.credits + " college credits" : "college credit"; badges.appendChild(b); }
      if (c.recognized) { const b = document.createElement("span"); b.className = "badge"; b.textContent = "employer recognition"; badges.appendChild(b); }
      div.appendChild(badges);
      li.appendChild(div);
    }
    log.appendChild(li);
  }

  function buttons(list) {
    const li = document.createElement("li");
    li.className = "buttons";
    for (const b of list) {
      const btn = document.createElement("button");
      btn.type = "button";
      btn.textContent = b.title;
      btn.addEventListener("click", () => send(b.payload, b.title));
      li.appendChild(btn);
    }
    log.appendChild(li);
  }

  // typed: from the composer; if refused or not delivered, the text goes back there.
  async function send(message, shown, typed) {
    bubble("user", shown || message);
    try {
      await ready;
      const r = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          sender: session.id, message, session_secret: session.secret, metadata: session.metadata,
        }),
      });
      const data = await r.json().catch(() => ({}));
      if (!r.ok) {
        bubble("bot error", data.error || "Something went wrong.");
        if (typed && !input.value) input.value = message;
        return;
      }
      for (const m of data.messages) {
        if (m.text) bubble("bot", m.text);
        if (m.custom && m.custom.type === "credential_cards") cards(m.custom.cards || []);
        if (m.buttons && m.buttons.length) buttons(m.buttons);
      }
    } catch (e) {
      bubble("bot error", "Can't reach Stackwise right now. Please try again.");
      if (typed && !input.value) input.value = message;
    }
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text, null, true);
  });
  send("hello");
})();
