// The verification pipeline in the browser: the JavaScript mirror of qr/payload.py and qr/verify.py.
//
// decode the payload after `#`, check its format, recompute the EIP-712 digest, find the signer (recovered from a
// secp256k1 signature; an SM2 signature's key named by its key id and checked, ledger/sm2.py), check the signer's
// authority at the issue time against the deployment's key list, ask the server for the status of the digest (the
// only thing sent), check the expiry. Same verdicts and reasons as the Python side; tests/pages/test_js_core.py runs
// this module under Node against Python-made payloads.
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { sm2 } from "sm-crypto-v2";
import {
  ATTESTATION_HEADER, ATTESTATION_TYPES, ATTESTATION_VERSION, CERT_KIND, CERT_KINDS, CHAIN_KIND, DATE_DAYS,
  DEPARTMENT_CODES, DEPARTMENT_NAMES, EIP712_DOMAIN, EIP712_TYPE_STRINGS, GRADES, PAYLOAD_VERSION,
  SM2_ADDRESS_PREFIX, SM2_ATTESTATION_VERSION, SM2_KEY_ID_BYTES, SM2_USER_ID, USCC_ALPHABET,
} from "../generated/constants.js"; // generated from the Python owners (scripts/page_constants.py)

const utf8 = new TextEncoder();

/** A malformed payload: `code` names the reason (the page shows it in the reader's language), `message` is the
 * Python pipeline's English text (qr/payload.py), word for word. */
export class PayloadError extends Error {
  constructor(code, message, value = null) { super(message); this.code = code; this.value = value; }
}

// What each PayloadError code means to a Chinese reader; `{v}` is the offending value.
export const PAYLOAD_ZH = {
  digits: "二维码内容应为数字串", marker: "二维码内容缺少起始标记", version: "未知的格式版本 {v}",
  kind: "未知的证明类型代码 {v}", truncated: "内容不完整（被截断）", "subject-type": "未知的证明对象类型 {v}",
  "name-encoding": "证明对象名称的编码无效", "number-length": "数值字段过长", department: "未知的签发机关代码",
  trailing: "签名之后有多余内容", range: "金额字段超出范围", schema: "未登记的证明种类",
  "subject-kind": "证明对象类型与证明种类不符", "field-encoding": "字段“{v}”的文字编码无效",
  enum: "字段“{v}”的取值未在证明种类中登记", date: "日期字段“{v}”超出范围", boolean: "是否字段“{v}”的取值无效",
};

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
  if (!/^[0-9]+$/.test(digits) || digits.length > 2000) {
    throw new PayloadError("digits", "the QR payload must be decimal digits");
  }
  let n = BigInt(digits);
  const bytes = [];
  while (n > 0n) { bytes.push(Number(n & 0xffn)); n >>= 8n; }
  bytes.reverse();
  if (!bytes.length || bytes[0] !== 1) {
    throw new PayloadError("marker", "the QR payload does not start with its marker");
  }
  return Uint8Array.from(bytes.slice(1));
}

/**
 * Whether `bytes` are GB18030 as Python's codec reads them (what the server's pipeline accepts): ASCII; a lead
 * byte 0x81-0xFE then 0x40-0x7E or 0x80-0xFE; or four bytes [81-FE][30-39][81-FE][30-39] in the ranges that map
 * to U+0080-U+FFFF and U+10000-U+10FFFF. The browser's decoder also takes a lone 0x80 (as the euro sign) and
 * maps a few codes differently; the acceptance must be Python's, or the two pipelines give different reasons.
 */
export function gb18030Valid(bytes) {
  for (let i = 0; i < bytes.length;) {
    const a = bytes[i];
    if (a < 0x80) { i += 1; continue; }
    if (a === 0x80 || a === 0xff || i + 1 >= bytes.length) return false;
    const b = bytes[i + 1];
    if ((b >= 0x40 && b <= 0x7e) || (b >= 0x80 && b <= 0xfe)) { i += 2; continue; }
    if (b < 0x30 || b > 0x39 || i + 3 >= bytes.length) return false;
    const c = bytes[i + 2], d = bytes[i + 3];
    if (c < 0x81 || c > 0xfe || d < 0x30 || d > 0x39) return false;
    const linear = (((a - 0x81) * 10 + (b - 0x30)) * 126 + (c - 0x81)) * 10 + (d - 0x30);
    if (linear > 39419 && (linear < 189000 || linear > 1237575)) return false;
    i += 4;
  }
  return true;
}

