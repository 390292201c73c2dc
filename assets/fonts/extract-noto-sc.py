#!/usr/bin/env python3
"""Extract the Simplified Chinese faces of Noto Sans CJK from Debian's fonts-noto-cjk
collections into single-face OpenType files.

Why: the Debian .ttc files hold JP, KR, SC, TC, HK faces, JP first; software that takes the
first face renders Japanese glyph forms for Chinese text. Gridpad bundles the SC face alone,
so the app never depends on system fonts or locale settings.

    apt-get install fonts-noto-cjk && pip install fonttools
    python3 assets/fonts/extract-noto-sc.py [Regular] [Bold]
"""
import sys
from pathlib import Path
from fontTools.ttLib import TTCollection

SRC = Path("/usr/share/fonts/opentype/noto")
OUT = Path(__file__).resolve().parent

for weight in sys.argv[1:] or ("Regular",):
    coll = TTCollection(str(SRC / f"NotoSansCJK-{weight}.ttc"))
    for font in coll.fonts:
        family = font["name"].getDebugName(1) or ""
        if family.startswith("Noto Sans CJK SC") and "Mono" not in family:
            out = OUT / f"NotoSansCJKsc-{weight}.otf"
            font.save(str(out))
            print(f"{family} {weight} -> {out.name} ({out.stat().st_size // 1024} KiB)")
            break
    else:
        sys.exit(f"no SC face in NotoSansCJK-{weight}.ttc")
