"""HTML pages for people (zh-CN first, English with `?lang=en`)."""

from __future__ import annotations

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
