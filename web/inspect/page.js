// The inspector page (一码检查): sign in, find the enterprise by scanning its one code with the phone camera, from
// a photo, or by typing its USCC (a scan is recorded: 扫码入企); see its risk class beside its tax credit grade, list
// flags, last inspections and whether an inspection is due and why, and record the result: when it started (the
// scan was before it), and, when none is due, a reason from the rule file's list. Codes are decoded on the device (../scan/decode.js); evidence files are hashed on the device
// (SHA-256): only digests leave. Every message is the page's language: the API's problem types and the browser's
// error names are mapped to texts here, never shown raw; data (names, findings) is marked lang="zh-CN".
import {
  DEPARTMENT_NAMES, INSPECTION_RESULTS, RECORD_TYPES, REGISTRATION_AUTHORITIES, TAX_CREDIT_GRADES, UNSCHEDULED_REASONS,
  USCC_ALPHABET, USCC_NEVER_USED, VISIT_REASONS,
} from "../generated/constants.js"; // generated from the Python owners (scripts/page_constants.py)

const NEVER_USED = [...USCC_NEVER_USED]; // the capitals a USCC never uses (I, O, S, V, Z)

const TEXT = {
  "zh-CN": {
    title: "一码检查", switch: "English", login: "检查员登录", username: "用户名", password: "密码", signin: "登录",
    scan: "用相机扫描企业码", stop: "停止扫描", photo: "或拍摄、选择企业码照片", scanning: "请将企业码对准取景框……",
    starting: "正在打开相机……", manual: "或输入统一社会信用代码", find: "查询企业",
    typed: "手动输入的代码：未经企业码签名核验，请核对营业执照。", scanned: "已核验企业码签名（市场监管部门签发）。",
    grade: "信用等级", score: "分", flags: "名单标识", none: "无", red: "红名单（守信激励）",
    black: "黑名单（严重失信）", joint: "联合惩戒", due: "本期应检查", notDue: "暂无需检查（无事不扰）", dueOn: "应检日期",
    last: "最近检查", never: "尚无检查记录", records: "公示中的信用记录", noRecords: "无", record: "记录检查结果",
    departments: "参与部门（联合检查计为一次）", items: "检查项目（每行一项，不合格项以“×”开头）",
    findings: "检查发现", result: "检查结论", pass: "合格", issues: "发现问题", fail: "不合格", evidence: "添加证据文件（仅在本机计算摘要）",
    chosen: (n) => `已选择 ${n} 个文件`,
    save: "提交检查记录", saving: "正在提交……", saved: (digest) => `已记录，摘要：${digest}`, again: "检查下一家",
    tax: "税务", si: "社保", amr: "市场监管", sep: "、",
    // sign-in
    badLogin: "用户名或密码错误，或账户已停用。", tooMany: "尝试次数过多，请稍后再试。",
    busy: "服务繁忙，请几秒后重试。", expired: "登录已过期，请重新登录。",
    offline: "无法连接服务器，请检查网络后重试。", httpError: (s) => `操作失败（错误代码 ${s}），请稍后重试。`,
    // finding the enterprise
    notCode: "这不是企业码（一企一码），请扫描企业的企业码。",
    forged: "企业码签名无效，可能是伪造的，请勿信任，请核对营业执照。", noEnterprise: "查无此企业。",
    creditDown: "信用服务暂不可用，请稍后重试。",
    noQr: "照片中未找到二维码：请靠近、对准后重拍，或手动输入统一社会信用代码。",
    decoderDown: "无法加载二维码识别组件：请检查网络后重试，或手动输入统一社会信用代码。",
    cameraFailed: (why) => TEXT["zh-CN"][why] + "请改用照片，或手动输入统一社会信用代码。",
    camDenied: "未获得相机权限。", camMissing: "未找到可用的相机。",
    camBusy: "相机无法启动（可能正被其他应用使用）。", camUnsupported: "此浏览器无法在网页中使用相机（需 HTTPS）。",
    // the USCC typed by hand (GB 32100-2015)
    usccEmpty: "请输入18位统一社会信用代码。",
    usccLength: (n) => `统一社会信用代码应为18位，现为${n}位。`,
    usccChar: (p, c, never) => `第${p}位“${c}”不是有效字符${never ? `（代码中不使用 ${NEVER_USED.join("、")}）` : ""}。`,
    usccAuthority: (c) => `第1位“${c}”不是登记管理部门代码。`,
    usccRegion: (p) => `第3至8位是行政区划码，应为数字（第${p}位不是）。`,
    usccCheck: (c, e) => `校验位不符：第18位应为“${e}”，而不是“${c}”，请核对代码。`,
    // recording
    badRecord: "检查记录有误，请检查填写内容后重试。",
    noScan: "未找到进门前的扫码记录：请先扫描企业码再记录检查。",
    // scan to enter (扫码入企), why a visit is due, and the reason of one that is not
    scanRecorded: (at) => `扫码已登记：${at}`, taxCredit: "纳税缴费信用", unrated: "未评定",
    dueBecause: "应检查原因：", scheduleDue: (on) => `按风险分类定期检查（应检日期 ${on}）`,
    startedAt: "检查开始时间（扫码之后）", why: "本期无需检查，请选择检查事由", choose: "请选择",
    drawId: "双随机抽查编号", emergencyOn: "紧急进入（进门前未能扫码，离开前补扫）",
    emergency: "紧急情况说明", badStart: "检查开始时间无效，请重新填写。",
  },
  en: {
    title: "One-code inspection", switch: "中文", login: "Inspector sign-in", username: "Username",
    password: "Password", signin: "Sign in", scan: "Scan an enterprise code with the camera", stop: "Stop scanning",
    photo: "or take or choose a photo of the code", scanning: "Point the camera at the enterprise code…",
    starting: "Opening the camera…", manual: "or type the unified social credit code (USCC)", find: "Look up",
    typed: "Typed by hand: no signed code was checked; compare with the business licence.",
    scanned: "The code's signature was checked (issued by market regulation).", grade: "Credit grade",
    score: "points", flags: "Lists", none: "none", red: "Red list (trustworthy)",
    black: "Black list (seriously dishonest)",
    joint: "Joint punishment", due: "Inspection due", notDue: "No inspection due (leave well alone)",
    dueOn: "due on", last: "Last inspections", never: "Never inspected", records: "Credit records on display",
    noRecords: "none", record: "Record the inspection",
    departments: "Departments in the visit (a joint inspection counts once)",
    items: "Items checked (one per line; start a failed item with “×”)", findings: "Findings", result: "Result",
    pass: "Pass", issues: "Issues found", fail: "Fail", evidence: "Add evidence files (only their digests leave)",
    chosen: (n) => `${n} file${n === 1 ? "" : "s"} chosen`, save: "Submit the record",
    saving: "Submitting…", saved: (digest) => `Recorded, digest: ${digest}`, again: "Inspect the next one",
    tax: "Tax", si: "Social insurance", amr: "Market regulation", sep: ", ",
    badLogin: "Wrong username or password, or the account is disabled.", tooMany: "Too many attempts; try again later.",
    busy: "The service is busy; try again in a few seconds.", expired: "Your session has expired; sign in again.",
    offline: "Cannot reach the server; check the connection and try again.",
    httpError: (s) => `Something went wrong (error ${s}); try again later.`,
    notCode: "This is not an enterprise code; scan the enterprise's one code.",
    forged: "The code's signature is not valid: it may be forged. Do not trust it; check the business licence.",
    noEnterprise: "No such enterprise.", creditDown: "The credit service is unavailable; try again later.",
    noQr: "No QR code found in the photo: move closer and try again, or type the USCC.",
    decoderDown: "The QR decoder could not be loaded: check the connection and try again, or type the USCC.",
    cameraFailed: (why) => `${TEXT.en[why]} Use a photo instead, or type the USCC.`,
    camDenied: "The camera permission was not granted.", camMissing: "No camera was found.",
    camBusy: "The camera could not start (another app may be using it).",
    camUnsupported: "This browser cannot use the camera in a web page (HTTPS is needed).",
    usccEmpty: "Type the 18-character USCC.",
    usccLength: (n) => `A USCC has 18 characters, not ${n}.`,
    usccChar: (p, c, never) =>
      `Character ${p} (“${c}”) is not allowed${never ?
        ` (${NEVER_USED.slice(0, -1).join(", ")} and ${NEVER_USED[NEVER_USED.length - 1]} are never used)` : ""}.`,
    usccAuthority: (c) => `“${c}” (character 1) is not a registration authority code.`,
    usccRegion: (p) => `Characters 3 to 8 are the region code and must be digits (character ${p} is not).`,
    usccCheck: (c, e) =>
      `The check character does not match: character 18 should be “${e}”, not “${c}”. Check the code.`,
    badRecord: "The record was refused; check what was entered and try again.",
    noScan: "No scan of the code before entering was found: scan the enterprise code, then record the inspection.",
    scanRecorded: (at) => `Scan recorded at ${at}`, taxCredit: "Tax credit", unrated: "not rated",
    dueBecause: "Why it is due:", scheduleDue: (on) => `Routine, by the risk class (due on ${on})`,
    startedAt: "Inspection started at (after the scan)", why: "No inspection is due: choose the reason for this one",
    choose: "Choose", drawId: "Draw number", emergencyOn: "Emergency entry (no scan before entering; scan before leaving)",
    emergency: "What the emergency was", badStart: "The start time is not valid; enter it again.",
  },
};

