/*! Stackwise chat widget. Embed with one tag:
 *   <script src="https://HOST/widget.js" data-tenant="INSTITUTION_ID" defer></script>
 * Optional: data-token="PORTAL_JWT" (signed sign-in from a college portal).
 * Renders in Shadow DOM; dependency-free. Talks to Rasa's socket.io channel (a small Engine.IO v4 /
 * Socket.IO v5 client over WebSocket) and falls back to the web app's /api/chat (REST).
 * User and bot text is only ever inserted as text; links are made from http(s) URLs only. */
(function () {
  "use strict";
  if (window.__stackwiseWidget) return;
  window.__stackwiseWidget = true;

  var script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  if (!script) return;
  var BASE = new URL(script.src, location.href).origin;
  var TENANT = script.getAttribute("data-tenant") || "";
  var PORTAL_TOKEN = script.getAttribute("data-token") || "";
  var NS = "stackwise." + (TENANT || "default") + ".";
  var MAX_HISTORY = 200;
  var REPLY_TIMEOUT = 30000;

  // ---- storage (localStorage may be blocked: then nothing persists) ----
  function load(key, fallback) {
    try { var v = localStorage.getItem(NS + key); return v === null ? fallback : JSON.parse(v); } catch (e) { return fallback; }
  }
  function save(key, value) {
    try { localStorage.setItem(NS + key, JSON.stringify(value)); } catch (e) { /* quota or blocked */ }
  }
  function randomId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    var a = new Uint8Array(16); crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  // ---- colours: keep the tenant's colour but guarantee 4.5:1 against white ----
  function lum(hex) {
    var c = [1, 3, 5].map(function (i) {
      var v = parseInt(hex.substr(i, 2), 16) / 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }
  function accessible(hex) {
    if (!/^#[0-9a-fA-F]{6}$/.test(hex || "")) hex = "#0B5CAD";
    for (var i = 0; i < 20 && 1.05 / (lum(hex) + 0.05) < 4.6; i++) {
      hex = "#" + [1, 3, 5].map(function (j) {
        return ("0" + Math.floor(parseInt(hex.substr(j, 2), 16) * 0.85).toString(16)).slice(-2);
      }).join("");
    }
    return hex;
  }

  var CSS = [
    ":host{all:initial !important;display:block !important;position:fixed !important;right:0 !important;bottom:0 !important;",
    "width:0 !important;height:0 !important;z-index:2147483000 !important;transform:none !important;filter:none !important;",
    "visibility:visible !important;opacity:1 !important;contain:none !important;}",
    "*,*::before,*::after{box-sizing:border-box;}",
    "[hidden]{display:none !important;}",
    ".root{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#1b1f24;letter-spacing:normal;text-align:left;}",
    ".launcher{position:fixed;right:16px;bottom:16px;width:56px;height:56px;border-radius:50%;border:2px solid #fff;",
    "background:var(--sw-primary);color:#fff;cursor:pointer;box-shadow:0 2px 10px rgba(0,0,0,.35);display:flex;align-items:center;justify-content:center;padding:0;margin:0;}",
    ".launcher svg{width:28px;height:28px;fill:currentColor;}",
    ".panel{position:fixed;right:16px;bottom:84px;width:380px;max-width:calc(100vw - 16px);height:560px;max-height:calc(100vh - 100px);",
    "background:#fff;border:1px solid #9aa5b1;border-radius:12px;box-shadow:0 6px 28px rgba(0,0,0,.3);display:flex;flex-direction:column;overflow:hidden;}",
    "@media (max-width:420px){.panel{right:8px;left:8px;width:auto;bottom:80px;max-height:calc(100vh - 90px);} .launcher{right:8px;bottom:8px;}}",
    "@media (prefers-reduced-motion:no-preference){.panel{animation:sw-in .18s ease-out;} .dots span{animation:sw-blink 1.2s infinite;} .dots span:nth-child(2){animation-delay:.2s;} .dots span:nth-child(3){animation-delay:.4s;}}",
    "@keyframes sw-in{from{opacity:0;transform:translateY(8px);}to{opacity:1;transform:none;}}",
    "@keyframes sw-blink{0%,80%,100%{opacity:.25;}40%{opacity:1;}}",
    ".head{display:flex;align-items:center;gap:8px;padding:10px 12px;background:var(--sw-primary);color:#fff;}",
    ".head img{width:28px;height:28px;object-fit:contain;background:#fff;border-radius:4px;}",
    ".head h2{flex:1;margin:0;font-size:16px;font-weight:700;line-height:1.3;color:#fff;}",
    ".head small{display:block;font-weight:400;font-size:12px;}",
    ".close{background:transparent;border:1px solid rgba(255,255,255,.8);color:#fff;border-radius:6px;width:32px;height:32px;font-size:18px;line-height:1;cursor:pointer;padding:0;}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f6f7f9;margin:0;}",
    ".msg{max-width:88%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere;margin:0;}",
    ".msg.bot{background:#fff;border:1px solid #c9d1d9;align-self:flex-start;color:#1b1f24;}",
    ".msg.user{background:var(--sw-primary);color:#fff;align-self:flex-end;}",
    ".msg.note{background:#fdecea;border:1px solid #c0392b;color:#5c1a12;align-self:stretch;max-width:100%;}",
    ".msg a{color:inherit;text-decoration:underline;}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;}",
    ".replies{display:flex;flex-wrap:wrap;gap:6px;align-self:flex-start;}",
    ".replies button{font:inherit;font-size:14px;border-radius:16px;border:1px solid var(--sw-primary);background:#fff;color:var(--sw-primary);padding:5px 12px;cursor:pointer;margin:0;}",
    ".replies button:disabled{cursor:default;color:#4a5560;border-color:#c9d1d9;}",
    ".cards{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:8px;align-self:stretch;}",
    ".card{background:#fff;border:1px solid #c9d1d9;border-left:4px solid var(--sw-primary);border-radius:8px;padding:9px 11px;}",
    ".card h3{font-size:15px;margin:0 0 3px;line-height:1.3;}",
    ".card h3 a{color:var(--sw-primary);}",
    ".card p{margin:2px 0;color:#3d4852;font-size:13px;}",
    ".card p.source{color:#57606a;font-size:12px;}",
    ".badge{display:inline-block;font-size:12px;border-radius:6px;padding:1px 7px;margin:3px 4px 0 0;background:#e3eefa;color:#0a3d73;}",
    ".badge.ok{background:#e4f4e8;color:#1d5c2e;}",
    ".typing{padding:0 12px 6px;background:#f6f7f9;color:#3d4852;font-size:13px;}",
    ".dots span{display:inline-block;width:6px;height:6px;margin-right:3px;border-radius:50%;background:#4a5560;}",
    ".composer{display:flex;gap:6px;padding:8px;border-top:1px solid #c9d1d9;background:#fff;margin:0;}",
    ".composer input{flex:1;min-width:0;font:inherit;padding:9px 10px;border-radius:8px;border:1px solid #6b7785;color:#1b1f24;background:#fff;margin:0;}",
    ".composer button{font:inherit;border-radius:8px;border:1px solid var(--sw-primary);background:var(--sw-primary);color:#fff;padding:8px 12px;cursor:pointer;margin:0;}",
    ".composer button:disabled,.composer input:disabled{opacity:.75;cursor:not-allowed;}",
    ".foot{margin:0;padding:0 10px 8px;font-size:12px;color:#4a5560;background:#fff;}",
    "button:focus-visible,input:focus-visible,a:focus-visible{outline:3px solid #b35c00;outline-offset:2px;}",
    ".launcher:focus-visible{outline:3px solid #b35c00;outline-offset:3px;}"
  ].join("\n");

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  // Text with safe links: [label](https://...) and bare http(s) URLs. Nothing else is parsed.
  var LINK_RE = /\[([^\]\n]{1,200})\]\((https?:\/\/[^\s)]{1,2000})\)|(https?:\/\/[^\s<>()]{1,2000}[^\s<>().,;:!?'"])/g;
  function richText(parent, text) {
    var last = 0, m;
    LINK_RE.lastIndex = 0;
    while ((m = LINK_RE.exec(text)) !== null) {
      parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      parent.appendChild(link(m[2] || m[3], m[1] || m[3]));
      last = m.index + m[0].length;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }
  function safeUrl(url) {
    try { var u = new URL(url); return u.protocol === "https:" || u.protocol === "http:" ? u.href : null; } catch (e) { return null; }
  }
  function link(url, label) {
    var href = safeUrl(url);
    if (!href) return document.createTextNode(label);
    var a = el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, label);
    a.appendChild(el("span", { "class": "sr" }, " (opens in a new tab)"));
    return a;
  }
  function money(v) {
    if (v === null || v === undefined || v === "") return "cost not recorded";
    return Number(v) === 0 ? "free" : "$" + Math.round(Number(v)).toLocaleString("en-US");
  }
  function hours(v) {
    return v === null || v === undefined || v === "" ? "hours not recorded" : Number(v) + " hours";
  }

  function start() {
    var host = document.createElement("stackwise-chat");
    var root = host.attachShadow({ mode: "open" });
    var sheet = null;
    var styleEl = null;
    try {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      styleEl = el("style", null, CSS);
      root.appendChild(styleEl);
    }
    var vars = null;
    function setPrimary(color) {
      var rule = ":host{--sw-primary:" + accessible(color) + ";}";
      try {
        if (!vars) { vars = new CSSStyleSheet(); root.adoptedStyleSheets = [sheet, vars]; }
        vars.replaceSync(rule);
      } catch (e) {
        if (styleEl) styleEl.textContent = CSS + "\n" + rule;
      }
    }
    setPrimary("#0B5CAD");

    var wrap = el("div", { "class": "root" });
    var launcher = el("button", { type: "button", "class": "launcher", "aria-expanded": "false", "aria-controls": "sw-panel", "aria-label": "Open chat with Stackwise" });
    // Built node by node: the widget never parses HTML (also fine under Trusted Types).
    var SVG = "http://www.w3.org/2000/svg";
    var icon = document.createElementNS(SVG, "svg");
    icon.setAttribute("viewBox", "0 0 24 24");
    icon.setAttribute("aria-hidden", "true");
    icon.setAttribute("focusable", "false");
    var iconPath = document.createElementNS(SVG, "path");
    iconPath.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2zm3 6a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z");
    icon.appendChild(iconPath);
    launcher.appendChild(icon);
    var panel = el("section", { id: "sw-panel", "class": "panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "sw-title" });
    panel.hidden = true;
    var head = el("div", { "class": "head" });
    var logo = el("img", { alt: "" });
    logo.hidden = true;
    var title = el("h2", { id: "sw-title" }, "Stackwise career advisor");
    var closeBtn = el("button", { type: "button", "class": "close", "aria-label": "Close chat" }, "\u00d7");
    head.appendChild(logo); head.appendChild(title); head.appendChild(closeBtn);
    var log = el("div", { "class": "log", role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-label": "Conversation", tabindex: "0" });
    var typing = el("div", { "class": "typing", role: "status" });
    var typingInner = el("span");
    typingInner.hidden = true;
    var dots = el("span", { "class": "dots", "aria-hidden": "true" });
    dots.appendChild(el("span")); dots.appendChild(el("span")); dots.appendChild(el("span"));
    typingInner.appendChild(dots);
    typingInner.appendChild(document.createTextNode(" Stackwise is typing\u2026"));
    typing.appendChild(typingInner);
    var form = el("form", { "class": "composer", autocomplete: "off" });
    var label = el("label", { "for": "sw-input", "class": "sr" }, "Your message");
    var input = el("input", { id: "sw-input", type: "text", maxlength: "2000", placeholder: "Type a message\u2026", "aria-describedby": "sw-foot" });
    var sendBtn = el("button", { type: "submit" }, "Send");
    form.appendChild(label); form.appendChild(input); form.appendChild(sendBtn);
    var foot = el("p", { id: "sw-foot", "class": "foot" }, "Facts come with sources; unknown costs are shown as not recorded.");
    panel.appendChild(head); panel.appendChild(log); panel.appendChild(typing); panel.appendChild(form); panel.appendChild(foot);
    wrap.appendChild(panel); wrap.appendChild(launcher);
    root.appendChild(wrap);
    document.body.appendChild(host);

    // ---- state ----
    var cfg = null;
    var sessionId = load("sid", null);
    // The session's proof, issued once by /api/widget-config when it created the session.
    var sessionSecret = load("secret", null);
    var history = [];
    var sock = null;
    var backoff = 1000;
    var reconnectTimer = null;
    var typingTimer = null;
    var unavailable = false;
    var greeted = false;
    var lastSent = "";

    function setComposer(enabled) { input.disabled = !enabled; sendBtn.disabled = !enabled; }
    setComposer(false);

    function scrollDown() { log.scrollTop = log.scrollHeight; }

    function disableOldReplies() {
      var groups = log.querySelectorAll(".replies button");
      for (var i = 0; i < groups.length; i++) groups[i].disabled = true;
    }

    function renderEntry(e, live) {
      if (e.r === "u") {
        var u = el("p", { "class": "msg user" });
        u.appendChild(el("span", { "class": "sr" }, "You: "));
        u.appendChild(document.createTextNode(e.t));
        log.appendChild(u);
      } else if (e.r === "n") {
        log.appendChild(el("p", { "class": "msg note", role: "alert" }, e.t));
      } else {
        if (e.t) {
          var p = el("p", { "class": "msg bot" });
          p.appendChild(el("span", { "class": "sr" }, "Stackwise: "));
          richText(p, e.t);
          log.appendChild(p);
        }
        if (e.c && e.c.length) log.appendChild(renderCards(e.c));
        if (e.b && e.b.length) {
          var g = el("div", { "class": "replies", role: "group", "aria-label": "Suggested replies" });
          e.b.forEach(function (b) {
            var btn = el("button", { type: "button" }, b.title);
            btn.disabled = !live;
            btn.addEventListener("click", function () { send(b.payload, b.title); input.focus(); });
            g.appendChild(btn);
          });
          log.appendChild(g);
        }
      }
      scrollDown();
    }

    // Where a card's facts come from and as of when (curated pages are not re-checked).
    function sourceLine(c) {
      var date = typeof c.as_of === "string" ? c.as_of : "";
      if (c.source === "texas-etpl") return "Texas ETPL" + (date ? ", updated " + date : "");
      if (c.source === "careeronestop") return "CareerOneStop" + (date ? ", as of " + date.slice(0, 7) : "");
      if (c.source === "curated" && date) return "From the provider's page, not re-checked since " + date;
      return "";
    }

    function renderCards(cards) {
      var ul = el("ul", { "class": "cards", "aria-label": "Recommended credentials" });
      cards.forEach(function (c) {
        if (!c || typeof c !== "object") return;
        var li = el("li");
        var art = el("article", { "class": "card" });
        var h = el("h3");
        var name = String(c.name || "Credential");
        h.appendChild(c.url && safeUrl(c.url) ? link(c.url, name) : document.createTextNode(name));
        art.appendChild(h);
        if (c.provider) art.appendChild(el("p", null, "by " + c.provider));
        if (c.place || typeof c.miles === "number") {
          var where = [c.place ? String(c.place) : "", typeof c.miles === "number" ? Math.round(c.miles) + " miles away" : ""];
          art.appendChild(el("p", null, where.filter(Boolean).join(" \u00b7 ")));
        }
        var facts = [money(c.cost_usd) + (c.cost_period === "month" && c.cost_usd ? " a month" : ""), hours(c.hours)];
        if (c.credits !== null && c.credits !== undefined) facts.push(c.credits + " college credits recommended");
        art.appendChild(el("p", null, facts.join(" \u00b7 ")));
        var badges = el("p");
        if (c.recognized) badges.appendChild(el("span", { "class": "badge ok" }, "\u2713 Employer recognized"));
        if (c.credit_recommended) badges.appendChild(el("span", { "class": "badge" }, "College credit"));
        if (badges.childNodes.length) art.appendChild(badges);
        var origin = sourceLine(c);
        if (origin) art.appendChild(el("p", { "class": "source" }, origin));
        li.appendChild(art);
        ul.appendChild(li);
      });
      return ul;
    }

    function persist() {
      if (!sessionId) return;
      if (history.length > MAX_HISTORY) history = history.slice(-MAX_HISTORY);
      save("log." + sessionId, history);
    }

    function add(entry) {
      if (entry.r === "u") disableOldReplies();
      history.push(entry);
      persist();
      renderEntry(entry, true);
    }

    function note(text) { renderEntry({ r: "n", t: text }, false); } // shown, not kept

    // The server refused a message (too long, too fast, ...): say why and give the text back.
    function refused(error) {
      showTyping(false);
      note(String(error || "That message could not be sent."));
      if (lastSent && !input.value) input.value = lastSent;
    }

    function showTyping(on) {
      typingInner.hidden = !on;
      clearTimeout(typingTimer);
      if (on) typingTimer = setTimeout(function () { typingInner.hidden = true; }, REPLY_TIMEOUT);
    }

    function normalize(m) {
      if (!m || typeof m !== "object") return null;
      var e = { r: "b" };
      if (typeof m.text === "string" && m.text) e.t = m.text;
      var btns = m.buttons || m.quick_replies;
      if (Array.isArray(btns)) {
        e.b = btns.filter(function (b) { return b && typeof b.title === "string" && typeof b.payload === "string"; })
          .map(function (b) { return { title: b.title, payload: b.payload }; });
      }
      var c = m.custom;
      if (c && c.type === "credential_cards" && Array.isArray(c.cards)) e.c = c.cards;
      return e.t || (e.b && e.b.length) || (e.c && e.c.length) ? e : null;
    }

    // The learner had the bot delete this conversation: drop this browser's copy too.
    function forget() {
      history = [];
      try { localStorage.removeItem(NS + "log." + sessionId); } catch (e) { /* blocked */ }
      // On screen only the bot's confirmation stays (it is not stored either).
      var said = log.querySelectorAll(".msg.bot");
      var confirmation = said.length ? said[said.length - 1] : null;
      var shown = Array.prototype.slice.call(log.childNodes);
      for (var i = 0; i < shown.length; i++) if (shown[i] !== confirmation) log.removeChild(shown[i]);
    }

    function receive(m) {
      if (m && m.custom && m.custom.type === "conversation_deleted") { forget(); return; }
      var e = normalize(m);
      if (!e) return;
      showTyping(false);
      add(e);
    }

    // ---- REST fallback ----
    function restSend(text) {
      var url = BASE + "/api/chat" + (TENANT ? "?tenant=" + encodeURIComponent(TENANT) : "");
      return fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sender: sessionId, message: text, metadata: cfg && cfg.metadata, session_secret: sessionSecret }),
      }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (data) {
          if (r.status >= 400 && r.status < 500 && typeof data.error === "string") {
            refused(data.error);
            return;
          }
          if (!r.ok) throw new Error("HTTP " + r.status);
          (data.messages || []).forEach(receive);
          showTyping(false);
        });
      }).catch(function () {
        refused("Sorry, I can't reach the advisor right now. Please try again in a moment.");
      });
    }

    // ---- socket.io (Engine.IO v4 / Socket.IO v5 over WebSocket) ----
    function connectSocket() {
      clearTimeout(reconnectTimer);
      if (!cfg || !cfg.socket || !window.WebSocket || sock) return;
      // stackwise_session: the proxy sends every tab of this conversation to the same server.
      var url = cfg.socket.url.replace(/^http/, "ws") + cfg.socket.path + "/?EIO=4&transport=websocket" +
        "&stackwise_session=" + encodeURIComponent(sessionId || "");
      var ws;
      try { ws = new WebSocket(url); } catch (e) { scheduleReconnect(); return; }
      var s = { ws: ws, ready: false };
      sock = s;
      ws.onmessage = function (ev) {
        var d = typeof ev.data === "string" ? ev.data : "";
        var type = d.charAt(0);
        if (type === "0") ws.send("40" + JSON.stringify({ token: cfg.socket.token }));
        else if (type === "2") ws.send("3");
        else if (type === "1") ws.close();
        else if (type === "4") {
          var kind = d.charAt(1);
          var rest = d.slice(2).replace(/^\d+/, "");
          if (kind === "0") {
            ws.send("42" + JSON.stringify(["session_request", { session_id: sessionId }]));
          } else if (kind === "4" || kind === "1") {
            ws.close(); // refused (token expired or origin not allowed) or server disconnect
          } else if (kind === "2") {
            var ev2;
            try { ev2 = JSON.parse(rest); } catch (e) { return; }
            if (!Array.isArray(ev2)) return;
            if (ev2[0] === "session_confirm") { s.ready = true; backoff = 1000; }
            else if (ev2[0] === "bot_uttered") receive(ev2[1]);
            else if (ev2[0] === "session_error") ws.close();
            else if (ev2[0] === "stackwise_error") refused(ev2[1] && ev2[1].error);
          }
        }
      };
      ws.onclose = function () {
        if (sock === s) { sock = null; scheduleReconnect(); }
      };
      ws.onerror = function () { /* onclose follows */ };
    }

    function scheduleReconnect() {
      if (unavailable) return;
      clearTimeout(reconnectTimer);
      reconnectTimer = setTimeout(function () {
        // A fresh config brings a fresh socket token (they are short-lived).
        loadConfig().then(connectSocket, scheduleReconnect);
      }, backoff);
      backoff = Math.min(backoff * 2, 30000);
    }

    function send(text, shown, hidden) {
      text = String(text || "").trim();
      if (!text || !cfg) return;
      if (!hidden) { add({ r: "u", t: shown || text }); lastSent = shown ? "" : text; }
      showTyping(true);
      if (sock && sock.ready && sock.ws.readyState === 1) {
        sock.ws.send("42" + JSON.stringify(["user_uttered", { message: text, session_id: sessionId, metadata: cfg.metadata }]));
      } else {
        restSend(text);
      }
    }

    // ---- config ----
    function loadConfig() {
      var url = BASE + "/api/widget-config" + (TENANT ? "?tenant=" + encodeURIComponent(TENANT) : "");
      // POST: the session secret never goes into a URL.
      var body = PORTAL_TOKEN ? { token: PORTAL_TOKEN } : { session_id: sessionId, session_secret: sessionSecret };
      var opts = { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
      return fetch(url, opts).then(function (r) {
        if (!r.ok) throw new Error("config " + r.status);
        return r.json();
      }).then(function (c) {
        cfg = c;
        if (c.session_secret && !PORTAL_TOKEN) { sessionSecret = c.session_secret; save("secret", sessionSecret); }
        if (c.session_id !== sessionId) {
          sessionId = c.session_id;
          if (!PORTAL_TOKEN) save("sid", sessionId);
          restoreHistory();
        }
        applyBranding();
        return c;
      });
    }

    function applyBranding() {
      var t = cfg && cfg.tenant;
      if (t) {
        setPrimary(t.primary_color);
        title.textContent = "";
        title.appendChild(document.createTextNode(t.name));
        title.appendChild(el("small", null, "Career and credential advisor"));
        launcher.setAttribute("aria-label", "Open chat with " + t.name);
        if (t.logo_url && safeUrl(t.logo_url)) { logo.src = t.logo_url; logo.hidden = false; }
      }
      if (cfg && cfg.max_message_chars) input.setAttribute("maxlength", String(cfg.max_message_chars));
    }

    function restoreHistory() {
      while (log.firstChild) log.removeChild(log.firstChild);
      history = sessionId ? load("log." + sessionId, []) : [];
      if (!Array.isArray(history)) history = [];
      var lastBot = -1;
      history.forEach(function (e, i) { if (e && e.r === "b" && e.b && e.b.length) lastBot = i; });
      var lastUser = -1;
      history.forEach(function (e, i) { if (e && e.r === "u") lastUser = i; });
      history.forEach(function (e, i) { if (e && typeof e === "object") renderEntry(e, i === lastBot && lastBot > lastUser); });
    }

    // ---- open / close ----
    function setOpen(open, focus) {
      panel.hidden = !open;
      launcher.setAttribute("aria-expanded", open ? "true" : "false");
      save("open", open);
      if (open) {
        scrollDown();
        if (focus !== false) (input.disabled ? closeBtn : input).focus();
        if (cfg && !unavailable && !history.length && !greeted) { greeted = true; send("/greet", null, true); }
      } else if (focus !== false) {
        launcher.focus();
      }
    }
    launcher.addEventListener("click", function () { setOpen(panel.hidden); });
    closeBtn.addEventListener("click", function () { setOpen(false); });
    panel.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape") { ev.preventDefault(); setOpen(false); }
    });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var text = input.value.trim();
      if (!text) return;
      input.value = "";
      send(text);
    });

    restoreHistory();
    if (load("open", false)) setOpen(true, false);

    loadConfig().then(function () {
      unavailable = false;
      setComposer(true);
      connectSocket();
      if (!panel.hidden && !history.length && !greeted) { greeted = true; send("/greet", null, true); }
    }, function () {
      unavailable = true;
      note("The chat isn't available on this page right now.");
      host.setAttribute("data-state", "unavailable");
    });

    window.StackwiseWidget = {
      open: function () { setOpen(true); },
      close: function () { setOpen(false); },
      get sessionId() { return sessionId; },
      get transport() { return sock && sock.ready ? "socket" : "rest"; },
    };
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
