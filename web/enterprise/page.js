// The enterprise's view (企业信用服务): the enterprise signs in with its API client's id and secret (OAuth2 client
// credentials; the token is kept in this page's memory only, never stored), then sees its risk class (信用风险分类,
// market supervision) beside its tax credit grade (纳税缴费信用, the tax bureau's own), every scan and inspection
// recorded about it (扫码入企), rates each inspection once (anonymously), objects to a visit (异议) and follows the
// answer, and sees the 无事不扰 alerts a visit raised. Every message is the page's language: the API's problem types
// and statuses are mapped to texts here, never shown raw; the departments' data (names, findings, answers) is marked
// lang="zh-CN", user names lang="zxx" (codes, not words). The language switches in place: a reload would lose the
// token.
import {
  DEPARTMENT_NAMES, INSPECTION_RESULTS, OBJECTION_ANSWER_DAYS, SCAN_PURPOSES, TAX_CREDIT_GRADES, VISIT_REASONS,
} from "../generated/constants.js"; // generated from the Python owners (scripts/page_constants.py)

const TEXT = {
  "zh-CN": {
    title: "企业信用服务", switch: "English", login: "企业登录", clientId: "客户端编号", secret: "客户端密钥",
    signin: "登录", loginHint: "使用贵企业接口客户端的编号和密钥登录（与调用接口时相同）。",
    memory: "登录凭据只保存在本页面中，关闭或刷新页面即退出。", signOut: "退出登录", refresh: "刷新",
    loading: "正在加载……",
    risk: "信用风险分类（市场监管）", taxCredit: "纳税缴费信用（税务）", unrated: "未评定",
    unratedNote: "税务部门尚未评定贵企业的纳税缴费信用级别。", separate: "两者分别评定，互不影响。",
    classNote: { A: "低风险：抽查最少（无事不扰）", B: "较低风险", C: "较高风险：检查较多", D: "高风险：重点检查" },
    taxNote: (year, dept, on) => `${year} 年度，${dept}评定（${on}）`,
    visits: "扫码与检查记录", visitsHint: "检查人员进门前须扫描贵企业的企业码；每次扫码和检查都记录在此。",
    noVisits: "尚无扫码或检查记录。", scanKind: "扫码入企", visitKind: "现场检查",
    time: "时间", depts: "部门", inspectors: "检查人员", purpose: "目的", reason: "检查事由", items: "检查项目",
    result: "检查结论", findings: "检查发现", anchored: "存证", onChain: "已上链存证", pending: "等待上链",
    emergency: "紧急情况：", pass: "合格", issues: "发现问题", fail: "不合格", sep: "、", to: " 至 ",
    alertsSummary: (n) => `已因检查过于频繁触发 ${n} 次“无事不扰”预警，区数据管理部门已收到提醒。`,
    alert: (visits, allowed, grade, from) =>
      `“无事不扰”预警：自 ${from} 起第 ${visits} 次检查，超过 ${grade} 类企业允许的 ${allowed} 次，已提醒区数据管理部门。`,
    rate: "评价本次检查", starsLegend: "评分（1 至 5 星）", star: (n) => `${n} 星`,
    comment: "评价意见（可选）", sendRating: "提交评价",
    anonymous: "评价匿名：部门只能看到汇总结果，看不到是哪家企业、哪次检查。",
    rated: (stars, on) => `您的评价：${stars} 星（${on}）`, ratedDone: "评价已提交，谢谢。",
    object: "对本次记录提出异议", objectionText: "异议内容（请说明理由）", sendObjection: "提交异议",
    objectionHint: (days) => `检查部门须在 ${days} 日内答复。`,
    objectionsTitle: "异议", open: "待答复", answered: "已答复", overdue: "已逾期未答复",
    due: (at) => `答复期限：${at}`, filed: (at) => `提交于 ${at}`, answer: (at) => `部门答复（${at}）：`,
    late: "（逾期答复）", objectionDone: "异议已提交，等待部门答复。",
    recordObjections: "对信用记录的异议",
    // refusals
    badLogin: "客户端编号或密钥错误，或客户端已停用。", tooMany: "尝试次数过多，请稍后再试。",
    busy: "服务繁忙，请几秒后重试。", expired: "登录已过期，请重新登录。",
    offline: "无法连接服务器，请检查网络后重试。", httpError: (s) => `操作失败（错误代码 ${s}），请稍后重试。`,
    notFound: "找不到这条记录，或它不属于贵企业。", ratedAlready: "本次检查已经评价过，每次检查只能评价一次。",
    openAlready: "对此已有一项待答复的异议，请等待部门答复后再提出。", invalid: "填写的内容有误，请检查后重试。",
    noStars: "请选择 1 至 5 星。", noText: "请填写异议内容。", creditDown: "信用服务暂不可用，请稍后重试。",
    forbidden: "此客户端无权查看企业信用信息。",
  },
  en: {
    title: "Enterprise credit service", switch: "中文", login: "Enterprise sign-in", clientId: "Client ID",
    secret: "Client secret", signin: "Sign in",
    loginHint: "Sign in with your enterprise's API client ID and secret (the ones your systems use).",
    memory: "They are kept in this page only: closing or reloading it signs you out.", signOut: "Sign out",
    refresh: "Refresh", loading: "Loading…",
    risk: "Credit risk class (market regulation)", taxCredit: "Tax credit (tax bureau)", unrated: "Not rated",
    unratedNote: "The tax bureau has not rated your enterprise's tax and fee payment credit yet.",
    separate: "The two are rated separately; neither changes the other.",
    classNote: {
      A: "Low risk: inspected least (left undisturbed)", B: "Fairly low risk", C: "Higher risk: inspected more often",
      D: "High risk: inspected closely",
    },
    taxNote: (year, dept, on) => `Year ${year}, rated by ${dept} on ${on}`,
    visits: "Scans and inspections",
    visitsHint: "Inspectors scan your enterprise code before they enter; every scan and inspection is listed here.",
    noVisits: "No scans or inspections yet.", scanKind: "Code scanned", visitKind: "On-site inspection",
    time: "When", depts: "Departments", inspectors: "Inspectors", purpose: "Purpose", reason: "Reason",
    items: "Items checked", result: "Result", findings: "Findings", anchored: "Ledger", onChain: "Anchored on the ledger",
    pending: "Waiting to be anchored", emergency: "Emergency: ", pass: "Pass", issues: "Issues found", fail: "Fail",
    sep: ", ", to: " to ",
    alertsSummary: (n) =>
      `Visits too frequent: ${n} “leave well alone” alert${n === 1 ? " was" : "s were"} raised and the district was told.`,
    alert: (visits, allowed, grade, from) =>
      `“Leave well alone” alert: visit ${visits} since ${from}, more than the ${allowed} allowed for class ${grade}; ` +
      "the district was told.",
    rate: "Rate this inspection", starsLegend: "Stars (1 to 5)", star: (n) => `${n} star${n === 1 ? "" : "s"}`,
    comment: "Comment (optional)", sendRating: "Send the rating",
    anonymous: "Ratings are anonymous: departments see only totals, never which enterprise or visit.",
    rated: (stars, on) => `Your rating: ${stars} star${stars === 1 ? "" : "s"} (${on})`,
    ratedDone: "Rating sent. Thank you.",
    object: "Object to this record", objectionText: "Your objection (say why)", sendObjection: "Send the objection",
    objectionHint: (days) => `The department must answer within ${days} days.`,
    objectionsTitle: "Objections", open: "Awaiting an answer", answered: "Answered", overdue: "Overdue, not answered",
    due: (at) => `Answer due by ${at}`, filed: (at) => `filed ${at}`, answer: (at) => `The department's answer (${at}): `,
    late: " (answered late)", objectionDone: "Objection sent; the department will answer.",
    recordObjections: "Objections to credit records",
    badLogin: "Wrong client ID or secret, or the client is disabled.", tooMany: "Too many attempts; try again later.",
    busy: "The service is busy; try again in a few seconds.", expired: "Your session has expired; sign in again.",
    offline: "Cannot reach the server; check the connection and try again.",
    httpError: (s) => `Something went wrong (error ${s}); try again later.`,
    notFound: "This record was not found, or it is not your enterprise's.",
    ratedAlready: "This inspection was rated already: one rating per inspection.",
    openAlready: "An objection to this is still awaiting its answer; wait for it before objecting again.",
    invalid: "Something entered is not valid; check it and try again.", noStars: "Choose 1 to 5 stars.",
    noText: "Write your objection.", creditDown: "The credit service is unavailable; try again later.",
    forbidden: "This client may not see the enterprise's credit.",
  },
};

