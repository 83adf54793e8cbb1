"""Make the README's pictures from the real outputs: run it again whenever what they show changes.

    python docs/make_pictures.py            # needs MNIST (fetched once) and Debian's chromium
    python docs/make_pictures.py demo       # only some of them: demo (curves, mistakes), walkthrough

- curves.png and mistakes.png: what `make demo` writes, from a fresh run of demos/train_mnist.py;
- walkthrough.png: the stepper page (python -m autodiff.walkthrough --example network --html),
  at step 7, in headless Chromium at a projector's 1024x768;
- walkthrough.gif: the same walk for slides, by `python -m autodiff.walkthrough --example network --gif`.
"""
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
sys.path.insert(0, str(ROOT))



def demo_pictures(tmp):
    out = Path(tmp) / "mnist"
    subprocess.run([sys.executable, str(ROOT / "demos" / "train_mnist.py"), "--out", str(out)], check=True)
    for name in ("curves.png", "mistakes.png"):
        shutil.copyfile(out / name, IMAGES / name)


def walkthrough_picture(tmp):
    from playwright.sync_api import sync_playwright

    from autodiff import chromium
    from autodiff.walkthrough import EXAMPLES, write_html

    page_file = Path(tmp) / "steps.html"
    write_html(EXAMPLES["network"](), page_file)
    try:
        browser_path = chromium.executable()
    except chromium.ChromiumNotFound as error:
        sys.exit(str(error))
    with sync_playwright() as p:
        browser = chromium.launch(p, browser_path)
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        page.goto(page_file.as_uri())
        for _ in range(6):
            page.keyboard.press("ArrowRight")
        page.wait_for_selector('#stepper[data-shown="7"] svg')
        page.screenshot(path=str(IMAGES / "walkthrough.png"))
        browser.close()
    gif = IMAGES / "walkthrough.gif"
    subprocess.run([sys.executable, "-m", "autodiff.walkthrough", "--example", "network", "--gif", str(gif)],
                   cwd=ROOT, check=True)


PICTURES = {"demo": demo_pictures, "walkthrough": walkthrough_picture}


def main(argv=None):
    names = sys.argv[1:] if argv is None else argv
    unknown = sorted(set(names) - set(PICTURES))
    if unknown:
        sys.exit(f"make_pictures: no pictures named {', '.join(unknown)}; choose from {', '.join(PICTURES)}")
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names or PICTURES:
            PICTURES[name](tmp)
    for picture in sorted([*IMAGES.glob("*.png"), *IMAGES.glob("*.gif")]):
        print(f"{picture.relative_to(ROOT)}: {picture.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
