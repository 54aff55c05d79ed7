"""The inspector page on phones (360, 390 and 414 px), in Chinese and in English: every state it reaches fits the
screen and speaks the page's language (no English message or internal key such as `tax_arrears` or `pass` on the
Chinese page, no Chinese outside the departments' own data on the English one); fields have labels, department
boxes sit beside their names, the language switch keeps the `#` fragment; an inspector without a camera types the
USCC (GB 32100 check character checked on the phone) or uses a photo, and a camera that cannot start says so.
A screenshot of every state goes to tests/output/screenshots/<test>/."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account

from api.demo import seed_credit
from credit.codes_qr import enterprise_code
from identifiers import USCC_ALPHABET, uscc_check_char, validate_uscc
from store.db import transaction
from tests.pages.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE_WIDTHS,
    LiveServer,
    page_width,
    phone_context,
    shot,
    sign_in,
)
from tests.pages.photos import one_photo

# The page's visible text in its own language: the text of shown elements, leaving out those marked as being in
# another language (the departments' Chinese data on the English page, the switch's own label), and the title.
OWN_TEXT = """() => {
  const page = document.documentElement.lang, out = [document.title];
  const walk = (el) => {
    if (el.hidden || getComputedStyle(el).display === "none") return;
    if (el.lang && el.lang !== page) return;
    for (const n of el.childNodes) {
      if (n.nodeType === 3) out.push(n.textContent);
      else if (n.nodeType === 1 && !["SCRIPT", "STYLE"].includes(n.tagName)) walk(n);
    }
  };
  walk(document.body);
  return out.join(" ");
}"""
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
# What may be Latin on the Chinese page: codes (USCC, hex digests), grades, and the acronym HTTPS.
LATIN_DATA = re.compile(r"0x[0-9a-f]+|\b[0-9A-Z]{18}\b|HTTPS")


def speaks(page: Any, lang: str) -> str:
    """Assert the page's own text is all in `lang`; return it."""
    assert page.evaluate("document.documentElement.lang") == lang
    text = page.evaluate(OWN_TEXT)
    if lang == "en":
        assert not CJK.findall(text), f"Chinese on the English page: {CJK.findall(text)} in {text!r}"
    else:
        latin = re.findall(r"[A-Za-z_]{2,}", LATIN_DATA.sub(" ", text))
        assert not latin, f"English or an internal key on the Chinese page: {latin} in {text!r}"
    return text


def every_width(page: Any, request: pytest.FixtureRequest, state: str) -> None:
    """At each phone width, in the page's language and then the other one (switched in place): nothing wider than
    the screen, the language right, a screenshot."""
    for _ in range(2):
        lang = page.evaluate("document.documentElement.lang")
        for width in PHONE_WIDTHS:
            page.set_viewport_size({"width": width, "height": 800})
            assert page_width(page) <= width, f"{state} is {page_width(page)} px wide at {width} px ({lang})"
            speaks(page, lang)
            shot(page, request, f"{state}-{lang}-{width}")
        page.click("#lang-switch")
    page.set_viewport_size({"width": 360, "height": 800})


@pytest.fixture(scope="module")
def credit(live: LiveServer) -> list[str]:
    """Three enterprises with a history: one inspected, one with tax arrears and a penalty, one on the red list."""
    usccs = live.usccs[:3]
    with transaction(live.ctx.sessions) as session:
        seed_credit(live.ctx.credit, session, usccs)
    return usccs


def test_sign_in_speaks_the_pages_language_and_the_switch_keeps_the_fragment(
    live: LiveServer, page: Any, console: Any, request: pytest.FixtureRequest
) -> None:
    console.allowed.append("status of 401")  # the wrong password, on purpose
    page.goto(live.base + "/inspect#from-a-link")
    page.wait_for_selector("#login:not([hidden])")
    assert page.eval_on_selector_all("input, select, textarea", "els => els.filter(e => !e.labels.length).length") == 0
    every_width(page, request, "sign-in")
    assert page.inner_text("#lang-switch") == "English" and page.url.endswith("#from-a-link")
    page.click("#lang-switch")
    assert page.inner_text("#lang-switch") == "中文" and page.get_attribute("#lang-switch", "lang") == "zh-CN"
    assert page.url.endswith("?lang=en#from-a-link") and page.inner_text("#login h2") == "Inspector sign-in"
    page.click("#lang-switch")
    assert page.url.endswith("?lang=zh-CN#from-a-link")
    page.fill("#username", "inspector1")
    page.fill("#password", "wrong")
    page.click("#login-form button")
    page.wait_for_function("() => document.querySelector('#login-error').textContent.length > 0")
    assert page.inner_text("#login-error") == "用户名或密码错误，或账户已停用。"
    every_width(page, request, "wrong-password")
    page.click("#lang-switch")  # the message follows the language
    assert page.inner_text("#login-error") == "Wrong username or password, or the account is disabled."


