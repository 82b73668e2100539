#!/bin/sh
# Open a study report in headless Chromium (Debian's `chromium`), take a screenshot, and
# check that the page rendered: the PNG is not blank, and the charts' colours are on it
# (the SVG charts were drawn, not just the text).
#
#   tests/report/check_render.sh [REPORT.html]
#
# Without an argument it first makes a small study with build/reusenet (synthetic data,
# two fresh UNets with F = 4, 32 x 32 slices: a few seconds) and its report.
# Needs: chromium (apt-get install chromium), /usr/bin/python3 (standard library only).
# Exit status 0 when the page rendered, 1 when it did not, 2 when something is missing.
set -eu

BIN=${REUSENET_BIN:-build/reusenet}
PYTHON=${PYTHON:-/usr/bin/python3}
CHROMIUM=${CHROMIUM:-chromium}
command -v "$CHROMIUM" >/dev/null 2>&1 || { echo "check_render: $CHROMIUM not found (apt-get install chromium)" >&2; exit 2; }
[ -x "$PYTHON" ] || { echo "check_render: $PYTHON not found" >&2; exit 2; }

WORK=$(mktemp -d -t reusenet-render-XXXXXX)
trap 'rm -rf "$WORK"' EXIT INT TERM

if [ $# -ge 1 ]; then
    REPORT=$1
    [ -f "$REPORT" ] || { echo "check_render: $REPORT: no such file" >&2; exit 2; }
else
    [ -x "$BIN" ] || { echo "check_render: $BIN not built (make)" >&2; exit 2; }
    S=$WORK/study
    mkdir -p "$S/scans" "$S/bn" "$S/rmse" "$S/plans"
    "$BIN" data synth --preset acdc --patients 4 --size 64 --seed 1 -o "$WORK/acdc" >/dev/null
    "$BIN" init --arch unet --width 4 --seed 1 -o "$WORK/seg.safetensors" >/dev/null
    "$BIN" init --arch unet --width 4 --seed 2 --task auto -o "$WORK/auto.safetensors" >/dev/null
    "$BIN" swap --target "$WORK/seg.safetensors" --source "$WORK/auto.safetensors" \
        --data "$WORK/acdc" --size 32 --threads 1 --quiet -o "$S/scans/unet.csv" >/dev/null
    "$BIN" bnstats --target "$WORK/seg.safetensors" --source "$WORK/auto.safetensors" \
        -o "$S/bn/unet.csv" >/dev/null
    "$BIN" rmse "$WORK/seg.safetensors" "$WORK/auto.safetensors" -o "$S/rmse/unet.csv" >/dev/null 2>&1
    "$BIN" plan --scan "$S/scans/unet.csv" -o "$S/plans/unet.json" >/dev/null
    # Table 1 in the format reusenet transfer writes (a single-run row: empty sd and
    # intervals; random init: no difference), for its table, interval and forest figures
    mkdir -p "$S/transfer"
    cat > "$S/transfer/table.csv" <<'CSV'
n,configuration,runs,class_0,class_0_sd,class_1,class_1_sd,mean,mean_sd,mean_ci_lo,mean_ci_hi,delta_random,delta_ci_lo,delta_ci_hi,p_value
10,random init,6,0.9900,0.0100,0.6200,0.0500,0.7300,0.0300,0.6985,0.7615,,,,
10,T1_seg plan frozen,6,0.9900,0.0120,0.7000,0.0400,0.8100,0.0200,0.7890,0.8310,0.0800,0.0512,0.1088,0.03125
10,T1_seg all fine-tune,1,0.9800,,0.6900,,0.7700,,,,0.0400,,,
CSV
    REPORT=$WORK/report.html
    "$BIN" report "$S" -o "$REPORT" >/dev/null
    for id in table1-intervals table1-forest; do
        grep -q "id=\"$id\"" "$REPORT" || { echo "check_render: the report has no $id figure" >&2; exit 1; }
    done
fi

SHOT=$WORK/shot.png
case $REPORT in /*) URL=file://$REPORT ;; *) URL=file://$(pwd)/$REPORT ;; esac
mkdir -p "$WORK/profile"
timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$WORK/profile" \
    --hide-scrollbars --window-size=1280,2400 --screenshot="$SHOT" "$URL" >"$WORK/chromium.log" 2>&1 || {
    echo "check_render: chromium failed:" >&2
    tail -5 "$WORK/chromium.log" >&2
    exit 1
}
[ -s "$SHOT" ] || { echo "check_render: chromium wrote no screenshot" >&2; exit 1; }

# Decode the PNG (8-bit RGB/RGBA, non-interlaced, as Chromium writes it) with the standard
# library and look at its pixels.
"$PYTHON" - "$SHOT" <<'PY'
import struct, sys, zlib

data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, width = 8, b"", 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
        assert depth == 8 and colour in (2, 6) and interlace == 0, "unexpected PNG format"
        bpp = 3 if colour == 2 else 4
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
stride = width * bpp
prev = bytearray(stride)
non_white = blue = 0
colours = set()
for y in range(height):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp):
        r, g, bl = line[x], line[x + 1], line[x + 2]
        if r < 245 or g < 245 or bl < 245:
            non_white += 1
        if abs(r - 0x00) < 40 and abs(g - 0x72) < 40 and abs(bl - 0xB2) < 40:
            blue += 1
        if y % 8 == 0:
            colours.add((r >> 4, g >> 4, bl >> 4))
    prev = line
total = width * height
print("check_render: %dx%d screenshot, %.1f%% non-white, %d chart-blue pixels, %d colours"
      % (width, height, 100.0 * non_white / total, blue, len(colours)))
if non_white < 0.01 * total or blue < 200 or len(colours) < 8:
    print("check_render: the page looks blank or the charts did not render", file=sys.stderr)
    sys.exit(1)
print("check_render: the report rendered")
PY
