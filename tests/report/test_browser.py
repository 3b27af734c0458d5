"""The report in a real headless Chromium: loads with no console errors and no network, every figure
renders (non-blank), every internal link resolves."""

import io
import os
import shutil

import pytest
from PIL import Image, ImageStat

from actlab.evaluate import evaluate, store_cards
from actlab.report import write_report
from actlab.zoo import DEFAULT_SET

from report_helpers import TOY


@pytest.fixture(scope="module")
def pages(real_store, toy_store, tmp_path_factory):
    root = tmp_path_factory.mktemp("pages")
    real, toy = root / "real.db", root / "toy.db"
    shutil.copy(real_store, real)
    shutil.copy(toy_store, toy)
    (root / "shipped").mkdir()
    # this module-scoped fixture runs before the autouse one that hides the checkout's shipped evidence
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ACTLAB_RESULTS", str(root / "shipped"))
        store_cards(real, DEFAULT_SET)  # what a tour stores: the cards then show their theory numbers
        write_report(root / "report", real)  # C01 (evidence) and C06 (smoke test), the whole default set of cards
        evaluate("test_evaluate:bent", "quick", root / "card", toy, jobs=1, studies=[TOY], quiet=True)
    return {"report": root / "report" / "index.html", "card": root / "card" / "index.html"}


def _non_blank(png: bytes) -> bool:
    im = Image.open(io.BytesIO(png)).convert("L")
    lo, hi = im.getextrema()
    return hi - lo > 64 and ImageStat.Stat(im).stddev[0] > 5


@pytest.mark.browser
@pytest.mark.parametrize("which", ["report", "card"])
def test_page_in_headless_chromium(browser, pages, which, tmp_path):
    index = pages[which]
    page = browser.new_page()
    problems, requests = [], []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(index.as_uri(), wait_until="load")
    assert problems == []
    assert all(u.startswith(("file:", "data:")) for u in requests), [u for u in requests if not u.startswith(("file:", "data:"))]

    # every figure decoded and drawn: natural size > 0, and its on-screen pixels are not blank
    imgs = page.evaluate("Array.from(document.images).map(i => [i.dataset.figure, i.complete, i.naturalWidth, i.naturalHeight])")
    assert len(imgs) >= (16 if which == "report" else 6)
    assert all(ok and w > 0 and h > 0 for _, ok, w, h in imgs), [i for i in imgs if not (i[1] and i[2] > 0)]
    for el in page.query_selector_all("img"):
        el.scroll_into_view_if_needed()
        assert _non_blank(el.screenshot()), el.get_attribute("data-figure")
    shot = page.screenshot()
    assert _non_blank(shot)
    keep = os.environ.get("ACTLAB_REPORT_SCREENSHOT_DIR")
    if keep:
        page.screenshot(path=os.path.join(keep, f"{which}.png"), full_page=False)

    # every internal link has a target; following one scrolls to it
    dangling = page.evaluate("""Array.from(document.querySelectorAll('a[href^="#"]'))
        .map(a => a.getAttribute('href').slice(1)).filter(id => !document.getElementById(decodeURIComponent(id)))""")
    assert dangling == []
    n_links = page.evaluate("""document.querySelectorAll('a[href^="#"]').length""")
    assert n_links > 30
    for rel in page.evaluate("""Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'))
        .filter(h => !h.startsWith('#'))"""):
        assert "://" not in rel and (index.parent / rel).is_file(), rel
    cid = "C01" if which == "report" else "T90"
    page.click(f'a[href="#claim-{cid}"] >> nth=0')
    assert page.evaluate("location.hash") == f"#claim-{cid}"
    top = page.evaluate(f"document.getElementById('claim-{cid}').getBoundingClientRect().top")
    assert 0 <= top < 900
    # a smoke test's status carries its label on screen; the evidence verdict does not
    smoke = page.evaluate("""Array.from(document.querySelectorAll('.b-smoke')).filter(e => e.offsetWidth > 0)
        .map(e => e.innerText)""")
    assert smoke and set(smoke) == {"smoke test, not evidence"}
    if which == "report":
        assert page.evaluate("document.getElementById('claim-C01').querySelectorAll('.b-smoke').length") == 0
        assert page.evaluate("document.getElementById('claim-C06').querySelectorAll('.b-smoke').length") >= 9
    if which == "report":
        ids = set(page.evaluate("Array.from(document.querySelectorAll('[id]')).map(e => e.id)"))
        assert {"act-relu", "act-gelu-approximate-tanh", "act-sigmoid", "claim-C26"} <= ids
    # every card shows its stored theory numbers (the tour's, or evaluate's for the user's activation)
    assert page.evaluate("document.querySelectorAll('.theory-missing').length") == 0
    page.close()
