"""Issue 16.5 and 16.6 on the public phone pages (`/`, `/verify`, `/e/{uscc}`): at 360, 390 and 414 px, in Chinese
and in English, every state fits the screen, speaks the page's language only (no English error text or internal
key on a Chinese page, no Chinese on the English one but the departments' own data, marked `lang="zh-CN"`), and is
saved as a screenshot under tests/output/screenshots/. The language switch keeps the `#` fragment; a suspension
looks and reads unlike a revocation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from api.demo import seed_credit
from qr.payload import payload_from_text, to_digits
from qr.signed import Domain
from store.db import transaction
from tests.pages.conftest import PHONE_WIDTHS, LiveServer, page_width, phone_context, shot
from tests.schema_certs import decoded, resigned, retyped
from zero_errand.certificates import CertKind
from zero_errand.issuance import Subject

# The text a reader sees in the page's own language: text nodes outside elements marked with another language
# (the enterprise's Chinese name on the English page, the switch's own label), and the document's title.
OWN_TEXT = """() => {
  const lang = document.documentElement.lang, out = [document.title];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walk.nextNode(); node; node = walk.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest("script, style, noscript, [hidden]") || el.closest("[lang]").lang !== lang) continue;
    if (getComputedStyle(el).display === "none") continue;
    out.push(node.textContent);
  }
  return out.join(" ");
}"""
CJK = r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]"


def assert_own_language(page: Any, where: str) -> None:
    import re

    text, lang = page.evaluate(OWN_TEXT), page.get_attribute("html", "lang")
    if lang == "en":
        assert not re.search(CJK, text), f"{where}: Chinese on the English page: {re.findall(f'.{{0,20}}{CJK}+', text)}"
    else:  # English words, internal keys (tax_arrears, tax.440604) and 0x… values have lower-case Latin letters
        assert not re.search(r"[a-z]{2,}", text), (
            f"{where}: English on the Chinese page: {re.findall(r'.{0,20}[a-z]{2,}.{0,20}', text)}"
        )


def assert_fits(page: Any, width: int, where: str) -> None:
    assert page_width(page) <= width, f"{where}: {page_width(page)} px wide at {width} px"


def check_state(page: Any, request: Any, width: int, lang: str, state: str) -> None:
    """The page in this state fits the phone's width and speaks the page's language; its screenshot is saved."""
    where = f"{width} px {lang} {state}"
    assert_fits(page, width, where)
    assert_own_language(page, where)
    shot(page, request, f"{width}-{lang}-{state.replace('/', '').replace(' ', '-')}")


def unanchored(live: LiveServer, kind: CertKind = CertKind.TAX_ENTERPRISE) -> str:
    """A certificate issued but not anchored yet (PENDING_ANCHOR): its verify URL."""
    with transaction(live.ctx.sessions) as session:
        number = live.ctx.certificates.request(
            session,
            kind=kind,
            subject=Subject(uscc=live.usccs[2]),
            period_from="2025-01",
            period_to="2025-06",
            actor="client:test",
            actor_role="enterprise",
        )[0].number
    return live.url(number)


def foreign_signed(live: LiveServer) -> str:
    """A social-insurance certificate signed with the tax bureau's key (UNTRUSTED_ISSUER)."""
    data = payload_from_text(live.url(live.issue(CertKind.SI_ENTERPRISE, 2)))
    number = f"{int(decoded(data).header['number']) + 1:017d}"
    domain = Domain(live.ctx.ledger.sender.chain_id, live.ctx.ledger.attestations.address)
    forged = resigned(data, live.ctx.certificates.keys["tax.440604"], domain, header={"number": number})
    return f"{live.base}/verify#{to_digits(forged)}"


@pytest.fixture(scope="module")
def urls(live: LiveServer) -> dict[str, str]:
    """One verify URL per verdict the page can show."""
    revoked, suspended = live.issue(CertKind.TAX_ENTERPRISE, 1), live.issue(CertKind.SI_ENTERPRISE, 1)
    live.change(revoked, "revoke")
    live.change(suspended, "suspend")
    valid = live.url(live.issue(CertKind.TAX_ENTERPRISE, 0))
    head, digits = valid.split("#")
    data = payload_from_text(valid)
    richer = retyped(data, values={"total_fen": decoded(data).values["total_fen"] + 100_000_00})
    return {
        "valid": valid,
        "citizen": live.url(live.issue(CertKind.SI_INDIVIDUAL, 0)),
        "unreadable": f"{head}#{digits[:120]}{(int(digits[120]) + 1) % 10}{digits[121:]}",
        "tampered": f"{head}#{to_digits(richer)}",
        "untrusted": foreign_signed(live),
        "revoked": live.url(revoked),
        "suspended": live.url(suspended),
        "pending": unanchored(live),
    }