def typed(page: Any, code: str) -> dict[str, str]:
    """Type a USCC and look it up; what the page said (its message key) when it refused it on the phone."""
    return page.evaluate(
        """(code) => {
      document.querySelector("#uscc").value = code;
      document.querySelector("#manual-form").requestSubmit();
      const error = document.querySelector("#scan-error");
      return { key: error.dataset.message, text: error.textContent };
    }""",
        code,
    )


KINDS = {
    "a unified social credit code has 18": "usccLength",
    "is not allowed": "usccChar",
    "registration authority": "usccAuthority",
    "region code": "usccRegion",
    "check character": "usccCheck",
}


def test_a_typed_uscc_is_checked_on_the_phone_as_gb_32100_says(
    live: LiveServer, page: Any, credit: list[str], console: Any, request: pytest.FixtureRequest
) -> None:
    console.allowed.append("status of 404")  # valid codes of no enterprise here, looked up
    rng = random.Random(32100)
    codes = [
        "",
        "9144060",
        "91440604MA4UABCDE",
        "91440604MA4UABCD1I",
        "Z1440604MA4UABCD1X",
        "9A44O604MA4UABCD1X",
        "91440604ma4u abcd1x",
        "９１４４０６０４ＭＡ４ＵＡＢＣＤ１Ｘ",
        "914406-04MA4UABCD1X",
    ]
    for _ in range(40):
        body = (
            rng.choice("123456789ANY")
            + rng.choice(USCC_ALPHABET)
            + "440604"
            + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
        )
        codes.append(body + (uscc_check_char(body) if rng.random() < 0.2 else rng.choice(USCC_ALPHABET)))
    sign_in(page, live)
    for code in codes:
        said = typed(page, code)
        expected = validate_uscc(code)
        if not code or expected.valid:
            assert said["key"] == ("usccEmpty" if not code else ""), (code, said)  # a valid one is looked up
            continue
        kind = next(v for k, v in KINDS.items() if k in (expected.error or ""))
        assert said["key"] == kind, (code, expected.error, said)
        if kind == "usccCheck":
            assert f"应为“{expected.expected}”" in said["text"]
    page.fill("#uscc", "91440604MA4UABCD1I")
    page.click("#manual-form button")
    every_width(page, request, "typed-code-refused")
    page.fill("#uscc", credit[1][:17] + ("0" if credit[1][17] != "0" else "1"))
    page.click("#manual-form button")
    assert "校验位不符" in page.inner_text("#scan-error")
    page.fill("#uscc", " " + credit[1].lower()[:6] + "-" + credit[1][6:].lower() + " ")  # as people paste it
    page.click("#manual-form button")
    page.wait_for_selector("#standing:not([hidden])")
    assert page.get_attribute("#source", "data-source") == "typed" and credit[1] in page.inner_text("#name")


def boxes_beside_their_names(page: Any) -> None:
    for label in page.query_selector_all("label.dept"):
        box = label.query_selector("input").bounding_box()
        name = label.query_selector("span").bounding_box()
        assert (
            box["x"] + box["width"] <= name["x"]
            and abs((box["y"] + box["height"] / 2) - (name["y"] + name["height"] / 2)) < 6
        ), (box, name)


