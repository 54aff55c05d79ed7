"""HTML pages for people (zh-CN first, English with `?lang=en`).

Every inline `<script>` and `<style>` here is one of the constants in `INLINE_SCRIPTS` and `INLINE_STYLES`: the
Content-Security-Policy (api/http/headers.py) allows exactly their hashes, never `unsafe-inline`. What a script needs
from the server per request travels in `data-*` attributes or a `type="application/json"` block, never inside a
script; the tables the scripts share with Python are generated into their bundles (scripts/page_constants.py).
"""

from __future__ import annotations

import json
from html import escape
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from api.http.deps import Context, SessionRoute
from credit.grading import TYPE_EN
from ledger.departments import MARKET_SUPERVISION, SOCIAL_INSURANCE, TAX

router = APIRouter(route_class=SessionRoute, include_in_schema=False)

TEXT = {
    "zh-CN": {
        "title": "零跑腿信用账本",
        "lead": "禅城区政务证明与企业信用，上链存证，扫码核验。",
        "verify": "扫码核验证明",
        "enterprise": "企业信用服务",
        "docs": "接口文档（API）",
        "switch": "English",
        "other": "en",
    },
    "en": {
        "title": "ZeroErrand Ledger",
        "lead": "Certificates and enterprise credit of Chancheng District, anchored "
        "on a permissioned ledger and verifiable by scanning a QR code.",
        "verify": "Verify a certificate",
        "enterprise": "Enterprise credit service",
        "docs": "API documentation",
        "switch": "中文",
        "other": "zh-CN",
    },
}


INDEX_STYLE = """body{font-family:system-ui,"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;max-width:40rem;
margin:0 auto;padding:1rem;line-height:1.6;overflow-wrap:anywhere}nav a{display:inline-block;padding:.4rem}
a.btn{display:block;margin:.75rem 0;padding:.9rem;border-radius:.5rem;background:#c8102e;color:#fff;
text-align:center;text-decoration:none}nav{text-align:right}"""