const $ = (id) => document.getElementById(id);
let lang = new URLSearchParams(location.search).get("lang") === "en" ? "en" : "zh-CN";
let token = null; // in memory only: a reload signs out
let standing = null, visits = null;
const messages = {}; // element id -> [text key, ...arguments]: re-rendered when the language changes
const notes = {}; // visit uid -> [text key, ...arguments]: the last answer to a rating or an objection about it

function t(key, ...args) {
  const text = TEXT[lang][key];
  return typeof text === "function" ? text(...args) : text;
}

function say(id, key, ...args) {
  if (key) messages[id] = [key, ...args]; else delete messages[id];
  $(id).textContent = key ? t(key, ...args) : "";
  $(id).dataset.message = key || "";
}

class Problem extends Error {
  constructor(status, type) { super(`${status} ${type}`); this.status = status; this.type = type; }
}

async function call(path, init) {
  let r;
  try {
    r = await fetch(path, init);
  } catch {
    throw new Problem(0, "offline");
  }
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Problem(r.status, String(data.type || data.error || "").split(":").pop());
  return data;
}

function api(method, path, body) {
  return call(path, {
    method, body: body ? JSON.stringify(body) : undefined,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
  });
}

// The message key for a refused call (`conflict`: what a 409 means for this action); null: sign in again.
function problemText(e, conflict = "httpError") {
  if (!(e instanceof Problem)) return ["httpError", "JS"];
  if (e.status === 0) return ["offline"];
  if (e.status === 401) return null;
  if (e.status === 403) return ["forbidden"];
  if (e.status === 404) return ["notFound"];
  if (e.status === 409) return conflict === "httpError" ? ["httpError", 409] : [conflict];
  if (e.status === 422) return ["invalid"];
  if (e.status === 429) return ["tooMany"];
  if (e.status === 503) return [e.type === "busy" ? "busy" : "creditDown"];
  return ["httpError", e.status];
}

