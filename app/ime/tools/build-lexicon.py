#!/usr/bin/env python3
"""Build Gridpad's pinyin lexicon (assets/ime/lexicon.tsv.zst) from Debian's Rime data.

Sources (Debian bookworm packages, fetched with `apt-get download`, unpacked with `dpkg -x`):
  rime-data-pinyin-simp  pinyin_simp.dict.yaml  simplified words and characters with
                         frequencies, from the Android Pinyin IME (Apache-2.0)
  rime-data-luna-pinyin  luna_pinyin.dict.yaml  readings of rarer characters (LGPL-3.0):
                         a character/reading pair missing from pinyin_simp is added with
                         weight 1 if OpenCC's t2s leaves it unchanged (not a traditional form)
Needs: apt-get, dpkg, opencc, zstd.  Run from the repository root:
  python3 app/ime/tools/build-lexicon.py
Output lines: text TAB syllables (space separated) TAB weight, sorted by syllables then weight.
"""
import os, re, subprocess, sys, tempfile

OUT = "assets/ime/lexicon.tsv.zst"
PKGS = ["rime-data-pinyin-simp", "rime-data-luna-pinyin"]
SYL = re.compile(r"^[a-z]+$")
HAN = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0002ffff]+$")


def entries(path):
    body = False
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line == "...":
                body = True
                continue
            if not body or not line or line.startswith("#"):
                continue
            parts = line.split("\t")
            text, code = parts[0], parts[1] if len(parts) > 1 else ""
            weight = parts[2] if len(parts) > 2 else ""
            yield text, code, weight


def vowel(s):
    return any(c in "aeiouv" for c in s)


def main():
    work = tempfile.mkdtemp(prefix="gridpad-lexicon-")
    subprocess.run(["apt-get", "download", *PKGS], cwd=work, check=True)
    for deb in os.listdir(work):
        if deb.endswith(".deb"):
            subprocess.run(["dpkg", "-x", deb, "x"], cwd=work, check=True)
    rime = os.path.join(work, "x/usr/share/rime-data")

    lex = {}
    for text, code, weight in entries(os.path.join(rime, "pinyin_simp.dict.yaml")):
        syls = code.split()
        if not HAN.match(text) or not syls or len(syls) != len(text):
            continue
        if not all(SYL.match(s) and vowel(s) for s in syls):
            continue
        key = (text, " ".join(syls))
        w = int(weight or 0)
        lex[key] = max(lex.get(key, 0), w)

    known = set(lex)
    extra = []
    for text, code, _ in entries(os.path.join(rime, "luna_pinyin.dict.yaml")):
        if len(text) != 1 or not HAN.match(text) or not SYL.match(code) or not vowel(code):
            continue
        if (text, code) not in known:
            extra.append((text, code))
    chars = "".join(sorted({t for t, _ in extra}))
    simp = subprocess.run(["opencc", "-c", "t2s"], input=chars, capture_output=True,
                          text=True, check=True).stdout
    keep = {a for a, b in zip(chars, simp) if a == b}
    added = 0
    for text, code in extra:
        if text in keep and (text, code) not in lex:
            lex[(text, code)] = 1
            added += 1

    rows = sorted(lex.items(), key=lambda kv: (kv[0][1], -kv[1], kv[0][0]))
    tsv = "".join(f"{t}\t{p}\t{w}\n" for (t, p), w in rows)
    subprocess.run(["zstd", "-19", "-q", "-f", "-o", OUT], input=tsv.encode(), check=True)
    print(f"{len(rows)} entries ({added} rare characters from luna_pinyin) -> {OUT}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
