// The demo chat page: personas on the left, the chosen one's chat with the bot on the right.
// Everything it shows comes from the sandbox's event stream, so several pages stay in step:
// a persona made in one page appears in the others, and their chats update in all of them.
"use strict";

const UI = {
  "zh-hans": {
    title: "邻里 · 演示聊天",
    warning: "本页只连接本机演示用的 Bot API 服务器，不是 Telegram 客户端，不能连接真正的服务。",
    personas: "角色", create: "新建", new_name: "新角色的名字",
    invites: "可用的邀请码", invites_hint: "选一个角色，点邀请码即可用它绑定住户。",
    send: "发送", placeholder: "输入消息或 /命令", attach: "图片/文件", location: "位置",
    pick: "请先在左边选一个角色", none: "还没有消息。发送 /start 开始。",
    roles: { admin: "管理员", staff: "工作人员", resident: "居民", new: "新用户" },
    too_big: "文件太大", other: "English", photo: "[图片]", file: "[文件]",
  },
  en: {
    title: "linli · demo chat",
    warning: "This page talks only to this demo's local Bot API server. It is not a Telegram client and cannot reach the real service.",
    personas: "Personas", create: "Create", new_name: "New persona's name",
    invites: "Invite codes to try", invites_hint: "Pick a persona, then click a code to bind with it.",
    send: "Send", placeholder: "Message or /command", attach: "Photo/file", location: "Location",
    pick: "Pick a persona on the left first", none: "No messages yet. Send /start to begin.",
    roles: { admin: "admin", staff: "staff", resident: "resident", new: "new" },
    too_big: "File too big", other: "中文", photo: "[photo]", file: "[file]",
  },
};
const COLOURS = ["#e17076", "#7bc862", "#65aadd", "#a695e7", "#ee7aae", "#6ec9cb", "#faa774"];
// Jiaxing (嘉兴), where the demo's communities are.
const DEMO_PIN = { latitude: 30.7522, longitude: 120.7555 };

const state = {
  lang: localStorage.getItem("linli-demo-lang") || (navigator.language.startsWith("zh") ? "zh-hans" : "en"),
  about: null,
  personas: [],
  current: null,
  chats: new Map(), // persona id -> Map(message_id -> message, with from_bot)
  keyboards: new Map(), // persona id -> reply keyboard markup or null
  unread: new Map(), // persona id -> bot messages arrived since the page opened, unseen
};
const $ = (id) => document.getElementById(id);
const t = (key) => UI[state.lang][key];

async function api(method, path, body) {
  const response = await fetch("/chat/api" + path, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  let answer;
  try { answer = await response.json(); } catch { answer = { ok: false, description: response.statusText }; }
  if (!answer.ok) throw new Error(answer.description || response.statusText);
  return answer.result;
}

function toast(text, kind = "") {
  const box = $("toast");
  box.textContent = text;
  box.className = kind;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, kind === "alert" ? 6000 : 3000);
}

// Texts of the page itself

function applyLanguage() {
  document.documentElement.lang = state.lang === "en" ? "en" : "zh-Hans";
  $("title").textContent = t("title");
  $("warning").textContent = t("warning");
  $("language").textContent = t("other");
  $("text").placeholder = t("placeholder");
  $("new-name").placeholder = t("new_name");
  document.querySelectorAll("[data-text]").forEach((el) => { el.textContent = t(el.dataset.text); });
  renderPersonas();
  renderChat();
}

// Telegram's entities, which count UTF-16 code units, as JavaScript strings do.

const TAGS = { bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code", pre: "pre", spoiler: "span" };

function formatted(text, entities = []) {
  const fragment = document.createDocumentFragment();
  let at = 0;
  const sorted = [...entities].sort((a, b) => a.offset - b.offset);
  for (const entity of sorted) {
    if (entity.offset < at) continue; // nested entities are shown by their outer one
    fragment.append(text.slice(at, entity.offset));
    const inner = text.slice(entity.offset, entity.offset + entity.length);
    let node;
    if (entity.type === "text_link" || entity.type === "url") {
      node = document.createElement("a");
      node.href = entity.url || inner;
      node.target = "_blank";
      node.rel = "noopener";
    } else {
      node = document.createElement(TAGS[entity.type] || "span");
    }
    node.textContent = inner;
    fragment.append(node);
    at = entity.offset + entity.length;
  }
  fragment.append(text.slice(at));
  return fragment;
}

// The list of personas

function avatar(persona) {
  const el = document.createElement("span");
  el.className = "avatar";
  el.style.background = COLOURS[persona.id % COLOURS.length];
  el.textContent = [...persona.first_name][0] || "?";
  return el;
}

function preview(persona) {
  const chat = state.chats.get(persona.id);
  if (!chat || chat.size === 0) return persona.note || "";
  const last = [...chat.values()].pop();
  if (last.text || last.caption) return last.text || last.caption;
  return last.photo ? t("photo") : last.document ? t("file") : last.location ? t("location") : "…";
}

function renderPersonas() {
  const list = $("personas");
  list.replaceChildren();
  for (const persona of state.personas) {
    const item = document.createElement("li");
    item.dataset.persona = persona.id;
    item.classList.toggle("current", persona.id === state.current);
    const who = document.createElement("div");
    who.className = "who";
    const name = document.createElement("div");
    name.className = "name";
    name.textContent = persona.first_name + " ";
    const role = document.createElement("span");
    role.className = "role";
    role.textContent = t("roles")[persona.role] || persona.role;
    name.append(role);
    const line = document.createElement("div");
    line.className = "preview";
    line.textContent = preview(persona);
    who.append(name, line);
    item.append(avatar(persona), who);
    const unread = state.unread.get(persona.id) || 0;
    if (unread) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = unread;
      item.append(badge);
    }
    item.addEventListener("click", () => choose(persona.id));
    list.append(item);
  }
}