class Reader {
  constructor(data) { this.data = data; this.pos = 0; }
  take(n) {
    if (this.pos + n > this.data.length) throw new PayloadError("truncated", "the payload is truncated");
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
      if (shift > 63n) throw new PayloadError("number-length", "a number in the payload is too long");
    }
  }
}

/** (tag, subject) as qr.payload.read_subject reads them. */
function readSubject(r) {
  const tag = r.small(1);
  if (tag === 2) return [tag, r.small(2).toString().padStart(4, "0") + "*".repeat(14)]; // the region prefix only
  if (tag === 0) { // earlier certificates: the prefix and the last four characters
    const region = r.small(2).toString().padStart(4, "0");
    // as Python's bytes.decode("ascii", errors="replace"): the signature covers the text, so it decides
    return [tag, region + "*".repeat(10) +
                 String.fromCharCode(...Array.from(r.take(4), (b) => b < 0x80 ? b : 0xfffd))];
  }
  if (tag === 1) {
    let packed = r.uint(12);
    const chars = [];
    for (let i = 0; i < 18; i++) { chars.push(USCC_ALPHABET[Number(packed % 31n)]); packed /= 31n; }
    return [tag, chars.reverse().join("")];
  }
  throw new PayloadError("subject-type", `unknown subject type ${tag}`, tag);
}

/** A length byte and GB18030 text, as qr.attestation._read_text reads it. */
function readText(r, what, code, value) {
  const bytes = r.take(r.small(1));
  if (!gb18030Valid(bytes)) throw new PayloadError(code, `${what} is not valid GB18030`, value);
  return new TextDecoder("gb18030").decode(bytes);
}

function signatureOf(compact) {
  const s = compact.slice(32); s[0] &= 0x7f;
  return { r: compact.slice(0, 32), s, parity: compact[32] >> 7 };
}

/** Parse a binary payload: a certificate ({format: 1, content, signature}) or, by `kinds` (`kindTable`), an
 * attestation of a registered kind ({format: 2, suite, kind, header, values, signature}: payload format 2 signed
 * with secp256k1, or format 3 with SM2, whose key id and signed bytes come with it); throws PayloadError saying what
 * is wrong. */
export function decodePayload(data, kinds = new Map()) {
  const r = new Reader(data);
  const version = r.small(1);
  if (version === ATTESTATION_VERSION || version === SM2_ATTESTATION_VERSION) {
    return decodeAttestation(r, data, kinds, version === SM2_ATTESTATION_VERSION);
  }
  if (version !== PAYLOAD_VERSION) {
    throw new PayloadError("version", `unknown payload format version ${version}`, version);
  }
  const kind = r.small(1);
  if (CERT_KINDS[kind] === undefined) throw new PayloadError("kind", `unknown certificate kind ${kind}`, kind);
  const number = r.uint(8).toString().padStart(17, "0");
  const [, subject] = readSubject(r);
  const subjectName = readText(r, "the subject name", "name-encoding");
  const periodFrom = r.small(2), periodTo = r.small(2);
  const totalFen = r.varint();
  const monthsPaid = r.small(1), monthsInArrears = r.small(1);
  const detailHash = r.take(32).slice();
  const issuedAt = r.small(4), expiresOn = r.small(2);
  const department = DEPARTMENT_CODES[r.small(1)];
  if (!department) throw new PayloadError("department", "unknown department code");
  const signature = signatureOf(r.take(64));
  if (r.pos !== data.length) throw new PayloadError("trailing", "unexpected bytes after the signature");
  return {
    format: 1,
    content: { kind, version: 1, number, subject, subjectName, periodFrom, periodTo, totalFen, monthsPaid,
               monthsInArrears, detailHash, issuedAt, expiresOn, department },
    signature,
  };
}

// ---- Attestations of kinds registered from schema files: the mirror of qr/attestation.py and kinds/eip712.py.

/** JSON as Python's json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False) writes it: the text whose
 * keccak is a schema's digest (kinds.schema.canonical). */
export function canonicalJson(value) {
  if (Array.isArray(value)) return "[" + value.map(canonicalJson).join(",") + "]";
  if (value !== null && typeof value === "object") {
    return "{" + Object.keys(value).sort().map((k) => JSON.stringify(k) + ":" + canonicalJson(value[k])).join(",") +
      "}";
  }
  return JSON.stringify(value);
}

