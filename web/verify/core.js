// The verification pipeline in the browser: the JavaScript mirror of qr/payload.py and qr/verify.py.
//
// decode the payload after `#`, check its format, recompute the EIP-712 digest, recover the signer, check
// the signer's authority at the issue time against the deployment's key list, ask the server for the
// status of the digest (the only thing sent), check the expiry. Same verdicts and reasons as the Python side;
// tests/pages/test_js_core.py runs this module under Node against Python-made payloads.
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { keccak_256 } from "@noble/hashes/sha3.js";

export const VERSION = 1;
export const DEPARTMENTS = { 1: "tax.440604", 2: "si.440604", 3: "amr.440604" };
const USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const CHAIN_KIND = { 1: 0, 2: 0, 3: 1, 4: 1, 5: 4 };
const GRADES = { 1: "A", 2: "B", 3: "C", 4: "D" };
export const KIND_ZH = {
  1: "个人纳税证明", 2: "企业纳税证明", 3: "个人社保缴费证明", 4: "企业社保参保证明", 5: "企业信用报告",
};
export const KIND_EN = {
  1: "Individual tax-payment certificate", 2: "Enterprise tax-payment certificate",
  3: "Individual social-insurance contribution certificate",
  4: "Enterprise social-insurance participation certificate", 5: "Enterprise credit report",
};
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const utf8 = new TextEncoder();

export class PayloadError extends Error {}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function word(value) { // a uint256 ABI word
  const out = new Uint8Array(32);
  let v = BigInt(value);
  for (let i = 31; i >= 0 && v > 0n; i--) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return out;
}

/** The payload bytes inside a verify URL, a `#digits` fragment or bare digits. */
export function payloadFromText(text) {
  let digits = text.trim();
  if (digits.includes("#")) digits = digits.slice(digits.lastIndexOf("#") + 1);
  if (!/^[0-9]+$/.test(digits) || digits.length > 2000) throw new PayloadError("the QR payload must be decimal digits");
  let n = BigInt(digits);
  const bytes = [];
  while (n > 0n) { bytes.push(Number(n & 0xffn)); n >>= 8n; }
  bytes.reverse();
  if (!bytes.length || bytes[0] !== 1) throw new PayloadError("the QR payload does not start with its marker");
  return Uint8Array.from(bytes.slice(1));
}

