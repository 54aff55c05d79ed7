// The inspector page (一码检查): sign in, scan the enterprise's one code with the phone camera (or a photo),
// see its grade, list flags, last inspections and whether an inspection is due, and record the result.
// Codes are decoded on the device (jsQR); evidence files are hashed on the device (SHA-256): only digests leave.
import jsQR from "jsqr";

const TEXT = {
  "zh-CN": {
    title: "一码检查", switch: "English", login: "检查员登录", username: "用户名", password: "密码", signin: "登录",
    scan: "扫描企业码", stop: "停止扫描", photo: "或上传企业码照片", scanning: "请将企业码对准取景框……",
    grade: "信用等级", score: "分", flags: "名单标识", none: "无", red: "红名单（守信激励）",
    black: "黑名单（严重失信）", joint: "联合惩戒", due: "本期应检查", notDue: "暂无需检查（无事不扰）", dueOn: "应检日期",
    last: "最近检查", never: "尚无检查记录", records: "公示中的信用记录", record: "记录检查结果",
    departments: "参与部门（联合检查计为一次）", items: "检查项目（每行一项，不合格项以“×”开头）",
    findings: "检查发现", result: "检查结论", pass: "合格", issues: "发现问题", fail: "不合格", evidence: "证据文件",
    save: "提交检查记录", saved: "已记录，摘要", badCode: "企业码无效：", failed: "操作失败：", again: "扫描下一家",
    tax: "税务", si: "社保", amr: "市场监管",
  },
  en: {
    title: "One-code inspection", switch: "中文", login: "Inspector sign-in", username: "Username",
    password: "Password", signin: "Sign in", scan: "Scan an enterprise code", stop: "Stop scanning",
    photo: "or upload a photo of the code", scanning: "Point the camera at the enterprise code…", grade: "Credit grade",
    score: "points", flags: "Lists", none: "none", red: "Red list (trustworthy)", black: "Black list (seriously dishonest)",
    joint: "Joint punishment", due: "Inspection due", notDue: "No inspection due (leave well alone)",
    dueOn: "Due on", last: "Last inspections", never: "Never inspected", records: "Credit records on display",
    record: "Record the inspection", departments: "Departments in the visit (a joint inspection counts once)",
    items: "Items checked (one per line; start a failed item with “×”)", findings: "Findings", result: "Result",
    pass: "Pass", issues: "Issues found", fail: "Fail", evidence: "Evidence files", save: "Submit the record",
    saved: "Recorded, digest", badCode: "Invalid enterprise code: ", failed: "Failed: ", again: "Scan the next one",
    tax: "Tax", si: "Social insurance", amr: "Market regulation",
  },
};

const $ = (id) => document.getElementById(id);
let lang = new URLSearchParams(location.search).get("lang") === "en" ? "en" : "zh-CN";
let token = sessionStorage.getItem("zel-inspector-token");
let me = null, current = null, stream = null, timer = null;

function t(key) { return TEXT[lang][key]; }

async function api(method, path, body) {
  const r = await fetch(path, {
    method, headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.detail || `HTTP ${r.status}`);
  return data;
}

function show(section) {
  for (const id of ["login", "scan", "standing"]) $(id).hidden = id !== section;
}

function render() {
  document.documentElement.lang = lang;
  document.title = t("title");
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  if (current) renderStanding();
}

function li(text, attrs = {}) {
  const el = document.createElement("li");
  el.textContent = text;
  Object.assign(el.dataset, attrs);
  return el;
}

function renderStanding() {
  const s = current;
  $("name").textContent = `${s.name}  ${s.uscc}`;
  const grade = $("grade");
  grade.textContent = `${s.grade.grade}  (${s.grade.score} ${t("score")})`;
  grade.dataset.grade = s.grade.grade;
  const flags = [];
  if (s.flags.red_list) flags.push(t("red"));
  if (s.flags.black_list) flags.push(t("black"));
  if (s.flags.joint_punishment) flags.push(t("joint"));
  $("flags").textContent = flags.length ? flags.join("、") : t("none");
  const due = $("due");
  due.dataset.due = String(s.inspection.due);
  due.textContent = s.inspection.due ? `${t("due")}（${t("dueOn")} ${s.inspection.due_on}）` :
    `${t("notDue")}（${t("dueOn")} ${s.inspection.due_on}）`;
  $("inspections").replaceChildren(...(s.inspections.length ? s.inspections.map((i) =>
    li(`${i.visited_on}  ${t(i.result)}  ${i.findings}`, { result: i.result })) : [li(t("never"))]));
  $("records").replaceChildren(...s.records.map((r) =>
    li(`${r.decided_on}  ${lang === "en" ? r.type.replace(/_/g, " ") : r.type_zh}  ${r.summary}`)));
  for (const box of document.querySelectorAll("input[name=dept]")) {
    box.checked = box.value === me.department || box.checked;
    box.disabled = box.value === me.department;
  }
}

async function signIn(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  const r = await fetch("/v1/auth/login", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: $("username").value, password: $("password").value }),
  });
  const data = await r.json();
  if (!r.ok) { $("login-error").textContent = t("failed") + (data.detail || r.status); return; }
  token = data.access_token;
  sessionStorage.setItem("zel-inspector-token", token);
  await start();
}

