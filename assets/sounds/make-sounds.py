#!/usr/bin/env python3
"""Writes {success,error,attention}.wav beside this file: the kiosk's three
cues, synthesized here from sine tones (Python's standard library only),
so they carry no one else's licence: they are part of this project.

    python3 assets/sounds/make-sounds.py

Mono, 16-bit, 22 050 Hz, a few hundred milliseconds each (a few kB).
Deterministic: the same bytes on every run.
"""
import math
import os
import struct
import wave

RATE = 22050
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = HERE


def tone(freq, secs, harmonics=(1.0,), decay=6.0, level=0.5):
    """A note with a soft 5 ms attack and an exponential fade."""
    n = int(RATE * secs)
    out = []
    for i in range(n):
        t = i / RATE
        attack = min(1.0, t / 0.005)
        env = attack * math.exp(-decay * t)
        v = sum(a * math.sin(2 * math.pi * freq * (k + 1) * t) for k, a in enumerate(harmonics))
        out.append(level * env * v / sum(harmonics))
    return out


def silence(secs):
    return [0.0] * int(RATE * secs)


def write(name, samples):
    path = os.path.join(OUT, name)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(b"".join(struct.pack("<h", int(max(-1.0, min(1.0, s)) * 32767)) for s in samples))
    print(path)


def main():
    os.makedirs(OUT, exist_ok=True)
    # Accepted: a rising two-note chime (E5, A5).
    write("success.wav", tone(659.25, 0.12, (1.0, 0.3)) + tone(880.0, 0.28, (1.0, 0.3)))
    # Refused: a low, buzzy double tone (odd harmonics, like a square wave).
    buzz = (1.0, 0.0, 0.33, 0.0, 0.2)
    write("error.wav", tone(196.0, 0.16, buzz, decay=3.0) + silence(0.05) + tone(185.0, 0.22, buzz, decay=3.0))
    # See staff / are you still there: the same high note twice.
    write("attention.wav", tone(987.77, 0.14, (1.0, 0.2)) + silence(0.06) + tone(987.77, 0.2, (1.0, 0.2)))


if __name__ == "__main__":
    main()
