#!/usr/bin/env python3
"""List the @tr("…") strings of ui/**/*.slint (what slint-tr-extractor would find, without
contexts: the build disables the default translation context). Usage:
  python3 lang/extract.py            # print msgids missing from the zh_CN catalog
  python3 lang/extract.py --all      # print every msgid
"""
import pathlib, re, sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
TR = re.compile(r'@tr\(\s*"((?:[^"\\]|\\.)*)"')

def msgids():
    out = []
    for f in sorted((ROOT / "ui").rglob("*.slint")):
        for m in TR.finditer(f.read_text(encoding="utf-8")):
            s = m.group(1)
            if s not in out:
                out.append(s)
    return out

def catalog(path):
    text = path.read_text(encoding="utf-8")
    return dict(re.findall(r'^msgid "((?:[^"\\]|\\.)*)"\nmsgstr "((?:[^"\\]|\\.)*)"', text, re.M))

if __name__ == "__main__":
    ids = msgids()
    if "--all" in sys.argv:
        print("\n".join(ids))
    else:
        have = catalog(ROOT / "lang/zh_CN/LC_MESSAGES/gridpad-ui.po")
        missing = [i for i in ids if not have.get(i)]
        print("\n".join(missing))
        sys.exit(1 if missing else 0)
