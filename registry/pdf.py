"""HTML -> PDF: the one module that imports WeasyPrint.

Fonts are the GB2312-range Noto Serif CJK SC subsets shipped in static/fonts
(built by scripts/make_fonts.py, OFL), declared with @font-face url(file://...),
so a fresh machine needs no font install. One FontConfiguration and the parsed
stylesheets are reused across renders (WeasyPrint's costliest setup steps).
Output is deterministic: no creation dates, no random file identifier, so the
same input gives byte-identical PDFs.

WeasyPrint would fetch any URL a document names (file:///etc/passwd, http://
inside the intranet). Escaping keeps user text from becoming markup, but the
renderer is the last line: every fetch goes through `ResourceFetcher`, which
serves data: URIs and files under registry/static and the configured seal and
notice folders, and refuses everything else.

Stored PDFs are merged without a new layout by `merge_pdfs` (pikepdf, on qpdf): each keeps its own
pages, fonts and page numbers, so a batch print of stored notices costs a copy, not a render.
"""
from __future__ import annotations

import atexit
import io
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pikepdf
from flask import current_app, render_template
from fontTools.ttLib import TTCollection, TTFont

PACKAGE_DIR = Path(__file__).resolve().parent
STATIC_DIR = PACKAGE_DIR / "static"
FONT_DIR = PACKAGE_DIR / "static" / "fonts"
STYLE_DIR = PACKAGE_DIR / "static" / "pdf"
SERIF_REGULAR = FONT_DIR / "NotoSerifSC-GB2312-Regular.otf"
SERIF_BOLD = FONT_DIR / "NotoSerifSC-GB2312-Bold.otf"
# Installed by fonts-noto-cjk; used only for characters outside the shipped subset.
SYSTEM_FALLBACK = Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc")
FALLBACK_FAMILY = "Noto Serif CJK SC"

FONT_FACES_CSS = f"""
@font-face {{ font-family: "GW Serif"; font-weight: 400; src: url("{SERIF_REGULAR.as_uri()}"); }}
@font-face {{ font-family: "GW Serif"; font-weight: 700; src: url("{SERIF_BOLD.as_uri()}"); }}
"""

# A small user-agent stylesheet for our own templates: WeasyPrint's full HTML one (256 lines of rules
# for forms, lists, headings...) is matched against every element of every document, a large share of
# the layout time of a one-page notice. Templates rendered here use only these elements.
LEAN_UA_CSS = """
head, meta, title, style, script, link { display: none }
html, body, div, p, hr, section, header, footer, h1, h2, h3, ul, ol { display: block }
li { display: list-item }
table { display: table; box-sizing: border-box; border-spacing: 2px; border-collapse: separate; text-indent: initial }
colgroup { display: table-column-group } col { display: table-column }
thead { display: table-header-group; vertical-align: middle } tbody { display: table-row-group; vertical-align: middle }
tr { display: table-row; vertical-align: inherit } td, th { display: table-cell; vertical-align: inherit; padding: 1px }
th { font-weight: bold } b, strong { font-weight: bold }
img { overflow: hidden }
br::before { content: "\\A"; white-space: pre-line }
@page {
  @top-left { text-align: left; vertical-align: middle } @top-center { text-align: center; vertical-align: middle }
  @top-right { text-align: right; vertical-align: middle }
  @bottom-left { text-align: left; vertical-align: middle } @bottom-center { text-align: center; vertical-align: middle }
  @bottom-right { text-align: right; vertical-align: middle }
}
"""

_lock = threading.Lock()
_state: dict[str, Any] = {}
# Drop WeasyPrint objects before interpreter teardown, when their __del__ can no longer run cleanly.
atexit.register(_state.clear)


class MissingGlyphs(ValueError):
    """Text holds characters that no available font can draw."""

    def __init__(self, chars: set[str]):
        self.chars = chars
        super().__init__("、".join(sorted(chars)))