function show(section) {
  for (const id of ["login", "account"]) $(id).hidden = id !== section;
}

function signOut(expired) {
  token = null; standing = null; visits = null;
  for (const uid of Object.keys(notes)) delete notes[uid];
  say("account-error");
  $("visits").replaceChildren();
  show("login");
  say("login-error", expired ? "expired" : null);
}

// -- rendering ----------------------------------------------------------------------------------------------------

function department(id) {
  return (DEPARTMENT_NAMES[id] || {})[lang] || id;
}

// A time as people read it, in the phone's clock: 2026-05-03 09:30
function when(iso) {
  const d = new Date(iso), p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "data") Object.assign(node.dataset, v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

// The departments' data (names, findings, answers) is Chinese whatever the page's language; what the enterprise
// wrote is marked by what it is written in.
const data = (text) => el("span", { lang: "zh-CN" }, text);
const written = (text) => el("span", { lang: /[\u3400-\u9fff]/.test(text) ? "zh-CN" : "en" }, text);
const code = (text) => el("span", { lang: "zxx", class: "code" }, text); // user names: identifiers, no language

function renderStanding() {
  const s = standing;
  $("name").replaceChildren(data(s.name));
  $("uscc").textContent = s.uscc;
  const grade = s.grade.grade;
  $("grade").textContent = grade;
  $("grade").dataset.grade = grade;
  $("grade-note").textContent = t("classNote")[grade] || "";
  // 纳税缴费信用: the tax bureau's own grade, kept beside the risk class (`tax_credit` in the standing)
  const tax = s.tax_credit || null;
  $("tax").textContent = tax ? tax.grade : t("unrated");
  $("tax").dataset.grade = tax ? tax.grade : "none";
  $("tax-note").textContent = tax
    ? `${(TAX_CREDIT_GRADES[tax.grade] || {})[lang] || ""}${lang === "en" ? ". " : "。"}${
      t("taxNote", tax.year, department(tax.department), tax.decided_on)}`
    : t("unratedNote");
}

function dl(rows) {
  return el("dl", {}, ...rows.filter(([, v]) => v !== null).flatMap(([k, v, attrs]) =>
    [el("dt", {}, t(k)), el("dd", attrs || {}, ...[v].flat())]));
}

function joined(parts) {
  return parts.flatMap((part, i) => (i ? [t("sep"), part] : [part]));
}

function stars(n) {
  return "★".repeat(n) + "☆".repeat(5 - n);
}

function objectionItem(o) {
  const state = o.overdue ? "overdue" : o.state === "ANSWERED" ? "answered" : "open";
  return el("li", { class: "objection", data: { state, uid: o.uid } },
    el("p", {}, el("b", {}, t(state)), " · ", o.state === "OPEN" ? t("due", when(o.due_at)) : t("filed", when(o.filed_at))),
    el("p", {}, written(o.text)),
    o.answer ? el("p", { class: "answer" }, t("answer", when(o.answered_at)), data(o.answer),
      o.answered_late ? t("late") : null) : null);
}

function ratingPart(v) {
  if (v.kind !== "inspection") return null;
  if (v.rating) {
    return el("p", { class: "rated", data: { stars: String(v.rating.stars) } },
      el("span", { class: "stars", "aria-hidden": "true" }, stars(v.rating.stars)), " ",
      t("rated", v.rating.stars, v.rating.rated_on), ...(v.rating.comment ? [" ", written(v.rating.comment)] : []));
  }
  const name = `stars-${v.uid}`;
  const choices = [1, 2, 3, 4, 5].map((n) => el("label", { class: "star", "data-n": String(n) },
    el("input", { type: "radio", name, value: String(n) }), el("span", { "aria-hidden": "true" }, "★"),
    el("span", { class: "sr" }, t("star", n))));
  const form = el("form", { class: "rate", data: { uid: v.uid } },
    el("h4", {}, t("rate")),
    el("fieldset", { class: "stars-pick" }, el("legend", { class: "small" }, t("starsLegend")), ...choices),
    el("label", {}, el("span", { class: "small" }, t("comment")),
      el("textarea", { id: `comment-${v.uid}`, rows: "2", maxlength: "500" })),
    el("button", { type: "submit" }, t("sendRating")),
    el("p", { class: "small" }, t("anonymous")));
  form.addEventListener("change", () => paintStars(form));
  form.addEventListener("submit", (e) => rate(e, v.uid, form));
  return form;
}

function paintStars(form) {
  const chosen = Number((form.querySelector("input[type=radio]:checked") || {}).value || 0);
  for (const label of form.querySelectorAll("label.star")) label.classList.toggle("on", Number(label.dataset.n) <= chosen);
}

function objectionPart(v) {
  const list = v.objections.length
    ? el("div", {}, el("h4", {}, t("objectionsTitle")), el("ul", { class: "objections" }, ...v.objections.map(objectionItem)))
    : null;
  if (v.objections.some((o) => o.state === "OPEN")) return list;
  const form = el("form", { class: "object", data: { uid: v.uid } },
    el("label", {}, el("span", { class: "small" }, t("objectionText")),
      el("textarea", { id: `objection-${v.uid}`, rows: "3", maxlength: "2000", required: true })),
    el("button", { type: "submit" }, t("sendObjection")),
    el("p", { class: "small" }, t("objectionHint", OBJECTION_ANSWER_DAYS)));
  form.addEventListener("submit", (e) => object(e, v.uid, form));
  return el("div", {}, list, el("details", { id: `object-${v.uid}` }, el("summary", {}, t("object")), form));
}

function reasonText(v) {
  if (v.kind === "scan") return (SCAN_PURPOSES[v.purpose] || {})[lang] || null;
  const parts = [];
  if (v.reason) parts.push((VISIT_REASONS[v.reason] || {})[lang] || v.reason);
  if (v.emergency) parts.push(" · ", t("emergency"), data(v.emergency));
  return parts.length ? parts : null;
}

function visitItem(v) {
  const scan = v.kind === "scan";
  const start = v.started_at ? when(v.started_at) : v.visited_on;
  const end = v.ended_at ? when(v.ended_at) : null; // the same day's end by its time only
  const time = !scan && v.started_at && end ? `${start}${t("to")}${end.slice(0, 10) === start.slice(0, 10)
    ? end.slice(11) : end}` : start;
  const items = scan || !v.items.length ? null : el("ul", { class: "items" }, ...v.items.map((i) =>
    el("li", { data: { ok: String(i.ok) } }, i.ok ? "✓ " : "✗ ", data(i.item), ...(i.note ? [" ", data(i.note)] : []))));
  const result = scan || !INSPECTION_RESULTS.includes(v.result) ? null : t(v.result);
  const note = notes[v.uid];
  return el("li", { class: "visit", data: { uid: v.uid, kind: v.kind } },
    el("h3", {}, t(scan ? "scanKind" : "visitKind"), " · ", start),
    dl([
      ["time", time],
      ["depts", joined(v.departments.map(department))],
      ["inspectors", joined(v.inspectors.map(code))],
      [scan ? "purpose" : "reason", reasonText(v)],
      ["items", items],
      ["result", result, { class: "result", data: { result: v.result || "" } }],
      ["findings", v.findings ? data(v.findings) : null],
      ["anchored", t(v.anchored ? "onChain" : "pending")],
    ]),
    ...v.alerts.map((a) => el("p", { class: "alert", role: "status" },
      t("alert", a.visits, a.allowed, a.grade, a.window_from))),
    ratingPart(v),
    objectionPart(v),
    el("p", { class: "msg", role: "status", data: { message: note ? note[0] : "" } }, note ? t(...note) : ""));
}

// Rebuild the visits, keeping what was typed, chosen and opened (a language switch rebuilds them too).
function renderVisits() {
  const kept = {};
  for (const field of $("visits").querySelectorAll("textarea")) kept[field.id] = field.value;
  const checked = Array.from($("visits").querySelectorAll("input[type=radio]:checked"), (r) => [r.name, r.value]);
  const open = Array.from($("visits").querySelectorAll("details[open]"), (d) => d.id);
  $("visits").replaceChildren(...(visits.visits.length ? visits.visits.map(visitItem)
    : [el("li", { class: "empty" }, t("noVisits"))]));
  for (const [id, value] of Object.entries(kept)) if ($(id)) $(id).value = value;
  for (const [name, value] of checked) {
    const radio = $("visits").querySelector(`input[name="${name}"][value="${value}"]`);
    if (radio) { radio.checked = true; paintStars(radio.form); }
  }
  for (const id of open) if ($(id)) $(id).open = true;
  const alerts = visits.alerts || 0;
  $("alerts").hidden = !alerts;
  $("alerts").textContent = alerts ? t("alertsSummary", alerts) : "";
  const records = visits.record_objections || [];
  $("record-objections").hidden = !records.length;
  $("record-objection-list").replaceChildren(...records.map(objectionItem));
}

function render() {
  document.documentElement.lang = lang;
  document.title = t("title");
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  const other = lang === "en" ? "zh-CN" : "en";
  $("lang-switch").lang = other; // the language of its own label
  $("lang-switch").href = `?lang=${other}`;
  for (const [id, [key, ...args]] of Object.entries(messages)) $(id).textContent = t(key, ...args);
  if (standing) renderStanding();
  if (visits) renderVisits();
}

// -- actions ------------------------------------------------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  say("login-error");
  const button = $("login-form").querySelector("button");
  button.disabled = true;
  try {
    // `credentials: "omit"`: the token endpoint answers a wrong secret with a `WWW-Authenticate: Basic` challenge
    // (RFC 6749 §5.2), which would otherwise open the browser's own password dialog (or hang a headless one)
    const answer = await call("/v1/auth/token", {
      method: "POST", credentials: "omit",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials", client_id: $("client-id").value.trim(), client_secret: $("client-secret").value,
      }),
    });
    token = answer.access_token;
  } catch (e) {
    const text = e instanceof Problem && (e.status === 401 || e.status === 400) ? ["badLogin"]
      : problemText(e) || ["badLogin"];
    say("login-error", ...text);
    return;
  } finally {
    button.disabled = false;
  }
  $("client-secret").value = "";
  show("account");
  await load();
}

