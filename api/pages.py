"""HTML pages for people (zh-CN first, English with `?lang=en`)."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from api.deps import Context
from api.routers.verify import key_list_of

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
    "zh-CN": {"title": "证明核验", "switch": "English", "noscript": "请启用 JavaScript：证明在本机核验。"},
    "en": {"title": "Verify a certificate", "switch": "中文",
           "noscript": "Please enable JavaScript: the certificate is checked on this device."},
}
STYLE = """body{font-family:system-ui,"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;max-width:40rem;margin:0 auto;
padding:.75rem;line-height:1.5;color:#1a1a1a}nav{text-align:right}h1{font-size:1.35rem;margin:.3rem 0}
.verdict{font-size:1.6rem;font-weight:bold;padding:.8rem;border-radius:.5rem;text-align:center;color:#fff}
.ok{background:#1a7f37}.bad{background:#c8102e}.warn{background:#b35900}dl{display:grid;
grid-template-columns:auto 1fr;gap:.25rem .75rem;margin:1rem 0}dt{color:#555}dd{margin:0;overflow-wrap:anywhere}
ul{padding-left:1.1rem}button,input{font-size:1rem;box-sizing:border-box;width:100%;margin:.35rem 0;padding:.65rem}
label.pick{display:block;padding:1rem;border:2px dashed #999;border-radius:.5rem;text-align:center}
.small{color:#555;font-size:.85rem}[hidden]{display:none!important}"""


@router.get("/verify", response_class=HTMLResponse)
def verify_page(ctx: Context, lang: Annotated[Literal["zh-CN", "en"], Query()] = "zh-CN") -> str:
    """The page a certificate's QR code opens. The payload after `#` stays in the browser: the page's script
    checks the signature against the deployment's key list (inlined here) and sends only the digest."""
    t = VERIFY_TEXT[lang]
    trust = json.dumps(key_list_of(ctx), ensure_ascii=False).replace("<", "\\u003c")
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t['title']}</title><style>{STYLE}</style>
<script type="module" src="/static/verify/page.js"></script></head>
<body><nav><a href="?lang={'en' if lang == 'zh-CN' else 'zh-CN'}" id="lang-switch">{t['switch']}</a></nav>
<h1 data-t="title">{t['title']}</h1>
<noscript><p>{t['noscript']}</p></noscript>
<p id="busy" data-t="busy"></p>
<section id="scan" hidden><p data-t="lead"></p>
<label class="pick"><span data-t="pick"></span><input id="photo" type="file" accept="image/*" capture="environment"
hidden></label><p id="scan-error" role="alert"></p></section>
<section id="result" hidden>
<p id="verdict" class="verdict" role="status"></p><p id="unchecked" class="small" data-t="unchecked" hidden></p>
<dl id="cert"></dl>
<h2 data-t="checks" class="small"></h2><ul id="checks"></ul>
<section id="holder" hidden><h2 data-t="holder" class="small"></h2><p class="small" data-t="holderHint"></p>
<form id="holder-form"><input id="holder-id" autocomplete="off" spellcheck="false" maxlength="40">
<button type="submit" data-t="holderGo"></button></form><p id="holder-result" role="status"></p></section>
<button id="again" type="button" data-t="again"></button></section>
<p class="small" data-t="privacy"></p>
<script type="application/json" id="trust">{trust}</script>
</body></html>"""
