#!/usr/bin/env python3
"""Write lang/zh_CN/LC_MESSAGES/gridpad-ui.po from the @tr strings and the translations
in lang/zh_CN.py (a dict ZH). Run after changing strings; the test po_is_complete checks."""
import pathlib, runpy, sys
sys.path.insert(0, str(pathlib.Path(__file__).parent))
from extract import msgids, ROOT

ZH = runpy.run_path(str(ROOT / "lang/zh_CN.py"))["ZH"]
esc = lambda s: s.replace("\\", "\\\\").replace('"', '\\"')
out = ['msgid ""', 'msgstr ""', '"Project-Id-Version: gridpad-ui\\n"', '"Language: zh_CN\\n"',
       '"MIME-Version: 1.0\\n"', '"Content-Type: text/plain; charset=UTF-8\\n"',
       '"Content-Transfer-Encoding: 8bit\\n"', '"Plural-Forms: nplurals=1; plural=0;\\n"', '']
missing = []
for m in msgids():
    raw = m.encode().decode("unicode_escape").encode("latin-1").decode("utf-8") if "\\" in m else m
    t = ZH.get(raw)
    if t is None:
        missing.append(raw)
        t = ""
    out += [f'msgid "{m}"', f'msgstr "{esc(t)}"', '']
(ROOT / "lang/zh_CN/LC_MESSAGES/gridpad-ui.po").write_text("\n".join(out), encoding="utf-8")
if missing:
    print("untranslated:", *missing, sep="\n  ")
    sys.exit(1)
