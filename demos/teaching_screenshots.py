"""Make the pictures of the explorer's teaching features, from the trained network, in Chromium at 1024x768.

    python demos/teaching_screenshots.py   # needs runs/mnist/model.npz (make demo), MNIST, chromium, playwright

The README's pictures: docs/images/quiz.png (the zoom into the output the first test "7" should
light, "Predict first" on, a wrong answer refused and a right one accepted: the chain rule revealed)
and docs/images/link.png (a view, Copy link, and the link opened in a fresh page: the same view).
And a window of each feature as a projector shows it, in docs/images/teaching/: many-examples.png,
quiz-asking.png, quiz-revealed.png, link-copied.png, link-reopened.png, gif-button.png and
gif-frame.png (a frame of the GIF that button saved).
"""
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explorer_screenshot import trained_explorer  # noqa: E402

from autodiff import chromium  # noqa: E402
from autodiff.files import atomic_write  # noqa: E402
from autodiff.walkthrough import number  # noqa: E402

IMAGES = ROOT / "docs" / "images"
TEACHING = IMAGES / "teaching"
PROJECTOR = {"width": 1024, "height": 768}


def write(path, picture):
    atomic_write(path, lambda file: file.write(picture))
    print(f"wrote {path.relative_to(ROOT)} ({len(picture) / 1e3:.0f} kB)")


def side_by_side(left, right, captions):
    """Two window screenshots at half size, each under its caption (22 px): a picture of what a link does."""
    from matplotlib import font_manager
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(font_manager.findfont("DejaVu Sans"), 22)
    shots = [Image.open(io.BytesIO(png)).convert("RGB") for png in (left, right)]
    shots = [shot.resize((shot.width // 2, shot.height // 2), Image.LANCZOS) for shot in shots]
    gap, top = 16, 36
    out = Image.new("RGB", (2 * shots[0].width + gap, shots[0].height + top), "white")
    draw = ImageDraw.Draw(out)
    for k, (shot, caption) in enumerate(zip(shots, captions)):
        x = k * (shot.width + gap)
        draw.text((x + 4, 6), caption, fill="black", font=font)
        out.paste(shot, (x, top))
        draw.rectangle((x, top, x + shot.width - 1, top + shot.height - 1), outline="#888")
    buffer = io.BytesIO()
    out.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def pick(page, index):
    page.fill("#index", str(index))
    page.click("#go")
    page.wait_for_function(f"document.getElementById('picked').textContent.startsWith('test digit {index} ')")


def scroll_to(page, selector):
    """Scroll the element's top to just under the page's sticky header (the network's buttons)."""
    page.evaluate("""s => { const top = document.querySelector(s).getBoundingClientRect().top + scrollY;
                            scrollTo(0, top - document.querySelector('header').getBoundingClientRect().height - 6); }""",
                  selector)
    page.wait_for_timeout(300)


def main():
    from playwright.sync_api import sync_playwright

    server, browser_path = trained_explorer()
    TEACHING.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = chromium.launch(p, browser_path)
        context = browser.new_context(viewport=PROJECTOR, permissions=["clipboard-read", "clipboard-write"])
        page = context.new_page()
        answers = []  # the steps /api/neuron sent, with their questions and answers
        page.on("response", lambda r: answers.append(r.json()) if r.url.endswith("/api/neuron") else None)
        page.goto(server.url)
        page.wait_for_selector("body[data-ready=true]", timeout=60_000)
        pick(page, 0)  # the first test digit, a "7": its label is the target
        label = page.inner_text("#targets button.chosen")

        # many examples: the "7" on screen, then the first test "2" beside it, and their average
        page.click("#avg-add")
        page.wait_for_function("document.querySelectorAll('#avg-table th canvas[data-e]').length === 1")
        pick(page, 1)
        page.click("#avg-add")
        page.wait_for_function("document.querySelectorAll('#avg-table th canvas[data-e]').length === 2")
        scroll_to(page, "#average-panel")
        write(TEACHING / "many-examples.png", page.screenshot())
        pick(page, 0)

        # predict, then reveal: the zoom into the output the "7" should light
        page.click(f"#network .neuron[data-layer='3'][data-neuron='{label}']")
        page.wait_for_selector("#zoom-stepper[data-shown='1'] svg")
        page.check("#zoom-quiz")
        page.wait_for_selector("#zoom-stepper[data-shown='1?'] svg")
        scroll_to(page, "#zoom-panel")
        ask = answers[-1]["steps"][0]["ask"]
        page.fill("#zoom-answer", f"{ask['answer'] + 20 * ask['tolerance'] + 0.5:.4g}")
        page.click("#zoom-submit")
        page.wait_for_timeout(200)
        write(TEACHING / "quiz-asking.png", page.screenshot())  # a wrong answer refused, the question still open
        page.fill("#zoom-answer", number(ask["answer"]))
        page.click("#zoom-submit")
        page.wait_for_selector("#zoom-stepper[data-shown='1'] svg")
        page.wait_for_timeout(200)
        write(TEACHING / "quiz-revealed.png", page.screenshot())
        page.evaluate("() => { document.querySelector('header').style.position = 'static'; }")  # not over the panel
        write(IMAGES / "quiz.png", page.locator("#zoom-panel").screenshot())
        page.evaluate("() => { document.querySelector('header').style.position = ''; }")

        # a backward pass for slides: Save walk (GIF), and a frame of what it saved
        page.uncheck("#zoom-quiz")
        page.wait_for_selector("#zoom-stepper[data-shown='1'] svg")
        scroll_to(page, "#zoom-panel")
        write(TEACHING / "gif-button.png", page.screenshot())
        with page.expect_download(timeout=60_000) as download:
            page.click("#zoom-gif")
        from PIL import Image

        with Image.open(download.value.path()) as gif:
            gif.seek(2)  # the third step: a weight's share
            buffer = io.BytesIO()
            gif.convert("RGB").save(buffer, format="PNG", optimize=True)
        write(TEACHING / "gif-frame.png", buffer.getvalue())

        # a link that holds the view: walk the wishes back a layer, step the zoom, copy the link, open it afresh
        page.evaluate("() => window.scrollTo(0, 0)")
        page.click("#zoom-next")
        page.wait_for_selector("#zoom-stepper[data-shown='2'] svg")
        page.click("#walk-next")
        page.click("#walk-next")
        page.evaluate("() => window.scrollTo(0, 0)")
        page.click("#copy-link")
        page.wait_for_selector("#link-message:not([hidden])")
        url = page.evaluate("location.href")
        copied = page.screenshot()
        write(TEACHING / "link-copied.png", copied)
        fresh = browser.new_context(viewport=PROJECTOR).new_page()
        fresh.goto(url)
        fresh.wait_for_selector("body[data-ready=true]", timeout=60_000)
        fresh.wait_for_selector("#zoom-stepper[data-shown='2'] svg", timeout=60_000)
        fresh.wait_for_function("t => document.getElementById('walk-text').innerText === t",
                                arg=page.inner_text("#walk-text"), timeout=30_000)
        fresh.evaluate("() => window.scrollTo(0, 0)")
        fresh.wait_for_timeout(300)
        reopened = fresh.screenshot()
        write(TEACHING / "link-reopened.png", reopened)
        write(IMAGES / "link.png", side_by_side(copied, reopened, ["Copy link", "the link, opened in a fresh page"]))
        print(f"the link: {url.replace(server.url, '<explorer>/')}")
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main()