def with_lang(url: str, lang: str) -> str:
    head, _, fragment = url.partition("#")
    return f"{head}?lang={lang}" + (f"#{fragment}" if fragment else "")


def open_state(page: Any, url: str) -> str:
    page.goto("about:blank")
    page.goto(url)
    page.wait_for_selector("#verdict[data-status]", timeout=15000)
    return page.get_attribute("#verdict", "data-status")


SHOW_FRAGMENT = """(fragment) => new Promise((done) => {
  const before = document.body.dataset.verified;
  location.hash = fragment;
  const wait = () => document.body.dataset.verified !== before ? done() : setTimeout(wait, 5);
  wait();
})"""


def show(page: Any, url: str) -> str:
    """The page's verdict for `url`: loaded, or only the fragment changed when the page is already there (the page
    verifies on `hashchange`, as when a second code is scanned)."""
    head, _, fragment = url.partition("#")
    if page.url.partition("#")[0] != head or not fragment:
        return open_state(page, url)
    page.evaluate(SHOW_FRAGMENT, fragment)
    return page.get_attribute("#verdict", "data-status")


def test_every_verify_page_state_fits_and_speaks_one_language(
    live: LiveServer, urls, browser, console, request
) -> None:
    console.allowed += ["status of 422", "net::ERR_FAILED"]  # the malformed holder number; the server away
    for width in PHONE_WIDTHS:
        context = phone_context(browser, width)
        page = console.attach(context.new_page())
        for lang in ("zh-CN", "en"):
            page.goto(f"{live.base}/verify?lang={lang}")
            page.wait_for_selector("#scan:not([hidden])")
            assert page.get_attribute("#holder-id", "id") and page.locator("label[for=holder-id]").count() == 1
            check_state(page, request, width, lang, "scan")
            for state, url in urls.items():
                status = show(page, with_lang(url, lang))
                assert (
                    status
                    == {
                        "valid": "VALID",
                        "citizen": "VALID",
                        "unreadable": "INVALID",
                        "tampered": "INVALID",
                        "untrusted": "UNTRUSTED_ISSUER",
                        "revoked": "REVOKED",
                        "suspended": "SUSPENDED",
                        "pending": "PENDING_ANCHOR",
                    }[state]
                ), state
                check_state(page, request, width, lang, state)
            # the holder check's answers, on the valid certificate
            show(page, with_lang(urls["valid"], lang))
            for state, number in (
                ("holder-match", live.usccs[0]),
                ("holder-no-match", live.usccs[1]),
                ("holder-malformed", live.usccs[0][:17] + "I"),
            ):
                page.evaluate("document.querySelector('#holder-result').dataset.match = ''")
                page.fill("#holder-id", number)
                page.click("#holder-form button")
                page.wait_for_function("() => document.querySelector('#holder-result').dataset.match !== ''")
                check_state(page, request, width, lang, state)
            assert page.get_attribute("#holder-result", "data-match") == "bad"
            # the server away: the signature still holds, revocation unchecked
            page.route("**/v1/verify/status/**", lambda route: route.abort())
            assert open_state(page, with_lang(urls["valid"], lang)) == "VALID"
            assert "warn" in page.get_attribute("#verdict", "class")
            check_state(page, request, width, lang, "offline")
            page.unroute("**/v1/verify/status/**")
        context.close()


def test_a_suspension_looks_and_reads_unlike_a_revocation(live: LiveServer, urls, page, request) -> None:
    look = (
        "() => { const v = document.querySelector('#verdict'); const s = getComputedStyle(v); "
        "return [v.textContent, s.backgroundColor]; }"
    )
    assert open_state(page, urls["revoked"]) == "REVOKED"
    revoked = page.evaluate(look)
    assert "不可恢复" in page.inner_text("#status-note")
    assert open_state(page, urls["suspended"]) == "SUSPENDED"
    suspended = page.evaluate(look)
    assert suspended[0] == "已暂停" and revoked[0] == "已撤销"
    assert suspended[1] != revoked[1] and "warn" not in page.get_attribute("#verdict", "class")
    note = page.inner_text("#status-note")
    assert "暂停期间" in note and "暂不有效" in note and "恢复" in note
    page.click("#lang-switch")
    assert page.inner_text("#verdict") == "Suspended"
    note = page.inner_text("#status-note")
    assert "temporarily not valid" in note and "reinstate" in note
    shot(page, request, "suspended-en")


