// edubot web chat: streams answers from the backend's /chat (SSE), keeps conversations in localStorage; on a
// server with classes, a student joins with the class code and a nickname, and their conversations are the server's.
// Plain browser JavaScript, no build step; marked and DOMPurify come from vendor/ (see `make vendor-js`).
"use strict";

(() => {
  const STORE = "edubot.conversations";
  const CURRENT = "edubot.current";
  const PREFS = "edubot.prefs";
  const KEY = "edubot.apiKey"; // sessionStorage: forgotten when the tab closes
  const HEALTH_EVERY_MS = 30000;
  const HEALTH_SOON_MS = 2000; // while the engine is not ok: its return shows within seconds
  // What the backend accepts (GET / tells; these are its defaults): earlier turns, characters per turn.
  const LIMITS = { max_history: 50, max_message_chars: 8000 };
  const FORMAT = "edubot-conversation";

  const T = {
    en: {
      skip: "Skip to the message box", conversations: "Conversations", conversation: "Conversation",
      newChat: "New conversation", untitled: "New conversation", rename: "Rename", renameLabel: "New name",
      del: "Delete", confirmDelete: "Delete “{t}”? This cannot be undone.",
      exportJson: "Export JSON", exportMd: "Export Markdown", importJson: "Import JSON",
      settings: "Settings", close: "Close",
      settingsHint: "These apply to the current conversation and to new ones. Leave a field empty for the server's default.",
      temperature: "Temperature (0–2)", maxTokens: "Maximum tokens per answer (1–4096)",
      systemPrompt: "System prompt", serverDefault: "server default", language: "Language",
      toDark: "Switch to the dark theme", toLight: "Switch to the light theme",
      message: "Message", placeholder: "Ask a question… (Enter sends, Shift+Enter adds a line, Esc stops)",
      send: "Send", stop: "Stop", regenerate: "Regenerate", edit: "Edit", editLabel: "Edit your question",
      cancel: "Cancel", copy: "Copy", copyCode: "Copy code", copied: "Copied", you: "You", bot: "edubot",
      copyUser: "Copy question {n}", copyBot: "Copy answer {n}",
      stopped: "Stopped before the end.", empty: "Ask edubot a question to start.",
      stats: "{n} {u} · {r} tokens/s · first token {f} s · total {l} s", token: "token", tokens: "tokens",
      statsQuoted: "quoted from your notes · total {l} s",
      dismiss: "Dismiss",
      checking: "Checking…", ok: "Connected", down: "Engine down", offline: "Server unreachable",
      okTitle: "The server and its model engine answer.", downTitle: "The server answers but its model engine does not.",
      offlineTitle: "The edubot server does not answer.",
      restarting: "Engine restarting…", restartingTitle: "The model engine stopped and is being restarted; it comes back by itself.",
      busy: "Busy: {n} waiting", busyTitle: "Every engine slot is answering a question; new questions wait their turn.",
      degraded: "Engine partly down", degradedTitle: "Some of the model engines do not answer; the others do.",
      reading: "Reading your notes…", writing: "Writing…", queued: "Waiting, {n} ahead",
      queuedNext: "Waiting for a free slot", elapsed: "{s} s", retry: "Try again",
      slow: "This is taking longer than usual: the computer is busy. You can wait, or press Stop and ask again later.",
      samplingFixed: "This server sets the temperature and the length of answers.",
      e503: "The model engine is not available right now. Try again in a moment.",
      e429: "Too many requests — try again in {s} s", e429done: "You can send again.",
      e429now: "Too many requests. Wait a moment, then try again.",
      e401: "This server needs an API key. Enter it below; it is kept only in this browser tab.",
      e401bad: "The server did not accept this API key. Check it and enter it again.",
      e422: "The server did not accept the request: {m}",
      e413: "The conversation is too long for the server. Start a new conversation.",
      eNet: "Cannot reach the edubot server. Check that it is running, then try again.",
      eOther: "The server answered with an error ({c}): {m}",
      eStream: "The answer was cut off: {m}",
      eClosed: "The answer was cut off: the connection closed before the end.",
      eStore: "This browser refused to save the conversations: {m}",
      apiKey: "API key", useKey: "Use this key",
      imported: "Imported “{t}”.", importErr: "Could not import {f}: {m}", badJson: "it is not valid JSON ({m})",
      sources: "Sources", source: "Source {n}: {t}",
      joinTitle: "Join your class", joinHint: "Type the code your teacher gave you, and a nickname (not your full name).",
      joinCode: "Class code", nickname: "Nickname", joinButton: "Join", joining: "Joining…", leave: "Leave",
      joinNoCode: "Type the class code your teacher gave you.", joinNoNickname: "Type a nickname.",
      joinUnknown: "That code is not known: check it with your teacher.",
      joinTaken: "That nickname is taken in this class: choose another.",
      joinClosed: "This class is closed: ask your teacher to open it.",
      joinBadNickname: "That nickname cannot be used: 1 to 24 letters, digits or signs.",
      joinWait: "Too many tries: wait {s} s, then try again.",
      joinEnded: "Your class session has ended (the class may be closed). Join again with the code.",
      left: "You left the class.", studentTitle: "You are {n} in the class {c}.",
      dailyLimit: "You have asked all the questions your class allows for today. Ask again tomorrow.",
    },
    es: {
      skip: "Ir al cuadro de mensaje", conversations: "Conversaciones", conversation: "Conversación",
      newChat: "Nueva conversación", untitled: "Nueva conversación", rename: "Renombrar", renameLabel: "Nuevo nombre",
      del: "Eliminar", confirmDelete: "¿Eliminar «{t}»? No se puede deshacer.",
      exportJson: "Exportar JSON", exportMd: "Exportar Markdown", importJson: "Importar JSON",
      settings: "Ajustes", close: "Cerrar",
      settingsHint: "Se aplican a la conversación actual y a las nuevas. Deja un campo vacío para usar el valor del servidor.",
      temperature: "Temperatura (0–2)", maxTokens: "Máximo de tokens por respuesta (1–4096)",
      systemPrompt: "Instrucciones del sistema", serverDefault: "valor del servidor", language: "Idioma",
      toDark: "Cambiar al tema oscuro", toLight: "Cambiar al tema claro",
      message: "Mensaje", placeholder: "Haz una pregunta… (Intro envía, Mayús+Intro añade una línea, Esc detiene)",
      send: "Enviar", stop: "Detener", regenerate: "Regenerar", edit: "Editar", editLabel: "Edita tu pregunta",
      cancel: "Cancelar", copy: "Copiar", copyCode: "Copiar código", copied: "Copiado", you: "Tú", bot: "edubot",
      copyUser: "Copiar pregunta {n}", copyBot: "Copiar respuesta {n}",
      stopped: "Detenida antes del final.", empty: "Hazle una pregunta a edubot para empezar.",
      stats: "{n} {u} · {r} tokens/s · primer token {f} s · total {l} s", token: "token", tokens: "tokens",
      statsQuoted: "citado de tus apuntes · total {l} s",
      dismiss: "Cerrar aviso",
      checking: "Comprobando…", ok: "Conectado", down: "Motor caído", offline: "Servidor inaccesible",
      okTitle: "El servidor y su motor del modelo responden.", downTitle: "El servidor responde pero su motor del modelo no.",
      offlineTitle: "El servidor de edubot no responde.",
      restarting: "Reiniciando el motor…", restartingTitle: "El motor del modelo se detuvo y se está reiniciando; vuelve por sí solo.",
      busy: "Ocupado: {n} en espera", busyTitle: "Todos los huecos del motor están respondiendo; las preguntas nuevas esperan su turno.",
      degraded: "Motor caído en parte", degradedTitle: "Algunos de los motores del modelo no responden; los demás sí.",
      reading: "Leyendo tus apuntes…", writing: "Escribiendo…", queued: "Esperando, {n} por delante",
      queuedNext: "Esperando un hueco libre", elapsed: "{s} s", retry: "Reintentar",
      slow: "Está tardando más de lo normal: el ordenador está ocupado. Puedes esperar, o pulsar Detener y volver a preguntar más tarde.",
      samplingFixed: "Este servidor fija la temperatura y la longitud de las respuestas.",
      e503: "El motor del modelo no está disponible ahora. Inténtalo de nuevo en un momento.",
      e429: "Demasiadas solicitudes — inténtalo de nuevo en {s} s", e429done: "Ya puedes volver a enviar.",
      e429now: "Demasiadas solicitudes. Espera un momento y vuelve a intentarlo.",
      e401: "Este servidor necesita una clave de API. Escríbela abajo; solo se guarda en esta pestaña.",
      e401bad: "El servidor no aceptó esta clave de API. Revísala y escríbela de nuevo.",
      e422: "El servidor no aceptó la solicitud: {m}",
      e413: "La conversación es demasiado larga para el servidor. Empieza una nueva.",
      eNet: "No se puede contactar con el servidor de edubot. Comprueba que está en marcha y vuelve a intentarlo.",
      eOther: "El servidor respondió con un error ({c}): {m}",
      eStream: "La respuesta se interrumpió: {m}",
      eClosed: "La respuesta se interrumpió: la conexión se cerró antes del final.",
      eStore: "Este navegador no pudo guardar las conversaciones: {m}",
      apiKey: "Clave de API", useKey: "Usar esta clave",
      imported: "Importada «{t}».", importErr: "No se pudo importar {f}: {m}", badJson: "no es JSON válido ({m})",
      sources: "Fuentes", source: "Fuente {n}: {t}",
      joinTitle: "Únete a tu clase", joinHint: "Escribe el código que te dio tu profesor y un apodo (no tu nombre completo).",
      joinCode: "Código de la clase", nickname: "Apodo", joinButton: "Entrar", joining: "Entrando…", leave: "Salir",
      joinNoCode: "Escribe el código de la clase que te dio tu profesor.", joinNoNickname: "Escribe un apodo.",
      joinUnknown: "Ese código no existe: compruébalo con tu profesor.",
      joinTaken: "Ese apodo ya está en uso en esta clase: elige otro.",
      joinClosed: "Esta clase está cerrada: pide a tu profesor que la abra.",
      joinBadNickname: "Ese apodo no se puede usar: de 1 a 24 letras, cifras o signos.",
      joinWait: "Demasiados intentos: espera {s} s y vuelve a intentarlo.",
      joinEnded: "Tu sesión de clase ha terminado (puede que la clase esté cerrada). Vuelve a entrar con el código.",
      left: "Has salido de la clase.", studentTitle: "Eres {n} en la clase {c}.",
      dailyLimit: "Ya has hecho todas las preguntas que tu clase permite hoy. Vuelve a preguntar mañana.",
    },
  };

  const $ = (id) => document.getElementById(id);
  const ui = {};
  for (const id of ["menu", "health", "health-text", "lang", "theme", "open-settings", "new", "convs", "export-json",
    "export-md", "import", "import-file", "conv-title", "messages", "notice", "notice-text", "key-form", "api-key",
    "notice-close", "composer", "prompt", "send", "stop", "settings", "temperature", "max-tokens", "system-field",
    "system", "sampling-fields", "sampling-note", "settings-hint", "student", "student-name", "student-class", "leave",
    "join", "join-form", "join-note", "join-code", "join-nickname", "join-error", "join-submit"]) ui[id] = $(id);

  const load = (key, fallback) => {
    try {
      const raw = localStorage.getItem(key);
      return raw == null ? fallback : JSON.parse(raw);
    } catch {
      return fallback; // unreadable or corrupt entry: start clean rather than break the page
    }
  };
  const prefs = load(PREFS, {});
  const state = {
    convs: [],
    currentId: null,
    stream: null, // {controller, msg} while an answer streams
    editing: false,
    allowSystem: false,
    clientSampling: false, // whether the server takes the conversation's temperature and max tokens (GET /)
    waiting: false, // a 429's Retry-After is counting down: nothing is sent until it ends
    failure: null, // {id, count, text}: why the last question has no (full) answer, said in the answer's place
    queueWaiting: 0, // requests waiting for an engine slot, from the last GET /health
    defaults: {}, // the server's chat defaults from GET / (JSON)
    lang: pickLanguage(),
    // On a server with classes: {student, klass} once joined (conversations are then the server's, never saved
    // in this browser), null before; undefined on a server without classes.
    classroom: undefined,
  };

  function pickLanguage() {
    if (T[prefs.lang]) return prefs.lang;
    const browser = (navigator.languages || [navigator.language]).find((l) => /^(en|es)\b/i.test(l));
    return browser ? browser.slice(0, 2).toLowerCase() : "en";
  }

  const t = (key, vars = {}) =>
    (T[state.lang][key] ?? T.en[key]).replace(/\{(\w)\}/g, (_, k) => String(vars[k] ?? ""));

  function h(tag, props = {}, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (v == null || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "text") el.textContent = v;
      else el.setAttribute(k, v === true ? "" : v);
    }
    el.append(...kids.filter((k) => k != null && k !== false));
    return el;
  }

  const now = () => new Date().toISOString();
  const newId = () => Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
  const current = () => state.convs.find((c) => c.id === state.currentId);
  const byRecent = () => [...state.convs].sort((a, b) => Date.parse(b.updated_at) - Date.parse(a.updated_at));

  // ---- markdown -------------------------------------------------------------------------------------------
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  // Raw HTML in an answer is shown as text, and images become links: the page never runs or loads anything the
  // model writes (offline, no tracking, no other host). DOMPurify then checks what markdown itself produced.
  marked.use({
    gfm: true,
    renderer: {
      html: ({ text }) => esc(text),
      image: ({ href, text }) => `<a href="${esc(href)}">${esc(text || href)}</a>`,
    },
  });
  const PURIFY = {
    USE_PROFILES: { html: true },
    FORBID_TAGS: ["img", "picture", "source", "video", "audio", "track", "style", "form", "input", "button",
      "textarea", "select"],
    FORBID_ATTR: ["style", "srcset", "poster", "background", "action"],
  };
  DOMPurify.addHook("afterSanitizeAttributes", (node) => {
    if (node.tagName === "A" && node.hasAttribute("href")) {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer");
    }
  });

  function renderMarkdown(el, text) {
    el.innerHTML = DOMPurify.sanitize(marked.parse(text), PURIFY);
    for (const pre of el.querySelectorAll("pre")) {
      const box = h("div", { class: "code" });
      pre.replaceWith(box);
      const code = pre.textContent;
      box.append(copyButton(() => code, t("copyCode"), "copy-code", t("copyCode")), pre);
    }
  }

  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      return;
    } catch {
      // A plain-http classroom server is not a secure context (no navigator.clipboard): use a hidden selection.
    }
    const area = h("textarea", { class: "sr-only", "aria-hidden": "true" });
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }

  // `name` says what the button copies (several "Copy" buttons on one page are told apart by it).
  function copyButton(getText, label, cls, name) {
    const btn = h("button", { type: "button", class: `small ${cls}`, text: label, "aria-label": name });
    btn.addEventListener("click", async () => {
      await copyText(getText());
      btn.textContent = t("copied");
      setTimeout(() => { btn.textContent = label; }, 1500);
    });
    return btn;
  }

  // ---- storage and the conversation format (docs/conversation-format.md) ------------------------------------
  function save() {
    if (state.classroom !== undefined) return; // a class's conversations are the server's record, not this browser's
    try {
      localStorage.setItem(STORE, JSON.stringify(state.convs));
      localStorage.setItem(CURRENT, state.currentId || "");
    } catch (err) {
      notify(t("eStore", { m: err.message }));
    }
  }
  const savePrefs = () => { try { localStorage.setItem(PREFS, JSON.stringify(prefs)); } catch { /* prefs are optional */ } };

  function newConversation() {
    const stamp = now();
    return {
      id: newId(), title: "", created_at: stamp, updated_at: stamp, system: prefs.system ?? null,
      settings: { temperature: prefs.temperature ?? null, max_tokens: prefs.max_tokens ?? null }, messages: [],
    };
  }

  // The title rule the terminal chat uses too: one line of the first question, at most 60 characters.
  const makeTitle = (question) => {
    const line = question.split(/\s+/).filter(Boolean).join(" ");
    return line.length <= 60 ? line : `${line.slice(0, 59).trimEnd()}…`;
  };

  function toDocument(conv) {
    const first = conv.messages.find((m) => m.role === "user");
    return {
      format: FORMAT, version: 1,
      title: conv.title || (first && makeTitle(first.content)) || "New conversation",
      created_at: conv.created_at, updated_at: conv.updated_at, system: conv.system ?? null,
      settings: { temperature: conv.settings.temperature ?? null, max_tokens: conv.settings.max_tokens ?? null },
      messages: conv.messages.map((m) => {
        const out = { role: m.role, content: m.content, created_at: m.created_at };
        if (m.stats) out.stats = m.stats;
        if (m.stopped) out.stopped = true;
        if (m.sources?.length) out.sources = m.sources;
        return out;
      }),
    };
  }

  // A grounded answer's sources, as saved: what the page shows of each (not its score).
  const SRC = ["n", "line", "file", "yaml_path", "title", "snippet"];
  const source = (x) => Object.fromEntries(SRC.map((k, i) => [k, x[k] ?? (i < 2 ? 0 : "")]));
  const cites = (s) => `[${s.n}] ${s.title} — ${s.file}:${s.line}`;
  const named = (s) => `[${s.n}] ${s.title}`; // in the leaf's own words; the file is one click away

  const TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$/i;
  function fromDocument(doc) {
    const bad = (field, what) => { throw new Error(`"${field}" ${what}`); };
    const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
    const num = (v, lo, hi, int) => v === null || (typeof v === "number" && v >= lo && v <= hi && (!int || Number.isInteger(v)));
    const stamp = (v, field) => {
      if (typeof v !== "string" || !TS.test(v) || Number.isNaN(Date.parse(v))) bad(field, "must be an ISO 8601 timestamp with an offset");
      return v;
    };
    if (!isObj(doc)) throw new Error("the document is not a JSON object");
    if (doc.format !== FORMAT) bad("format", `must be "${FORMAT}"`);
    if (doc.version !== 1) bad("version", `${JSON.stringify(doc.version)} is not a version this page reads (1)`);
    if (typeof doc.title !== "string") bad("title", "must be a string");
    stamp(doc.created_at, "created_at");
    stamp(doc.updated_at, "updated_at");
    if (!("system" in doc) || (doc.system !== null && typeof doc.system !== "string")) bad("system", "must be a string or null");
    if (!isObj(doc.settings)) bad("settings", "must be an object");
    if (!num(doc.settings.temperature ?? null, 0, 2)) bad("settings.temperature", "must be a number from 0 to 2 or null");
    if (!num(doc.settings.max_tokens ?? null, 1, 4096, true)) bad("settings.max_tokens", "must be an integer from 1 to 4096 or null");
    if (!Array.isArray(doc.messages)) bad("messages", "must be a list");
    const messages = doc.messages.map((m, i) => {
      const at = `messages[${i}]`;
      if (!isObj(m)) bad(at, "must be an object");
      if (m.role !== "user" && m.role !== "assistant") bad(`${at}.role`, 'must be "user" or "assistant"');
      if (typeof m.content !== "string") bad(`${at}.content`, "must be a string");
      const out = { role: m.role, content: m.content, created_at: stamp(m.created_at, `${at}.created_at`) };
      if (m.stats != null) {
        if (!isObj(m.stats)) bad(`${at}.stats`, "must be an object");
        out.stats = {};
        for (const k of ["completion_tokens", "tokens_per_second", "ttft_seconds", "latency_seconds"]) {
          const v = m.stats[k] ?? null;
          if (v !== null && typeof v !== "number") bad(`${at}.stats.${k}`, "must be a number or null");
          out.stats[k] = v;
        }
      }
      if (m.stopped != null) {
        if (typeof m.stopped !== "boolean") bad(`${at}.stopped`, "must be true or false");
        if (m.stopped) out.stopped = true;
      }
      if (m.sources != null) {
        if (!Array.isArray(m.sources) || !m.sources.every((x) => isObj(x) && Number.isInteger(x.n)
          && Number.isInteger(x.line) && SRC.slice(2).every((k) => typeof x[k] === "string"))) {
          bad(`${at}.sources`, "must be a list of {n, line, file, yaml_path, title, snippet}");
        }
        if (m.sources.length) out.sources = m.sources.map(source);
      }
      return out;
    });
    return {
      id: newId(), title: doc.title, created_at: doc.created_at, updated_at: doc.updated_at, system: doc.system,
      settings: { temperature: doc.settings.temperature ?? null, max_tokens: doc.settings.max_tokens ?? null },
      messages,
    };
  }

  function toMarkdown(conv) {
    const doc = toDocument(conv);
    const parts = [`# ${doc.title}`];
    if (doc.system) parts.push(`> ${t("systemPrompt")}: ${doc.system.replace(/\n/g, "\n> ")}`);
    for (const m of doc.messages) {
      parts.push(`## ${m.role === "user" ? t("you") : t("bot")}`, m.content);
      if (m.stats) parts.push(`*${statsText(m.stats)}*`);
      if (m.stopped) parts.push(`*${t("stopped")}*`);
      if (m.sources) parts.push(`${t("sources")}:\n\n${m.sources.map((s) => `- ${cites(s)}`).join("\n")}`);
    }
    return `${parts.join("\n\n")}\n`;
  }

  function download(name, type, text) {
    const url = URL.createObjectURL(new Blob([text], { type }));
    const a = h("a", { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }
  const fileBase = (conv) =>
    (toDocument(conv).title.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, "-").replace(/^-+|-+$/g, "").slice(0, 50)
      || "conversation");

  // ---- rendering -----------------------------------------------------------------------------------------
  const fmt = (v, digits) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : "–");
  // An answer of no generated token was quoted from the teacher's material (grounding_answer: quote): no speed.
  const statsText = (s) => (s.completion_tokens === 0 ? t("statsQuoted", { l: fmt(s.latency_seconds, 2) }) : t("stats", {
    n: s.completion_tokens ?? "–", u: t(s.completion_tokens === 1 ? "token" : "tokens"),
    r: fmt(s.tokens_per_second, 1), f: fmt(s.ttft_seconds, 2), l: fmt(s.latency_seconds, 2),
  }));

  function renderList() {
    ui.convs.replaceChildren(...byRecent().map((c) => {
      const title = c.title || t("untitled");
      const open = h("button", {
        type: "button", class: "conv-open", text: title, "aria-current": c.id === state.currentId ? "true" : null,
        onclick: () => select(c.id),
      });
      const li = h("li", { "data-id": c.id }, open);
      if (state.classroom) return li; // the class's record: nothing to rename or delete here
      li.append(
        h("button", { type: "button", class: "icon small conv-rename", "aria-label": `${t("rename")}: ${title}`,
          title: t("rename"), text: "✎", onclick: () => startRename(li, c) }),
        h("button", { type: "button", class: "icon small conv-delete", "aria-label": `${t("del")}: ${title}`,
          title: t("del"), text: "✕", onclick: () => remove(c) }));
      return li;
    }));
  }

  function startRename(li, conv) {
    const input = h("input", { type: "text", class: "conv-name", value: conv.title || t("untitled"),
      "aria-label": t("renameLabel") });
    let done = false;
    const finish = (keep) => {
      if (done) return;
      done = true;
      const name = input.value.trim();
      if (keep && name) {
        conv.title = name; // not a new turn: the list keeps its order
        save();
      }
      renderList();
      renderTitle();
      ui.convs.querySelector(`li[data-id="${conv.id}"] .conv-open`)?.focus();
    };
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.preventDefault(); finish(true); }
      if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); finish(false); }
    });
    input.addEventListener("blur", () => finish(true));
    li.replaceChildren(input);
    input.focus();
    input.select();
  }

  function renderTitle() {
    const conv = current();
    ui["conv-title"].textContent = conv.title || t("untitled");
    document.title = conv.title ? `${conv.title} · edubot` : "edubot";
  }

  const copyMessage = (msg, nth) => copyButton(() => msg.content, t("copy"), "copy-msg",
    t(msg.role === "user" ? "copyUser" : "copyBot", { n: nth }));

  function messageView(msg, index, conv) {
    const last = index === conv.messages.length - 1;
    const lastUser = msg.role === "user" && conv.messages.slice(index + 1).every((m) => m.role === "assistant");
    const body = h("div", { class: "body" });
    if (msg.role === "user") body.textContent = msg.content;
    else renderMarkdown(body, msg.content);
    const list = msg.sources?.length && sourcesView(msg.sources, index, body);
    const nth = conv.messages.slice(0, index + 1).filter((m) => m.role === msg.role).length;
    // An answer still waiting for its first word has nothing to copy: its Copy comes with the text (generate).
    const actions = h("div", { class: "actions" }, msg.content ? copyMessage(msg, nth) : null);
    if (!state.stream) {
      if (lastUser) actions.append(h("button", { type: "button", class: "small edit", text: t("edit"),
        onclick: () => startEdit(article, index) }));
      if (last) actions.append(h("button", { type: "button", class: "small regenerate", text: t("regenerate"),
        disabled: state.waiting, onclick: regenerate }));
    }
    const meta = h("p", { class: "meta" },
      msg.stats && h("span", { class: "stats", text: statsText(msg.stats) }),
      msg.stopped && h("span", { class: "stopped", text: t("stopped") }));
    const article = h("article", { class: `msg ${msg.role}`, "data-index": index },
      h("h3", { class: "who", text: msg.role === "user" ? t("you") : t("bot") }), body, list, meta, actions);
    return article;
  }

  // Sources under a grounded answer, each a <details> named in the leaf's own words, holding its passage and
  // where it is (file:line, for the teacher); the answer's [n] become buttons that open theirs. Text nodes only:
  // nothing from a source or the answer becomes markup.
  function sourcesView(sources, index, body) {
    const id = `src-${index}`;
    const items = new Map(sources.map((s) => [String(s.n), h("details", {},
      h("summary", { text: named(s) }), h("blockquote", { text: s.snippet }),
      h("p", { class: "where", text: [`${s.file}:${s.line}`, s.yaml_path].filter(Boolean).join(" · ") }))]));
    const walk = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
    const found = [];
    while (walk.nextNode()) if (!walk.currentNode.parentElement.closest("pre, code, a")) found.push(walk.currentNode);
    for (const node of found) {
      const parts = node.data.split(/\[(\d+)\]/);
      if (parts.length > 1) node.replaceWith(...parts.map((p, i) => {
        const open = i % 2 ? items.get(p) : null;
        return open ? h("button", { type: "button", class: "cite", text: `[${p}]`, "aria-label":
          t("source", { n: p, t: sources.find((s) => String(s.n) === p).title }), onclick: () => {
          open.open = true;
          open.firstChild.focus();
          open.scrollIntoView({ block: "nearest" });
        } }) : i % 2 ? `[${p}]` : p;
      }));
    }
    return h("section", { class: "sources", "aria-labelledby": id }, h("h4", { id, text: t("sources") }),
      h("ol", {}, ...[...items.values()].map((d) => h("li", {}, d))));
  }

  function renderMessages() {
    const conv = current();
    state.editing = false;
    const views = conv.messages.map((m, i) => messageView(m, i, conv));
    const failure = state.failure;
    if (failure && failure.id === conv.id && failure.count === conv.messages.length) {
      // Not part of the conversation (never saved): the reason stays in the answer's place until the next try.
      const note = h("p", { class: "failure", role: "alert", text: failure.text });
      if (conv.messages.at(-1).role === "assistant") views.at(-1).querySelector(".body").after(note); // cut short
      else views.push(h("article", { class: "msg assistant failed" }, h("h3", { class: "who", text: t("bot") }), note,
        h("div", { class: "actions" }, h("button", { type: "button", class: "small retry", text: t("retry"),
          disabled: state.waiting, onclick: regenerate }))));
    }
    ui.messages.replaceChildren(...(views.length ? views : [h("p", { class: "empty", text: t("empty") })]));
    ui.messages.scrollTop = ui.messages.scrollHeight;
  }

  function renderAll() {
    renderList();
    renderTitle();
    renderMessages();
    syncSettings();
  }

  function startEdit(article, index) {
    const conv = current();
    const area = h("textarea", { rows: "3", "aria-label": t("editLabel"), class: "edit-box" });
    area.value = conv.messages[index].content;
    const form = h("form", { class: "edit-form" }, area,
      h("div", { class: "row" },
        h("button", { type: "submit", class: "primary", text: t("send"), disabled: state.waiting }),
        h("button", { type: "button", text: t("cancel"), onclick: () => { renderMessages(); ui.prompt.focus(); } })));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = area.value.trim();
      if (!text || state.waiting) return;
      conv.messages.splice(index);
      send(text);
    });
    area.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
    });
    article.querySelector(".body").replaceWith(form);
    article.querySelector(".actions").remove();
    state.editing = true;
    area.focus();
  }

  // ---- notices (inline, human messages) ----------------------------------------------------------------
  function notify(text, { askKey = false, focus = askKey } = {}) {
    ui["notice-text"].textContent = text;
    ui.notice.removeAttribute("aria-live"); // role=alert: announced
    ui["key-form"].hidden = !askKey;
    ui.notice.hidden = false;
    if (focus) ui["api-key"].focus();
  }
  const clearNotice = () => { ui.notice.hidden = true; ui["key-form"].hidden = true; };

  // Says what went wrong in the notice; returns the text for the answer's place instead when the engine is
  // unavailable (restarting, every slot taken): that is about this answer, not a fault of the page.
  async function explain(res) {
    let detail = null;
    let code = null;
    try {
      const body = await res.json();
      detail = body?.error?.message || (typeof body?.detail === "string" ? body.detail : null);
      code = body?.error?.code ?? null;
    } catch { /* a body that is not JSON: keep the status text */ }
    const message = detail || res.statusText;
    switch (res.status) {
      case 401:
        if (code === "join_required") { // the class closed, or the session ended elsewhere: join again
          showJoin(t("joinEnded"));
          break;
        }
        sessionStorage.getItem(KEY) ? notify(t("e401bad"), { askKey: true }) : notify(t("e401"), { askKey: true });
        break;
      case 413: notify(t("e413")); break;
      case 422: notify(t("e422", { m: message })); break;
      case 429: {
        if (code === "daily_limit") { // the class's questions for today are spent: no countdown to tomorrow
          notify(t("dailyLimit"));
          break;
        }
        const wait = retryAfter(res.headers.get("Retry-After"));
        if (wait == null) notify(t("e429now"));
        else countDown(wait);
        break;
      }
      case 503: return detail ? sentence(detail) : t("e503");
      default: notify(t("eOther", { c: res.status, m: message }));
    }
  }

  // The wait counts down each second; sending (Send, Enter, Regenerate, an edit) is off until it reaches zero.
  // Screen readers hear the first message and the last, not every second.
  function countDown(seconds) {
    const end = Date.now() + seconds * 1000;
    let shown = t("e429", { s: seconds });
    notify(shown);
    ui.notice.setAttribute("aria-live", "off");
    setWaiting(true);
    clearInterval(state.waitTimer);
    state.waitTimer = setInterval(() => {
      const left = Math.ceil((end - Date.now()) / 1000);
      const mine = ui["notice-text"].textContent === shown; // not replaced by another message
      if (left > 0) {
        if (mine) ui["notice-text"].textContent = shown = t("e429", { s: left });
        return;
      }
      clearInterval(state.waitTimer);
      setWaiting(false);
      if (mine) notify(t("e429done"));
    }, 1000);
  }

  function setWaiting(waiting) {
    state.waiting = waiting;
    for (const b of document.querySelectorAll("#send, #messages .regenerate, #messages .retry, .edit-form [type=submit]")) {
      b.disabled = waiting;
    }
  }

  // "the engine is restarting…; try again" -> "The engine is restarting…; try again."
  const sentence = (text) => {
    const s = text.trim();
    return s && `${s[0].toUpperCase()}${s.slice(1)}${/[.!?…]$/.test(s) ? "" : "."}`;
  };

  function retryAfter(value) {
    if (!value) return null;
    if (/^\d+$/.test(value.trim())) return Number(value);
    const when = Date.parse(value);
    return Number.isNaN(when) ? null : Math.max(1, Math.ceil((when - Date.now()) / 1000));
  }

  // ---- chat ------------------------------------------------------------------------------------------------
  // Server-sent events from a fetch body: yields {event, data} with data parsed as JSON.
  async function* events(body) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer = (buffer + decoder.decode(value, { stream: true })).replace(/\r\n?/g, "\n");
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let event = "message";
          const data = [];
          for (const line of block.split("\n")) {
            const colon = line.indexOf(":");
            if (colon === 0) continue; // an SSE comment (keep-alive)
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
            if (field === "event") event = value;
            else if (field === "data") data.push(value);
          }
          if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
        }
      }
    } finally {
      // Leaving early (an error event, a stop) must still close the connection; a failed cancel changes nothing.
      reader.cancel().catch(() => {});
    }
  }

  // aria-busy is set once the answer starts coming (see generate): until then the waiting status is announced.
  function setBusy(busy) {
    ui.send.hidden = busy;
    ui.stop.hidden = !busy;
    ui.messages.setAttribute("aria-busy", "false");
  }

  function send(text) {
    const conv = current();
    clearNotice();
    if (!conv.title) conv.title = makeTitle(text);
    conv.messages.push({ role: "user", content: text, created_at: now() });
    conv.updated_at = now();
    save();
    renderList();
    renderTitle();
    return generate();
  }

  function regenerate() {
    const conv = current();
    if (state.stream || state.waiting || !conv.messages.length) return;
    if (conv.messages.at(-1).role === "assistant") conv.messages.pop();
    clearNotice();
    return generate();
  }

  async function generate() {
    await state.serverInfo; // what the server takes (sampling, system prompt) and says (grounded, slow answers)
    const conv = current();
    const turns = conv.messages;
    const question = turns.at(-1);
    // The most recent turns the backend takes; a very long earlier answer is cut so the conversation can go on.
    const limits = { ...LIMITS, ...state.defaults };
    const history = turns.slice(0, -1).filter((m) => m.content).slice(-limits.max_history)
      .map(({ role, content }) => ({ role, content: content.slice(0, limits.max_message_chars) }));
    const request = { message: question.content, conversation_history: history, stream: true };
    if (state.clientSampling && conv.settings.temperature != null) request.temperature = conv.settings.temperature;
    if (state.clientSampling && conv.settings.max_tokens != null) request.max_tokens = conv.settings.max_tokens;
    if (state.allowSystem && conv.system) request.system_prompt = conv.system;
    if (conv.conversation_id) request.conversation_id = conv.conversation_id; // continues the class's record

    const msg = { role: "assistant", content: "", created_at: now() };
    turns.push(msg);
    const controller = new AbortController();
    state.stream = { controller, msg };
    state.failure = null;
    renderMessages();
    const article = ui.messages.lastElementChild;
    const body = article.querySelector(".body");
    setBusy(true);
    article.classList.add("streaming");
    // Until the first token, what is happening in words: the notes being read (a grounded question, until it is
    // in the engine), the place in the backend's line, then the engine writing; after 3 s the seconds waited
    // (not announced: the words are). The first delta's paint replaces it; it is never part of msg.content.
    const status = h("span", { class: "status", text: t(state.defaults.grounded ? "reading" : "writing") });
    const elapsed = h("span", { class: "elapsed", "aria-hidden": "true", hidden: true });
    body.append(h("p", { class: "typing", "aria-live": "polite" }, status, " ", elapsed));
    const say = (key, vars) => { status.textContent = t(key, vars); };
    const started = performance.now();
    const ticker = setInterval(() => {
      const s = Math.floor((performance.now() - started) / 1000);
      if (s < 3) return;
      elapsed.textContent = t("elapsed", { s });
      elapsed.hidden = false;
    }, 1000);
    // A long wait (slow_answer_seconds, from the server) gets a word of explanation until the answer ends.
    const slowAfter = state.defaults.slow_answer_seconds ?? 60;
    const slow = slowAfter > 0 && setTimeout(() => body.after(h("p", { class: "slow", role: "status", text: t("slow") })),
      slowAfter * 1000);

    let frame = 0;
    let copyShown = false;
    const paint = () => {
      frame = 0;
      const box = ui.messages;
      const stick = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
      renderMarkdown(body, msg.content);
      if (!copyShown) { // with the first text, not before
        copyShown = true;
        clearInterval(ticker);
        article.querySelector(".actions").prepend(copyMessage(msg, turns.filter((m) => m.role === "assistant").length));
      }
      if (stick) box.scrollTop = box.scrollHeight;
    };
    let firstAt = null;
    let failed = false; // nothing usable came back: the question stays unanswered
    let cut = false; // part of an answer came back: it stays, without figures
    let done = null;
    let reason = null; // the engine is unavailable: said in the answer's place, not in the notice
    const broke = (text) => {
      notify(text);
      if (msg.content) cut = true;
      else failed = true;
    };
    try {
      const headers = { "Content-Type": "application/json", Accept: "text/event-stream" };
      const key = sessionStorage.getItem(KEY);
      if (key) headers.Authorization = `Bearer ${key}`;
      const res = await fetch("chat", { method: "POST", headers, body: JSON.stringify(request), signal: controller.signal });
      if (!res.ok) {
        failed = true;
        reason = await explain(res);
      } else {
        for await (const ev of events(res.body)) {
          if (ev.event === "error" || ev.data.error) {
            const error = ev.data.error;
            if (error?.code === "engine_unavailable") { // e.g. the engine died and restarts: said in the answer
              reason = error.message ? sentence(error.message) : t("e503");
              if (msg.content) cut = true;
              else failed = true;
            } else broke(t("eStream", { m: error?.message || ev.event }));
            break;
          }
          if (ev.data.started?.conversation_id) conv.conversation_id = ev.data.started.conversation_id;
          if (ev.data.started || ev.data.stage === "writing") say("writing"); // in the engine
          if (ev.data.queued) { // (sent with `started`, so never shown as writing first)
            say(ev.data.queued.ahead > 0 ? "queued" : "queuedNext", { n: ev.data.queued.ahead });
            checkHealth(); // the indicator shows how busy the engine is
          }
          if (typeof ev.data.delta === "string" && ev.data.delta) {
            if (firstAt == null) ui.messages.setAttribute("aria-busy", "true");
            firstAt ??= performance.now();
            msg.content += ev.data.delta;
            frame ||= requestAnimationFrame(paint);
          }
          if (ev.data.done) done = ev.data;
        }
        if (!done && !cut && !failed) broke(t("eClosed"));
      }
    } catch (err) {
      if (err.name === "AbortError") msg.stopped = true;
      else broke(msg.content ? t("eStream", { m: err.message }) : t("eNet"));
    }
    if (frame) cancelAnimationFrame(frame);
    clearInterval(ticker);
    clearTimeout(slow);
    state.stream = null;
    setBusy(false);
    if (failed || (msg.stopped && !msg.content)) turns.pop();
    else if (!cut) msg.stats = stats(done, started, firstAt);
    if (done?.sources?.length && !failed) msg.sources = done.sources.map(source);
    if (reason) {
      state.failure = { id: conv.id, count: turns.length, text: reason };
      checkHealth(); // a restart shows in the indicator at once, which then watches for the engine's return
    }
    conv.updated_at = now();
    save();
    renderMessages();
    renderList();
  }

  function stats(done, started, firstAt) {
    const clientLatency = (performance.now() - started) / 1000;
    const latency = done?.latency_seconds ?? clientLatency;
    const ttft = done?.ttft_seconds ?? (firstAt == null ? null : (firstAt - started) / 1000);
    const tokens = done?.usage?.completion_tokens ?? null;
    const generating = ttft != null && latency > ttft ? latency - ttft : latency;
    return {
      completion_tokens: tokens,
      tokens_per_second: tokens != null && generating > 0 ? Number((tokens / generating).toFixed(2)) : null,
      ttft_seconds: ttft == null ? null : Number(ttft.toFixed(3)),
      latency_seconds: Number(latency.toFixed(3)),
    };
  }

  const stop = () => state.stream?.controller.abort();

  // ---- conversations -------------------------------------------------------------------------------------
  function select(id) {
    if (id === state.currentId) return;
    stop();
    state.currentId = id;
    save();
    clearNotice();
    const conv = current();
    if (conv.messages === null) { // a conversation of the class's record, not read yet
      conv.messages = [];
      loadServerConversation(conv);
    }
    renderAll();
    closeNav();
  }

  function createConversation() {
    stop();
    const conv = current();
    if (conv && !conv.messages.length) {
      closeNav();
      ui.prompt.focus();
      return;
    }
    const fresh = newConversation();
    state.convs.push(fresh);
    state.currentId = fresh.id;
    save();
    clearNotice();
    renderAll();
    closeNav();
    ui.prompt.focus();
  }

  function remove(conv) {
    if (!confirm(t("confirmDelete", { t: conv.title || t("untitled") }))) return;
    if (conv.id === state.currentId) stop();
    state.convs = state.convs.filter((c) => c !== conv);
    if (!state.convs.length) state.convs.push(newConversation());
    if (!current()) state.currentId = byRecent()[0].id;
    save();
    renderAll();
    ui.new.focus();
  }

  async function importFile(file) {
    try {
      let doc;
      try {
        doc = JSON.parse(await file.text());
      } catch (err) {
        throw new Error(t("badJson", { m: err.message }));
      }
      const conv = fromDocument(doc);
      stop();
      // An empty conversation (a fresh page, or "New" just pressed) is replaced, not left behind in the list.
      state.convs = state.convs.filter((c) => c.id !== state.currentId || c.messages.length);
      state.convs.push(conv);
      state.currentId = conv.id;
      save();
      renderAll();
      notify(t("imported", { t: conv.title || t("untitled") }));
    } catch (err) {
      notify(t("importErr", { f: file.name, m: err.message }));
    }
  }

  // ---- settings, theme, language, health -----------------------------------------------------------------
  function syncSettings() {
    const conv = current();
    ui.temperature.value = conv.settings.temperature ?? "";
    ui["max-tokens"].value = conv.settings.max_tokens ?? "";
    ui.system.value = conv.system ?? "";
    ui["system-field"].hidden = !state.allowSystem;
    // A class's server sets the temperature and the answers' length itself (client_sampling off): no fields.
    ui["sampling-fields"].hidden = !state.clientSampling;
    ui["sampling-note"].hidden = state.clientSampling;
    ui["settings-hint"].hidden = !state.clientSampling && !state.allowSystem;
    const fallback = (v) => (v == null ? t("serverDefault") : `${t("serverDefault")}: ${v}`);
    ui.temperature.placeholder = fallback(state.defaults.temperature);
    ui["max-tokens"].placeholder = fallback(state.defaults.max_tokens);
    ui.system.placeholder = t("serverDefault");
  }

  function readSettings() {
    const conv = current();
    const number = (input) => (input.value.trim() === "" || Number.isNaN(input.valueAsNumber) ? null : input.valueAsNumber);
    if (state.clientSampling) {
      conv.settings.temperature = prefs.temperature = number(ui.temperature);
      conv.settings.max_tokens = prefs.max_tokens = number(ui["max-tokens"]);
    }
    if (state.allowSystem) conv.system = prefs.system = ui.system.value.trim() || null;
    save();
    savePrefs();
  }

  const systemDark = window.matchMedia("(prefers-color-scheme: dark)");
  function applyTheme() {
    if (prefs.theme) document.documentElement.dataset.theme = prefs.theme;
    else delete document.documentElement.dataset.theme;
    const dark = prefs.theme ? prefs.theme === "dark" : systemDark.matches;
    const label = t(dark ? "toLight" : "toDark");
    ui.theme.setAttribute("aria-label", label);
    ui.theme.title = label;
  }

  function applyLanguage() {
    document.documentElement.lang = state.lang;
    ui.lang.value = state.lang;
    for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
    for (const el of document.querySelectorAll("[data-t-ph]")) el.placeholder = t(el.dataset.tPh);
    for (const el of document.querySelectorAll("[data-t-label]")) {
      el.setAttribute("aria-label", t(el.dataset.tLabel));
      if (el.tagName === "BUTTON") el.title = t(el.dataset.tLabel);
    }
    setHealth(ui.health.dataset.state);
    showStudent();
    applyTheme();
  }

  function setHealth(status) {
    ui.health.dataset.state = status;
    ui["health-text"].textContent = t(status, { n: state.queueWaiting });
    ui.health.title = status === "checking" ? "" : t(`${status}Title`);
  }

  // GET /health's "engine" -> the indicator's state ("unreachable" comes with a 503).
  const ENGINE_STATES = { ok: "ok", busy: "busy", restarting: "restarting", degraded: "degraded", unreachable: "down" };
  let healthTimer = 0;
  let healthAsked = 0; // only the latest check's answer is shown
  // Checked every 30 s while all is well, every 2 s otherwise (a restart, a queue, no server) until it is again.
  async function checkHealth() {
    const asked = ++healthAsked;
    clearTimeout(healthTimer);
    let status = "offline";
    let waiting = 0;
    try {
      const res = await fetch("health", { cache: "no-store", headers: { Accept: "application/json" } });
      const info = await res.json().catch(() => null); // not JSON (a proxy's error page): the status code says it
      status = ENGINE_STATES[info?.engine] ?? (res.ok ? "ok" : "down");
      waiting = info?.queue?.waiting ?? 0;
    } catch { /* no answer at all: offline */ }
    if (asked !== healthAsked) return; // a later check answers (and schedules the next)
    state.queueWaiting = waiting;
    setHealth(status);
    healthTimer = setTimeout(checkHealth, status === "ok" ? HEALTH_EVERY_MS : HEALTH_SOON_MS);
  }

  async function readServerInfo() {
    try {
      const res = await fetch("./", { cache: "no-store", headers: { Accept: "application/json" } });
      const info = res.ok ? await res.json() : {};
      state.allowSystem = info.chat?.system_prompt_override === true;
      state.clientSampling = !!info.chat && info.chat.client_sampling !== false; // older servers take them
      state.defaults = info.chat || {};
      document.body.dataset.classroom = info.classes === true ? "checking" : "off";
      if (info.classes === true) await readClassroom(); // a student's page: join, then the class's conversations
      // A server that needs a key: ask for it now rather than after a refused question (a student needs none).
      else if (info.chat?.auth_required && !sessionStorage.getItem(KEY)) {
        notify(t("e401"), { askKey: true, focus: !ui.prompt.value }); // not away from a question being typed
      }
    } catch {
      state.allowSystem = false; // unknown: keep the server's own system prompt (and its sampling)
    }
    syncSettings();
  }

  const closeNav = () => { document.body.classList.remove("nav-open"); ui.menu.setAttribute("aria-expanded", "false"); };

  // ---- the classroom ---------------------------------------------------------------------------------------
  // On a server with classes the page is a student's: the join form until they join (a code and a nickname),
  // then their nickname and class in the header and their conversations from the server's record (GET
  // class/conversations), never from this browser's storage. "Leave" ends the session (a shared computer).
  const asJson = { "Content-Type": "application/json", Accept: "application/json" };
  const getJson = { cache: "no-store", headers: { Accept: "application/json" } };

  async function readClassroom() {
    let me = null;
    try {
      const res = await fetch("class/me", getJson);
      if (res.ok) me = await res.json();
    } catch { /* the server away: the health indicator says so */ }
    if (me?.student) enterClass(me);
    else showJoin();
  }

  function showJoin(note = "") {
    stop();
    state.classroom = null;
    state.convs = [newConversation()];
    state.currentId = state.convs[0].id;
    document.body.classList.add("joining");
    document.body.dataset.classroom = "joining";
    ui.student.hidden = true;
    ui.join.hidden = false;
    ui["join-note"].textContent = note;
    ui["join-note"].hidden = !note;
    clearNotice();
    renderAll();
    setJoinError("", ui["join-code"].value ? ui["join-nickname"] : ui["join-code"]);
  }

  // The reason a join failed, under the form, with the field it is about marked and focused.
  function setJoinError(text, field = null) {
    ui["join-error"].textContent = text;
    ui["join-error"].hidden = !text;
    for (const input of [ui["join-code"], ui["join-nickname"]]) {
      if (text && input === field) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
    field?.focus();
  }

  const JOIN_ERRORS = { unknown_code: ["joinUnknown", "join-code"], class_closed: ["joinClosed", "join-code"],
    nickname_taken: ["joinTaken", "join-nickname"] };

  async function joinClass() {
    const code = ui["join-code"].value.trim();
    const nickname = ui["join-nickname"].value.trim();
    if (!code) return setJoinError(t("joinNoCode"), ui["join-code"]);
    if (!nickname) return setJoinError(t("joinNoNickname"), ui["join-nickname"]);
    ui["join-submit"].disabled = true;
    ui["join-submit"].textContent = t("joining");
    try {
      const res = await fetch("class/join", { method: "POST", headers: asJson, body: JSON.stringify({ code, nickname }) });
      const body = await res.json().catch(() => null);
      const error = body?.error ?? {};
      const known = JOIN_ERRORS[error.code];
      if (res.ok) {
        ui["join-nickname"].value = "";
        enterClass(body);
      } else if (known) setJoinError(t(known[0]), ui[known[1]]);
      else if (res.status === 422 && error.field === "nickname") setJoinError(t("joinBadNickname"), ui["join-nickname"]);
      else if (res.status === 429) setJoinError(t("joinWait", { s: retryAfter(res.headers.get("Retry-After")) ?? 60 }));
      else setJoinError(t("eOther", { c: res.status, m: error.message || res.statusText }));
    } catch {
      setJoinError(t("eNet"));
    } finally {
      ui["join-submit"].disabled = false;
      ui["join-submit"].textContent = t("joinButton");
    }
  }

  function enterClass(me) {
    state.classroom = { student: me.student, klass: me.class };
    document.body.classList.remove("joining");
    document.body.dataset.classroom = "joined";
    ui.join.hidden = true;
    ui.student.hidden = false;
    ui.import.hidden = true; // the class's conversations are the server's: nothing to import
    showStudent();
    state.convs = [newConversation()];
    state.currentId = state.convs[0].id;
    clearNotice();
    renderAll();
    ui.prompt.focus();
    loadServerConversations();
  }

  function showStudent() {
    const seat = state.classroom;
    if (!seat) return;
    ui["student-name"].textContent = seat.student.nickname;
    ui["student-class"].textContent = seat.klass.name;
    ui.student.title = t("studentTitle", { n: seat.student.nickname, c: seat.klass.name });
  }

  // The student's earlier conversations, listed (each read when opened: select).
  async function loadServerConversations() {
    const seat = state.classroom;
    try {
      const res = await fetch("class/conversations", getJson);
      if (!res.ok) {
        if (res.status === 401) showJoin(t("joinEnded"));
        return;
      }
      const listed = await res.json();
      if (state.classroom !== seat) return; // left (or joined anew) meanwhile
      const known = new Set(state.convs.map((c) => c.conversation_id).filter(Boolean));
      for (const c of listed) {
        if (known.has(c.id)) continue;
        state.convs.push({ id: `c-${c.id}`, conversation_id: c.id, title: c.title, created_at: c.started,
          updated_at: c.last, system: null, settings: { temperature: null, max_tokens: null }, messages: null });
      }
      renderList();
      document.body.dataset.conversations = String(listed.length); // waited for by the tests
    } catch { /* the server away: the list stays as it is */ }
  }

  async function loadServerConversation(conv) {
    try {
      const res = await fetch(`class/conversations/${encodeURIComponent(conv.conversation_id)}`, getJson);
      if (!res.ok) {
        if (res.status === 401) showJoin(t("joinEnded"));
        else await explain(res);
        return;
      }
      const detail = await res.json();
      conv.messages = detail.messages.map(fromServer);
      if (conv.id === state.currentId && !state.stream) renderMessages();
    } catch {
      notify(t("eNet"));
    }
  }

  // A stored message as the page keeps one; an answer's figures as its own stream would have given them.
  function fromServer(m) {
    const out = { role: m.role, content: m.text, created_at: m.created };
    if (m.role !== "assistant") return out;
    if (m.sources?.length) out.sources = m.sources.map(source);
    if (m.finish_reason === "client_left") out.stopped = true;
    else if (m.latency_s != null) {
      const ttft = m.first_token_s;
      const generating = ttft != null && m.latency_s > ttft ? m.latency_s - ttft : m.latency_s;
      const tokens = m.completion_tokens;
      out.stats = {
        completion_tokens: tokens,
        tokens_per_second: tokens != null && generating > 0 ? Number((tokens / generating).toFixed(2)) : null,
        ttft_seconds: ttft, latency_seconds: m.latency_s,
      };
    }
    return out;
  }

  async function leaveClass() {
    try {
      await fetch("class/leave", { method: "POST", headers: asJson, body: "{}" });
    } catch { /* the page forgets the seat anyway; the cookie ends with the session on the server */ }
    ui["join-code"].value = "";
    showJoin(t("left"));
  }

  // ---- wiring --------------------------------------------------------------------------------------------
  ui.composer.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = ui.prompt.value.trim();
    if (!text || state.stream || state.waiting) return;
    ui.prompt.value = "";
    send(text);
  });
  ui.prompt.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      ui.composer.requestSubmit();
    }
  });
  ui.stop.addEventListener("click", () => { stop(); ui.prompt.focus(); });
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || e.defaultPrevented) return;
    if (state.stream) {
      e.preventDefault();
      stop();
      ui.prompt.focus();
    } else if (state.editing) {
      renderMessages();
      ui.prompt.focus();
    } else if (document.body.classList.contains("nav-open")) {
      closeNav();
      ui.menu.focus();
    }
  });
  ui.new.addEventListener("click", createConversation);
  ui["export-json"].addEventListener("click", () => {
    const conv = current();
    download(`${fileBase(conv)}.json`, "application/json", `${JSON.stringify(toDocument(conv), null, 2)}\n`);
  });
  ui["export-md"].addEventListener("click", () => {
    const conv = current();
    download(`${fileBase(conv)}.md`, "text/markdown", toMarkdown(conv));
  });
  ui.import.addEventListener("click", () => ui["import-file"].click());
  ui["import-file"].addEventListener("change", () => {
    const file = ui["import-file"].files[0];
    ui["import-file"].value = "";
    if (file) importFile(file);
  });
  ui["notice-close"].addEventListener("click", () => { clearNotice(); ui.prompt.focus(); });
  ui["join-form"].addEventListener("submit", (e) => {
    e.preventDefault();
    joinClass();
  });
  ui["join-code"].addEventListener("keydown", (e) => { // Enter (a phone's "next") goes on to the nickname
    if (e.key === "Enter" && !ui["join-nickname"].value.trim() && ui["join-code"].value.trim()) {
      e.preventDefault();
      setJoinError("", ui["join-nickname"]);
    }
  });
  ui.leave.addEventListener("click", leaveClass);
  ui["key-form"].addEventListener("submit", (e) => {
    e.preventDefault();
    const key = ui["api-key"].value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY, key);
    ui["api-key"].value = "";
    clearNotice();
    const conv = current();
    if (conv.messages.at(-1)?.role === "user") generate();
    ui.prompt.focus();
  });
  ui["open-settings"].addEventListener("click", () => { syncSettings(); ui.settings.showModal(); });
  ui.settings.addEventListener("close", () => { readSettings(); ui["open-settings"].focus(); });
  ui.theme.addEventListener("click", () => {
    const dark = prefs.theme ? prefs.theme === "dark" : systemDark.matches;
    prefs.theme = dark ? "light" : "dark";
    savePrefs();
    applyTheme();
  });
  systemDark.addEventListener("change", applyTheme);
  ui.lang.addEventListener("change", () => {
    state.lang = ui.lang.value;
    prefs.lang = state.lang;
    savePrefs();
    applyLanguage();
    renderAll();
  });
  ui.menu.addEventListener("click", () => {
    const open = document.body.classList.toggle("nav-open");
    ui.menu.setAttribute("aria-expanded", String(open));
    if (open) ui.new.focus();
  });
  document.addEventListener("click", (e) => { // phone layout: a tap beside the conversation list closes it
    if (document.body.classList.contains("nav-open") && !e.target.closest("#sidebar, #menu")) closeNav();
  });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) checkHealth(); });

  // ---- start -----------------------------------------------------------------------------------------------
  function loadConversations() {
    state.convs = load(STORE, []).filter((c) => c && c.id && Array.isArray(c.messages) && typeof c.updated_at === "string");
    for (const c of state.convs) c.settings ??= { temperature: null, max_tokens: null };
    if (!current()) {
      const latest = byRecent()[0];
      if (!latest) state.convs.push(newConversation());
      state.currentId = (latest || state.convs[0]).id;
    }
  }
  // Another tab saved: take its list (unless this tab is writing an answer; its save comes after).
  window.addEventListener("storage", (e) => {
    if (e.key !== STORE || state.stream || state.editing || state.classroom !== undefined) return;
    loadConversations();
    renderAll();
  });

  state.currentId = localStorage.getItem(CURRENT);
  loadConversations();
  applyLanguage();
  renderAll();
  checkHealth(); // and again on its own timer
  state.serverInfo = readServerInfo(); // a question waits for it (generate)
  document.body.dataset.ready = "true"; // waited for by the tests
  performance.mark("edubot:ready"); // read by the page benchmark
})();
