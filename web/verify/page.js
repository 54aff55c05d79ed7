// The verify page: a certificate QR code opens /verify#<digits>. The payload stays on the device; the page
// checks the signature here and sends only the digest to GET /v1/verify/status/{digest}.
// A photo of the QR code is decoded here too (jsQR), so it never leaves the device either.
import { verify } from "./core.js";

const TEXT = {
  "zh-CN": {
    title: "证明核验", switch: "English", lead: "扫描证明上的二维码即可核验真伪、是否撤销及有效期。",
    pick: "拍摄或选择二维码照片", busy: "正在核验……", noqr: "照片中未找到二维码，请靠近并对准后重拍。",
    kind: "证明类型", number: "证明编号", subject: "证明对象", period: "所属期间", total: "金额合计",
    months: "缴费月数", arrears: "欠缴月数", grade: "信用等级（分数）", records: "期间信用记录数", issued: "签发时间", expires: "有效期至", department: "签发机关",
    checks: "核验项目", unchecked: "未能连接服务器，未核对撤销状态，请稍后重试。",
    holder: "核对持证人", holderHint: "输入持证人的身份证号码或统一社会信用代码，核对证明是否为其开具（号码不会显示或保存）。",
    holderGo: "核对", holderYes: "一致：本证明为该号码的持证人开具。", holderNo: "不一致：本证明并非为该号码开具。",
    holderBad: "号码格式有误：", holderLocked: "本证明的持证人核对已锁定（错误次数过多），请直接查验持证人的证件原件。",
    again: "核验其他证明", yuan: "元", privacy: "二维码内容只在本机处理，服务器仅收到证明摘要。",
    status: { VALID: "有效", INVALID: "无效", UNTRUSTED_ISSUER: "签发机关不可信", REVOKED: "已撤销",
              SUSPENDED: "已暂停使用", EXPIRED: "已过期", PENDING_ANCHOR: "待上链" },
  },
  en: {
    title: "Verify a certificate", switch: "中文", lead: "Scan the QR code on a certificate to check that it is " +
    "genuine, current and not revoked.", pick: "Take or choose a photo of the QR code", busy: "Verifying…",
    noqr: "No QR code found in the photo; move closer and try again.", kind: "Kind", number: "Number",
    subject: "Issued to", period: "Period", total: "Total", months: "Months paid", arrears: "Months in arrears",
    grade: "Credit grade (score)", records: "Credit records in the period",
    issued: "Issued", expires: "Valid until", department: "Issued by", checks: "Checks",
    unchecked: "The server could not be reached: revocation was not checked. Try again later.",
    holder: "Check the holder", holderHint: "Type the holder's ID number or USCC to check that the certificate was " +
    "issued to them (the number is neither shown nor stored).", holderGo: "Check",
    holderYes: "Match: this certificate was issued to that number.", holderNo: "No match: this certificate was not " +
    "issued to that number.", holderBad: "Malformed number: ", holderLocked: "The holder check of this " +
    "certificate is locked after too many wrong numbers; check the holder's own ID document instead.", again: "Verify another certificate", yuan: "yuan",
    privacy: "The QR content is processed on this device; the server receives only the certificate's digest.",
    status: { VALID: "Valid", INVALID: "Invalid", UNTRUSTED_ISSUER: "Untrusted issuer", REVOKED: "Revoked",
              SUSPENDED: "Suspended", EXPIRED: "Expired", PENDING_ANCHOR: "Pending anchoring" },
  },
};
const DEPARTMENT_EN = {
  "tax.440604": "Chancheng District Tax Bureau", "si.440604": "Chancheng Social Insurance Fund Administration",
  "amr.440604": "Chancheng Administration for Market Regulation",
};

const $ = (id) => document.getElementById(id);
const trust = JSON.parse($("trust").textContent);
let lang = new URLSearchParams(location.search).get("lang") === "en" ? "en" : "zh-CN";
let result = null;

function today() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

async function fetchStatus(digest, department) {
  const q = new URLSearchParams({ department });
  const r = await fetch(`/v1/verify/status/${digest}?${q}`, { headers: { Accept: "application/json" } });
  if (!r.ok) throw new Error(`status ${r.status}`);
  return (await r.json()).status;
}

function row(dl, label, value) {
  const dt = document.createElement("dt"), dd = document.createElement("dd");
  dt.textContent = label; dd.textContent = value;
  dl.append(dt, dd);
}