@dataclass
class PdfJob:
    """One document to render: a Jinja template under templates/ and its context."""

    template_name: str
    context: dict[str, Any] = field(default_factory=dict)
    stylesheet: str = "notice.css"
    # Folders besides registry/static whose files the document may embed (e.g. the seal images).
    resource_dirs: tuple[Path, ...] = ()


def _weasy():
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration
    return weasyprint, FontConfiguration


class RefusedResource(ValueError):
    """A document named a resource outside the registry's own files."""


def _fetcher_class():
    """Return (once) the URLFetcher subclass that only serves data: URIs and files under given folders."""
    with _lock:
        if "fetcher_class" not in _state:
            from weasyprint.urls import URLFetcher

            class ResourceFetcher(URLFetcher):
                def __init__(self, roots: Iterable[Path]):
                    super().__init__(allowed_protocols=("file", "data"), allow_redirects=False)
                    self.roots = tuple(Path(r).resolve() for r in roots)

                def fetch(self, url, headers=None):
                    scheme = url.partition(":")[0].lower()
                    if scheme == "data":
                        return super().fetch(url, headers)
                    if scheme == "file":
                        parts = urlsplit(url)
                        # Symlinks and ".." are resolved first, so the check is on the file that would be read.
                        path = Path(url2pathname(parts.path)).resolve()
                        if parts.netloc in ("", "localhost") and path.is_file() and any(
                                path.is_relative_to(root) for root in self.roots):
                            return super().fetch(path.as_uri(), headers)
                    current_app.logger.warning("PDF rendering refused to fetch %s", url[:200])
                    raise RefusedResource(f"refused: {url[:200]}")

            _state["fetcher_class"] = ResourceFetcher
        return _state["fetcher_class"]


def resource_fetcher(extra_roots: Iterable[Path] = ()):
    """Return a WeasyPrint url_fetcher for registry/static plus `extra_roots`; every other URL is refused."""
    return _fetcher_class()([STATIC_DIR, *extra_roots])



def font_config():
    """Return the process-wide FontConfiguration (built once; must be shared by CSS and write_pdf)."""
    with _lock:
        if "font_config" not in _state:
            _, FontConfiguration = _weasy()
            _state["font_config"] = FontConfiguration()
        return _state["font_config"]


def stylesheet(name: str):
    """Return the parsed stylesheet static/pdf/<name> with the font faces, cached per file version."""
    weasyprint, _ = _weasy()
    path = STYLE_DIR / name
    key = ("css", name, path.stat().st_mtime_ns)
    fc = font_config()
    fetcher = resource_fetcher()  # outside the lock, which it takes itself
    with _lock:
        if key not in _state:
            source = FONT_FACES_CSS + path.read_text(encoding="utf-8")
            # Fonts are fetched while the stylesheet is parsed; a stylesheet only ever needs registry/static.
            _state[key] = weasyprint.CSS(string=source, base_url=str(STYLE_DIR) + "/", font_config=fc,
                                         url_fetcher=fetcher)
        return _state[key]


@lru_cache(maxsize=4)
def _cmap(path: str) -> frozenset[int]:
    """Return the code points a font file (or the Simplified Chinese face of a collection) maps."""
    if not path.endswith(".ttc"):
        with TTFont(path, lazy=True) as font:
            return frozenset(font["cmap"].getBestCmap())
    with TTCollection(path, lazy=True) as collection:
        for face in collection.fonts:
            if FALLBACK_FAMILY in {r.toUnicode() for r in face["name"].names if r.nameID in (1, 16)}:
                return frozenset(face["cmap"].getBestCmap())
    return frozenset()


def shipped_coverage() -> frozenset[int]:
    """Return the code points the shipped subset fonts draw."""
    return _cmap(str(SERIF_REGULAR)) & _cmap(str(SERIF_BOLD))


