"""Swagger UI in a real browser (Debian's Chromium, driven by Playwright):
the page renders, the selector lists every version latest first, and a
"Try it out" request made from the page, with the token set through
Authorize, answers 200. Writes a screenshot of that answer.

usage: swagger_ui_check.py BASE_URL VERSIONS SCREENSHOT
"""
import sys

from playwright.sync_api import sync_playwright

base, versions, screenshot = sys.argv[1], int(sys.argv[2]), sys.argv[3]
# Flags for a machine without network: no background connections.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]

with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    page.goto(f"{base}/api-docs/")
    page.wait_for_selector(".swagger-ui .info .title", timeout=30000)
    title = page.inner_text(".swagger-ui .info .title")
    assert "OpenStack Placement API" in title, title
    options = page.eval_on_selector_all(".topbar select option", "els => els.map(e => e.textContent.trim())")
    assert len(options) == versions, options
    assert options[0] == f"1.{versions - 1}" and options[-1] == "1.0", options
    page.click("button.authorize")
    page.fill(".modal-ux input", "admin")
    page.click(".modal-ux button.authorize")
    page.click(".modal-ux button.close-modal")
    op = page.locator("#operations-Resource_providers-listResourceProviders")
    op.locator(".opblock-summary").click()
    # "Try it out" is on from the start (the page's configuration).
    op.locator("button.execute").click()
    status = op.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for(timeout=30000)
    assert status.inner_text().strip() == "200", status.inner_text()
    op.locator(".live-responses-table").scroll_into_view_if_needed()
    page.screenshot(path=screenshot)
    browser.close()
print(f"swagger-ui-check: the page lists {len(options)} versions; a request from it answered 200")
