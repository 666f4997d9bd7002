// edubot teacher's view: log in with the teacher key, then the classes (codes, open or closed, today's figures),
// a class's students and conversations, any conversation with its sources, and live updates (server-sent events).
// Everything students wrote is put in the page as text (textContent), never as markup: a nickname or a question
// that holds HTML stays words on the screen.
"use strict";

(() => {
  const PREFS = "edubot.prefs"; // shared with the chat page: the language
  const T = {
    en: {
      teacher: "Teacher", language: "Language", logout: "Log out", loginTitle: "Teacher's view",
      loginHint: "Enter the teacher key. `edubot class teacher-key` on the server makes one and shows it.",
      key: "Teacher key", login: "Log in", loggingIn: "Logging in…", noKey: "Type the teacher key.",
      wrongKey: "That is not the teacher key: check it.", wait: "Too many wrong keys: wait {s} s.",
      classes: "Classes", noClasses: "No class yet: `edubot class create NAME` on the server makes one.",
      pick: "Choose a class.", open: "open", closed: "closed", code: "code {c}",
      meta: "Join code {c} · {o} · mode: {m}", students: "Students", nickname: "Nickname",
      lastActive: "Last activity", messages: "Messages", flags: "Flags", never: "–",
      noStudents: "No student has joined yet.", conversations: "Conversations", noConversations: "No question asked yet.",
      conversationMeta: "{n} · started {s} · {k} messages", you: "Question", bot: "Answer", sources: "Sources",
      questionsToday: "Questions today", activeStudents: "Active students", ungrounded: "Answers without the notes",
      refusals: "Not covered by the notes", live: "Live", reconnecting: "Reconnecting…",
      liveTitle: "New messages appear as students ask.", reconnectingTitle: "The live feed is reconnecting.",
      reasons: "cut short: {r}", client_left: "the student left", engine_restart: "the engine restarted",
      stopping: "the server stopped", error: "an error", length: "the length limit",
      flagged: "flags: {f}", session: "Your session has ended: log in again.",
      eNet: "Cannot reach the edubot server. Check that it is running, then try again.",
      eOther: "The server answered with an error ({c}): {m}", convWho: "{n} · {k} messages · {l}",
      flagsTitle: "Flagged messages", noFlags: "Nothing flagged.", high: "high", medium: "medium", low: "low",
      self_harm: "self-harm", violence: "violence or threats", sexual: "sexual content",
      harassment: "harassment", personal_data: "personal data", injection: "trying to switch off the rules",
      other: "other", flagWho: "{n} · {w} · {r}", fromStudent: "the student's message", fromBot: "an answer",
      openConversation: "Open the conversation", markReviewed: "Mark reviewed", reviewedDone: "Reviewed",
    },
    es: {
      teacher: "Profesor", language: "Idioma", logout: "Cerrar sesión", loginTitle: "Vista del profesor",
      loginHint: "Escribe la clave del profesor. `edubot class teacher-key` en el servidor la crea y la muestra.",
      key: "Clave del profesor", login: "Entrar", loggingIn: "Entrando…", noKey: "Escribe la clave del profesor.",
      wrongKey: "Esa no es la clave del profesor: revísala.", wait: "Demasiadas claves erróneas: espera {s} s.",
      classes: "Clases", noClasses: "Aún no hay clases: `edubot class create NOMBRE` en el servidor crea una.",
      pick: "Elige una clase.", open: "abierta", closed: "cerrada", code: "código {c}",
      meta: "Código {c} · {o} · modo: {m}", students: "Alumnos", nickname: "Apodo",
      lastActive: "Última actividad", messages: "Mensajes", flags: "Avisos", never: "–",
      noStudents: "Aún no ha entrado ningún alumno.", conversations: "Conversaciones",
      noConversations: "Aún no se ha hecho ninguna pregunta.",
      conversationMeta: "{n} · empezada {s} · {k} mensajes", you: "Pregunta", bot: "Respuesta", sources: "Fuentes",
      questionsToday: "Preguntas hoy", activeStudents: "Alumnos activos", ungrounded: "Respuestas sin los apuntes",
      refusals: "No cubiertas por los apuntes", live: "En directo", reconnecting: "Reconectando…",
      liveTitle: "Los mensajes nuevos aparecen cuando los alumnos preguntan.",
      reconnectingTitle: "La conexión en directo se está restableciendo.",
      reasons: "interrumpida: {r}", client_left: "el alumno se fue", engine_restart: "el motor se reinició",
      stopping: "el servidor se detuvo", error: "un error", length: "el límite de longitud",
      flagged: "avisos: {f}", session: "Tu sesión ha terminado: vuelve a entrar.",
      eNet: "No se puede contactar con el servidor de edubot. Comprueba que está en marcha y vuelve a intentarlo.",
      eOther: "El servidor respondió con un error ({c}): {m}", convWho: "{n} · {k} mensajes · {l}",
      flagsTitle: "Mensajes marcados", noFlags: "Nada marcado.", high: "alta", medium: "media", low: "baja",
      self_harm: "autolesión", violence: "violencia o amenazas", sexual: "contenido sexual",
      harassment: "acoso", personal_data: "datos personales", injection: "intento de saltarse las reglas",
      other: "otro", flagWho: "{n} · {w} · {r}", fromStudent: "el mensaje del alumno", fromBot: "una respuesta",
      openConversation: "Abrir la conversación", markReviewed: "Marcar como revisado", reviewedDone: "Revisado",
    },
  };
  const STATS = [["questions_today", "questionsToday"], ["active_students", "activeStudents"],
    ["ungrounded_answers", "ungrounded"], ["refusals", "refusals"]];

  const $ = (id) => document.getElementById(id);
  const ui = {};
  for (const id of ["live", "live-text", "lang", "logout", "login", "login-form", "key", "login-error", "login-submit",
    "board", "classes", "no-classes", "pick", "class", "class-name", "class-meta", "stats", "students",
    "no-students", "conversations", "no-conversations", "conversation", "conversation-title", "conversation-meta",
    "conversation-messages", "flags", "no-flags", "error"]) ui[id] = $(id);

  const prefs = (() => {
    try { return JSON.parse(localStorage.getItem(PREFS) || "{}") || {}; } catch { return {}; }
  })();
  const pickLanguage = () => {
    if (T[prefs.lang]) return prefs.lang;
    const found = (navigator.languages || [navigator.language]).find((l) => /^(en|es)\b/i.test(l));
    return found ? found.slice(0, 2).toLowerCase() : "en";
  };
  const state = {
    lang: pickLanguage(),
    classes: [],
    classId: null,
    conversationId: null,
    feed: null, // the EventSource of the class shown
    refresh: 0, // the timer of a pending refresh of the lists
  };
  const t = (key, vars = {}) =>
    (T[state.lang][key] ?? T.en[key]).replace(/\{(\w)\}/g, (_, k) => String(vars[k] ?? ""));

  // Elements with text only: `text` becomes textContent; nothing given here is ever parsed as HTML.
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
  const when = (iso) => (iso ? new Date(iso).toLocaleString(state.lang, { dateStyle: "short", timeStyle: "short" }) : t("never"));

  function showError(text) {
    ui.error.textContent = text;
    ui.error.hidden = !text;
  }

  // GET a JSON answer of the teacher's API; a 401 (the session ended) goes back to the login form.
  async function api(path) {
    const res = await fetch(path, { cache: "no-store", headers: { Accept: "application/json" } });
    const body = await res.json().catch(() => null);
    if (res.status === 401 || res.status === 403) {
      showLogin(t("session"));
      throw new Error("logged out");
    }
    if (!res.ok) {
      showError(t("eOther", { c: res.status, m: body?.error?.message || res.statusText }));
      throw new Error(String(res.status));
    }
    return body;
  }

  // POST to the teacher's API (a JSON body, as the server's guard wants); the answer's JSON, or an error shown.
  async function post(path) {
    const res = await fetch(path, {
      method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" }, body: "{}",
    });
    const body = await res.json().catch(() => null);
    if (res.status === 401 || res.status === 403) {
      showLogin(t("session"));
      throw new Error("logged out");
    }
    if (!res.ok) {
      showError(t("eOther", { c: res.status, m: body?.error?.message || res.statusText }));
      throw new Error(String(res.status));
    }
    return body;
  }

  // ---- login ---------------------------------------------------------------------------------------------
  function showLogin(note = "") {
    closeFeed();
    ui.board.hidden = true;
    ui.logout.hidden = true;
    ui.login.hidden = false;
    setLoginError(note);
    document.body.dataset.view = "login";
    ui.key.focus();
  }

  function setLoginError(text) {
    ui["login-error"].textContent = text;
    ui["login-error"].hidden = !text;
    if (text) ui.key.setAttribute("aria-invalid", "true");
    else ui.key.removeAttribute("aria-invalid");
  }

  async function login() {
    const key = ui.key.value.trim();
    if (!key) return setLoginError(t("noKey"));
    ui["login-submit"].disabled = true;
    ui["login-submit"].textContent = t("loggingIn");
    try {
      const res = await fetch("teacher/login", {
        method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ key }),
      });
      const body = await res.json().catch(() => null);
      if (res.ok) {
        ui.key.value = "";
        await showBoard();
      } else if (res.status === 429) setLoginError(t("wait", { s: res.headers.get("Retry-After") || "60" }));
      else if (body?.error?.code === "wrong_teacher_key") setLoginError(t("wrongKey"));
      else setLoginError(t("eOther", { c: res.status, m: body?.error?.message || res.statusText }));
    } catch {
      setLoginError(t("eNet"));
    } finally {
      ui["login-submit"].disabled = false;
      ui["login-submit"].textContent = t("login");
    }
  }

  async function logout() {
    try {
      await fetch("teacher/logout", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    } catch { /* the page forgets the session anyway */ }
    showLogin();
  }

  // ---- the board -----------------------------------------------------------------------------------------
  async function showBoard() {
    ui.login.hidden = true;
    ui.board.hidden = false;
    ui.logout.hidden = false;
    showError("");
    document.body.dataset.view = "board";
    await loadClasses();
    if (!state.classId && state.classes.length) await selectClass(state.classes[0].id);
  }

  async function loadClasses() {
    state.classes = await api("teacher/classes");
    renderClasses();
    renderClassHead();
  }

  function renderClasses() {
    ui["no-classes"].hidden = state.classes.length > 0;
    ui.classes.replaceChildren(...state.classes.map((c) => h("li", {},
      h("button", { type: "button", class: "class-open", "aria-current": c.id === state.classId ? "true" : null,
        "data-id": c.id, onclick: () => selectClass(c.id) },
      h("span", { class: "class-title", text: c.name }),
      h("span", { class: "class-code", text: t("code", { c: c.code }) }),
      h("span", { class: `badge ${c.open ? "open" : "closed"}`, text: t(c.open ? "open" : "closed") })))));
  }

  function renderClassHead() {
    const c = state.classes.find((x) => x.id === state.classId);
    ui.pick.hidden = !!c;
    ui.class.hidden = !c;
    if (!c) return;
    ui["class-name"].textContent = c.name;
    ui["class-meta"].textContent = t("meta", { c: c.code, o: t(c.open ? "open" : "closed"), m: c.mode });
    ui.stats.replaceChildren(...STATS.map(([field, label]) => h("div", { class: "stat", "data-stat": field },
      h("dt", { text: t(label) }), h("dd", { text: String(c.stats[field]) }))));
  }

  async function selectClass(id) {
    if (state.classId !== id) {
      state.classId = id;
      state.conversationId = null;
      ui.conversation.hidden = true;
      openFeed(id);
    }
    renderClasses();
    renderClassHead();
    await loadLists();
  }

  async function loadLists() {
    const id = state.classId;
    const [students, conversations, flags] = await Promise.all([
      api(`teacher/classes/${encodeURIComponent(id)}/students`),
      api(`teacher/classes/${encodeURIComponent(id)}/conversations`),
      api(`teacher/classes/${encodeURIComponent(id)}/flags`),
    ]);
    if (id !== state.classId) return;
    renderFlags(flags);
    ui["no-students"].hidden = students.length > 0;
    ui.students.replaceChildren(...students.map((s) => h("tr", { "data-id": s.id },
      h("th", { scope: "row", text: s.nickname }), h("td", { text: when(s.last_active) }),
      h("td", { text: String(s.messages) }), h("td", { class: s.flags ? "flagged" : null, text: String(s.flags) }))));
    ui["no-conversations"].hidden = conversations.length > 0;
    ui.conversations.replaceChildren(...conversations.map((c) => h("li", {},
      h("button", { type: "button", class: "conv-open", "data-id": c.id,
        "aria-current": c.id === state.conversationId ? "true" : null, onclick: () => openConversation(c.id) },
      h("span", { class: "conv-title", text: c.title }),
      h("span", { class: "conv-who", text: t("convWho", { n: c.nickname, k: c.messages, l: when(c.last) }) })))));
    document.body.dataset.conversations = String(conversations.length); // waited for by the tests
  }

  // Moderation's flags: severity, what was found, the message (as stored: personal data masked), who and when,
  // a way to its conversation, and "Mark reviewed".
  function renderFlags(flags) {
    ui["no-flags"].hidden = flags.length > 0;
    ui.flags.replaceChildren(...flags.map((f) => h("li", {
      class: "flag", "data-id": String(f.message_id), "data-severity": f.severity, "data-reviewed": String(f.reviewed),
    },
    h("p", { class: "flag-head" },
      h("span", { class: "flag-severity", text: t(f.severity) }),
      h("span", { class: "flag-categories", text: f.categories.map((c) => t(c)).join(", ") }),
      h("span", { class: "flag-who", text: t("flagWho", {
        n: f.nickname, w: when(f.created), r: t(f.role === "user" ? "fromStudent" : "fromBot") }) })),
    h("p", { class: "flag-text", text: f.text }),
    h("p", { class: "flag-actions" },
      h("button", { type: "button", class: "flag-open", onclick: () => openConversation(f.conversation_id) },
        t("openConversation")),
      f.reviewed ? h("span", { class: "flag-done", text: t("reviewedDone") })
        : h("button", { type: "button", class: "flag-review", onclick: () => review(f.message_id) }, t("markReviewed"))))));
    document.body.dataset.flags = String(flags.length); // waited for by the tests
  }

  async function review(messageId) {
    await post(`teacher/messages/${encodeURIComponent(messageId)}/reviewed`);
    await loadLists();
  }

  async function openConversation(id) {
    state.conversationId = id;
    for (const b of ui.conversations.querySelectorAll(".conv-open")) {
      b.setAttribute("aria-current", String(b.dataset.id === id));
    }
    const detail = await api(`teacher/conversations/${encodeURIComponent(id)}`);
    if (id !== state.conversationId) return;
    const c = detail.conversation;
    ui["conversation-title"].textContent = c.title;
    ui["conversation-meta"].textContent = t("conversationMeta", { n: c.nickname, s: when(c.started), k: c.messages });
    ui["conversation-messages"].replaceChildren(...detail.messages.map(messageView));
    ui.conversation.hidden = false;
    ui.conversation.dataset.id = id;
  }

  function messageView(m) {
    const notes = [];
    if (m.finish_reason && !["stop", null].includes(m.finish_reason)) {
      notes.push(t("reasons", { r: t(m.finish_reason) }));
    }
    if (m.flags?.length) notes.push(t("flagged", { f: m.flags.join(", ") }));
    const sources = m.sources?.length ? h("section", { class: "sources" },
      h("h4", { text: t("sources") }),
      h("ol", {}, ...m.sources.map((s) => h("li", {},
        h("details", {}, h("summary", { text: `[${s.n}] ${s.title ?? ""}` }),
          h("blockquote", { text: s.snippet ?? "" }),
          h("p", { class: "where", text: [`${s.file ?? ""}:${s.line ?? ""}`, s.yaml_path].filter(Boolean).join(" · ") })))))) : null;
    return h("article", { class: `msg ${m.role}`, "data-id": String(m.id) },
      h("h4", { class: "who", text: `${t(m.role === "user" ? "you" : "bot")} · ${when(m.created)}` }),
      h("div", { class: "body", text: m.text }),
      sources,
      notes.length ? h("p", { class: "meta", text: notes.join(" · ") }) : null);
  }

  // ---- live ----------------------------------------------------------------------------------------------
  function closeFeed() {
    state.feed?.close();
    state.feed = null;
    ui.live.hidden = true;
  }

  function setLive(status) {
    ui.live.hidden = false;
    ui.live.dataset.state = status === "live" ? "ok" : "down";
    ui["live-text"].textContent = t(status);
    ui.live.title = t(`${status}Title`);
    document.body.dataset.live = status;
  }

  function openFeed(classId) {
    closeFeed();
    const feed = new EventSource(`teacher/events?class_id=${encodeURIComponent(classId)}`);
    state.feed = feed;
    feed.addEventListener("message", (e) => {
      const data = JSON.parse(e.data);
      if (data.live) return setLive("live");
      if (data.class_id !== state.classId) return;
      if (data.conversation_id === state.conversationId) {
        ui["conversation-messages"].append(...data.messages.map(messageView));
      }
      clearTimeout(state.refresh); // a burst of answers: one refresh of the lists and figures
      state.refresh = setTimeout(() => { loadClasses().then(loadLists).catch(() => {}); }, 200);
    });
    feed.addEventListener("error", () => {
      if (state.feed === feed) setLive("reconnecting"); // EventSource tries again by itself
    });
  }

  // ---- language, start -----------------------------------------------------------------------------------
  function applyLanguage() {
    document.documentElement.lang = state.lang;
    ui.lang.value = state.lang;
    for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
    if (!ui.live.hidden) setLive(document.body.dataset.live);
    renderClasses();
    renderClassHead();
  }

  ui["login-form"].addEventListener("submit", (e) => {
    e.preventDefault();
    login();
  });
  ui.logout.addEventListener("click", logout);
  ui.lang.addEventListener("change", () => {
    state.lang = ui.lang.value;
    prefs.lang = state.lang;
    try { localStorage.setItem(PREFS, JSON.stringify(prefs)); } catch { /* prefs are optional */ }
    applyLanguage();
    if (state.conversationId) openConversation(state.conversationId).catch(() => {});
  });

  async function start() {
    applyLanguage();
    try {
      const res = await fetch("teacher/session", { cache: "no-store", headers: { Accept: "application/json" } });
      const body = await res.json().catch(() => null);
      if (body?.teacher) await showBoard();
      else showLogin(res.status === 403 ? body?.error?.message ?? "" : "");
    } catch {
      showLogin(t("eNet"));
    }
    document.body.dataset.ready = "true"; // waited for by the tests
  }
  start();
})();
