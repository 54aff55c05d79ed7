// The verify page: a certificate QR code opens /verify#<digits>. The payload stays on the device; the page
// checks the signature here and sends only the digest to GET /v1/verify/status/{digest}.
// A photo of the QR code is decoded here too, so it never leaves the device either.
import { verify } from "./core.js";
import { CERT_KIND, CERT_KINDS, CHAIN_KIND, DEPARTMENT_NAMES, STATUS_REASONS } from "../generated/constants.js";

export { verify }; // the same pipeline the page runs, for tests/pages/test_verify_parity.py (import() of this module)

const TEXT = {
  "zh-CN": {
    title: "证明核验", switch: "English", lead: "扫描证明上的二维码即可核验真伪、是否撤销及有效期。",
    pick: "拍摄或选择二维码照片", busy: "正在核验……", noqr: "照片中未找到二维码，请靠近并对准后重拍。",
    kind: "证明类型", number: "证明编号", subject: "证明对象", period: "所属期间", total: "金额合计",
    months: "缴费月数", arrears: "欠缴月数", grade: "信用等级（分数）", records: "期间信用记录数", issued: "签发时间", expires: "有效期至", department: "签发机关",
    suite: "签名算法",
    // the curve's name in capitals: a Chinese page shows no lower-case Latin words (tests/pages/test_verify_layout.py)
    suites: { sm2: "SM2/SM3（国密）", secp256k1: "SECP256K1（EIP-712）" },
    checks: "核验项目", unchecked: "未能连接服务器，未核对撤销状态，请稍后重试。",
    holder: "核对持证人", holderHint: "输入持证人的身份证号码或统一社会信用代码，核对证明是否为其开具（号码不会显示或保存）。",
    holderLabel: "身份证号码或统一社会信用代码",
    holderGo: "核对", holderYes: "一致：本证明为该号码的持证人开具。", holderNo: "不一致：本证明并非为该号码开具。",
    holderBad: "号码格式有误，请核对后重新输入。", holderLocked: "本证明的持证人核对已锁定（错误次数过多），请直接查验持证人的证件原件。",
    holderUnknown: "服务器查无此证明，无法核对持证人。", holderBusy: "核对过于频繁，请稍后再试。",
    holderFailed: "暂时无法核对持证人，请稍后再试。",
    again: "核验其他证明", yuan: "元", yes: "是", no: "否",
    detail: "本证明另有不在二维码中的内容，由持证人持有；如需核对，请查看持证人出示的证明文件。", privacy: "二维码内容只在本机处理，服务器仅收到证明摘要。",
    status: { VALID: "有效", INVALID: "无效", UNTRUSTED_ISSUER: "签发机关不可信", REVOKED: "已撤销",
              SUSPENDED: "已暂停", EXPIRED: "已过期", PENDING_ANCHOR: "待上链" },
    note: {
      INVALID: "本证明未通过核验：内容可能被篡改，或二维码无法识别。请勿采信，可请持证人重新提供。",
      UNTRUSTED_ISSUER: "签发者不是有权签发此类证明的政府部门，请勿采信。",
      REVOKED: "签发机关已撤销本证明。撤销不可恢复，本证明不能再作为有效证明使用。",
      SUSPENDED: "签发机关已暂停本证明：暂停期间本证明暂不有效，不能作为有效证明使用；签发机关核实后可能恢复。" +
                 "请稍后重新扫码核验，或联系签发机关。",
      EXPIRED: "本证明已超过有效期，请持证人重新开具。",
      PENDING_ANCHOR: "证明已签发，正在等待上链存证，通常几分钟内完成，请稍后重新核验。",
    },
    reasonOf: { REVOKED: "撤销原因：", SUSPENDED: "暂停原因：" },
  },
  en: {
    title: "Verify a certificate", switch: "中文", lead: "Scan the QR code on a certificate to check that it is " +
    "genuine, current and not revoked.", pick: "Take or choose a photo of the QR code", busy: "Verifying…",
    noqr: "No QR code found in the photo; move closer and try again.", kind: "Kind", number: "Number",
    subject: "Issued to", period: "Period", total: "Total", months: "Months paid", arrears: "Months in arrears",
    grade: "Credit grade (score)", records: "Credit records in the period",
    issued: "Issued", expires: "Valid until", department: "Issued by", checks: "Checks", suite: "Signature suite",
    suites: { sm2: "SM2/SM3", secp256k1: "secp256k1 (EIP-712)" },
    unchecked: "The server could not be reached: revocation was not checked. Try again later.",
    holder: "Check the holder", holderHint: "Type the holder's ID number or USCC to check that the certificate was " +
    "issued to them (the number is neither shown nor stored).", holderLabel: "ID number or USCC", holderGo: "Check",
    holderYes: "Match: this certificate was issued to that number.", holderNo: "No match: this certificate was not " +
    "issued to that number.", holderBad: "Malformed number: check it and type it again.", holderLocked: "The " +
    "holder check of this certificate is locked after too many wrong numbers; check the holder's own ID document " +
    "instead.", holderUnknown: "The server does not know this certificate: the holder cannot be checked.",
    holderBusy: "Too many checks: try again later.", holderFailed: "The holder could not be checked now; try again " +
    "later.", again: "Verify another certificate", yuan: "yuan", yes: "Yes", no: "No",
    detail: "This certificate has further content that is not in its QR code: the holder keeps it; to check it, " +
    "see the document the holder shows.",
    privacy: "The QR content is processed on this device; the server receives only the certificate's digest.",
    status: { VALID: "Valid", INVALID: "Invalid", UNTRUSTED_ISSUER: "Untrusted issuer", REVOKED: "Revoked",
              SUSPENDED: "Suspended", EXPIRED: "Expired", PENDING_ANCHOR: "Pending anchoring" },
    note: {
      INVALID: "This certificate failed verification: it may have been altered, or the QR code cannot be read. Do " +
               "not rely on it; ask the holder for a new one.",
      UNTRUSTED_ISSUER: "It was not signed by a department allowed to issue this kind of certificate; do not rely " +
                        "on it.",
      REVOKED: "The issuing department has revoked this certificate. Revocation is permanent: it can no longer be " +
               "relied on.",
      SUSPENDED: "The issuing department has suspended this certificate: while suspended it is temporarily not " +
                 "valid and must not be relied on; the department may reinstate it after its review. Scan it again " +
                 "later or ask the department.",
      EXPIRED: "This certificate is past its validity; ask the holder for a new one.",
      PENDING_ANCHOR: "Issued and waiting to be anchored on the ledger, usually within minutes; verify it again later.",
    },
    reasonOf: { REVOKED: "Reason given: ", SUSPENDED: "Reason given: " },
  },
};
// status class of the verdict banner: its colour (suspended is amber, never the red of a revocation)
const TONE = { VALID: "ok", SUSPENDED: "paused", PENDING_ANCHOR: "wait" };