@router.get("/", response_class=HTMLResponse)
def index(ctx: Context, lang: Annotated[Literal["zh-CN", "en"], Query()] = "zh-CN") -> str:
    t = TEXT[lang]
    docs = f'<a class="btn" href="/docs">{t["docs"]}</a>' if ctx.settings.docs_enabled else ""
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t["title"]}</title>
<style>{INDEX_STYLE}</style></head>
<body><nav><a href="/?lang={t["other"]}" id="lang-switch" lang="{t["other"]}">{t["switch"]}</a></nav>
<h1>{t["title"]}</h1><p>{t["lead"]}</p>
<a class="btn" href="/verify?lang={lang}">{t["verify"]}</a>
<a class="btn" href="/enterprise?lang={lang}">{t["enterprise"]}</a>
{docs}
<script>{LANG_SCRIPT}</script></body></html>"""


VERIFY_TEXT = {
    "zh-CN": {"title": "证明核验", "switch": "English", "noscript": "请启用 JavaScript：证明在本机核验。"},
    "en": {
        "title": "Verify a certificate",
        "switch": "中文",
        "noscript": "Please enable JavaScript: the certificate is checked on this device.",
    },
}
# Long unbroken strings (signer addresses, digests, USCCs, English words in a narrow column) wrap anywhere: no page
# is wider than a 360 px phone. A suspension is amber, never the red of a revocation: it may be lifted.
STYLE = """body{font-family:system-ui,"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;max-width:40rem;margin:0 auto;
padding:.75rem;line-height:1.5;color:#1a1a1a;overflow-wrap:anywhere}nav{text-align:right}
nav a{display:inline-block;padding:.4rem}h1{font-size:1.35rem;margin:.3rem 0}
.verdict{font-size:1.6rem;font-weight:bold;padding:.8rem;border-radius:.5rem;text-align:center;color:#fff}
.ok{background:#1a7f37}.bad{background:#c8102e}.warn{background:#b35900}.paused{background:#f0b400;color:#1a1a1a}
.wait{background:#44546a}.note{padding:.6rem .8rem;border-radius:.5rem;background:#f3f3f3}
.paused~.note{background:#fff4cc;border-left:.3rem solid #f0b400}dl{display:grid;
grid-template-columns:auto minmax(0,1fr);gap:.25rem .75rem;margin:1rem 0}dt{color:#555}
dd{margin:0;overflow-wrap:anywhere}
ul{padding-left:1.1rem}li{overflow-wrap:anywhere}
button,input{font-size:1rem;box-sizing:border-box;width:100%;max-width:100%;margin:.35rem 0;padding:.65rem}
label.pick{display:block;padding:1rem;border:2px dashed #999;border-radius:.5rem;text-align:center}
#holder-form label{display:block}.small{color:#555;font-size:.85rem}[hidden]{display:none!important}"""
# The inspector's page: department checkboxes sit beside their names (not stretched like text inputs), several to a
# line where they fit; digests and codes wrap rather than widen the page.
INSPECT_STYLE = (
    STYLE
    + """
#grade{font-size:2rem;font-weight:bold}#grade[data-grade=A]{color:#1a7f37}#grade[data-grade=D]{color:#c8102e}
#due[data-due=true]{color:#b35900;font-weight:bold}video{width:100%;border-radius:.5rem}
textarea,select{font-size:1rem;width:100%;box-sizing:border-box;margin:.35rem 0;padding:.5rem}
fieldset{border:0;margin:.35rem 0;padding:0;min-width:0}legend{padding:0}
label.dept{display:inline-flex;align-items:center;gap:.4rem;margin:.2rem 1.2rem .2rem 0;padding:.3rem 0}
label.dept input,label.check input{width:1.25rem;height:1.25rem;margin:0;padding:0;flex:none}
label.check{display:flex;align-items:center;gap:.4rem;margin:.4rem 0}#why{border-left:.3rem solid #b35900;
padding-left:.5rem}#scan-recorded{background:#e6f4ea;border-left:.3rem solid #1a7f37}
#manual-form{margin-top:1rem}#uscc{font-family:ui-monospace,monospace;letter-spacing:.05em}
#saved,#name,#who{overflow-wrap:anywhere}"""
)
# The enterprise's view: the two grades side by side (each its own department's), visits as cards, stars big enough
# for a thumb.
ENTERPRISE_STYLE = (
    STYLE
    + """
.grades{display:grid;grid-template-columns:1fr 1fr;gap:.5rem;margin:.75rem 0}
.grades>div{padding:.6rem;border-radius:.5rem;background:#f3f3f3;min-width:0}.grades p{margin:.1rem 0}
.big{font-size:2rem;font-weight:bold}#grade[data-grade=A],#tax[data-grade=A]{color:#1a7f37}
#grade[data-grade=D],#tax[data-grade=D]{color:#c8102e}#tax[data-grade=none]{font-size:1.2rem;color:#555}
ul.visits{list-style:none;padding:0}li.visit{position:relative;border:1px solid #ddd;border-radius:.5rem;
padding:.6rem;margin:.6rem 0}li.visit h3{font-size:1rem;margin:0}li.visit[data-kind=scan]{background:#fafafa}
li.visit dl{margin:.5rem 0}ul.items{margin:0;padding:0;list-style:none}li[data-ok=false]{color:#c8102e}
h4{font-size:.95rem;margin:.6rem 0 .2rem}
textarea{font-size:1rem;width:100%;box-sizing:border-box;margin:.35rem 0;padding:.5rem}
fieldset{border:0;margin:.2rem 0;padding:0;min-width:0}legend{padding:0}
.stars-pick label.star{display:inline-block;font-size:2rem;line-height:1;padding:.2rem .3rem;color:#bbb;cursor:pointer}
.stars-pick label.star.on{color:#f0a000}.star input{position:absolute;opacity:0;width:1px;height:1px;margin:0;padding:0}
.star input:focus-visible+span{outline:2px solid #44546a}.stars{color:#f0a000}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
p.alert{padding:.5rem;border-radius:.5rem;background:#fff4cc;border-left:.3rem solid #f0b400}
ul.objections{padding-left:1rem}li.objection p{margin:.2rem 0}li.objection[data-state=overdue] b{color:#c8102e}
.answer{background:#e6f4ea;padding:.3rem .5rem;border-radius:.3rem}summary{padding:.5rem 0;cursor:pointer;
color:#c8102e}.msg:empty{display:none}.msg{font-weight:bold}.code{font-family:ui-monospace,monospace}"""
)
PROFILE_STYLE = (
    STYLE
    + """#grade{font-size:2rem;font-weight:bold}#code[data-valid=true]{color:#1a7f37}
#code[data-valid=false]{color:#c8102e;font-weight:bold}"""
)


@router.get("/verify", response_class=HTMLResponse)
def verify_page(ctx: Context, lang: Annotated[Literal["zh-CN", "en"], Query()] = "zh-CN") -> str:
    """The page a certificate's QR code opens. The payload after `#` stays in the browser: the page's script
    checks the signature against the deployment's key list (inlined here) and sends only the digest."""
    t = VERIFY_TEXT[lang]
    trust = json.dumps(ctx.key_lists().get(), ensure_ascii=False).replace("<", "\\u003c")
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t["title"]}</title><style>{STYLE}</style>
<script type="module" src="/static/verify/page.js"></script></head>
<body><nav><a href="?lang={"en" if lang == "zh-CN" else "zh-CN"}" id="lang-switch"
lang="{"en" if lang == "zh-CN" else "zh-CN"}">{t["switch"]}</a></nav>
<h1 data-t="title">{t["title"]}</h1>
<noscript><p>{t["noscript"]}</p></noscript>
<p id="busy" data-t="busy"></p>
<section id="scan" hidden><p data-t="lead"></p>
<label class="pick"><span data-t="pick"></span><input id="photo" type="file" accept="image/*" capture="environment"
hidden></label><p id="scan-error" role="alert"></p></section>
<section id="result" hidden>
<p id="verdict" class="verdict" role="status"></p><p id="status-note" class="note" hidden></p>
<p id="status-reason" class="note" hidden></p><p id="unchecked" class="small" data-t="unchecked" hidden></p>
<dl id="cert"></dl><p id="detail-note" class="small" hidden></p>
<h2 data-t="checks" class="small"></h2><ul id="checks"></ul>
<section id="holder" hidden><h2 data-t="holder" class="small"></h2><p class="small" data-t="holderHint"></p>
<form id="holder-form"><label for="holder-id" data-t="holderLabel"></label>
<input id="holder-id" autocomplete="off" spellcheck="false" maxlength="40">
<button type="submit" data-t="holderGo"></button></form><p id="holder-result" role="status"></p></section>
<button id="again" type="button" data-t="again"></button></section>
<p class="small" data-t="privacy"></p>
<script type="application/json" id="trust">{trust}</script>
</body></html>"""


@router.get("/inspect", response_class=HTMLResponse)
def inspect_page(lang: Annotated[Literal["zh-CN", "en"], Query()] = "zh-CN") -> str:
    """The inspector's page: sign in, find an enterprise by its one code (camera or photo) or its typed USCC, see its
    standing, record the inspection. Its texts are the script's (it switches language in place); the tables it shares
    with Python (department names, record types, the USCC alphabet) are generated into its bundle
    (scripts/page_constants.py)."""
    title, switch, other = (
        ("一码检查", "English", "en") if lang == "zh-CN" else ("One-code inspection", "中文", "zh-CN")
    )
    depts = "".join(
        f'<label class="dept"><input type="checkbox" name="dept" value="{d.id}">'
        f'<span data-t="{d.key_name}"></span></label>'
        for d in (MARKET_SUPERVISION, TAX, SOCIAL_INSURANCE)
    )
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{INSPECT_STYLE}</style>
<script type="module" src="/static/inspect/page.js"></script></head>
<body><nav><a href="?lang={other}" id="lang-switch" lang="{other}" data-t="switch">{switch}</a></nav>
<h1 data-t="title">{title}</h1><p class="small" id="who"></p>
<section id="login" hidden><h2 data-t="login"></h2><form id="login-form">
<label for="username" data-t="username"></label><input id="username" autocomplete="username" required>
<label for="password" data-t="password"></label><input id="password" type="password" autocomplete="current-password"
required><button type="submit" data-t="signin"></button></form><p id="login-error" role="alert"></p></section>
<section id="scan" hidden><button id="camera" type="button"></button><p id="scan-hint" class="small"></p>
<video id="video" playsinline muted hidden></video>
<label class="pick"><span data-t="photo"></span><input id="photo" type="file" accept="image/*" hidden></label>
<form id="manual-form" novalidate><label for="uscc" data-t="manual"></label><input id="uscc" autocomplete="off"
autocapitalize="characters" spellcheck="false" maxlength="40"><button type="submit" data-t="find"></button>
</form>
<p id="scan-error" role="alert"></p></section>
<section id="standing" hidden><h2 id="name"></h2><p id="source" class="small"></p>
<p id="scan-recorded" class="note" role="status" hidden></p>
<dl><dt data-t="grade"></dt><dd id="grade"></dd><dt data-t="taxCredit"></dt><dd id="tax"></dd>
<dt data-t="flags"></dt><dd id="flags"></dd></dl>
<p id="due"></p><div id="due-why" hidden><p class="small" data-t="dueBecause"></p><ul id="due-reasons"></ul></div>
<h3 data-t="last" class="small"></h3><ul id="inspections"></ul>
<h3 data-t="records" class="small"></h3><ul id="records"></ul>
<form id="inspection-form"><h3 data-t="record"></h3>
<fieldset><legend class="small" data-t="departments"></legend>{depts}</fieldset>
<label><span data-t="startedAt" class="small"></span><input id="started-at" type="datetime-local" step="1" required>
</label><div id="why" hidden><label><span data-t="why" class="small"></span><select id="reason">
<option value=""></option></select></label>
<label id="draw-label" hidden><span data-t="drawId" class="small"></span><input id="draw-id" type="number" min="1"
inputmode="numeric"></label></div>
<label class="check"><input id="emergency-on" type="checkbox"><span data-t="emergencyOn" class="small"></span></label>
<label id="emergency-label" hidden><span data-t="emergency" class="small"></span><textarea id="emergency" rows="2"
maxlength="500"></textarea></label>
<label><span data-t="items" class="small"></span><textarea id="items" rows="4" required></textarea></label>
<label><span data-t="findings" class="small"></span><textarea id="findings" rows="3"></textarea></label>
<label><span data-t="result" class="small"></span><select id="result"><option value="pass" data-t="pass"></option>
<option value="issues" data-t="issues"></option><option value="fail" data-t="fail"></option></select></label>
<label class="pick"><span data-t="evidence"></span><input id="evidence" type="file" multiple hidden></label>
<p id="evidence-chosen" class="small"></p>
<button type="submit" data-t="save"></button></form><p id="saved" role="status"></p>
<button id="next" type="button" data-t="again"></button></section>
</body></html>"""


PROFILE_TEXT: dict[str, dict[str, Any]] = {
    "zh-CN": {
        "switch": "English",
        "grade": "信用等级",
        "flags": "名单标识",
        "none": "无",
        "red": "红名单",
        "black": "黑名单（联合惩戒）",
        "records": "公示中的信用记录",
        "inspections": "检查结果公示",
        "empty": "无",
        "code_ok": "企业码有效：由市场监管部门签发",
        "code_bad": "企业码无效，请勿信任：",
        "pass": "合格",
        "issues": "发现问题",
        "fail": "不合格",
        "missing": "查无此企业",
        "title": "企业信用信息",
        "code_other": "该企业码属于另一家企业",
        "code_offline": "暂时无法核对企业码，请稍后重试。",
        "code_reasons": [
            ["not an enterprise code", "不是企业码"],
            ["not signed by a key authorized", "并非由市场监管部门的有效密钥签发，可能系伪造"],
            ["the code's signature is unusable", "签名无法识别，可能系伪造或已损坏"],
            ["", "企业码内容无法识别，可能已损坏或被改动"],
        ],
    },
    "en": {
        "switch": "中文",
        "grade": "Credit grade",
        "flags": "Lists",
        "none": "none",
        "red": "Red list",
        "black": "Black list (joint punishment)",
        "records": "Credit records on display",
        "inspections": "Published inspections",
        "empty": "none",
        "code_ok": "Genuine enterprise code, issued by market regulation",
        "code_bad": "Invalid code, do not trust it: ",
        "pass": "pass",
        "issues": "issues found",
        "fail": "fail",
        "missing": "No such enterprise",
        "title": "Enterprise credit",
        "code_other": "the code belongs to another enterprise",
        "code_offline": "The code could not be checked now; try again later.",
        "code_reasons": [
            ["not an enterprise code", "this is not an enterprise code"],
            ["not signed by a key authorized", "not signed by market regulation's key; it may be forged"],
            ["the code's signature is unusable", "its signature cannot be read; it may be forged or damaged"],
            ["", "its content cannot be read; it may be damaged or altered"],
        ],
    },
}


# Every page's language switch keeps the `#` fragment (a certificate's or a one code's signed payload), which the
# server never sees: the link the server wrote gets the fragment the browser has, now and after a change.
LANG_SCRIPT = """{
const link = document.getElementById("lang-switch"), target = link.getAttribute("href").split("#")[0];
const keep = () => { link.href = target + location.hash; };
keep();
window.addEventListener("hashchange", keep);
}"""

# A tab icon, so that browsers asking for /favicon.ico get one instead of a 404 in every page's console.
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" '
    'fill="#c8102e"/><path d="M4 8.5l2.5 2.5L12 5.5" stroke="#fff" stroke-width="2" fill="none"/></svg>'
)


@router.get("/favicon.ico")
def favicon() -> Response:
    return Response(FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


# Checks the one code's signature when the page was opened by scanning it (the signed payload follows `#`). The
# API's reason is English for developers: the page shows the reader's language, picked by the reason's prefix
# (`data-reasons`, the last prefix "" catching the rest).
PROFILE_SCRIPT = """{
const code = document.getElementById("code"), reasons = JSON.parse(code.dataset.reasons);
const say = (reason) => reasons.find(([prefix]) => String(reason || "").startsWith(prefix))[1];
if (location.hash.length > 1) fetch("/v1/public/codes/check", {method: "POST",
  headers: {"Content-Type": "application/json"},
  body: JSON.stringify({text: location.origin + location.pathname + location.hash})})  // the code, without ?lang
  .then((r) => { if (!r.ok) throw new Error(String(r.status)); return r.json(); }).then((c) => {
    const ok = c.valid && c.uscc === code.dataset.uscc;
    code.dataset.valid = String(ok);
    code.textContent = ok ? code.dataset.ok : code.dataset.bad + (c.valid ? code.dataset.other : say(c.reason));
  }).catch(() => { code.dataset.valid = "unknown"; code.textContent = code.dataset.offline; });
}"""
INLINE_SCRIPTS = (LANG_SCRIPT, PROFILE_SCRIPT)
INLINE_STYLES = (INDEX_STYLE, STYLE, INSPECT_STYLE, PROFILE_STYLE, ENTERPRISE_STYLE)


@router.get("/e/{uscc}", response_class=HTMLResponse)
def enterprise_page(
    ctx: Context, uscc: str, lang: Annotated[Literal["zh-CN", "en"], Query()] = "zh-CN"
) -> HTMLResponse:
    """The page an enterprise's one code opens: its public credit profile; the script checks the code's signature."""
    t = PROFILE_TEXT[lang]
    other = "en" if lang == "zh-CN" else "zh-CN"
    data = ' lang="zh-CN"' if lang == "en" else ""  # names and summaries are the departments' Chinese
    switch = f'<nav><a href="?lang={other}" id="lang-switch" lang="{other}">{t["switch"]}</a></nav>'
    credit, standings = ctx.credit, ctx.standings
    with ctx.sessions() as session:
        s = (
            standings.standing(credit, session, uscc, "public")
            if credit is not None and standings is not None and len(uscc) == 18
            else None
        )
    if s is None:
        return HTMLResponse(
            f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t["missing"]}</title><style>{PROFILE_STYLE}</style></head>
<body>{switch}<h1>{t["missing"]}</h1><p>{escape(uscc)}</p>
<script>{LANG_SCRIPT}</script></body></html>""",
            status_code=404,
        )
    flags = [t[k] for k, on in (("red", s["flags"]["red_list"]), ("black", s["flags"]["black_list"])) if on]
    records = (
        "".join(
            f"<li>{escape(r['decided_on'])} "
            f"{escape(r['type_zh'] if lang == 'zh-CN' else TYPE_EN.get(r['type'], r['type']))} "
            f"<span{data}>{escape(r['summary'])}</span></li>"
            for r in s["records"]
        )
        or f"<li>{t['empty']}</li>"
    )
    visits = (
        "".join(
            f"<li>{escape(i['visited_on'])} {t[i['result']]} <span{data}>{escape(i['findings'])}</span></li>"
            for i in s["inspections"]
        )
        or f"<li>{t['empty']}</li>"
    )
    reasons = escape(json.dumps(t["code_reasons"], ensure_ascii=False))
    # the English title names the enterprise by its code: a title carries no language mark for a Chinese name
    title = f"{escape(s['name'])} · {t['title']}" if lang == "zh-CN" else f"{t['title']} · {escape(s['uscc'])}"
    return HTMLResponse(f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{PROFILE_STYLE}</style></head>
<body>{switch}
<h1{data}>{escape(s["name"])}</h1><p>{escape(s["uscc"])}</p><p id="code" role="status" class="small"
data-uscc="{escape(s["uscc"])}" data-ok="{escape(t["code_ok"])}" data-bad="{escape(t["code_bad"])}"
data-other="{escape(t["code_other"])}" data-offline="{escape(t["code_offline"])}" data-reasons="{reasons}"></p>
<dl><dt>{t["grade"]}</dt><dd id="grade" data-grade="{s["grade"]["grade"]}">{s["grade"]["grade"]}</dd>
<dt>{t["flags"]}</dt><dd id="flags">{("、" if lang == "zh-CN" else ", ").join(flags) or t["none"]}</dd></dl>
<h2 class="small">{t["records"]}</h2><ul id="records">{records}</ul>
<h2 class="small">{t["inspections"]}</h2><ul id="inspections">{visits}</ul>
<script>{LANG_SCRIPT}</script><script>{PROFILE_SCRIPT}</script></body></html>""")


@router.get("/enterprise", response_class=HTMLResponse)
def enterprise_service_page(lang: Annotated[Literal["zh-CN", "en"], Query()] = "zh-CN") -> str:
    """The enterprise's view (企业信用服务): it signs in with its API client (client credentials, the token kept in the
    page's memory) and sees its risk class beside its tax credit grade, every scan and inspection recorded about it,
    rates inspections, objects to them and follows the answers, and sees the 无事不扰 alerts. Its texts are the
    script's (web/enterprise/page.js, which switches language in place)."""
    title, switch, other, noscript = (
        ("企业信用服务", "English", "en", "请在浏览器中启用脚本功能。")
        if lang == "zh-CN"
        else ("Enterprise credit service", "中文", "zh-CN", "Please enable JavaScript.")
    )
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{ENTERPRISE_STYLE}</style>
<script type="module" src="/static/enterprise/page.js"></script></head>
<body><nav><a href="?lang={other}" id="lang-switch" lang="{other}" data-t="switch">{switch}</a></nav>
<h1 data-t="title">{title}</h1><noscript lang="{lang}"><p>{noscript}</p></noscript>
<section id="login" hidden><h2 data-t="login"></h2><p class="small" data-t="loginHint"></p><form id="login-form">
<label for="client-id" data-t="clientId"></label><input id="client-id" autocomplete="username" autocapitalize="off"
spellcheck="false" maxlength="64" required>
<label for="client-secret" data-t="secret"></label><input id="client-secret" type="password"
autocomplete="current-password" maxlength="200" required><button type="submit" data-t="signin"></button></form>
<p id="login-error" role="alert"></p><p class="small" data-t="memory"></p></section>
<section id="account" hidden><h2 id="name"></h2><p id="uscc" class="small"></p>
<div class="grades"><div><p class="small" data-t="risk"></p><p id="grade" class="big"></p>
<p id="grade-note" class="small"></p></div><div><p class="small" data-t="taxCredit"></p><p id="tax" class="big"></p>
<p id="tax-note" class="small"></p></div></div><p class="small" data-t="separate"></p>
<p id="alerts" class="note" role="status" hidden></p><p id="account-error" role="alert"></p>
<h2 data-t="visits"></h2><p class="small" data-t="visitsHint"></p><ul id="visits" class="visits"></ul>
<section id="record-objections" hidden><h2 data-t="recordObjections"></h2><ul id="record-objection-list"></ul>
</section><button id="refresh" type="button" data-t="refresh"></button>
<button id="sign-out" type="button" data-t="signOut"></button></section>
</body></html>"""