const $ = (id) => document.getElementById(id);
let lang = new URLSearchParams(location.search).get("lang") === "en" ? "en" : "zh-CN";
let token = sessionStorage.getItem("zel-inspector-token");
let me = null, current = null, source = null, stream = null, scanning = 0;
let startedDefault = null; // when the visit starts unless the inspector changes it: now, and never before the scan
const messages = {}; // element id -> [text key, ...arguments]: re-rendered when the language changes

function t(key, ...args) {
  const text = TEXT[lang][key];
  return typeof text === "function" ? text(...args) : text;
}

// Show (or clear, with no key) a message in the page's language; kept so a language switch re-renders it.
function say(id, key, ...args) {
  if (key) messages[id] = [key, ...args]; else delete messages[id];
  $(id).textContent = key ? t(key, ...args) : "";
  $(id).dataset.message = key || "";
}

class Problem extends Error {
  constructor(status, type) { super(`${status} ${type}`); this.status = status; this.type = type; }
}

// An API call; a refusal is a Problem carrying the status and the problem type (urn:zel:problem:<slug>).
async function api(method, path, body, auth = true) {
  let r;
  try {
    r = await fetch(path, {
      method, body: body ? JSON.stringify(body) : undefined,
      headers: { ...(auth ? { Authorization: `Bearer ${token}` } : {}),
                 ...(body ? { "Content-Type": "application/json" } : {}) },
    });
  } catch {
    throw new Problem(0, "offline");
  }
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Problem(r.status, String(data.type || "").split(":").pop());
  return data;
}

