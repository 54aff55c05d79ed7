"""HTML pages for people (zh-CN first, English with `?lang=en`).

Every inline `<script>` and `<style>` here is one of the constants in `INLINE_SCRIPTS` and `INLINE_STYLES`: the
Content-Security-Policy (api/headers.py) allows exactly their hashes, never `unsafe-inline`. What a script needs
from the server travels in `data-*` attributes or a `type="application/json"` block, never inside a script.
"""

from __future__ import annotations

import json
from html import escape
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from api.deps import Context, SessionRoute
from api.routers.verify import key_list_of

router = APIRouter(route_class=SessionRoute, include_in_schema=False)

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


INDEX_STYLE = """body{font-family:system-ui,"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;max-width:40rem;
margin:0 auto;padding:1rem;line-height:1.6}a.btn{display:block;margin:.75rem 0;padding:.9rem;border-radius:.5rem;
background:#c8102e;color:#fff;text-align:center;text-decoration:none}nav{text-align:right}"""


@router.get("/", response_class=HTMLResponse)
def index(ctx: Context, lang: Annotated[Literal["zh-CN", "en"], Query()] = "zh-CN") -> str:
    t = TEXT[lang]
    docs = f'<a class="btn" href="/docs">{t["docs"]}</a>' if ctx.settings.docs_enabled else ""
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t['title']}</title>
<style>{INDEX_STYLE}</style></head>
<body><nav><a href="/?lang={t['other']}" id="lang-switch">{t['switch']}</a></nav>
<h1>{t['title']}</h1><p>{t['lead']}</p>
<a class="btn" href="/verify?lang={lang}">{t['verify']}</a>
{docs}
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
INSPECT_STYLE = STYLE + """
#grade{font-size:2rem;font-weight:bold}#grade[data-grade=A]{color:#1a7f37}#grade[data-grade=D]{color:#c8102e}
#due[data-due=true]{color:#b35900;font-weight:bold}video{width:100%;border-radius:.5rem}
textarea,select{font-size:1rem;width:100%;box-sizing:border-box;margin:.35rem 0;padding:.5rem}"""
PROFILE_STYLE = STYLE + "#grade{font-size:2rem;font-weight:bold}"


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


@router.get("/inspect", response_class=HTMLResponse)
def inspect_page(lang: Annotated[Literal["zh-CN", "en"], Query()] = "zh-CN") -> str:
    """The inspector's page: sign in, scan an enterprise's one code, see its standing, record the inspection."""
    title = "一码检查" if lang == "zh-CN" else "One-code inspection"
    depts = "".join(f'<label><input type="checkbox" name="dept" value="{d}"> <span data-t="{k}"></span></label> '
                    for k, d in (("amr", "amr.440604"), ("tax", "tax.440604"), ("si", "si.440604")))
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{INSPECT_STYLE}</style>
<script type="module" src="/static/inspect/page.js"></script></head>
<body><nav><a href="?lang={'en' if lang == 'zh-CN' else 'zh-CN'}" id="lang-switch">{'English' if lang == 'zh-CN' else '中文'}</a></nav>
<h1 data-t="title">{title}</h1><p class="small" id="who"></p>
<section id="login" hidden><h2 data-t="login"></h2><form id="login-form">
<input id="username" autocomplete="username" data-placeholder="username"><input id="password" type="password"
autocomplete="current-password"><button type="submit" data-t="signin"></button></form><p id="login-error" role="alert"></p>
</section>
<section id="scan" hidden><button id="camera" type="button" data-t="scan"></button><p id="scan-hint" class="small"></p>
<video id="video" playsinline muted hidden></video>
<label class="pick"><span data-t="photo"></span><input id="photo" type="file" accept="image/*" hidden></label>
<p id="scan-error" role="alert"></p></section>
<section id="standing" hidden><h2 id="name"></h2>
<dl><dt data-t="grade"></dt><dd id="grade"></dd><dt data-t="flags"></dt><dd id="flags"></dd></dl>
<p id="due"></p><h3 data-t="last" class="small"></h3><ul id="inspections"></ul>
<h3 data-t="records" class="small"></h3><ul id="records"></ul>
<form id="inspection-form"><h3 data-t="record"></h3><p class="small" data-t="departments"></p><p>{depts}</p>
<label><span data-t="items" class="small"></span><textarea id="items" rows="4" required></textarea></label>
<label><span data-t="findings" class="small"></span><textarea id="findings" rows="3"></textarea></label>
<label><span data-t="result" class="small"></span><select id="result"><option value="pass" data-t="pass"></option>
<option value="issues" data-t="issues"></option><option value="fail" data-t="fail"></option></select></label>
<label><span data-t="evidence" class="small"></span><input id="evidence" type="file" multiple></label>
<button type="submit" data-t="save"></button></form><p id="saved" role="status"></p>
<button id="next" type="button" data-t="again"></button></section>
</body></html>"""


PROFILE_TEXT = {
    "zh-CN": {"switch": "English", "grade": "信用等级", "flags": "名单标识", "none": "无", "red": "红名单",
              "black": "黑名单（联合惩戒）", "records": "公示中的信用记录", "inspections": "检查结果公示", "empty": "无",
              "code_ok": "企业码有效：由市场监管部门签发", "code_bad": "企业码无效，请勿信任：", "pass": "合格",
              "issues": "发现问题", "fail": "不合格", "missing": "查无此企业"},
    "en": {"switch": "中文", "grade": "Credit grade", "flags": "Lists", "none": "none", "red": "Red list",
           "black": "Black list (joint punishment)", "records": "Credit records on display",
           "inspections": "Published inspections", "empty": "none",
           "code_ok": "Genuine enterprise code, issued by market regulation", "code_bad": "Invalid code, do not "
           "trust it: ", "pass": "pass", "issues": "issues found", "fail": "fail", "missing": "No such enterprise"},
}


# Checks the one code's signature when the page was opened by scanning it (the signed payload follows `#`).
PROFILE_SCRIPT = """
const code = document.getElementById("code");
if (location.hash.length > 1) fetch("/v1/public/codes/check", {method: "POST",
  headers: {"Content-Type": "application/json"}, body: JSON.stringify({text: location.href})})
  .then((r) => r.json()).then((c) => {
    const ok = c.valid && c.uscc === code.dataset.uscc;
    code.dataset.valid = String(ok);
    code.textContent = ok ? code.dataset.ok : code.dataset.bad + (c.reason || "USCC");
  });