const kindTables = new WeakMap();

/** The kinds a key list carries, by payload id (the digest's first 8 bytes, in hex): each schema that hashes to the
 * digest the list states, with that department (qr.trustlist.OfflineResolver.kinds); any other is left out, so its
 * attestations read as an unknown kind. Enum values are indexed in code order, as kinds.schema orders them. */
export function kindTable(trust) {
  let table = kindTables.get(trust);
  if (table) return table;
  table = new Map();
  for (const entry of trust.kinds || []) {
    try {
      const schema = entry.schema;
      const digest = keccak_256(utf8.encode(canonicalJson(schema)));
      if ("0x" + hex(digest) !== entry.digest || schema.department !== entry.department) continue;
      const fields = schema.fields.map((f) => ({ ...f, codes: f.type === "enum" ? Object.keys(f.values).sort() : [] }));
      table.set(hex(digest.subarray(0, 8)), {
        schema, digest, fields, qr: fields.filter((f) => f.in_qr), detail: fields.some((f) => !f.in_qr),
        type: "Attestation(" + [ATTESTATION_HEADER, ...fields.filter((f) => f.in_qr)
          .map((f) => `${ATTESTATION_TYPES[f.type]} ${f.name}`)].join(",") + ")",
      });
    } catch { /* a malformed entry: left out */ }
  }
  kindTables.set(trust, table);
  return table;
}

const unzigzag = (n) => (n & 1n ? -(n >> 1n) - 1n : n >> 1n);

function readField(r, f) {
  switch (f.type) {
    case "string": return readText(r, f.name, "field-encoding", f.name);
    case "enum": {
      const index = r.small(1);
      if (index >= f.codes.length) throw new PayloadError("enum", `${f.name}: no value ${index} in the kind`, f.name);
      return f.codes[index];
    }
    case "integer": return unzigzag(r.varint());
    case "amount_fen": return r.varint();
    case "date": {
      const day = unzigzag(r.varint());
      if (day < BigInt(DATE_DAYS[0]) || day > BigInt(DATE_DAYS[1])) {
        throw new PayloadError("date", `${f.name}: the date is out of range`, f.name);
      }
      return dayToIso(Number(day));
    }
    case "month": return r.varint(); // year * 12 + month - 1
    case "boolean": {
      const flag = r.small(1);
      if (flag > 1) throw new PayloadError("boolean", `${f.name}: a boolean byte must be 0 or 1`, f.name);
      return flag === 1;
    }
    default: return "0x" + hex(r.take(32)); // digest
  }
}

function decodeAttestation(r, data, kinds, sm2Signed) {
  const id = hex(r.take(8));
  const kind = kinds.get(id);
  if (!kind) throw new PayloadError("schema", `unknown kind: no registered schema 0x${id}…`, id);
  const number = r.uint(8).toString().padStart(17, "0");
  const [tag, subject] = readSubject(r);
  if (tag !== 1 && tag !== 2) throw new PayloadError("subject-type", `unknown subject type ${tag}`, tag);
  if ((tag === 1) !== (kind.schema.subject === "enterprise")) {
    const about = kind.schema.subject === "enterprise" ? "an enterprise" : "a person";
    throw new PayloadError("subject-kind", `a ${kind.schema.slug} attestation is about ${about}, not this subject`);
  }
  const header = {
    number, subject, subjectName: readText(r, "the subject name", "name-encoding"), issuedAt: r.small(4),
    expiresOn: r.small(2), department: kind.schema.department,
    detailHash: kind.detail ? r.take(32).slice() : new Uint8Array(32),
  };
  const values = {};
  for (const f of kind.qr) values[f.name] = readField(r, f);
  if (sm2Signed) { // qr.attestation, format 3: the key id, then r || s over the payload up to it
    const keyId = hex(r.take(SM2_KEY_ID_BYTES));
    const signed = data.subarray(0, r.pos);
    const signature = r.take(64);
    if (r.pos !== data.length) throw new PayloadError("trailing", "unexpected bytes after the signature");
    return { format: 2, suite: "sm2", kind, header, values, signature, keyId, signed };
  }
  const signature = signatureOf(r.take(64));
  if (r.pos !== data.length) throw new PayloadError("trailing", "unexpected bytes after the signature");
  return { format: 2, suite: "secp256k1", kind, header, values, signature };
}

function monthText(n) {
  return `${(n / 12n).toString().padStart(4, "0")}-${String(Number(n % 12n) + 1).padStart(2, "0")}`;
}