function render() {
  const t = TEXT[lang];
  document.documentElement.lang = lang;
  document.title = t.title;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t[el.dataset.t];
  $("lang-switch").textContent = t.switch;
  const box = $("result");
  box.hidden = !result;
  $("scan").hidden = !!result;
  if (!result) return;
  const v = result, c = v.certificate;
  const verdict = $("verdict");
  verdict.dataset.status = v.status;
  verdict.className = "verdict " + (v.status === "VALID" ? (v.unchecked.length ? "warn" : "ok") : "bad");
  verdict.textContent = t.status[v.status] || v.status;
  $("unchecked").hidden = !v.unchecked.length;
  const dl = $("cert");
  dl.replaceChildren();
  if (c) {
    row(dl, t.kind, lang === "en" ? c.kind_en : c.kind_zh);
    row(dl, t.department, lang === "en" ? (DEPARTMENT_EN[c.department] || c.department) : c.department_name);
    row(dl, t.subject, `${c.subject_name} ${c.subject}`);
    row(dl, t.period, `${c.period_from} – ${c.period_to}`);
    if (c.kind === 5) {
      row(dl, t.grade, `${c.grade}（${c.credit_score}）`);
      row(dl, t.records, String(c.records));
    } else {
      if (c.kind === 1 || c.kind === 2) row(dl, t.total, `${(c.total_fen / 100).toFixed(2)} ${t.yuan}`);
      else row(dl, t.months, String(c.months_paid));
      if (c.months_in_arrears) row(dl, t.arrears, String(c.months_in_arrears));
    }
    row(dl, t.number, c.number);
    row(dl, t.issued, c.issued_at.slice(0, 10));
    row(dl, t.expires, c.expires_on);
  }
  const ul = $("checks");
  ul.replaceChildren();
  for (const k of v.checks) {
    const li = document.createElement("li");
    li.dataset.check = k.name;
    li.textContent = (k.ok === true ? "✔ " : k.ok === false ? "✘ " : "– ") + (lang === "en" ? k.en : k.zh);
    ul.append(li);
  }
  $("holder").hidden = !(c && v.digest && v.status !== "INVALID");
}

async function run(text) {
  $("busy").hidden = false;
  try {
    result = await verify(text, trust, fetchStatus, today());
  } finally {
    $("busy").hidden = true;
  }
  render();
}

function normalizeCode(text) {
  return text.replace(/[\uff01-\uff5e]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) - 0xfee0))
    .replace(/[\s\u3000-]/g, "").toUpperCase();
}

async function checkHolder(event) {
  event.preventDefault();
  const t = TEXT[lang], out = $("holder-result"), code = normalizeCode($("holder-id").value);
  out.dataset.match = "";
  const r = await fetch("/v1/verify/holder", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ digest: result.digest, identifier: code }),
  });
  const body = await r.json();
  if (r.status === 423) { out.dataset.match = "locked"; out.textContent = t.holderLocked; return; }
  if (!r.ok) { out.textContent = t.holderBad + (body.detail || r.status); return; }
  out.dataset.match = String(body.match);
  out.textContent = body.match ? t.holderYes : t.holderNo;
}

async function decodePhoto() {
  const file = $("photo").files[0];
  if (!file) return;
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale); canvas.height = Math.round(bitmap.height * scale);
  const g = canvas.getContext("2d");
  g.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  const pixels = g.getImageData(0, 0, canvas.width, canvas.height);
  const { default: jsQR } = await import("jsqr"); // loaded only when a photo is used
  const code = jsQR(pixels.data, pixels.width, pixels.height, { inversionAttempts: "attemptBoth" });
  if (!code) { $("scan-error").textContent = TEXT[lang].noqr; return; }
  $("scan-error").textContent = "";
  history.replaceState(null, "", "#" + code.data.split("#").pop());
  await run(code.data);
}

$("lang-switch").addEventListener("click", (event) => {
  event.preventDefault();
  lang = lang === "en" ? "zh-CN" : "en";
  const url = new URL(location.href);
  url.searchParams.set("lang", lang);
  history.replaceState(null, "", url);
  render();
});
$("holder-form").addEventListener("submit", checkHolder);
$("photo").addEventListener("change", decodePhoto);
$("again").addEventListener("click", () => {
  result = null; history.replaceState(null, "", location.pathname + location.search); render();
});
window.addEventListener("hashchange", () => location.hash.length > 1 && run(location.hash));
render();
if (location.hash.length > 1) run(location.hash);
else $("busy").hidden = true;
