// generated from Python by scripts/page_constants.py (`npm run build:web` runs it); do not edit.
// Each constant names its Python owner; tests/pages/test_bundle.py fails when this file is stale.

// qr.payload.VERSION
export const PAYLOAD_VERSION = 1;

// ledger.departments.Department.code (payload byte -> department)
export const DEPARTMENT_CODES = {"1": "tax.440604", "2": "si.440604", "3": "amr.440604"};

// qr.signed.Domain.as_dict (name, version)
export const EIP712_DOMAIN = {"name": "ZeroErrand Ledger", "version": "1"};

// qr.signed.EIP712_TYPES
export const EIP712_TYPE_STRINGS = {
  "EIP712Domain": "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)",
  "Certificate": "Certificate(uint8 kind,uint8 version,string number,string subject,string subjectName,uint32 periodFrom,uint32 periodTo,uint64 totalFen,uint16 monthsPaid,uint16 monthsInArrears,bytes32 detailHash,uint32 issuedAt,uint32 expiresOn,string department)"
};

// qr.attestation.VERSION (payload format of a kind registered from a file)
export const ATTESTATION_VERSION = 2;

// qr.attestation.SM2_VERSION (the same payload signed with SM2 over SM3, its key id before the signature)
export const SM2_ATTESTATION_VERSION = 3;

// qr.attestation.KEY_ID_BYTES (an SM2 key's id in a payload)
export const SM2_KEY_ID_BYTES = 4;

// ledger.sm2_address (an SM2 key's address: the last 20 bytes of keccak256(prefix || X || Y))
export const SM2_ADDRESS_PREFIX = "SM2";

// ledger.sm2.DEFAULT_ID (the signer's id in Z_A, GB/T 32918.2)
export const SM2_USER_ID = "1234567812345678";

// kinds.eip712.HEADER (the Attestation struct's members before the kind's QR fields)
export const ATTESTATION_HEADER = "bytes32 schema,string number,string subject,string subjectName,uint64 issuedAt,uint32 expiresOn,string department,bytes32 detailHash";

// kinds.eip712.SOLIDITY (a schema field type -> its EIP-712 type)
export const ATTESTATION_TYPES = {
  "string": "string",
  "enum": "string",
  "integer": "int64",
  "amount_fen": "uint64",
  "date": "int32",
  "month": "uint32",
  "boolean": "bool",
  "digest": "bytes32"
};

// the day numbers of datetime.date.min and .max (a payload's date beyond them is out of range)
export const DATE_DAYS = [-719162, 2932896];

// ledger.kinds.Kind (bit in a key's kinds mask)
export const CHAIN_KIND = {
  "TAX_CERTIFICATE": 0,
  "SOCIAL_INSURANCE_CERTIFICATE": 1,
  "CREDIT_RECORD": 2,
  "INSPECTION": 3,
  "CREDIT_REPORT": 4,
  "ENTERPRISE_CODE": 5,
  "RANDOM_DRAW": 6,
  "AUDIT_LOG": 7,
  "ATTESTATION": 8
};

// zero_errand.certificates.CertKind (payload code)
export const CERT_KIND = {
  "TAX_INDIVIDUAL": 1,
  "TAX_ENTERPRISE": 2,
  "SI_INDIVIDUAL": 3,
  "SI_ENTERPRISE": 4,
  "CREDIT_REPORT": 5
};

// zero_errand.certificates.CertKind
export const CERT_KINDS = {
  "1": {
    "slug": "tax-individual",
    "chainKind": 0,
    "department": "tax.440604",
    "zh": "个人纳税证明",
    "en": "Individual tax-payment certificate"
  },
  "2": {
    "slug": "tax-enterprise",
    "chainKind": 0,
    "department": "tax.440604",
    "zh": "企业纳税证明",
    "en": "Enterprise tax-payment certificate"
  },
  "3": {
    "slug": "si-individual",
    "chainKind": 1,
    "department": "si.440604",
    "zh": "个人社保缴费证明",
    "en": "Individual social-insurance contribution certificate"
  },
  "4": {
    "slug": "si-enterprise",
    "chainKind": 1,
    "department": "si.440604",
    "zh": "企业社保参保证明",
    "en": "Enterprise social-insurance participation certificate"
  },
  "5": {
    "slug": "credit-report",
    "chainKind": 4,
    "department": "amr.440604",
    "zh": "企业信用报告",
    "en": "Enterprise credit report"
  }
};

// ledger.departments.DEPARTMENTS
export const DEPARTMENT_NAMES = {
  "tax.440604": {
    "zh-CN": "国家税务总局佛山市禅城区税务局",
    "en": "Chancheng District Tax Bureau, STA"
  },
  "si.440604": {
    "zh-CN": "佛山市禅城区社会保险基金管理局",
    "en": "Chancheng District Social Insurance Fund Administration"
  },
  "amr.440604": {
    "zh-CN": "佛山市禅城区市场监督管理局",
    "en": "Chancheng District Administration for Market Regulation"
  },
  "dsj.440604": {
    "zh-CN": "佛山市禅城区政务服务数据管理局",
    "en": "Chancheng District Government Service Data Administration"
  },
  "ps.440604": {
    "zh-CN": "佛山市公安局禅城分局",
    "en": "Chancheng Branch, Foshan Public Security Bureau"
  },
  "edu.440604": {
    "zh-CN": "佛山市禅城区教育局",
    "en": "Chancheng District Education Bureau"
  }
};