"""
INLINE_SCRIPTS = (PROFILE_SCRIPT,)
INLINE_STYLES = (INDEX_STYLE, STYLE, INSPECT_STYLE, PROFILE_STYLE)


@router.get("/e/{uscc}", response_class=HTMLResponse)
def enterprise_page(ctx: Context, uscc: str, lang: Annotated[Literal["zh-CN", "en"], Query()] = "zh-CN") -> HTMLResponse:
    """The page an enterprise's one code opens: its public credit profile; the script checks the code's signature."""
    t = PROFILE_TEXT[lang]
    with ctx.sessions() as session:
        s = ctx.standings.standing(ctx.credit, session, uscc, "public") \
            if ctx.credit is not None and len(uscc) == 18 else None
    if s is None:
        return HTMLResponse(f"<!doctype html><html lang='{lang}'><meta charset='utf-8'><p>{t['missing']}</p></html>",
                            status_code=404)
    flags = [t[k] for k, on in (("red", s["flags"]["red_list"]), ("black", s["flags"]["black_list"])) if on]
    records = "".join(f"<li>{escape(r['decided_on'])} {escape(r['type_zh'] if lang == 'zh-CN' else r['type'])} "
                      f"{escape(r['summary'])}</li>" for r in s["records"]) or f"<li>{t['empty']}</li>"
    visits = "".join(f"<li>{escape(i['visited_on'])} {t[i['result']]} {escape(i['findings'])}</li>"
                     for i in s["inspections"]) or f"<li>{t['empty']}</li>"
    return HTMLResponse(f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(s['name'])}</title><style>{PROFILE_STYLE}</style></head>
<body><nav><a href="?lang={'en' if lang == 'zh-CN' else 'zh-CN'}" id="lang-switch">{t['switch']}</a></nav>
<h1>{escape(s['name'])}</h1><p>{escape(s['uscc'])}</p><p id="code" role="status" class="small"
data-uscc="{escape(s['uscc'])}" data-ok="{escape(t['code_ok'])}" data-bad="{escape(t['code_bad'])}"></p>
<dl><dt>{t['grade']}</dt><dd id="grade" data-grade="{s['grade']['grade']}">{s['grade']['grade']}</dd>
<dt>{t['flags']}</dt><dd id="flags">{'、'.join(flags) or t['none']}</dd></dl>
<h2 class="small">{t['records']}</h2><ul id="records">{records}</ul>
<h2 class="small">{t['inspections']}</h2><ul id="inspections">{visits}</ul>
<script>{PROFILE_SCRIPT}</script></body></html>""")