async function load() {
  say("account-error", "loading");
  $("account").dataset.loaded = "false";
  try {
    [standing, visits] = await Promise.all([api("GET", "/v1/enterprise/credit"),
      api("GET", "/v1/enterprise/credit/visits")]);
  } catch (e) {
    const text = problemText(e);
    if (!text) { signOut(true); return; }
    say("account-error", ...text);
    return;
  }
  say("account-error");
  render();
  $("account").dataset.loaded = "true";
}

// After a rating or an objection: the answer in the visit's own message line, then the list again from the server.
async function act(uid, form, send, done, conflict) {
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await send();
    notes[uid] = [done];
  } catch (e) {
    const text = problemText(e, conflict);
    if (!text) { signOut(true); return; }
    notes[uid] = text;
    const msg = form.closest("li.visit").querySelector(".msg");
    msg.textContent = t(...text);
    msg.dataset.message = text[0];
    return;
  } finally {
    button.disabled = false;
  }
  await load();
}

async function rate(event, uid, form) {
  event.preventDefault();
  const chosen = form.querySelector("input[type=radio]:checked");
  if (!chosen) {
    notes[uid] = ["noStars"];
    const msg = form.closest("li.visit").querySelector(".msg");
    msg.textContent = t("noStars");
    msg.dataset.message = "noStars";
    return;
  }
  const comment = $(`comment-${uid}`).value.trim();
  await act(uid, form, () => api("POST", `/v1/enterprise/credit/visits/${uid}/rating`,
    { stars: Number(chosen.value), comment }), "ratedDone", "ratedAlready");
}

async function object(event, uid, form) {
  event.preventDefault();
  const text = $(`objection-${uid}`).value.trim();
  if (!text) { notes[uid] = ["noText"]; renderVisits(); return; }
  await act(uid, form, () => api("POST", "/v1/enterprise/credit/objections", { visit: uid, text }),
    "objectionDone", "openAlready");
}

$("lang-switch").addEventListener("click", (event) => {
  event.preventDefault();
  lang = lang === "en" ? "zh-CN" : "en";
  const url = new URL(location.href);
  url.searchParams.set("lang", lang);
  history.replaceState(null, "", url);
  render();
});
$("login-form").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", () => signOut(false));
$("refresh").addEventListener("click", () => {
  for (const uid of Object.keys(notes)) delete notes[uid]; // the answers to what was just sent are old news now
  load();
});
render();
show("login");