// credit.grading.CLASSES (a credit report's class code, 1 = A)
export const GRADES = {"1": "A", "2": "B", "3": "C", "4": "D"};

// zero_errand.certificates.REASONS / REASONS_ZH
export const STATUS_REASONS = {
  "1": {
    "zh-CN": "误签发",
    "en": "Issued in error"
  },
  "2": {
    "zh-CN": "数据已更正",
    "en": "Data corrected"
  },
  "3": {
    "zh-CN": "以欺诈手段取得",
    "en": "Obtained by fraud"
  },
  "4": {
    "zh-CN": "正在调查核实",
    "en": "Under investigation"
  },
  "5": {
    "zh-CN": "应持证人申请",
    "en": "Subject request"
  },
  "9": {
    "zh-CN": "其他原因",
    "en": "Other"
  }
};

// credit.grading.RECORD_TYPES / TYPE_ZH / TYPE_EN
export const RECORD_TYPES = {
  "commendation": {
    "zh-CN": "表彰奖励",
    "en": "Commendation"
  },
  "inspection_pass": {
    "zh-CN": "检查合格",
    "en": "Inspection passed"
  },
  "inspection_issues": {
    "zh-CN": "检查发现问题",
    "en": "Inspection found issues"
  },
  "inspection_fail": {
    "zh-CN": "检查不合格",
    "en": "Inspection failed"
  },
  "tax_arrears": {
    "zh-CN": "欠缴税款",
    "en": "Tax arrears"
  },
  "si_arrears": {
    "zh-CN": "欠缴社保费",
    "en": "Social-insurance arrears"
  },
  "penalty_minor": {
    "zh-CN": "轻微行政处罚",
    "en": "Minor administrative penalty"
  },
  "penalty_general": {
    "zh-CN": "一般行政处罚",
    "en": "Administrative penalty"
  },
  "penalty_serious": {
    "zh-CN": "严重行政处罚",
    "en": "Serious administrative penalty"
  },
  "dishonest_debtor": {
    "zh-CN": "失信被执行人",
    "en": "Dishonest judgment debtor"
  },
  "coercive_measure": {
    "zh-CN": "行政强制措施",
    "en": "Administrative coercive measure"
  }
};

// credit.inspections.RESULTS
export const INSPECTION_RESULTS = ["pass", "issues", "fail"];

// credit.grading.load_policy().unscheduled_reasons (an inspection not due gives one)
export const UNSCHEDULED_REASONS = ["complaint", "alert", "referral", "random_draw", "emergency"];

// credit.inspections.SCHEDULE, credit.visits.TRIGGER_KINDS, the rule file
export const VISIT_REASONS = {
  "schedule": {
    "zh-CN": "按风险分类定期检查",
    "en": "Routine (risk-based schedule)"
  },
  "complaint": {
    "zh-CN": "投诉举报",
    "en": "Complaint"
  },
  "alert": {
    "zh-CN": "风险预警",
    "en": "Risk alert"
  },
  "referral": {
    "zh-CN": "转办",
    "en": "Referral"
  },
  "random_draw": {
    "zh-CN": "双随机抽查",
    "en": "Double random draw"
  },
  "emergency": {
    "zh-CN": "紧急情况",
    "en": "Emergency"
  }
};

// credit.grading.load_policy().objection_answer_days (a department answers an objection within them)
export const OBJECTION_ANSWER_DAYS = 5;

// credit.inspections.PURPOSES
export const SCAN_PURPOSES = {
  "enter": {
    "zh-CN": "进门前扫码",
    "en": "Scanned before entering"
  },
  "leave": {
    "zh-CN": "离开前扫码",
    "en": "Scanned before leaving"
  }
};

// credit.tax_credit.GRADES / LABEL_ZH / LABEL_EN (纳税缴费信用)
export const TAX_CREDIT_GRADES = {
  "A": {
    "zh-CN": "纳税缴费信用 A 级",
    "en": "Tax and fee payment credit grade A"
  },
  "B": {
    "zh-CN": "纳税缴费信用 B 级",
    "en": "Tax and fee payment credit grade B"
  },
  "M": {
    "zh-CN": "纳税缴费信用 M 级（新设立或无生产经营收入）",
    "en": "Tax and fee payment credit grade M (newly set up, or no business income)"
  },
  "C": {
    "zh-CN": "纳税缴费信用 C 级",
    "en": "Tax and fee payment credit grade C"
  },
  "D": {
    "zh-CN": "纳税缴费信用 D 级",
    "en": "Tax and fee payment credit grade D"
  }
};

// identifiers.USCC_ALPHABET
export const USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY";

// the Latin capitals identifiers.USCC_ALPHABET leaves out
export const USCC_NEVER_USED = "IOSVZ";

// identifiers.REGISTRATION_AUTHORITIES
export const REGISTRATION_AUTHORITIES = "123456789ANY";

// qr.decode.SCAN_PIXELS (a photo is scaled down to at most this many pixels)
export const SCAN_PIXELS = 4000000;
