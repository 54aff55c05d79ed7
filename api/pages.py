"""HTML pages for people (zh-CN first, English with `?lang=en`)."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

TEXT = {
    "zh-CN": {
        "title": "零跑腿信用账本", "lead": "禅城区政务证明与企业信用，上链存证，扫码核验。",
        "verify": "扫码核验证明", "docs": "接口文档（API）", "switch": "English", "other": "en",
    },
    "en": {
        "title": "ZeroErrand Ledger", "lead": "Certificates and enterprise credit of Chancheng District, anchored "
        "on a permissioned ledger and verifiable by scanning a QR code.",
        "verify": "Verify a certificate", "docs": "API documentation", "switch": "中文", "other": "zh-CN",
    },
}


@router.get("/", response_class=HTMLResponse)
def index(lang: Annotated[Literal["zh-CN", "en"], Query()] = "zh-CN") -> str:
    t = TEXT[lang]
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t['title']}</title>
<style>body{{font-family:system-ui,"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;max-width:40rem;
margin:0 auto;padding:1rem;line-height:1.6}}a.btn{{display:block;margin:.75rem 0;padding:.9rem;border-radius:.5rem;
background:#c8102e;color:#fff;text-align:center;text-decoration:none}}nav{{text-align:right}}</style></head>
<body><nav><a href="/?lang={t['other']}" id="lang-switch">{t['switch']}</a></nav>
<h1>{t['title']}</h1><p>{t['lead']}</p>
<a class="btn" href="/verify?lang={lang}">{t['verify']}</a>
<a class="btn" href="/docs">{t['docs']}</a>
</body></html>"""


VERIFY_TEXT = {
    "zh-CN": {
        "title": "证明核验", "lead": "拍摄或上传证明上的二维码照片，即可核验真伪、是否撤销及有效期。",
        "pick": "选择二维码照片", "check": "核验", "busy": "正在核验……", "switch": "English", "other": "en",
        "note": "浏览器内核验（签名在本机验证、仅向服务器发送摘要）即将上线；目前照片会上传至本服务解码。",
        "fail": "核验失败", "status": {"VALID": "有效", "INVALID": "无效", "UNTRUSTED_ISSUER": "签发机关不可信",
                                      "REVOKED": "已撤销", "SUSPENDED": "已暂停", "EXPIRED": "已过期",
                                      "PENDING_ANCHOR": "待上链"},
    },
    "en": {
        "title": "Verify a certificate", "lead": "Take or upload a photo of the certificate's QR code to check that "
        "it is genuine, current and not revoked.", "pick": "Choose a photo of the QR code", "check": "Verify",
        "busy": "Verifying…", "switch": "中文", "other": "zh-CN",
        "note": "In-browser verification (signature checked on your device, only the digest sent) is coming; for "
        "now the photo is uploaded to this service for decoding.",
        "fail": "Verification failed", "status": {"VALID": "Valid", "INVALID": "Invalid",
                                                  "UNTRUSTED_ISSUER": "Untrusted issuer", "REVOKED": "Revoked",
                                                  "SUSPENDED": "Suspended", "EXPIRED": "Expired",
                                                  "PENDING_ANCHOR": "Pending anchoring"},
    },
}


@router.get("/verify", response_class=HTMLResponse)
def verify_page(lang: Annotated[Literal["zh-CN", "en"], Query()] = "zh-CN") -> str:
    """The page a certificate's QR code opens. The payload after `#` is not sent anywhere by this page."""
    t = VERIFY_TEXT[lang]
    key = "zh" if lang == "zh-CN" else "en"
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t['title']}</title>
<style>body{{font-family:system-ui,"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;max-width:40rem;
margin:0 auto;padding:1rem;line-height:1.6}}nav{{text-align:right}}button,input{{font-size:1rem;width:100%;
margin:.5rem 0;padding:.7rem}}#verdict{{font-size:1.4rem;font-weight:bold}}.small{{color:#555;font-size:.85rem}}
li{{margin:.2rem 0}}</style></head>
<body><nav><a href="/verify?lang={t['other']}" id="lang-switch">{t['switch']}</a></nav>
<h1>{t['title']}</h1><p>{t['lead']}</p>
<form id="form"><label>{t['pick']}<input id="photo" type="file" accept="image/*" capture="environment"></label>
<button type="submit">{t['check']}</button></form>
<p id="verdict" role="status"></p><ul id="checks"></ul>
<p class="small">{t['note']}</p>
<script>
const STATUS = {json.dumps(t['status'], ensure_ascii=False)};
document.getElementById("form").addEventListener("submit", async (event) => {{
  event.preventDefault();
  const file = document.getElementById("photo").files[0];
  const verdict = document.getElementById("verdict"), checks = document.getElementById("checks");
  if (!file) return;
  verdict.textContent = "{t['busy']}"; checks.innerHTML = "";
  const r = await fetch("/v1/verify", {{method: "POST", headers: {{"Content-Type": file.type || "image/jpeg"}},
                                        body: file}});
  const body = await r.json();
  if (!r.ok) {{ verdict.textContent = "{t['fail']}: " + (body.detail || r.status); return; }}
  verdict.textContent = STATUS[body.status] || body.status;
  for (const c of body.checks) {{
    const li = document.createElement("li");
    li.textContent = (c.ok === true ? "✔ " : c.ok === false ? "✘ " : "– ") + c.{key};
    checks.appendChild(li);
  }}
}});
</script></body></html>"""