// The message key (and arguments) for a refused call; null when the inspector must sign in again.
function problemText(e, notFound = "noEnterprise") {
  if (!(e instanceof Problem)) return ["httpError", "JS"];
  if (e.status === 0) return ["offline"];
  if (e.status === 401) return null;
  if (e.type === "untrusted-code") return ["forged"];
  if (e.type === "invalid-code") return ["notCode"];
  if (e.status === 404) return [notFound];
  if (e.status === 429) return ["tooMany"];
  if (e.status === 503) return [e.type === "busy" ? "busy" : "creditDown"];
  return ["httpError", e.status];
}

function signOut(expired) {
  token = null; me = null; current = null;
  sessionStorage.removeItem("zel-inspector-token");
  stopCamera();
  say("who");
  show("login");
  say("login-error", expired ? "expired" : null);
}

function show(section) {
  for (const id of ["login", "scan", "standing"]) $(id).hidden = id !== section;
}

function render() {
  document.documentElement.lang = lang;
  document.title = t("title");
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  const other = lang === "en" ? "zh-CN" : "en";
  $("lang-switch").lang = other; // the language of its own label
  $("lang-switch").href = `?lang=${other}${location.hash}`;
  $("camera").textContent = t(stream ? "stop" : "scan");
  for (const [id, [key, ...args]] of Object.entries(messages)) $(id).textContent = t(key, ...args);
  for (const option of $("reason").options) {
    option.textContent = option.value ? VISIT_REASONS[option.value][lang] : t("choose");
  }
  if (me) renderWho();
  if (current) renderStanding();
}

function department(id) {
  return (DEPARTMENT_NAMES[id] || {})[lang] || id;
}

function renderWho() {
  // A person's display name is Chinese: the English page shows the sign-in name instead.
  $("who").textContent = `${lang === "en" ? me.username : me.display_name} · ${department(me.department)}`;
}