def uncovered(text: str, coverage: frozenset[int] | None = None) -> set[str]:
    """Return the visible characters of `text` the shipped fonts cannot draw."""
    cover = shipped_coverage() if coverage is None else coverage
    return {ch for ch in set(text) if ord(ch) not in cover and not ch.isspace()
            and unicodedata.category(ch) not in ("Cc", "Cf")}


def check_glyphs(text: str) -> set[str]:
    """Return characters that need the system fallback font; raise MissingGlyphs if none can draw them."""
    missing = uncovered(text)
    if not missing:
        return set()
    fallback = _cmap(str(SYSTEM_FALLBACK)) if SYSTEM_FALLBACK.exists() else frozenset()
    undrawable = {ch for ch in missing if ord(ch) not in fallback}
    if undrawable:
        raise MissingGlyphs(undrawable)
    current_app.logger.warning("PDF text uses the system fallback font for: %s", "".join(sorted(missing)))
    return missing


def _lean_html_class():
    """Return (once) an HTML subclass using LEAN_UA_CSS instead of WeasyPrint's full UA stylesheet."""
    with _lock:
        if "html_class" not in _state:
            weasyprint, _ = _weasy()
            ua = weasyprint.CSS(string=LEAN_UA_CSS)

            class LeanHTML(weasyprint.HTML):
                def _ua_stylesheets(self, forms=False):
                    return [ua]

            _state["html_class"] = LeanHTML
        return _state["html_class"]


def _document(job: PdfJob):
    html = render_template(job.template_name, **job.context)
    return _lean_html_class()(string=html, base_url=str(STYLE_DIR) + "/",
                              url_fetcher=resource_fetcher(job.resource_dirs)).render(
        stylesheets=[stylesheet(job.stylesheet)], font_config=font_config())


def _write(document) -> bytes:
    # No pdf_identifier and no dcterms dates in the HTML: the bytes depend on the content only.
    return document.write_pdf(pdf_identifier=False, uncompressed_pdf=False)


def render_pdf(template_name: str, context: dict[str, Any], stylesheet: str = "notice.css",
               resource_dirs: tuple[Path, ...] = ()) -> bytes:
    """Render one template to PDF bytes."""
    return _write(_document(PdfJob(template_name, context, stylesheet, resource_dirs)))


def render_many(jobs: Iterable[PdfJob], progress=None) -> bytes:
    """Render several documents into ONE merged PDF (fonts embedded once); `progress(n)` after each."""
    pages = []
    first = None
    for n, job in enumerate(jobs, 1):
        doc = _document(job)
        first = first or doc
        pages.extend(doc.pages)
        if progress:
            progress(n)
    if first is None:
        raise ValueError("render_many needs at least one document")
    return _write(first.copy(pages))


def render_each(jobs: Iterable[PdfJob], progress=None) -> Iterable[bytes]:
    """Yield one PDF per job (for storing documents separately)."""
    for n, job in enumerate(jobs, 1):
        yield _write(_document(job))
        if progress:
            progress(n)


def merge_pdfs(files: Iterable[Path | bytes], progress=None) -> bytes:
    """Concatenate stored PDFs (paths or bytes) into one, pages in the given order; `progress(n)` after each."""
    # qpdf copies the pages' objects when the merged file is saved, so every source stays open until
    # then. Each is read into memory first: a thousand open files could exceed the process's limit.
    # (pikepdf merges about 8x faster than pypdf did: 0.2 s against 1.6 s for 200 notices.)
    merged, sources = pikepdf.Pdf.new(), []
    try:
        for count, item in enumerate(files, 1):
            source = pikepdf.Pdf.open(io.BytesIO(item if isinstance(item, bytes) else Path(item).read_bytes()))
            sources.append(source)
            merged.pages.extend(source.pages)
            if progress:
                progress(count)
        if not sources:
            raise ValueError("merge_pdfs needs at least one file")
        out = io.BytesIO()
        merged.save(out)
        return out.getvalue()
    finally:
        for source in sources:
            source.close()
        merged.close()