const $ = (id) => document.getElementById(id);
const trust = JSON.parse($("trust").textContent);
let lang = new URLSearchParams(location.search).get("lang") === "en" ? "en" : "zh-CN";
let result = null;
let runs = 0; // verifications started: a later scan wins over an earlier one still waiting for the server

function today() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

async function fetchStatus(digest, department) {
  const q = new URLSearchParams({ department });
  const r = await fetch(`/v1/verify/status/${digest}?${q}`, { headers: { Accept: "application/json" } });
  if (!r.ok) throw new Error(`status ${r.status}`);
  const body = await r.json();
  return { status: body.status, reason: body.reason ?? null };
}

function row(dl, label, value, valueLang = null) {
  const dt = document.createElement("dt"), dd = document.createElement("dd");
  dt.textContent = label; dd.textContent = value;
  if (valueLang) dd.lang = valueLang; // data in another language than the page's (a Chinese name)
  dl.append(dt, dd);
}

/** A field of an attestation as the reader reads it: an enum by its label, a yes/no, an amount in yuan, a digest
 * shortened (the whole of it is in the QR code and the PDF). */
function fieldText(f, t) {
  if (f.type === "enum") return (lang === "en" ? f.value_en : f.value_zh) ?? f.value;
  if (f.type === "boolean") return f.value ? t.yes : t.no;
  if (f.type === "amount_fen") {
    const fen = String(f.value).padStart(3, "0"); // a decimal string: amounts may pass 2^53 fen
    return `${fen.slice(0, -2).replace(/\B(?=(\d{3})+$)/g, ",")}.${fen.slice(-2)} ${t.yuan}`;
  }
  if (f.type === "digest") return `${f.value.slice(0, 10)}…${f.value.slice(-8)}`;
  return String(f.value);
}

/** An attestation of a kind registered from a schema file: its title and its fields' labels come from the schema
 * the key list carries, in the reader's language. */
function renderAttestation(dl, c, t, other) {
  row(dl, t.kind, lang === "en" ? c.kind_en : c.kind_zh);
  if (lang === "en") row(dl, t.department, (DEPARTMENT_NAMES[c.department] || {}).en || c.department);
  else row(dl, t.department, c.department_name);
  row(dl, t.subject, `${c.subject_name} ${c.subject}`, other);
  for (const f of c.fields) {
    // a string is the department's own text (Chinese); the page's labels and enum values are in the reader's language
    row(dl, lang === "en" ? f.label_en : f.label_zh, fieldText(f, t), f.type === "string" ? other : null);
  }
  row(dl, t.number, c.number);
  row(dl, t.issued, c.issued_at.slice(0, 10));
  row(dl, t.expires, c.expires_on);
  row(dl, t.suite, t.suites[c.suite] || c.suite);
}

/** The language switch keeps the fragment (the payload) and changes its own label. */
function renderSwitch(t) {
  const other = lang === "en" ? "zh-CN" : "en";
  const url = new URL(location.href);
  url.searchParams.set("lang", other);
  const link = $("lang-switch");
  link.href = url.pathname + url.search + location.hash;
  link.textContent = t.switch;
  link.lang = other;
}