// A time as people read it on the phone, in its own clock: 2026-05-03 09:30:05
function when(iso) {
  const d = new Date(iso), p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${
    p(d.getSeconds())}`;
}

function data(text) { // names, findings and summaries: the departments' Chinese, whatever the page's language
  const span = document.createElement("span");
  span.lang = "zh-CN";
  span.textContent = text;
  return span;
}

function li(parts, attrs = {}) {
  const el = document.createElement("li");
  parts.forEach((part, i) => el.append(...(i ? ["  "] : []), part));
  Object.assign(el.dataset, attrs);
  return el;
}

function renderStanding() {
  const s = current;
  $("name").replaceChildren(data(s.name), "  ", s.uscc);
  $("source").textContent = t(source);
  $("source").dataset.source = source;
  const grade = $("grade");
  grade.textContent = `${s.grade.grade}  (${s.grade.score} ${t("score")})`;
  grade.dataset.grade = s.grade.grade;
  const flags = [];
  if (s.flags.red_list) flags.push(t("red"));
  if (s.flags.black_list) flags.push(t("black"));
  if (s.flags.joint_punishment) flags.push(t("joint"));
  $("flags").textContent = flags.length ? flags.join(t("sep")) : t("none");
  // the tax bureau's own grade (纳税缴费信用), beside market supervision's risk class: neither changes the other
  const tax = s.tax_credit || null;
  $("tax").textContent = tax ? (TAX_CREDIT_GRADES[tax.grade] || {})[lang] || tax.grade : t("unrated");
  $("tax").dataset.grade = tax ? tax.grade : "";
  const scan = s.scan || null;
  $("scan-recorded").hidden = !scan;
  $("scan-recorded").textContent = scan ? t("scanRecorded", when(scan.scanned_at)) : "";
  if (scan) $("scan-recorded").dataset.scan = scan.uid; else delete $("scan-recorded").dataset.scan;
  const due = $("due");
  due.dataset.due = String(s.inspection.due);
  // when due, the reasons below say why (a complaint overrides the schedule's date); when not, the date it will be
  due.textContent = s.inspection.due ? t("due") : `${t("notDue")} (${t("dueOn")} ${s.inspection.due_on})`;
  const reasons = s.inspection.reasons || [];
  $("due-why").hidden = !reasons.length;
  $("due-reasons").replaceChildren(...reasons.map((r) => li(r.kind === "schedule" ? [t("scheduleDue", r.due_on)]
    : [`${(VISIT_REASONS[r.kind] || {})[lang] || t("dueBecause")} · ${department(r.department)} · ${r.recorded_on}`,
      ...(r.reason ? [data(r.reason)] : [])], { kind: r.kind })));
  // an inspection not due gives its reason, from the rule file's list
  $("why").hidden = s.inspection.due;
  $("reason").required = !s.inspection.due;
  showReasonFields();
  $("inspections").replaceChildren(...(s.inspections.length ? s.inspections.map((i) =>
    li([i.visited_on, t(i.result), ...(i.findings ? [data(i.findings)] : [])], { result: i.result }))
    : [li([t("never")])]));
  // An inspection's record summarises it by its findings, or by its result key when there were none.
  $("records").replaceChildren(...(s.records.length ? s.records.map((r) => li([r.decided_on,
    (RECORD_TYPES[r.type] || {})[lang] || r.type_zh,
    ...(INSPECTION_RESULTS.includes(r.summary) ? [t(r.summary)] : r.summary ? [data(r.summary)] : [])],
    { type: r.type }))
    : [li([t("noRecords")])]));
  for (const box of document.querySelectorAll("input[name=dept]")) {
    box.checked = box.value === me.department || box.checked;
    box.disabled = box.value === me.department;
  }
}

async function signIn(event) {
  event.preventDefault();
  say("login-error");
  let answer;
  try {
    answer = await api("POST", "/v1/auth/login", { username: $("username").value, password: $("password").value },
      false);
  } catch (e) {
    const text = e instanceof Problem && e.status === 401 ? ["badLogin"] : problemText(e) || ["badLogin"];
    say("login-error", ...text);
    return;
  }
  token = answer.access_token;
  sessionStorage.setItem("zel-inspector-token", token);
  $("password").value = "";
  await start();
}

async function start() {
  try {
    me = await api("GET", "/v1/inspector/me");
  } catch (e) {
    signOut(e instanceof Problem && e.status === 401 && token !== null);
    return;
  }
  renderWho();
  show("scan");
  render();
}

// Show the enterprise's standing: from a scanned code (`text`, checked by the server) or a typed USCC.
async function open(how, what) {
  stopCamera();
  say("scan-error");
  try {
    current = how === "scanned" ? await api("POST", "/v1/inspector/scan", { text: what })
      : await api("GET", `/v1/inspector/enterprises/${what}/standing`);
  } catch (e) {
    const text = problemText(e);
    if (!text) { signOut(true); return; }
    say("scan-error", ...text);
    return;
  }
  source = how;
  say("saved");
  delete $("saved").dataset.digest;
  resetForm();
  show("standing");
  renderStanding();
}

const decoder = () => import("../scan/decode.js");

function cameraError(e) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return "camUnsupported";
  if (e && (e.name === "NotAllowedError" || e.name === "SecurityError")) return "camDenied";
  if (e && (e.name === "NotFoundError" || e.name === "OverconstrainedError")) return "camMissing";
  return "camBusy";
}

async function startCamera() {
  say("scan-error");
  say("scan-hint", "starting");
  const run = ++scanning;
  const ready = decoder().then((d) => d.warmUp().then(() => d));
  ready.catch(() => {}); // reported below, when the first frame needs it
  try {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new Error("no camera API");
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    const video = $("video");
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
  } catch (e) {
    stopCamera();
    say("scan-hint");
    say("scan-error", "cameraFailed", cameraError(e)); // what went wrong, then what to do instead
    $("scan-error").dataset.camera = cameraError(e);
    return;
  }
  render();
  say("scan-hint", "scanning");
  let decode;
  try {
    ({ decodeFrame: decode } = await ready);
  } catch {
    stopCamera();
    say("scan-error", "decoderDown");
    return;
  }
  while (stream && run === scanning) {
    const text = await decode($("video")).catch(() => null);
    if (run !== scanning || !stream) return;
    if (text && text.includes("/e/")) { await open("scanned", text); return; }
    await new Promise((done) => setTimeout(done, 100));
  }
}

function stopCamera() {
  scanning++;
  if (stream) for (const track of stream.getTracks()) track.stop();
  stream = null;
  $("video").hidden = true;
  $("video").srcObject = null;
  say("scan-hint");
  $("camera").textContent = t("scan");
}

async function fromPhoto() {
  const file = $("photo").files[0];
  if (!file) return;
  stopCamera();
  say("scan-error");
  let text;
  try {
    text = await (await decoder()).decodePhoto(file);
  } catch (e) {
    say("scan-error", e instanceof DOMException ? "noQr" : "decoderDown"); // an unreadable file, or no decoder
    return;
  } finally {
    $("photo").value = "";
  }
  if (!text) { say("scan-error", "noQr"); return; }
  await open("scanned", text);
}

// GB 32100-2015: 18 characters of the alphabet (no I, O, S, V, Z), a registration authority first, six region
// digits at 3-8, and a check character of weights 3^(i-1) mod 31. The same rules, in the same order, as
// identifiers.validate_uscc; the alphabet and authorities are its own (generated). Returns [code] or [code, error].
function checkUscc(raw) {
  const alphabet = USCC_ALPHABET, authorities = REGISTRATION_AUTHORITIES;
  const code = raw.normalize("NFKC").replace(/[\s\-_\u3000]/g, "").toUpperCase();
  if (!code) return [code, ["usccEmpty"]];
  if ([...code].length !== 18) return [code, ["usccLength", [...code].length]];
  for (let i = 0; i < 18; i++) {
    if (!alphabet.includes(code[i])) return [code, ["usccChar", i + 1, code[i], USCC_NEVER_USED.includes(code[i])]];
  }
  if (!authorities.includes(code[0])) return [code, ["usccAuthority", code[0]]];
  for (let i = 2; i < 8; i++) if (!/[0-9]/.test(code[i])) return [code, ["usccRegion", i + 1]];
  let sum = 0;
  for (let i = 0, w = 1; i < 17; i++, w = (w * 3) % 31) sum += alphabet.indexOf(code[i]) * w;
  const expected = alphabet[(31 - (sum % 31)) % 31];
  return code[17] === expected ? [code] : [code, ["usccCheck", code[17], expected]];
}

async function fromTyped(event) {
  event.preventDefault();
  const [code, error] = checkUscc($("uscc").value);
  $("uscc").setAttribute("aria-invalid", String(!!error));
  if (error) { say("scan-error", ...error); return; }
  $("uscc").value = code;
  await open("typed", code);
}

async function sha256(file) {
  const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
  return "0x" + Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

// The visit starts now unless the inspector says otherwise, never before the scan that opened it (the phone's clock
// may be behind the server's): the datetime-local field shows it to the second, in the phone's time zone.
function localInput(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${
    p(d.getSeconds())}`;
}

