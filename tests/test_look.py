"""How every page looks in a real Chromium at 1280 × 800, in the light and the dark theme: nothing wider than the
window, every chart and table named for screen readers, text and chart marks that read on the theme's background.
Each page is saved in each theme (``look-<theme>-<page>.png`` in the screenshots folder)."""

from __future__ import annotations

import tomllib

import pytest
from playwright.sync_api import expect, sync_playwright

from browser import (CHROMIUM, CHROMIUM_ARGS, ROOT, VIEWPORT, nav, no_error_shown, sample_ready_to_train, serve,
                     settled, shot, train_to_the_end)

THEMES = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["theme"]
ACCENT = {theme: THEMES[theme]["primaryColor"] for theme in ("light", "dark")}
PAGES = ["Upload", "Explore", "Prepare", "Baseline", "Model", "Tune", "Train", "Runs", "Results & predictions",
         "Explain"]

# What the page measures in the browser: the background, the contrast of its text and chart marks against it
# (WCAG's ratio of relative luminances), what overflows the window, and the charts and tables with no accessible name.
MEASURE = """(accent) => {
  const rgb = (css) => (css.match(/[\\d.]+/g) || []).map(Number);
  const luminance = (css) => {
    const [r, g, b] = rgb(css).slice(0, 3).map((v) => v / 255)
      .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const app = document.querySelector('[data-testid="stApp"]');
  const background = getComputedStyle(app).backgroundColor;
  const over = ([r, g, b, a = 1], [R, G, B]) => [r * a + R * (1 - a), g * a + G * (1 - a), b * a + B * (1 - a)];
  const backdrop = (el) => {  // the colour behind an element: its ancestors' backgrounds, translucent ones blended
    const layers = [];
    let base = rgb(background);
    for (let at = el.parentElement; at; at = at.parentElement) {
      const color = rgb(getComputedStyle(at).backgroundColor);
      if (color.length === 3 || color[3] >= 1) { base = color.slice(0, 3); break; }
      if (color[3] > 0) layers.push(color);
    }
    for (const layer of layers.reverse()) base = over(layer, base);
    return base;
  };
  const css = (color) => `rgb(${color.map(Math.round).join(', ')})`;
  const contrast = (color, el, property) => {  // a translucent colour (or mark) is seen over its backdrop
    const style = getComputedStyle(el);
    const [r, g, b, a = 1] = rgb(color);
    const own = {fill: style.fillOpacity, stroke: style.strokeOpacity}[property] ?? 1;
    const opacity = a * Number(style.opacity) * Number(own);
    const behind = backdrop(el);
    const [x, y] = [luminance(css(over([r, g, b, opacity], behind))), luminance(css(behind))].sort((u, v) => v - u);
    return (x + 0.05) / (y + 0.05);
  };
  const disabled = (el) => el.closest('[data-testid="stElementContainer"]')  // exempt from contrast, as in WCAG
    ?.querySelector(':disabled, [aria-disabled="true"]');
  const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden'
    && Number(getComputedStyle(el).opacity) > 0 && !disabled(el)
    && !(el.closest('[data-testid="stSlider"]') && !el.closest('[data-testid="stWidgetLabel"]'));  // a slider's value
    // floats above its thumb: on the page, not on the thumb that the document puts behind it
  const hex = (color) => '#' + rgb(color).slice(0, 3).map((v) => v.toString(16).padStart(2, '0')).join('');
  const worst = (selector, property, inAccent = false) => {  // inAccent: only text in the theme's accent colour
    let least = Infinity, what = null;
    for (const el of document.querySelectorAll(selector)) {
      const color = getComputedStyle(el)[property];
      if (!visible(el) || !color || color === 'none' || rgb(color)[3] === 0) continue;
      if ((hex(color) === accent.toLowerCase()) !== inAccent) continue;
      const ratio = contrast(color, el, property);
      if (ratio < least) {
        least = ratio;
        what = `${(el.textContent || selector).trim().slice(0, 60)} (${color} on ${css(backdrop(el))})`;
      }
    }
    return {ratio: least, what};
  };
  const main = document.querySelector('[data-testid="stMain"]');
  const wide = Array.from(main.querySelectorAll('[data-testid="stElementContainer"]'))
    .filter((el) => el.getBoundingClientRect().right > main.getBoundingClientRect().right + 1)
    .map((el) => el.querySelector('[data-testid]')?.dataset.testid || 'element');
  const named = (el) => el.getAttribute('aria-label')  // a chart's own, or its grid's or picture's
    || el.querySelector('[role="region"][aria-label], [role="img"][aria-label], svg[aria-label]')
      ?.getAttribute('aria-label');
  const unnamed = Array.from(document.querySelectorAll(
      '[data-testid="stPlotlyChart"], [data-testid="stGraphVizChart"], [data-testid="stDataFrame"], '
      + '[data-testid="stTable"], [data-testid="stVegaLiteChart"]'))
    .filter((el) => !(named(el) || '').trim()).map((el) => el.dataset.testid);
  return {
    background: luminance(background),
    heading: worst('[data-testid="stMain"] h1, [data-testid="stMain"] h2, [data-testid="stMain"] h3', 'color'),
    text: worst('[data-testid="stMain"] [data-testid="stMarkdownContainer"] p', 'color'),
    accentText: worst('[data-testid="stMain"] [data-testid="stMarkdownContainer"] p', 'color', true),
    chartText: worst('[data-testid="stPlotlyChart"] .gtitle, [data-testid="stPlotlyChart"] .legendtext', 'fill'),
    axes: worst('[data-testid="stPlotlyChart"] .xtick text, [data-testid="stPlotlyChart"] .ytick text, '
                + '[data-testid="stPlotlyChart"] .xtitle, [data-testid="stPlotlyChart"] .ytitle', 'fill'),
    referenceLines: worst('[data-testid="stPlotlyChart"] .shapelayer path', 'stroke'),
    bars: worst('[data-testid="stPlotlyChart"] .barlayer .point path', 'fill'),
    lines: worst('[data-testid="stPlotlyChart"] .scatterlayer .js-line, [data-testid="stPlotlyChart"] .errorbar path',
                 'stroke'),
    overflow: main.scrollWidth - main.clientWidth,
    wide, unnamed,
    charts: document.querySelectorAll('[data-testid="stPlotlyChart"]').length,
  };
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from serve(tmp_path_factory)


@pytest.fixture(scope="module")
def measured(server):
    """Each page of a trained and explained sample, measured and saved in each theme, keyed (theme, page)."""
    found = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT, color_scheme="light")
        page.set_default_timeout(120_000)
        try:
            sample_ready_to_train(page, server, "Breast cancer (binary)", "Ready: predict diagnosis (binary)", epochs=4,
                                  timeout=120_000)
            nav(page, "Train")
            train_to_the_end(page)
            nav(page, "Explain")
            page.get_by_role("radio", name="Gradient").click()
            page.get_by_role("spinbutton", name="Test rows to explain").fill("20")
            page.get_by_role("button", name="Explain", exact=True).click()
            expect(page.get_by_role("heading", name="Which columns matter")).to_be_visible(timeout=180_000)
            settled(page)
            for theme in ("light", "dark"):
                page.emulate_media(color_scheme=theme)  # the app follows the system's choice unless told otherwise
                for title in PAGES:
                    nav(page, title, timeout=120_000)
                    no_error_shown(page)
                    page.wait_for_timeout(500)  # charts drawn
                    found[theme, title] = page.evaluate(MEASURE, ACCENT[theme])
                    shot(page, "look", f"{theme} {title}")
        finally:
            browser.close()
    return found


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_page_follows_the_theme_and_reads_on_it(measured, theme):
    for (shown, title), found in measured.items():
        if shown != theme:
            continue
        assert (found["background"] > 0.9) if theme == "light" else (found["background"] < 0.05), title
        assert found["heading"]["ratio"] >= 7, (title, found["heading"])
        assert found["text"]["ratio"] >= 4.5, (title, found["text"])
        # The accent marks a state (the selected option, a slider's value) beside the border and tint that also
        # show it: WCAG's 3:1 for the state of a control.
        assert found["accentText"]["ratio"] >= 3, (title, found["accentText"])
        if found["charts"]:
            assert found["chartText"]["ratio"] >= 4.5, (title, found["chartText"])
            # Axis text is drawn by Streamlit's chart theme in its own grey (3.7:1 on white), the same in every
            # app: held to WCAG's 3:1 for the parts of a graphic.
            assert found["axes"]["ratio"] >= 3, (title, found["axes"])
        for marks in ("referenceLines", "bars", "lines"):  # WCAG's 3:1 for what a chart shows
            if found[marks]["what"] is not None:
                assert found[marks]["ratio"] >= 3, (title, marks, found[marks])
    charts = sum(found["charts"] for (shown, _), found in measured.items() if shown == theme)
    assert charts >= 10, "the trained run's pages show their charts"


def test_no_page_is_wider_than_a_1280_pixel_window(measured):
    for (theme, title), found in measured.items():
        assert found["overflow"] <= 1 and not found["wide"], (theme, title, found["overflow"], found["wide"])


def test_every_chart_and_table_has_an_accessible_name(measured):
    for (theme, title), found in measured.items():
        assert not found["unnamed"], (theme, title, found["unnamed"])
