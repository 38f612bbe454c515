#!/usr/bin/env python3
"""Build the GB2312-range font subsets the PDF notices embed.

Noto Serif CJK SC (SIL Open Font License 1.1) is subset to the GB2312 character
set plus the punctuation official documents use, so a fresh machine needs no
font install and WeasyPrint never has to subset a 20 MB collection.

    python scripts/make_fonts.py [--source-dir /usr/share/fonts/opentype/noto]
"""
from __future__ import annotations

import argparse
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

OUT_DIR = Path(__file__).resolve().parent.parent / "registry" / "static" / "fonts"
# (collection file, face name inside it, output file)
FACES = (
    ("NotoSerifCJK-Regular.ttc", "Noto Serif CJK SC", "NotoSerifSC-GB2312-Regular.otf"),
    ("NotoSerifCJK-Bold.ttc", "Noto Serif CJK SC", "NotoSerifSC-GB2312-Bold.otf"),
)
# Punctuation and symbols of official documents not all inside GB2312, plus a few common extras.
EXTRA = "〔〕—–―‘’“”、，。：；！？「」『』《》〈〉（）【】…·×÷±°℃№☆★○●□■△▲※→←↑↓－～＋＝％＃＆＠　" \
        "①②③④⑤⑥⑦⑧⑨⑩⑴⑵⑶⑷⑸⑹⑺⑻⑼⑽㎡㎜㎝㎞㎏™©®€￥"


def gb2312_chars() -> set[str]:
    """Return every character encodable in GB2312 (rows A1-F7, cells A1-FE)."""
    chars = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes((hi, lo)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return chars


def wanted_codepoints() -> list[int]:
    """Return the sorted code points every subset must hold."""
    chars = gb2312_chars() | set(EXTRA) | {chr(c) for c in range(0x20, 0x7F)} | {"\u00a0"}
    return sorted(ord(c) for c in chars)


def _face(collection: Path, family: str):
    for font in TTCollection(str(collection)).fonts:
        names = {r.toUnicode() for r in font["name"].names if r.nameID in (1, 16)}
        if family in names:
            return font
    raise SystemExit(f"{family} not found in {collection}")


def build(source_dir: Path) -> None:
    """Write one subset per face into registry/static/fonts/."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    codepoints = wanted_codepoints()
    for collection, family, out_name in FACES:
        font = _face(source_dir / collection, family)
        options = subset.Options()
        # Default features only: "*" would pull in Japanese/Korean/vertical variants (13,700 glyphs).
        options.layout_features = [f for f in options.layout_features if f != "locl"]
        options.name_IDs = ["*"]
        options.name_languages = ["*"]
        options.notdef_outline = True
        options.hinting = False
        options.desubroutinize = False
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=codepoints)
        subsetter.subset(font)
        out = OUT_DIR / out_name
        font.save(str(out))
        print(f"{out.name}: {len(font.getGlyphOrder())} glyphs, {out.stat().st_size / 1024 / 1024:.2f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-dir", type=Path, default=Path("/usr/share/fonts/opentype/noto"))
    build(parser.parse_args().source_dir)