function renderInvites() {
  const list = $("invites");
  list.replaceChildren();
  for (const slip of state.about.invites) {
    const item = document.createElement("li");
    const code = document.createElement("code");
    code.textContent = slip.code;
    code.title = "/start " + slip.code;
    code.addEventListener("click", () => sendText("/start " + slip.code));
    const address = document.createElement("span");
    address.textContent = slip.address;
    item.append(address, code);
    list.append(item);
  }
}

function addPersona(persona) {
  if (state.personas.some((p) => p.id === persona.id)) return;
  state.personas.push(persona);
  renderPersonas();
}

async function choose(personaId) {
  state.current = personaId;
  if (!state.chats.has(personaId)) await loadHistory(personaId);
  state.unread.set(personaId, 0);
  renderPersonas();
  renderChat();
  $("text").focus();
}

async function loadHistory(personaId) {
  const messages = await api("GET", `/personas/${personaId}/messages`);
  const chat = new Map();
  let keyboard = null;
  for (const message of messages) {
    chat.set(message.message_id, message);
    if (message.from_bot && message.keyboard) keyboard = message.keyboard;
  }
  state.chats.set(personaId, chat);
  state.keyboards.set(personaId, keyboard);
}

// The chat

function bubble(message) {
  const el = document.createElement("div");
  el.className = "bubble " + (message.from_bot ? "bot" : "mine");
  el.dataset.messageId = message.message_id;
  if (message.photo) {
    const image = document.createElement("img");
    image.src = "/chat/api/files/" + encodeURIComponent(message.photo[message.photo.length - 1].file_id);
    image.alt = message.caption || "photo";
    el.append(image);
  }
  if (message.document) {
    const link = document.createElement("a");
    link.className = "document";
    link.href = "/chat/api/files/" + encodeURIComponent(message.document.file_id);
    link.download = message.document.file_name || "file";
    link.textContent = "📄 " + (message.document.file_name || "file");
    el.append(link);
  }
  if (message.location) el.append(`📍 ${message.location.latitude}, ${message.location.longitude}`);
  if (message.sticker) el.append(message.sticker.emoji || "🖼");
  if (message.text) el.append(formatted(message.text, message.entities));
  if (message.caption) el.append(formatted(message.caption, message.caption_entities));
  const rows = message.reply_markup && message.reply_markup.inline_keyboard;
  if (rows) el.append(inlineKeyboard(message, rows));
  const meta = document.createElement("div");
  meta.className = "meta";
  const when = new Date((message.edit_date || message.date) * 1000);
  meta.textContent = (message.edit_date ? "✎ " : "") + when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  el.append(meta);
  return el;
}

function inlineKeyboard(message, rows) {
  const board = document.createElement("div");
  board.className = "inline-keyboard";
  for (const row of rows) {
    const line = document.createElement("div");
    line.className = "row";
    for (const button of row) {
      const el = document.createElement("button");
      el.type = "button";
      el.textContent = button.text;
      if (button.url) {
        el.addEventListener("click", () => window.open(button.url, "_blank", "noopener"));
      } else {
        el.addEventListener("click", () => press(message.message_id, button.callback_data));
      }
      line.append(el);
    }
    board.append(line);
  }
  return board;
}

function renderReplyKeyboard() {
  const area = $("reply-keyboard");
  const markup = state.keyboards.get(state.current);
  area.replaceChildren();
  area.hidden = !(markup && markup.keyboard);
  if (area.hidden) return;
  for (const row of markup.keyboard) {
    const line = document.createElement("div");
    line.className = "row";
    for (const button of row) {
      const label = typeof button === "string" ? button : button.text;
      const el = document.createElement("button");
      el.type = "button";
      el.textContent = label;
      el.addEventListener("click", () => {
        if (button.request_location) sendContent({ location: DEMO_PIN });
        else sendText(label);
        if (markup.one_time_keyboard) { state.keyboards.set(state.current, null); renderReplyKeyboard(); }
      });
      line.append(el);
    }
    area.append(line);
  }
}

