"""What the browser tests of the bank's pages share: the browser, screenshots, and the checks every page
of the bank must pass (a layout that fits a phone, WCAG 2.2 AA contrast computed in the browser, French
text). The fixtures (the served sandbox, the browser, a page at each width) are in ``conftest``.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from french_text import assert_french

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
BANK = "Banque Exemple Île-de-France"
TPP = "Carte Exemple SAS"
TIMEOUT_MS = 15_000
# Each browser test module is an end-to-end test that needs Debian's chromium.
MARKS = [
    pytest.mark.e2e,
    pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                       reason=f"{CHROMIUM} is missing: install Debian's chromium (.ci/install-system-deps)"),
]


class Shots:
    """Numbered full-page screenshots in the test's temp dir."""

    def __init__(self, page, tmp_path: Path):
        self.page, self.dir, self.taken = page, tmp_path, []
        if os.environ.get("SCA_SCREENSHOTS"):  # keep them for a person to look at
            self.dir = Path(os.environ["SCA_SCREENSHOTS"])
            self.dir.mkdir(parents=True, exist_ok=True)

    def __call__(self, name: str) -> Path:
        path = self.dir / f"{self.page.viewport_name}-{len(self.taken) + 1}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 1000
        self.taken.append(path)
        return path


# WCAG 2.2 AA, computed in the browser: the contrast of every visible text (1.4.3: 4.5:1, large text
# 3:1) against the background it is drawn on, and of the controls' borders against theirs (1.4.11: 3:1).
# The background is what the browser paints under the element: the background colours of it and its
# ancestors, composited with their opacity; a background image cannot be computed and is reported.
CONTRAST = r"""() => {
    const rgba = value => {
        const m = /^rgba?\(([^)]*)\)$/.exec(value);
        if (!m) return null;
        const [r, g, b, a = 1] = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
        return {r, g, b, a};
    };
    const over = (top, under) => ({  // top composited over an opaque colour
        r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a),
        b: top.b * top.a + under.b * (1 - top.a), a: 1});
    const luminance = c => {
        const lin = v => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
        return 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b);
    };
    const ratio = (x, y) => {
        const [hi, lo] = [luminance(x), luminance(y)].sort((p, q) => q - p);
        return (hi + 0.05) / (lo + 0.05);
    };
    const chain = element => {
        const up = [];
        for (let e = element; e; e = e.parentElement) up.unshift(e);
        return up;
    };
    // The colour seen where ``paint`` (a colour, or null for none) is drawn inside ``element``.
    const seen = (element, paint, problems) => {
        const painted = (elements, below) => {
            if (!elements.length) return paint ? over(paint, below) : below;
            const [e, ...inner] = elements, style = getComputedStyle(e);
            if (style.backgroundImage !== 'none') problems.add(`background image under ${describe(e)}`);
            const background = rgba(style.backgroundColor);
            const inside = painted(inner, background ? over(background, below) : below);
            return over({...inside, a: parseFloat(style.opacity)}, below);
        };
        return painted(chain(element), {r: 255, g: 255, b: 255, a: 1});  // the canvas
    };
    const describe = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
        (e.classList.length ? '.' + [...e.classList].join('.') : '');
    const visible = e => e.checkVisibility({opacityProperty: true, visibilityProperty: true}) &&
        e.getBoundingClientRect().width > 0;
    const found = [], problems = new Set();
    for (const e of document.querySelectorAll('body *')) {
        if (!visible(e)) continue;
        const style = getComputedStyle(e);
        const text = [...e.childNodes].some(n => n.nodeType === Node.TEXT_NODE && n.textContent.trim()) ||
            (e.matches('input[type=text], input[type=password]') && e.value);
        if (text) {
            const color = rgba(style.color);
            if (!color) { problems.add(`colour ${style.color} of ${describe(e)}`); continue; }
            const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
            const large = size >= 24 || (size >= 18.66 && bold);
            found.push({what: 'text', element: describe(e), sample: (e.innerText || e.value).trim().slice(0, 40),
                        ratio: ratio(seen(e, color, problems), seen(e, null, problems)), needed: large ? 3 : 4.5});
        }
        // A control's boundary: its border, or else its own background, against what surrounds it.
        if (e.matches('input:not([type=hidden]):not([type=radio]):not([type=checkbox]), select, textarea, ' +
                      'button, a.button, .account')) {
            const bordered = style.borderTopStyle !== 'none' && parseFloat(style.borderTopWidth) > 0;
            const edge = rgba(bordered ? style.borderTopColor : style.backgroundColor);
            if (!edge || edge.a === 0) { problems.add(`${describe(e)} has no visible boundary`); continue; }
            const outside = e.parentElement;
            found.push({what: bordered ? 'border' : 'background', element: describe(e), sample: '',
                        ratio: ratio(seen(outside, edge, problems), seen(outside, null, problems)), needed: 3});
        }
    }
    return {checked: found.length, failing: found.filter(f => f.ratio < f.needed), problems: [...problems]};
}"""

# The page's visible text, without what is marked as English (the technical detail for the TPP).
FRENCH_TEXT = r"""() => {
    const parts = [document.title];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const parent = node.parentElement;
        if (parent.closest('[lang]').lang !== 'fr' || !parent.checkVisibility()) continue;
        parts.push(node.textContent);
    }
    return parts.join(' ').replace(/\s+/g, ' ');
}"""


def assert_accessible(page, where: str) -> None:
    """Contrast AA (text and controls), and French throughout but for the part marked English."""
    assert_contrast(page, where)
    assert_french(page.evaluate(FRENCH_TEXT), where)


def assert_contrast(page, where: str) -> None:
    """WCAG 2.2 AA contrast of every visible text and control, computed in the browser."""
    report = page.evaluate(CONTRAST)
    assert not report["problems"], f"contrast cannot be computed on {where}: {report['problems']}"
    assert report["checked"] >= 5, report
    failing = [f"{f['what']} of {f['element']} {f['sample']!r}: {f['ratio']:.2f}:1 < {f['needed']}:1"
               for f in report["failing"]]
    assert not failing, f"under WCAG 2.2 AA contrast on {where} ({page.viewport_name}): {failing}"


def assert_bank_page(page, step: str) -> None:
    """What every page of the bank must show, and a layout that fits the viewport."""
    assert BANK in page.inner_text("header")
    assert step in page.inner_text(".steps")
    layout = page.evaluate("""() => {
        const width = window.innerWidth;
        const card = document.querySelector('.card').getBoundingClientRect();
        const outside = [...document.querySelectorAll('.card *')]
            .filter(e => e.offsetParent !== null)
            .map(e => e.getBoundingClientRect())
            .filter(r => r.left < Math.max(card.left, 0) - 1 || r.right > Math.min(card.right, width) + 1).length;
        const inputs = [...document.querySelectorAll('input[type=text], input[type=password]')]
            .map(e => parseFloat(getComputedStyle(e).fontSize));
        const buttons = [...document.querySelectorAll('button')].map(b => b.getBoundingClientRect().height);
        return {scroll: document.documentElement.scrollWidth, width, outside, inputs, buttons};
    }""")
    assert layout["scroll"] <= layout["width"], f"horizontal scrolling on {page.viewport_name}: {layout}"
    assert layout["outside"] == 0, f"elements overflow the page's card on {page.viewport_name}: {layout}"
    assert all(size >= 16 for size in layout["inputs"]), f"inputs under 16px make phones zoom: {layout}"
    assert all(height >= 40 for height in layout["buttons"]), f"buttons too small to tap: {layout}"
    assert_accessible(page, step)
