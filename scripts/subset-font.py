#!/usr/bin/env python3
"""Rebuilds assets/fonts/NotoSansSC-Kiosk.otf: Noto Sans CJK SC Regular cut
down to ASCII, Latin-1, GB2312 symbols and level-1 hanzi, plus every
non-ASCII character in the kiosk's sources, translations and sample config
(so a new translation never shows boxes). Needs fonttools (pip install
fonttools) and the Debian package fonts-noto-cjk. Run from the repository
root: python3 scripts/subset-font.py"""
import glob
import subprocess
import sys

SRC = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
FACE = "2"  # Noto Sans CJK SC inside the collection
OUT = "assets/fonts/NotoSansSC-Kiosk.otf"

chars = set(chr(c) for c in range(0x20, 0x7F)) | set(chr(c) for c in range(0xA0, 0x180))
for hi in list(range(0xA1, 0xAA)) + list(range(0xB0, 0xD8)):
    for lo in range(0xA1, 0xFF):
        try:
            chars.add(bytes([hi, lo]).decode("gb2312"))
        except UnicodeDecodeError:
            pass
files = glob.glob("src/**/*.rs", recursive=True) + glob.glob("assets/i18n/*/*.ftl") + ["kiosk.toml"]
for f in files:
    chars |= {ch for ch in open(f, encoding="utf-8").read() if ord(ch) >= 0x80}
chars |= set("●○★☆■□✓←→—–…•·“”‘’「」《》、。，：；！？（）¥")
with open("/tmp/kiosk-font-chars.txt", "w", encoding="utf-8") as out:
    out.write("".join(sorted(chars)))
sys.exit(subprocess.call([
    "pyftsubset", SRC, "--font-number=" + FACE, "--text-file=/tmp/kiosk-font-chars.txt",
    "--output-file=" + OUT, "--layout-features=kern,liga,locl", "--no-hinting",
]))