async function start() {
  try {
    me = await api("GET", "/v1/inspector/me");
  } catch {
    token = null; sessionStorage.removeItem("zel-inspector-token"); show("login"); return;
  }
  $("who").textContent = `${me.display_name} · ${me.department}`;
  show("scan");
}

async function lookUp(text) {
  stopCamera();
  $("scan-error").textContent = "";
  try {
    current = await api("POST", "/v1/inspector/scan", { text });
  } catch (e) {
    $("scan-error").textContent = t("badCode") + e.message;
    return;
  }
  $("saved").textContent = "";
  show("standing");
  renderStanding();
}

function decodeFrame(source, width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width; canvas.height = height;
  const g = canvas.getContext("2d", { willReadFrequently: true });
  g.drawImage(source, 0, 0, width, height);
  const pixels = g.getImageData(0, 0, width, height);
  return jsQR(pixels.data, width, height, { inversionAttempts: "attemptBoth" });
}

async function startCamera() {
  $("scan-error").textContent = "";
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch (e) {
    $("scan-error").textContent = t("failed") + e.message;
    return;
  }
  const video = $("video");
  video.srcObject = stream;
  video.hidden = false;
  $("scan-hint").textContent = t("scanning");
  await video.play();
  timer = setInterval(() => {
    if (!video.videoWidth) return;
    const scale = Math.min(1, 800 / video.videoWidth);
    const code = decodeFrame(video, Math.round(video.videoWidth * scale), Math.round(video.videoHeight * scale));
    if (code && code.data.includes("/e/")) lookUp(code.data);
  }, 150);
}

function stopCamera() {
  clearInterval(timer);
  if (stream) for (const track of stream.getTracks()) track.stop();
  stream = null;
  $("video").hidden = true;
  $("scan-hint").textContent = "";
}

async function fromPhoto() {
  const file = $("photo").files[0];
  if (!file) return;
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
  const code = decodeFrame(bitmap, Math.round(bitmap.width * scale), Math.round(bitmap.height * scale));
  if (!code) { $("scan-error").textContent = t("badCode") + "—"; return; }
  await lookUp(code.data);
}

async function sha256(file) {
  const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
  return "0x" + Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function save(event) {
  event.preventDefault();
  const items = $("items").value.split("\n").map((s) => s.trim()).filter(Boolean)
    .map((s) => ({ item: s.replace(/^[×xX]\s*/, ""), ok: !/^[×xX]/.test(s) }));
  const evidence = await Promise.all(Array.from($("evidence").files, sha256));
  const departments = Array.from(document.querySelectorAll("input[name=dept]:checked"), (b) => b.value);
  try {
    const done = await api("POST", "/v1/inspector/inspections", {
      uscc: current.uscc, departments, items, findings: $("findings").value, result: $("result").value, evidence,
    });
    $("saved").textContent = `${t("saved")} ${done.digest}`;
    $("saved").dataset.digest = done.digest;
    current = await api("GET", `/v1/inspector/enterprises/${current.uscc}/standing`);
    renderStanding();
  } catch (e) {
    $("saved").textContent = t("failed") + e.message;
  }
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
$("camera").addEventListener("click", () => (stream ? stopCamera() : startCamera()));
$("photo").addEventListener("change", fromPhoto);
$("inspection-form").addEventListener("submit", save);
$("next").addEventListener("click", () => { current = null; show("scan"); });
render();
if (token) start(); else show("login");