def test_a_suspension_says_the_reason_given(live: LiveServer, urls, page) -> None:
    assert open_state(page, urls["suspended"]) == "SUSPENDED"
    assert page.inner_text("#status-reason") == "暂停原因：误签发"  # live.change gives reason 1


def test_the_language_switch_keeps_the_fragment_on_every_page(live: LiveServer, page, request) -> None:
    from credit.codes_qr import enterprise_code

    uscc = live.usccs[0]
    code = enterprise_code(live.ctx.ledger, live.ctx.certificates.keys["amr.440604"], live.base, uscc)
    fragment = code.split("#")[1]
    page.goto(code)
    page.wait_for_selector("#code[data-valid=true]")
    assert page.inner_text("#lang-switch") == "English"
    page.click("#lang-switch")
    page.wait_for_selector("#code[data-valid=true]")  # the signature came along: the code is still checked
    assert page.url.endswith(f"?lang=en#{fragment}") and page.inner_text("#lang-switch") == "中文"
    assert page.inner_text("#code") == "Genuine enterprise code, issued by market regulation"
    page.click("#lang-switch")
    page.wait_for_selector("#code[data-valid=true]")
    assert page.url.endswith(f"?lang=zh-CN#{fragment}") and page.inner_text("#lang-switch") == "English"
    page.goto(f"{live.base}/#anything")
    page.click("#lang-switch")
    page.wait_for_url("**/?lang=en#anything")
    assert page.inner_text("#lang-switch") == "中文"
    verify = live.url(live.issue(CertKind.TAX_ENTERPRISE, 0))
    assert open_state(page, verify) == "VALID"
    page.click("#lang-switch")
    assert page.url.endswith("#" + verify.split("#")[1]) and page.inner_text("#lang-switch") == "中文"
    assert page.get_attribute("#lang-switch", "href").endswith("#" + verify.split("#")[1])  # a new tab keeps it too


def enterprise_states(live: LiveServer) -> dict[str, tuple[str, Callable[[Any], None]]]:
    from credit.codes_qr import enterprise_code

    key = live.ctx.certificates.keys["amr.440604"]
    arrears = live.usccs[1]  # seed_credit: tax arrears and a general penalty
    genuine = enterprise_code(live.ctx.ledger, key, live.base, arrears)
    head, digits = genuine.split("#")
    forged = f"{head}#{digits[:-30]}{(int(digits[-30]) + 3) % 10}{digits[-29:]}"  # the signature altered
    garbled = f"{head}#{digits[:20]}"

    def checked(valid: str) -> Callable[[Any], None]:
        return lambda page: page.wait_for_selector(f"#code[data-valid={valid}]")

    return {
        "genuine": (genuine, checked("true")),
        "forged": (forged, checked("false")),
        "garbled": (garbled, checked("false")),
        "plain": (head, lambda page: None),
        "commended": (f"{live.base}/e/{live.usccs[0]}", lambda page: None),
        "missing": (f"{live.base}/e/91440604MA00000000", lambda page: None),
    }


def test_the_enterprise_and_index_pages_fit_and_speak_one_language(live: LiveServer, browser, console, request) -> None:
    console.allowed.append("status of 404")  # the page of an enterprise that does not exist
    with transaction(live.ctx.sessions) as session:
        seed_credit(live.ctx.credit, session, live.usccs)
    states = enterprise_states(live)
    for width in PHONE_WIDTHS:
        context = phone_context(browser, width)
        page = console.attach(context.new_page())
        for lang in ("zh-CN", "en"):
            page.goto(f"{live.base}/?lang={lang}")
            check_state(page, request, width, lang, "index")
            for state, (url, ready) in states.items():
                page.goto("about:blank")
                page.goto(with_lang(url, lang))
                ready(page)
                check_state(page, request, width, lang, f"/e/ {state}")
                if state == "forged":
                    assert ("可能系伪造" if lang == "zh-CN" else "it may be forged") in page.inner_text("#code")
                if state == "genuine":
                    records = page.inner_text("#records")
                    assert ("欠缴税款" if lang == "zh-CN" else "Tax arrears") in records
                    assert "tax_arrears" not in records and "penalty_general" not in records
        context.close()