function render() {
  const t = TEXT[lang];
  document.documentElement.lang = lang;
  document.title = t.title;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t[el.dataset.t];
  renderSwitch(t);
  const box = $("result");
  box.hidden = !result;
  $("scan").hidden = !!result;
  if (!result) return;
  const v = result, c = v.certificate, unchecked = v.unchecked || [];
  const verdict = $("verdict");
  verdict.dataset.status = v.status;
  verdict.className = "verdict " + (v.status === "VALID" && unchecked.length ? "warn" : TONE[v.status] || "bad");
  verdict.textContent = t.status[v.status] || v.status;
  $("unchecked").hidden = !unchecked.length;
  const note = $("status-note");
  note.textContent = t.note[v.status] || "";
  note.hidden = !t.note[v.status];
  const reason = v.reason != null && t.reasonOf[v.status] ? STATUS_REASONS[String(v.reason)] : null;
  $("status-reason").textContent = reason ? t.reasonOf[v.status] + reason[lang] : "";
  $("status-reason").hidden = !reason;
  const dl = $("cert");
  dl.replaceChildren();
  const other = lang === "en" ? "zh-CN" : null;
  $("detail-note").hidden = !(c && c.has_detail);
  $("detail-note").textContent = t.detail;
  if (c && c.fields) {
    renderAttestation(dl, c, t, other);
  } else if (c) {
    row(dl, t.kind, lang === "en" ? c.kind_en : c.kind_zh);
    if (lang === "en") row(dl, t.department, (DEPARTMENT_NAMES[c.department] || {}).en || c.department);
    else row(dl, t.department, c.department_name);
    row(dl, t.subject, `${c.subject_name} ${c.subject}`, other);
    row(dl, t.period, `${c.period_from} – ${c.period_to}`);
    if (c.kind === CERT_KIND.CREDIT_REPORT) {
      row(dl, t.grade, lang === "en" ? `${c.grade} (${c.credit_score})` : `${c.grade}（${c.credit_score}）`);
      row(dl, t.records, String(c.records));
    } else {
      const tax = CERT_KINDS[c.kind].chainKind === CHAIN_KIND.TAX_CERTIFICATE; // an amount; social insurance: months
      if (tax) row(dl, t.total, `${(c.total_fen / 100).toFixed(2)} ${t.yuan}`);
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
    if (k.code) li.dataset.code = k.code;
    li.textContent = (k.ok === true ? "✔ " : k.ok === false ? "✘ " : "– ") + (lang === "en" ? k.en : k.zh);
    ul.append(li);
  }
  $("holder").hidden = !(c && v.digest && v.status !== "INVALID");
}

async function run(text) {
  const mine = ++runs;
  $("busy").hidden = false;
  let verdict;
  try {
    verdict = await verify(text, trust, fetchStatus, today());
  } finally {
    if (mine === runs) $("busy").hidden = true;
  }
  if (mine !== runs) return; // a newer scan started meanwhile
  result = verdict;
  $("holder-result").textContent = "";
  $("holder-result").dataset.match = "";
  render();
  document.body.dataset.verified = String(mine);
}

function normalizeCode(text) {
  return text.replace(/[\uff01-\uff5e]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) - 0xfee0))
    .replace(/[\s\u3000-]/g, "").toUpperCase();
}

async function checkHolder(event) {
  event.preventDefault();
  const t = TEXT[lang], out = $("holder-result"), code = normalizeCode($("holder-id").value);
  out.dataset.match = "";
  let r;
  try {
    r = await fetch("/v1/verify/holder", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ digest: result.digest, identifier: code }),
    });
  } catch {
    out.dataset.match = "error"; out.textContent = t.holderFailed; return;
  }
  // The server's problem details are English for developers; the reader gets their own language.
  const answer = { 423: ["locked", t.holderLocked], 422: ["bad", t.holderBad], 404: ["unknown", t.holderUnknown],
                   429: ["busy", t.holderBusy] }[r.status];
  if (answer) { [out.dataset.match, out.textContent] = answer; return; }
  const body = r.ok ? await r.json().catch(() => null) : null;
  if (!body || typeof body.match !== "boolean") {
    out.dataset.match = "error"; out.textContent = t.holderFailed; return;
  }
  out.dataset.match = String(body.match);
  out.textContent = body.match ? t.holderYes : t.holderNo;
}

async function decodePhoto() {
  const file = $("photo").files[0];
  if (!file) return;
  let text = null;
  try { // the decoder (BarcodeDetector or ZXing's WebAssembly) is loaded only when a photo is used
    text = await (await import("../scan/decode.js")).decodePhoto(file);
  } catch { /* not an image, or the decoder could not load: said as "no QR code found" */ }
  if (!text) { $("scan-error").textContent = TEXT[lang].noqr; return; }
  $("scan-error").textContent = "";
  history.replaceState(null, "", "#" + text.split("#").pop());
  await run(text);
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
