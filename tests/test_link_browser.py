"""Links that hold the view, in Chromium at 1024x768: copied, then opened in a fresh page, they show the
same numbers; made on another network, they say so; a teacher's lock hides what changes the network;
and a mangled link still opens the page, naming what it could not read."""
import numpy as np

from explore_fixtures import draw_stroke, Client, bar_data, lively_network, running, session_with


def fresh(browser, url):
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", timeout=60_000)
    page.errors = errors
    return page


def numbers(page):
    """What the page shows of the example: its words, the cost and each output's nudge."""
    page.wait_for_function("document.querySelectorAll('#outputs tr').length > 1")
    return {"picked": page.inner_text("#picked"), "summary": page.inner_text("#summary"),
            "outputs": page.inner_text("#outputs")}


def copied(page):
    page.evaluate("() => { document.getElementById('link-message').hidden = true; }")
    page.click("#copy-link")
    page.wait_for_selector("#link-message:not([hidden])")  # the link is made: copied, or in the address bar
    return page.evaluate("location.href")


def test_a_copied_link_reopens_the_same_view(browser):
    with running(session_with(lively_network(), bar_data(300, 100))) as server:
        page = fresh(browser, server.url)
        page.fill("#index", "7")
        page.click("#go")
        page.wait_for_function("document.getElementById('picked').textContent.startsWith('test digit 7 ')")
        page.click("#network .neuron[data-layer='2'][data-neuron='5']")
        page.wait_for_function("document.querySelector('#zoom-stepper svg') !== null", timeout=60_000)
        for _ in range(3):
            page.keyboard.press("Escape")
        page.evaluate("() => document.querySelector('#zoom-stepper button[id$=next]').click()")
        page.evaluate("() => document.querySelector('#zoom-stepper button[id$=next]').click()")
        page.click("#walk-next")
        page.click("#walk-next")
        before = numbers(page)
        zoom_text = page.inner_text("#zoom-stepper")
        url = copied(page)
        assert "d=test.7" in url and "n=2.5" in url and "w=2" in url

        again = fresh(browser, url)
        again.wait_for_function("document.querySelector('#zoom-stepper svg') !== null", timeout=60_000)
        assert numbers(again) == before
        assert again.inner_text("#walk-text") == page.inner_text("#walk-text")
        again.wait_for_function("t => document.getElementById('zoom-stepper').innerText === t", arg=zoom_text, timeout=30_000)
        again.screenshot(path="runs/test-artifacts/link-reopened.png")
        assert page.errors == again.errors == []

        # the network learns: the same link now names weights this explorer no longer holds
        Client(server.url).post("/api/train", {"action": "step"})
        other = fresh(browser, url)
        other.wait_for_selector("#link-message:not([hidden])")
        assert "another network" in other.inner_text("#link-message")
        assert other.inner_text("#picked").startswith("test digit 0 ")  # the default view, not other numbers


def test_a_drawing_travels_in_the_link(browser):
    with running(session_with(lively_network(), bar_data(300, 100))) as server:
        page = fresh(browser, server.url)
        draw_stroke(page)
        page.click("#targets button[data-digit='1']")
        # the answer for the target comes a moment later (under load, after numbers() had read the old one)
        page.wait_for_function("document.getElementById('summary').textContent.includes('Target 1')")
        before = numbers(page)
        url = copied(page)
        assert "d=ink." in url and "t=1" in url and len(url) < 6000
        again = fresh(browser, url)
        shown = numbers(again)
        assert shown.pop("picked") == "a drawing, from the link" and before.pop("picked") == "your drawing"
        assert shown == before


def test_the_teachers_lock_hides_what_changes_the_network(browser):
    with running(session_with(lively_network(), bar_data(300, 100))) as server:
        page = fresh(browser, server.url + "#lock=1")
        for control in ("#train", "#step", "#reset", "#use-untrained", "#use-loaded"):
            assert page.locator(control).is_hidden(), control
        assert page.locator("#go").is_visible()  # a learner still picks digits and steps through them


def test_mangled_links_open_the_page_and_say_what_was_left_out(browser):
    rng = np.random.default_rng(0)
    alphabet = list("abcdmnstwlk=&.#%01239_-x") + ["d=ink.", "n=", "&t=", "m=", "%zz"]
    with running(session_with(lively_network(), bar_data(300, 100))) as server:
        for _ in range(6):
            junk = "".join(rng.choice(alphabet, rng.integers(1, 40)))
            page = fresh(browser, f"{server.url}#{junk}")
            assert page.errors == [], (junk, page.errors)
            assert page.inner_text("#picked")  # an example is on screen
            page.close()


def test_the_network_picture_saves_as_a_png_with_what_it_shows(browser, tmp_path):
    import matplotlib.image
    with running(session_with(lively_network(), bar_data(300, 100))) as server:
        page = fresh(browser, server.url)
        numbers(page)
        with page.expect_download() as download:
            page.click("#save-picture")
        path = tmp_path / download.value.suggested_filename
        download.value.save_as(path)
        assert path.name == "explorer-test-0.png"
        picture = matplotlib.image.imread(path)
        svg = page.locator("#network").bounding_box()
        assert picture.shape[1] == round(2 * svg["width"]) and picture.shape[0] > 2 * svg["height"]  # and a caption
        assert picture[..., :3].std() > 0.05  # a picture, not a blank


def test_a_training_thread_that_fails_says_so_on_the_page(browser):
    """The server's training thread stops with a reason (training.py); the page says it, never 'training'."""
    session = session_with(lively_network(), bar_data(300, 100))

    def broken():
        raise MemoryError("no room for the next batch")

    session.trainer.step = broken
    with running(session) as server:
        page = fresh(browser, server.url)
        page.click("#train")
        page.wait_for_function("document.getElementById('train-status').textContent.includes('stopped')", timeout=30_000)
        status = page.inner_text("#train-status")
        assert status.startswith("Training stopped at epoch 1, batch 1") and "no room for the next batch" in status
        assert page.locator("#train").is_enabled()
