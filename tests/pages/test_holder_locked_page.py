"""Issue 15 on the verify page: a citizen certificate shows the ID number's first 4 digits only, and a holder
check locked by wrong guesses says so (never "match" or "no match")."""

from __future__ import annotations

from tests.pages.conftest import LiveServer
from tests.pages.test_verify_page import open_verdict
from zero_errand.certificates import CertKind
from zero_errand.verification import HOLDER_GUESSES


def test_a_locked_holder_check_says_it_is_locked(live: LiveServer, page, console) -> None:
    console.allowed.append("status of 423")  # the locked check answers 423 Locked
    url = live.url(live.issue(CertKind.SI_INDIVIDUAL, 0))
    assert open_verdict(page, url) == "VALID"
    holder = live.people[0]
    shown = page.inner_text("#cert")
    assert holder[:4] + "*" * 14 in shown and holder[-4:] not in shown
    for _ in range(HOLDER_GUESSES):
        page.evaluate("document.querySelector('#holder-result').dataset.match = ''")
        page.fill("#holder-id", live.people[1])
        page.click("#holder-form button")
        page.wait_for_selector("#holder-result[data-match=false]")
    page.fill("#holder-id", holder)  # even the right number gets no answer now
    page.click("#holder-form button")
    page.wait_for_selector("#holder-result[data-match=locked]")
    assert "已锁定" in page.inner_text("#holder-result")