class Reader {
  constructor(data) { this.data = data; this.pos = 0; }
  take(n) {
    if (this.pos + n > this.data.length) throw new PayloadError("the payload is truncated");
    const chunk = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    return chunk;
  }
  uint(n) { return this.take(n).reduce((v, b) => v * 256n + BigInt(b), 0n); }
  small(n) { return Number(this.uint(n)); }
  varint() {
    let value = 0n, shift = 0n;
    for (;;) {
      const byte = this.small(1);
      value |= BigInt(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return value;
      shift += 7n;
      if (shift > 63n) throw new PayloadError("a number in the payload is too long");
    }
  }
}

/** Parse a binary payload into {content, signature}; throws PayloadError saying what is wrong. */
export function decodePayload(data) {
  const r = new Reader(data);
  const version = r.small(1);
  if (version !== VERSION) throw new PayloadError(`unknown payload format version ${version}`);
  const kind = r.small(1);
  if (![1, 2, 3, 4, 5].includes(kind)) throw new PayloadError(`unknown certificate kind ${kind}`);
  const number = r.uint(8).toString().padStart(17, "0");
  const tag = r.small(1);
  let subject;
  if (tag === 2) { // the region prefix only: what issuance writes
    subject = r.small(2).toString().padStart(4, "0") + "*".repeat(14);
  } else if (tag === 0) { // earlier certificates: the prefix and the last four characters
    const region = r.small(2).toString().padStart(4, "0");
    const tail = r.take(4);
    if (!tail.every((b) => b >= 0x20 && b < 0x7f)) throw new PayloadError("the masked ID number is not ASCII");
    subject = region + "*".repeat(10) + String.fromCharCode(...tail);
  } else if (tag === 1) {
    let packed = r.uint(12);
    const chars = [];
    for (let i = 0; i < 18; i++) { chars.push(USCC_ALPHABET[Number(packed % 31n)]); packed /= 31n; }
    subject = chars.reverse().join("");
  } else {
    throw new PayloadError(`unknown subject type ${tag}`);
  }
  let subjectName;
  try {
    subjectName = new TextDecoder("gb18030", { fatal: true }).decode(r.take(r.small(1)));
  } catch (e) {
    if (e instanceof PayloadError) throw e;
    throw new PayloadError("the subject name is not valid GB18030");
  }
  const periodFrom = r.small(2), periodTo = r.small(2);
  const totalFen = r.varint();
  const monthsPaid = r.small(1), monthsInArrears = r.small(1);
  const detailHash = r.take(32).slice();
  const issuedAt = r.small(4), expiresOn = r.small(2);
  const department = DEPARTMENTS[r.small(1)];
  if (!department) throw new PayloadError("unknown department code");
  const compact = r.take(64);
  if (r.pos !== data.length) throw new PayloadError("unexpected bytes after the signature");
  const parity = compact[32] >> 7;
  const s = compact.slice(32); s[0] &= 0x7f;
  const signature = { r: compact.slice(0, 32), s, parity };
  return {
    content: { kind, version: 1, number, subject, subjectName, periodFrom, periodTo, totalFen, monthsPaid,
               monthsInArrears, detailHash, issuedAt, expiresOn, department },
    signature,
  };
}

const CERTIFICATE_TYPE = "Certificate(uint8 kind,uint8 version,string number,string subject,string subjectName," +
  "uint32 periodFrom,uint32 periodTo,uint64 totalFen,uint16 monthsPaid,uint16 monthsInArrears,bytes32 detailHash," +
  "uint32 issuedAt,uint32 expiresOn,string department)";
const DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
const keccakText = (s) => keccak_256(utf8.encode(s));

export function domainSeparator(chainId, verifyingContract) {
  const address = new Uint8Array(32);
  address.set(hexBytes(verifyingContract), 12);
  return keccak_256(concat(keccakText(DOMAIN_TYPE), keccakText("ZeroErrand Ledger"), keccakText("1"),
                           word(chainId), address));
}

function hexBytes(text) {
  const clean = text.replace(/^0x/, "");
  return Uint8Array.from(clean.match(/../g) || [], (h) => parseInt(h, 16));
}

/** The EIP-712 digest of a certificate's content (what the department signed and the ledger anchored). */
export function digestOf(c, separator) {
  const struct = keccak_256(concat(
    keccakText(CERTIFICATE_TYPE), word(c.kind), word(c.version), keccakText(c.number), keccakText(c.subject),
    keccakText(c.subjectName), word(c.periodFrom), word(c.periodTo), word(c.totalFen), word(c.monthsPaid),
    word(c.monthsInArrears), c.detailHash, word(c.issuedAt), word(c.expiresOn), keccakText(c.department)));
  return keccak_256(concat(Uint8Array.of(0x19, 0x01), separator, struct));
}

/** The checksum-less lower-case address that signed `digest`, or null for an unusable signature. */
export function recoverSigner(digest, sig) {
  try {
    const sBig = BigInt("0x" + hex(sig.s));
    if (sBig > N / 2n) return null;
    const point = secp256k1.Signature.fromBytes(concat(sig.r, sig.s), "compact").addRecoveryBit(sig.parity)
      .recoverPublicKey(digest);
    return "0x" + hex(keccak_256(point.toBytes(false).subarray(1)).subarray(12));
  } catch {
    return null;
  }
}

export function dayToIso(day) {
  return new Date(day * 86400000).toISOString().slice(0, 10);
}

function authorized(trust, signer, chainKind, timestamp) {
  const key = trust.keys.find((k) => k.address.toLowerCase() === signer);
  if (!key || !((key.kinds >> chainKind) & 1) || timestamp < key.valid_from) return false;
  if (key.revoked_at && timestamp >= key.revoked_at) return false;
  const dept = trust.departments.find((d) => d.id === key.department);
  return !(dept && dept.retired_at) || timestamp < dept.retired_at;
}

function show(c, trust) {
  const dept = (trust.departments || []).find((d) => d.id === c.department);
  return {
    kind: c.kind, kind_zh: KIND_ZH[c.kind], kind_en: KIND_EN[c.kind], number: c.number, subject: c.subject,
    subject_name: c.subjectName, period_from: dayToIso(c.periodFrom), period_to: dayToIso(c.periodTo),
    total_fen: Number(c.totalFen), months_paid: c.monthsPaid, months_in_arrears: c.monthsInArrears,
    issued_at: new Date(c.issuedAt * 1000).toISOString(), expires_on: dayToIso(c.expiresOn),
    department: c.department, department_name: dept ? dept.name : c.department,
    ...(c.kind === 5 ? { credit_score: Number(c.totalFen), records: c.monthsPaid,
                         grade: GRADES[c.monthsInArrears] || "?" } : {}),
  };
}

const check = (name, ok, zh, en) => ({ name, ok, zh, en });

/**
 * Verify a verify URL or payload. `trust` is the deployment's key list (GET /v1/verify/trust);
 * `fetchStatus(digestHex, department)` resolves to anchored|pending|revoked|suspended|unknown|foreign-anchor (the
 * batch must have been anchored by `department`); `today` is "YYYY-MM-DD".
 */
export async function verify(text, trust, fetchStatus, today) {
  let decoded;
  try {
    decoded = decodePayload(payloadFromText(text));
  } catch (e) {
    if (!(e instanceof PayloadError)) throw e;
    return { status: "INVALID", checks: [check("format", false, `二维码内容无法识别：${e.message}`,
                                                `Unreadable payload: ${e.message}`)], certificate: null };
  }
  const c = decoded.content;
  const checks = [check("format", true, "格式正确", "Well-formed payload")];
  const certificate = show(c, trust);
  const digest = "0x" + hex(digestOf(c, domainSeparator(trust.chain_id, trust.verifying_contract)));
  const verdict = (status, signer = null) => ({ status, checks, certificate, digest, signer, unchecked: [] });
  const signer = recoverSigner(hexBytes(digest), decoded.signature);
  if (signer === null) {
    checks.push(check("signature", false, "签名无效", "The signature is invalid"));
    return verdict("INVALID");
  }
  if (!trust.keys.some((k) => k.address.toLowerCase() === signer)) {
    checks.push(check("signature", false, "签名与内容不符：内容可能被篡改",
                      "The signature does not match the content: it may have been altered"));
    return verdict("INVALID", signer);
  }
  checks.push(check("signature", true, "签名可验证", `Signed by ${signer}`));
  const key = trust.keys.find((k) => k.address.toLowerCase() === signer);
  if (key.department !== c.department) {
    // A certificate belongs to one department: the key that signed it must be that department's.
    checks.push(check("issuer", false, `签发密钥属于 ${key.department}，与证明所载签发机关 ${c.department} 不符`,
                      `The signing key belongs to ${key.department}, not to ${c.department}, the department ` +
                      "the certificate names"));
    return verdict("UNTRUSTED_ISSUER", signer);
  }
  if (!authorized(trust, signer, CHAIN_KIND[c.kind], c.issuedAt)) {
    checks.push(check("issuer", false, "签发密钥在签发时未获授权",
                      "The department key was not authorized for this kind at the issue time"));
    return verdict("UNTRUSTED_ISSUER", signer);
  }
  checks.push(check("issuer", true, "签发机关已获授权", "Issued by an authorized department key"));
  if (key.migrated) {
    checks.push(check("migration", null, "签发密钥经链迁移登记（历史有效期已在链上记录）",
                      "The signing key was registered through the recorded chain migration (historic window)"));
  }
  let state;
  try {
    state = await fetchStatus(digest, c.department);
  } catch {
    state = "offline";
  }
  if (state === "offline") {
    checks.push(check("anchor", null, "无法连接服务器：未核对上链及撤销情况",
                      "The server could not be reached: anchoring and revocation were not checked"));
  } else if (state === "unknown") {
    checks.push(check("anchor", false, "账本中查无此证明", "The ledger does not know this certificate"));
    return verdict("INVALID", signer);
  } else if (state === "foreign-anchor") {
    checks.push(check("anchor", false, "存证批次并非由证明所载签发机关上链",
                      "Its batch was anchored by another department than the one the certificate names"));
    return verdict("UNTRUSTED_ISSUER", signer);
  } else if (state === "pending") {
    checks.push(check("anchor", null, "已签发，等待上链", "Issued; its batch is not on chain yet"));
    return verdict("PENDING_ANCHOR", signer);
  } else {
    checks.push(check("anchor", true, "已上链存证", "Anchored on the ledger"));
  }
  if (state === "revoked") {
    checks.push(check("status", false, "证明已被撤销", "The certificate has been revoked"));
    return verdict("REVOKED", signer);
  }
  if (state === "suspended") {
    checks.push(check("status", false, "证明已被暂停使用", "The certificate is suspended"));
    return verdict("SUSPENDED", signer);
  }
  if (state !== "offline") checks.push(check("status", true, "未撤销", "Not revoked or suspended"));
  const expires = dayToIso(c.expiresOn);
  if (expires < today) {
    checks.push(check("expiry", false, `已于 ${expires} 过期`, `Expired on ${expires}`));
    return verdict("EXPIRED", signer);
  }
  checks.push(check("expiry", true, `有效期至 ${expires}`, `Valid until ${expires}`));
  // Unreachable server: the signature holds but revocation is unknown; the page says so next to VALID.
  return { ...verdict("VALID", signer), unchecked: state === "offline" ? ["anchor", "status"] : [] };
}