def test_every_state_of_an_inspection_fits_the_phone_in_both_languages(
    live: LiveServer, page: Any, credit: list[str], request: pytest.FixtureRequest
) -> None:
    sign_in(page, live)
    every_width(page, request, "scan")
    # 扫码入企: the code was scanned at the door (by another phone); the typed lookup records no scan, and the
    # server takes that one for the visit the page records
    token = httpx.post(
        f"{live.base}/v1/auth/login", json={"username": "inspector1", "password": live.passwords["inspector1"]}
    ).json()["access_token"]
    code = enterprise_code(live.ctx.ledger, live.ctx.certificates.keys["amr.440604"], live.base, credit[1])
    door = httpx.post(
        f"{live.base}/v1/inspector/scan", json={"text": code}, headers={"Authorization": f"Bearer {token}"}
    )
    assert door.status_code == 200, door.text
    page.fill("#uscc", credit[1])  # tax arrears and a general penalty, due for inspection
    page.click("#manual-form button")
    page.wait_for_selector("#standing:not([hidden])")
    assert page.is_hidden("#scan-recorded")  # typed: no scan was recorded by this lookup
    records = page.inner_text("#records")
    assert "欠缴税款" in records and "一般行政处罚" in records and "tax_arrears" not in records
    page.click("#lang-switch")
    records = page.inner_text("#records")
    assert "Tax arrears" in records and "Administrative penalty" in records and "penalty_general" not in records
    page.click("#lang-switch")
    assert page.eval_on_selector_all("input, select, textarea", "els => els.filter(e => !e.labels.length).length") == 0
    boxes_beside_their_names(page)
    every_width(page, request, "standing")
    page.fill("#items", "营业执照公示")  # no findings: the record's summary is the result itself
    page.check("input[name=dept][value='tax.440604']")
    page.click("#inspection-form button[type=submit]")
    page.wait_for_selector("#saved[data-digest]")
    page.wait_for_function("() => document.querySelector('#records').textContent.includes('检查合格')")
    assert re.search(r"检查合格\s+合格", page.inner_text("#records")) and "pass" not in page.inner_text("#records")
    assert page.input_value("#items") == "" and page.eval_on_selector_all(
        "input[name=dept]:checked", "boxes => boxes.map(b => b.value)"
    ) == ["amr.440604"]
    every_width(page, request, "saved")
    page.click("#next")
    page.wait_for_selector("#scan:not([hidden])")


def test_a_photo_of_a_code_opens_the_enterprise_and_a_forged_one_is_refused_in_chinese(
    live: LiveServer, page: Any, credit: list[str], console: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    console.allowed.append("status of 422")  # the forged code, refused on purpose
    genuine = enterprise_code(live.ctx.ledger, live.ctx.certificates.keys["amr.440604"], live.base, credit[2])
    forged = enterprise_code(live.ctx.ledger, Account.create(), live.base, credit[2])  # no department's key
    sign_in(page, live)
    for name, url in (("forged", forged), ("genuine", genuine)):
        (tmp_path / f"{name}.jpg").write_bytes(one_photo(url, pixels_per_module=5.0))
    page.set_input_files("#photo", str(tmp_path / "forged.jpg"))
    page.wait_for_function("() => document.querySelector('#scan-error').textContent.length > 0", timeout=20000)
    assert page.inner_text("#scan-error") == "企业码签名无效，可能是伪造的，请勿信任，请核对营业执照。"
    every_width(page, request, "forged-code")
    page.set_input_files("#photo", str(tmp_path / "genuine.jpg"))
    page.wait_for_selector("#standing:not([hidden])", timeout=20000)
    assert credit[2] in page.inner_text("#name") and page.get_attribute("#source", "data-source") == "scanned"
    assert "红名单" in page.inner_text("#flags")


def test_a_camera_that_cannot_start_says_so_and_what_to_do_instead(
    live: LiveServer, browser: Any, console: Any, request: pytest.FixtureRequest
) -> None:
    # A phone with a camera whose permission was refused (Chromium's fake device, no grant), and one with none.
    with_camera = browser.browser_type.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream"]
    )
    instead = {"zh-CN": "请改用照片，或手动输入统一社会信用代码。", "en": "Use a photo instead, or type the USCC."}
    button = {"zh-CN": "用相机扫描企业码", "en": "Scan an enterprise code with the camera"}
    for case, where, permissions, lang in (
        ("camDenied", with_camera, [], "zh-CN"),
        ("camMissing", browser, ["camera"], "en"),
    ):
        context = phone_context(where, locale=lang, permissions=permissions)
        page = console.attach(context.new_page())
        sign_in(page, live, f"?lang={lang}")
        page.click("#camera")
        page.wait_for_function("() => document.querySelector('#scan-error').textContent.length > 0")
        assert page.get_attribute("#scan-error", "data-camera") == case
        assert page.inner_text("#scan-error").endswith(instead[lang])
        assert page.is_hidden("#video") and page.inner_text("#camera") == button[lang]
        every_width(page, request, case)
        context.close()
    with_camera.close()
    assert not console.unexpected(), console.unexpected()