function renderChat() {
  const box = $("messages");
  box.replaceChildren();
  const persona = state.personas.find((p) => p.id === state.current);
  $("chat-name").textContent = persona ? persona.first_name : t("pick");
  $("chat-role").textContent = persona ? (t("roles")[persona.role] || persona.role) : "";
  $("chat-role").hidden = !persona;
  if (persona) {
    const chat = state.chats.get(persona.id) || new Map();
    if (chat.size === 0) box.append(Object.assign(document.createElement("p"), { className: "hint", textContent: t("none") }));
    for (const message of chat.values()) box.append(bubble(message));
    box.scrollTop = box.scrollHeight;
  }
  renderReplyKeyboard();
}

// What the persona does

async function sendContent(content) {
  if (state.current === null) return toast(t("pick"), "error");
  try {
    await api("POST", `/personas/${state.current}/send`, content);
  } catch (error) {
    toast(error.message, "error");
    throw error;
  }
}

async function sendText(text) {
  if (!text.trim()) return;
  await sendContent({ text });
}

async function press(messageId, data) {
  try {
    await api("POST", `/personas/${state.current}/press`, { message_id: messageId, data });
  } catch (error) {
    toast(error.message, "error");
  }
}

async function sendFile(file) {
  if (file.size > state.about.max_upload_bytes) return toast(`${t("too_big")}: ${file.name}`, "error");
  const base64 = await new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result.split(",")[1]);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
  const isImage = /^image\/(png|jpeg|gif|webp)$/.test(file.type);
  await sendContent(isImage ? { photo_b64: base64 } : { document_b64: base64, file_name: file.name, mime_type: file.type || undefined });
}

// What happens, live

function onEvent(event) {
  const chatId = event.chat_id;
  if (event.kind === "persona") return addPersona(event.persona);
  if (!state.personas.some((p) => p.id === chatId)) return;
  if (event.kind === "callback_answer") {
    if (chatId === state.current && event.text) toast(event.text, event.show_alert ? "alert" : "");
    return;
  }
  const chat = state.chats.get(chatId);
  if (!chat) { // not loaded yet: loaded in full when chosen
    if (event.kind === "message") state.unread.set(chatId, (state.unread.get(chatId) || 0) + 1);
    renderPersonas();
    return;
  }
  if (event.kind === "message" || event.kind === "user_message") {
    const fromBot = event.kind === "message";
    const news = !chat.has(event.message.message_id); // the history may hold it already
    chat.set(event.message.message_id, { ...event.message, from_bot: fromBot });
    if (fromBot && event.keyboard) state.keyboards.set(chatId, event.keyboard);
    if (fromBot && news && chatId !== state.current) state.unread.set(chatId, (state.unread.get(chatId) || 0) + 1);
  } else if (event.kind === "edit" || event.kind === "user_edit") {
    chat.set(event.message.message_id, { ...event.message, from_bot: event.kind === "edit" });
  } else if (event.kind === "delete") {
    chat.delete(event.message_id);
  } else {
    return;
  }
  renderPersonas();
  if (chatId === state.current) renderChat();
}

// From the page's opening on: what came before is history, loaded when a chat is chosen.
// On a reconnect EventSource resumes after the last event it saw (Last-Event-ID).
function listen(after) {
  const stream = new EventSource("/chat/api/stream?after=" + after);
  stream.onmessage = (message) => onEvent(JSON.parse(message.data));
}

// Start

async function start() {
  state.about = await api("GET", "/about");
  state.personas = await api("GET", "/personas");
  renderInvites();
  applyLanguage();
  listen(state.about.last_seq);
  const wanted = Number(new URLSearchParams(location.search).get("persona"));
  if (state.personas.some((p) => p.id === wanted)) await choose(wanted);

  $("language").addEventListener("click", () => {
    state.lang = state.lang === "en" ? "zh-hans" : "en";
    localStorage.setItem("linli-demo-lang", state.lang);
    applyLanguage();
  });
  $("composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("text").value;
    try {
      await sendText(text);
      $("text").value = "";
    } catch { /* the toast says why; the text stays to be fixed */ }
  });
  $("text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("file").addEventListener("change", async (event) => {
    const [file] = event.target.files;
    event.target.value = "";
    if (file) await sendFile(file).catch(() => {});
  });
  $("location").addEventListener("click", () => sendContent({ location: DEMO_PIN }).catch(() => {}));
  $("new-persona").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const persona = await api("POST", "/personas", { first_name: $("new-name").value, language_code: $("new-language").value });
      addPersona(persona); // unless its event came first
      $("new-name").value = "";
      await choose(persona.id);
    } catch (error) {
      toast(error.message, "error");
    }
  });
}

start().catch((error) => toast(error.message, "error"));