/** A value as the struct carries it: its ABI word (kinds.eip712._word); a RangeError names a value out of its type,
 * in Python's words. */
function fieldWord(f, value) {
  const type = ATTESTATION_TYPES[f.type];
  if (type === "string") return keccakText(value);
  if (type === "bytes32") return hexBytes(value);
  if (type === "bool") return word(value ? 1 : 0);
  const n = f.type === "date" ? BigInt(Math.round(Date.parse(value) / 86400000)) : BigInt(value);
  const bits = BigInt(type.replace(/^u?int/, ""));
  const signed = !type.startsWith("u");
  const low = signed ? -(1n << (bits - 1n)) : 0n, high = signed ? 1n << (bits - 1n) : 1n << bits;
  if (n < low || n >= high) throw new RangeError(`${n} does not fit ${type}`);
  return word(n < 0n ? (1n << 256n) + n : n);
}

/** The EIP-712 digest of an attestation (kinds.eip712.digest): its kind's struct, derived from the schema. */
export function attestationDigest(a, separator) {
  const h = a.header;
  const struct = keccak_256(concat(
    keccakText(a.kind.type), a.kind.digest, keccakText(h.number), keccakText(h.subject), keccakText(h.subjectName),
    word(h.issuedAt), word(h.expiresOn), keccakText(h.department), h.detailHash,
    ...a.kind.qr.map((f) => fieldWord(f, a.values[f.name]))));
  return keccak_256(concat(Uint8Array.of(0x19, 0x01), separator, struct));
}

/** What a verifier sees of an attestation (qr.verify.show_attestation): the kind's title, the header, each QR field
 * with its labels (an enum's value with its own). */
function showAttestation(a, trust) {
  const s = a.kind.schema, h = a.header;
  const dept = (trust.departments || []).find((d) => d.id === h.department);
  return {
    kind: s.slug, kind_version: s.version, kind_zh: s.title.zh, kind_en: s.title.en, schema: "0x" + hex(a.kind.digest),
    number: h.number, subject: h.subject, subject_name: h.subjectName,
    issued_at: new Date(h.issuedAt * 1000).toISOString(), expires_on: dayToIso(h.expiresOn),
    department: h.department, department_name: dept ? dept.name : h.department,
    fields: a.kind.qr.map((f) => {
      const raw = a.values[f.name], shown = f.type === "enum" ? f.values[raw] : null;
      const value = f.type === "month" ? monthText(raw) : typeof raw === "bigint" ? raw.toString() : raw;
      return { name: f.name, type: f.type, label_zh: f.label.zh, label_en: f.label.en, value,
               value_zh: shown ? shown.zh : null, value_en: shown ? shown.en : null };
    }),
    has_detail: h.detailHash.some((b) => b !== 0),
    suite: a.suite, // secp256k1 (EIP-712) or sm2 (SM2/SM3)
  };
}

const CERTIFICATE_TYPE = EIP712_TYPE_STRINGS.Certificate;
const DOMAIN_TYPE = EIP712_TYPE_STRINGS.EIP712Domain;
const keccakText = (s) => keccak_256(utf8.encode(s));