function startedAt() {
  const value = $("started-at").value;
  if (startedDefault && value === localInput(startedDefault)) return startedDefault.toISOString();
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

function showReasonFields() {
  const reason = $("why").hidden ? "" : $("reason").value;
  $("draw-label").hidden = reason !== "random_draw";
  $("draw-id").required = reason === "random_draw";
  if (reason === "emergency") $("emergency-on").checked = true;
  $("emergency-label").hidden = !$("emergency-on").checked;
  $("emergency").required = $("emergency-on").checked;
}

function resetForm() {
  $("inspection-form").reset(); // items, findings, evidence, the result back to "pass", other departments unticked
  say("evidence-chosen");
  const scanned = current && current.scan ? Date.parse(current.scan.scanned_at) : 0;
  startedDefault = new Date(Math.max(Date.now(), scanned));
  $("started-at").value = localInput(startedDefault);
  showReasonFields();
  for (const box of document.querySelectorAll("input[name=dept]")) {
    box.checked = me && box.value === me.department;
    box.disabled = me && box.value === me.department;
  }
}

async function save(event) {
  event.preventDefault();
  const button = $("inspection-form").querySelector("button[type=submit]");
  const items = $("items").value.split("\n").map((s) => s.trim()).filter(Boolean)
    .map((s) => ({ item: s.replace(/^[×xX]\s*/, ""), ok: !/^[×xX]/.test(s) }));
  button.disabled = true;
  say("saved", "saving");
  try {
    const evidence = await Promise.all(Array.from($("evidence").files, sha256));
    const departments = Array.from(document.querySelectorAll("input[name=dept]:checked"), (b) => b.value);
    // 扫码入企: the visit began at the scan that opened it (a code typed by hand has none: the server looks for one)
    const scan = current.scan || null;
    const started = startedAt();
    if (!started) { say("saved", "badStart"); return; }
    const notDue = !current.inspection.due, reason = $("reason").value;
    const done = await api("POST", "/v1/inspector/inspections", {
      uscc: current.uscc, departments, items, findings: $("findings").value, result: $("result").value, evidence,
      // it ends now (it is recorded on leaving), never before it started: the phone's clock, as the start's
      started_at: started, ended_at: new Date(Math.max(Date.now(), Date.parse(started))).toISOString(),
      ...(scan ? { scan: scan.uid } : {}),
      ...(notDue && reason ? { reason } : {}),
      ...(notDue && reason === "random_draw" ? { draw_id: Number($("draw-id").value) } : {}),
      ...($("emergency-on").checked ? { emergency: $("emergency").value.trim() } : {}),
    });
    resetForm();
    say("saved", "saved", done.digest);
    $("saved").dataset.digest = done.digest;
    current = await api("GET", `/v1/inspector/enterprises/${current.uscc}/standing`);
    renderStanding();
  } catch (e) {
    const text = problemText(e);
    if (!text) { signOut(true); return; }
    say("saved", ...(e instanceof Problem && e.status === 422 ? ["badRecord"]
      : e instanceof Problem && e.status === 409 ? ["noScan"] : text));
  } finally {
    button.disabled = false;
  }
}

$("lang-switch").addEventListener("click", (event) => {
  event.preventDefault();
  lang = lang === "en" ? "zh-CN" : "en";
  const url = new URL(location.href); // the fragment stays
  url.searchParams.set("lang", lang);
  history.replaceState(null, "", url);
  render();
});
$("login-form").addEventListener("submit", signIn);
$("camera").addEventListener("click", () => (stream ? stopCamera() : startCamera()));
$("photo").addEventListener("change", fromPhoto);
$("manual-form").addEventListener("submit", fromTyped);
$("inspection-form").addEventListener("submit", save);
$("reason").append(...UNSCHEDULED_REASONS.map((r) => Object.assign(document.createElement("option"), { value: r })));
$("reason").addEventListener("change", showReasonFields);
$("emergency-on").addEventListener("change", showReasonFields);
$("evidence").addEventListener("change", () => say("evidence-chosen", $("evidence").files.length ? "chosen" : null,
  $("evidence").files.length));
$("next").addEventListener("click", () => {
  current = null; source = null; say("saved"); resetForm(); show("scan"); $("uscc").value = "";
});
document.addEventListener("visibilitychange", () => document.hidden && stream && stopCamera());
render();
if (token) start(); else show("login");
