#!/bin/sh
# Makes the prompts the media gateway ships (internal/media/assets): the
# default voicemail greeting, spoken by espeak-ng, and the beep that follows
# it, a 1 kHz tone of 400 ms. Both are mono Ogg Opus in 20 ms frames, the
# form internal/media reads (ParseOggOpus).
#
# Needs espeak-ng, opus-tools and python3 (Debian: apt-get install espeak-ng
# opus-tools python3). Run from the repository root; commit the results.
set -eu

out=internal/media/assets
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

espeak-ng -v en-us -s 150 -w "$tmp/greeting.wav" \
	"The person you called is not available. Please leave a message after the tone."
opusenc --quiet --bitrate 20 --framesize 20 --downmix-mono \
	--comp 10 --discard-comments --serial 1 "$tmp/greeting.wav" "$out/greeting.opus"

# The beep: 400 ms of 1 kHz at -12 dBFS, with 10 ms raised-cosine ramps so
# that it starts and ends without a click; 16-bit little-endian at 48 kHz.
python3 - "$tmp/beep.raw" <<'PY'
import math, struct, sys
rate, hz, n, ramp = 48000, 1000, 48000 * 400 // 1000, 480
amp = 32767 * 10 ** (-12 / 20)
with open(sys.argv[1], "wb") as f:
    for i in range(n):
        v = amp * math.sin(2 * math.pi * hz * i / rate)
        edge = min(i, n - 1 - i)
        if edge < ramp:
            v *= 0.5 - 0.5 * math.cos(math.pi * edge / ramp)
        f.write(struct.pack("<h", round(v)))
PY
opusenc --quiet --raw --raw-rate 48000 --raw-chan 1 --bitrate 32 --framesize 20 \
	--comp 10 --discard-comments --serial 2 "$tmp/beep.raw" "$out/beep.opus"
ls -l "$out"