export function domainSeparator(chainId, verifyingContract) {
  const address = new Uint8Array(32);
  address.set(hexBytes(verifyingContract), 12);
  return keccak_256(concat(keccakText(DOMAIN_TYPE), keccakText(EIP712_DOMAIN.name), keccakText(EIP712_DOMAIN.version),
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
    // r and s must lie in [1, n-1]; a high s is recovered as libsecp256k1 recovers it on the server (coincurve)
    const point = secp256k1.Signature.fromBytes(concat(sig.r, sig.s), "compact").addRecoveryBit(sig.parity)
      .recoverPublicKey(digest);
    return "0x" + hex(keccak_256(point.toBytes(false).subarray(1)).subarray(12));
  } catch {
    return null;
  }
}

// ---- SM2 (GB/T 32918) over SM3: the mirror of ledger/sm2.py, ledger/sm2_address.py and qr.trustlist.sm2_keys.

const sm2Tables = new WeakMap();

/** The address of an SM2 public key X || Y, lower case (ledger.sm2_address.sm2_key_address); its first 4 bytes are
 * its key id. */
export function sm2KeyAddress(publicKey) {
  return "0x" + hex(keccak_256(concat(utf8.encode(SM2_ADDRESS_PREFIX), publicKey)).subarray(12));
}

/** The key list's SM2 keys by key id (hex): {address, publicKey}. An entry whose address is not its public key's is
 * left out (no payload can name it), as qr.trustlist.sm2_keys leaves it out; a later entry of the same id wins. */
export function sm2KeyTable(trust) {
  let table = sm2Tables.get(trust);
  if (table) return table;
  table = new Map();
  for (const k of trust.keys || []) {
    if (k.suite !== "sm2") continue;
    const text = String(k.public_key).replace(/^0x/, "");
    // hex as Python's bytes.fromhex reads it: ASCII whitespace only between the pairs
    if (!/^([ \t\n\r\v\f]*[0-9a-fA-F]{2})*[ \t\n\r\v\f]*$/.test(text)) continue;
    const publicKey = hexBytes(text.replace(/[ \t\n\r\v\f]/g, ""));
    if (publicKey.length !== 64) continue; // X || Y
    const address = sm2KeyAddress(publicKey);
    if (address !== String(k.address).toLowerCase()) continue;
    table.set(address.slice(2, 2 + 2 * SM2_KEY_ID_BYTES), { address, publicKey });
  }
  sm2Tables.set(trust, table);
  return table;
}

/** Whether `signature` (r || s, 64 bytes) is the SM2 signature of `message` by `publicKey` (X || Y) with the default
 * user id: e = SM3(Z_A || message) (ledger.sm2.PublicKey.verify). A malformed signature (r or s out of [1, n-1]) does
 * not hold. */
export function sm2Verify(publicKey, message, signature) {
  try {
    return sm2.doVerifySignature(message, hex(signature), "04" + hex(publicKey), { hash: true, userId: SM2_USER_ID });
  } catch { // sm-crypto-v2 throws for a scalar out of range
    return false;
  }
}

/** Whether X || Y is a point of sm2p256v1 (ledger.sm2.on_curve). */
export function sm2OnCurve(publicKey) {
  try {
    return publicKey.length === 64 && sm2.verifyPublicKey("04" + hex(publicKey));
  } catch {
    return false;
  }
}

export function dayToIso(day) {
  return new Date(day * 86400000).toISOString().slice(0, 10);
}

const keyTables = new WeakMap();

/** The key list's entry for a lower-case address, as qr.trustlist.OfflineResolver.keys finds it (a later entry of the
 * same address wins). */
function keyOf(trust, address) {
  let table = keyTables.get(trust);
  if (!table) {
    table = new Map(trust.keys.map((k) => [k.address.toLowerCase(), k]));
    keyTables.set(trust, table);
  }
  return table.get(address);
}

function authorized(trust, signer, chainKind, timestamp) {
  const key = keyOf(trust, signer);
  if (!key || !((key.kinds >> chainKind) & 1) || timestamp < key.valid_from) return false;
  if (key.revoked_at && timestamp >= key.revoked_at) return false;
  const dept = trust.departments.find((d) => d.id === key.department);
  return !(dept && dept.retired_at) || timestamp < dept.retired_at;
}

function show(c, trust) {
  const dept = (trust.departments || []).find((d) => d.id === c.department);
  return {
    kind: c.kind, kind_zh: CERT_KINDS[c.kind].zh, kind_en: CERT_KINDS[c.kind].en, number: c.number,
    subject: c.subject,
    subject_name: c.subjectName, period_from: dayToIso(c.periodFrom), period_to: dayToIso(c.periodTo),
    total_fen: Number(c.totalFen), months_paid: c.monthsPaid, months_in_arrears: c.monthsInArrears,
    issued_at: new Date(c.issuedAt * 1000).toISOString(), expires_on: dayToIso(c.expiresOn),
    department: c.department, department_name: dept ? dept.name : c.department,
    ...(c.kind === CERT_KIND.CREDIT_REPORT ? { credit_score: Number(c.totalFen), records: c.monthsPaid,
                         grade: GRADES[c.monthsInArrears] || "?" } : {}),
  };
}

// One check: its name, the outcome (true, false, or null for "not checked"), a `code` for the reason (the same for
// the same reason on both pipelines; tests/pages/test_verify_parity.py maps the Python texts to these codes) and
// the text in Chinese and English.
const check = (name, ok, code, zh, en) => ({ name, ok, code, zh, en });
const UINT64 = 1n << 64n;

function departmentNames(trust, id) {
  const dept = (trust.departments || []).find((d) => d.id === id);
  return { zh: dept ? dept.name : id, en: (DEPARTMENT_NAMES[id] || {}).en || id };
}

/**
 * Verify a verify URL or payload. `trust` is the deployment's key list (GET /v1/verify/keys);
 * `fetchStatus(digestHex, department)` resolves to anchored|pending|revoked|suspended|unknown|foreign-anchor (the
 * batch must have been anchored by `department`), or to `{status, reason}` with the department's reason code for
 * a revocation or suspension; `today` is "YYYY-MM-DD". Never throws for a payload: every failure is a verdict.
 */
export async function verify(text, trust, fetchStatus, today) {
  let decoded;
  try {
    decoded = decodePayload(payloadFromText(String(text)), kindTable(trust));
  } catch (e) {
    if (!(e instanceof PayloadError)) throw e;
    const zh = PAYLOAD_ZH[e.code].replace("{v}", e.value);
    return { status: "INVALID", checks: [check("format", false, e.code, `二维码内容无法识别：${zh}`,
                                                `Unreadable payload: ${e.message}`)],
             certificate: null, digest: null, signer: null, reason: null, unchecked: [] };
  }
  const checks = [check("format", true, "ok", "格式正确", "Well-formed payload")];
  const separator = domainSeparator(trust.chain_id, trust.verifying_contract);
  let certificate, digestBytes, subject, signedBy;
  if (decoded.format === 2) {
    const h = decoded.header;
    certificate = showAttestation(decoded, trust);
    subject = { department: h.department, chainKind: CHAIN_KIND.ATTESTATION, issuedAt: h.issuedAt,
                expiresOn: h.expiresOn };
    try {
      digestBytes = attestationDigest(decoded, separator);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      checks[0] = check("format", false, "range", "字段超出范围", `A field is out of range: ${e.message}`);
      return { status: "INVALID", checks, certificate, digest: null, signer: null, reason: null, unchecked: [] };
    }
    signedBy = decoded.suite === "sm2" ? sm2Signer(decoded, separator, trust)
      : recovered(digestBytes, decoded.signature, trust);
  } else {
    const c = decoded.content;
    certificate = show(c, trust);
    subject = { department: c.department, chainKind: CERT_KINDS[c.kind].chainKind, issuedAt: c.issuedAt,
                expiresOn: c.expiresOn };
    if (c.totalFen >= UINT64) { // a varint may carry 70 bits; the EIP-712 field is a uint64 (as qr/signed.py)
      checks[0] = check("format", false, "range", "字段超出范围：金额字段超出范围",
                        `A field is out of range: totalFen ${c.totalFen} does not fit uint64`);
      return { status: "INVALID", checks, certificate, digest: null, signer: null, reason: null, unchecked: [] };
    }
    digestBytes = digestOf(c, separator);
    signedBy = recovered(digestBytes, decoded.signature, trust);
  }
  return judge(checks, certificate, "0x" + hex(digestBytes), signedBy, subject, trust, fetchStatus, today);
}

// Why the signature step failed (qr.verify._MALFORMED, _ALTERED): a signature that holds for no registered key means
// the content was altered after signing (or a stranger signed it).
const UNUSABLE = () => check("signature", false, "unusable", "签名无效", "The signature is invalid");
const ALTERED = () => check("signature", false, "unknown-signer", "签名与内容不符：内容可能被篡改",
                            "The signature does not match the content: it may have been altered");

/** The registered key a secp256k1 signature recovers to, as {signer}, or why not, as {refused: check, signer}
 * (qr.verify._recovered). Recovery always yields some address; one no department ever registered means altered
 * content. */
function recovered(digestBytes, signature, trust) {
  const signer = recoverSigner(digestBytes, signature);
  if (signer === null) return { refused: UNUSABLE(), signer: null };
  if (!keyOf(trust, signer)) return { refused: ALTERED(), signer };
  return { signer };
}

/** The registered SM2 key the payload's key id names, when its signature of the domain separator and the payload up
 * to the signature holds (qr.verify._sm2_signer, qr.attestation.sm2_message). An unknown key id, or a signature that
 * fails, reads as a secp256k1 signature recovering to no registered key; a key that is no point of the curve makes
 * the signature unusable. */
function sm2Signer(a, separator, trust) {
  const found = sm2KeyTable(trust).get(a.keyId);
  if (!found) return { refused: ALTERED(), signer: null };
  if (!sm2OnCurve(found.publicKey)) return { refused: UNUSABLE(), signer: null };
  const holds = sm2Verify(found.publicKey, concat(separator, a.signed), a.signature);
  return holds ? { signer: found.address } : { refused: ALTERED(), signer: null };
}

/** The steps every kind shares once its digest is rebuilt and its signer found (qr.verify._judge): the signer, its
 * department and authority at the issue time, the anchor and status (as `subject.department` anchored it), the expiry
 * day. */
async function judge(checks, certificate, digest, signedBy, subject, trust, fetchStatus, today) {
  const c = subject;
  const verdict = (status, signer = null, reason = null) => ({ status, checks, certificate, digest, signer, reason,
                                                               unchecked: [] });
  if (signedBy.refused) {
    checks.push(signedBy.refused);
    return verdict("INVALID", signedBy.signer);
  }
  const signer = signedBy.signer;
  const key = keyOf(trust, signer);
  checks.push(check("signature", true, "ok", "签名可验证", `Signed by ${signer}`));
  if (key.department !== c.department) {
    // A certificate belongs to one department: the key that signed it must be that department's.
    const owner = departmentNames(trust, key.department), named = departmentNames(trust, c.department);
    checks.push(check("issuer", false, "department-mismatch", `签发密钥属于${owner.zh}，与证明所载签发机关${named.zh}不符`,
                      `The signing key belongs to ${owner.en}, not to ${named.en}, the department the certificate ` +
                      "names"));
    return verdict("UNTRUSTED_ISSUER", signer);
  }
  if (!authorized(trust, signer, c.chainKind, c.issuedAt)) {
    checks.push(check("issuer", false, "unauthorized", "签发密钥在签发时未获授权",
                      "The department key was not authorized for this kind at the issue time"));
    return verdict("UNTRUSTED_ISSUER", signer);
  }
  checks.push(check("issuer", true, "ok", "签发机关已获授权", "Issued by an authorized department key"));
  if (key.migrated) {
    checks.push(check("migration", null, "migrated", "签发密钥经链迁移登记（历史有效期已在链上记录）",
                      "The signing key was registered through the recorded chain migration (historic window)"));
  }
  let state, reason = null;
  try {
    const answer = await fetchStatus(digest, c.department);
    state = typeof answer === "string" ? answer : answer.status;
    if (typeof answer === "object" && answer.reason != null) reason = answer.reason;
  } catch {
    state = "offline";
  }
  if (state === "offline") {
    checks.push(check("anchor", null, "offline", "无法连接服务器：未核对上链及撤销情况",
                      "The server could not be reached: anchoring and revocation were not checked"));
  } else if (state === "unknown") {
    checks.push(check("anchor", false, "unknown", "账本中查无此证明", "The ledger does not know this certificate"));
    return verdict("INVALID", signer);
  } else if (state === "foreign-anchor") {
    checks.push(check("anchor", false, "foreign-anchor", "存证批次并非由证明所载签发机关上链",
                      "Its batch was anchored by another department than the one the certificate names"));
    return verdict("UNTRUSTED_ISSUER", signer);
  } else if (state === "pending") {
    checks.push(check("anchor", null, "pending", "已签发，等待上链", "Issued; its batch is not on chain yet"));
    return verdict("PENDING_ANCHOR", signer);
  } else {
    checks.push(check("anchor", true, "ok", "已上链存证", "Anchored on the ledger"));
  }
  if (state === "revoked") {
    checks.push(check("status", false, "revoked", "证明已被撤销", "The certificate has been revoked"));
    return verdict("REVOKED", signer, reason);
  }
  if (state === "suspended") {
    checks.push(check("status", false, "suspended", "证明已被暂停使用", "The certificate is suspended"));
    return verdict("SUSPENDED", signer, reason);
  }
  if (state !== "offline") checks.push(check("status", true, "ok", "未撤销", "Not revoked or suspended"));
  const expires = dayToIso(c.expiresOn);
  if (expires < today) {
    checks.push(check("expiry", false, "expired", `已于 ${expires} 过期`, `Expired on ${expires}`));
    return verdict("EXPIRED", signer);
  }
  checks.push(check("expiry", true, "ok", `有效期至 ${expires}`, `Valid until ${expires}`));
  // Unreachable server: the signature holds but revocation is unknown; the page says so next to VALID.
  return { ...verdict("VALID", signer), unchecked: state === "offline" ? ["anchor", "status"] : [] };
}
