#!/bin/sh
# How long `make reproduce` (and `make study`) will take on this machine: times a training
# step and an eval forward of each model with `reusenet bench` (about a minute; run it on an
# otherwise idle machine, the timings are what it measures), then adds up every training
# run's steps and validation passes. Slice counts are the synthetic presets' (reusenet data
# info): acdc 100 patients, 18.2 slices each, split 50/50; t1 55 slices a patient, split
# 2/3 : 1/3 (90 patients in make reproduce, 30 in make study); rvsc 32 patients, 15.4
# slices each, split 16/16.
#   sh tools/estimate.sh            (the settings are the scripts' own, read from them)
#   MS="311 94 1587 491 144 41 139 35" sh tools/estimate.sh    (times already measured, in
#   the order printed below: no measuring)
set -eu
HERE=$(dirname "$0")
BIN=${BIN:-build/reusenet}
# The scripts' own settings, so that the estimate follows them (and their environment
# overrides, STUDY_EPOCHS=... or EPOCHS=..., as the scripts would): every top-level
# `NAME=${VAR:-value}` or `NAME="value"` line of a script, NAME given a prefix.
settings() {  # PREFIX SCRIPT
    sed -n 's/^\([A-Z][A-Z0-9_]*\)=\(\${[A-Z0-9_]*:-[^}]*}\|"[^"$]*"\).*$/'"$1"'\1=\2/p' "$2"
}
eval "$(settings S_ "$HERE/study.sh")"
eval "$(settings R_ "$HERE/reproduce.sh")"
# configurations CONFIGS SOURCES: how many a study.cfg makes ("random" and "random frozen
# encoder" once, every other configuration once per source)
configurations() {
    echo "$1" | tr ',' '\n' | awk -v s="$2" '{ gsub(/^ +| +$/, "") }
        $0 != "" { n += ($0 == "random" || $0 == "random frozen encoder") ? 1 : s } END { print n }'
}
R_CONFIGS=$(configurations "$R_TABLE1_CONFIGS" "$(grep -c '^source:' "$HERE/reproduce.sh")")
S_CONFIGS=$(configurations "$S_TABLE1_CONFIGS" "$(echo $S_TABLE1_SOURCES | wc -w)")
S_EASY=$(configurations "$S_EASY_CONFIGS" "$(echo $S_EASY_SOURCES | wc -w)")

ms() {  # mode arch size [width]: median milliseconds of a batch of 8
    "$BIN" bench "$1" --arch "$2" --size "$3" --width "${4:-32}" --batch 8 --iters 5 --warmup 1 |
        awk '$1 == "median_ms" { print $2 }'
}
if [ -n "${MS:-}" ]; then
    set -- $MS
    P128=$1 F128=$2 U128=$3 V128=$4 P64=$5 F64=$6 U64=$7 V64=$8
else
    echo "measuring a training step and an eval forward (batch 8) of each model ..."
    P128=$(ms train-step pspnet 128); F128=$(ms forward pspnet 128)
    U128=$(ms train-step unet 128 64); V128=$(ms forward unet 128 64)
    P64=$(ms train-step pspnet 64); F64=$(ms forward pspnet 64)
    U64=$(ms train-step unet 64 32); V64=$(ms forward unet 64 32)
fi
printf 'ms per batch of 8: PSPNet 128: step %s, forward %s; UNet F=64 128: %s, %s; PSPNet 64: %s, %s; UNet F=32 64: %s, %s\n' \
    "$P128" "$F128" "$U128" "$V128" "$P64" "$F64" "$U64" "$V64"

set -- $S_N
S_N10=$1 S_N50=$2
set -- $S_EPOCHS
S_E10=$1 S_E50=$2
awk -v E="$R_EPOCHS" -v S="$R_SEEDS" -v RC="$R_CONFIGS" -v p="$P128" -v f="$F128" -v u="$U128" \
    -v v="$V128" -v p64="$P64" -v f64="$F64" -v u64="$U64" -v v64="$V64" -v se="$S_SRC_EPOCHS" \
    -v n10="$S_N10" -v n50="$S_N50" -v e10="$S_E10" -v e50="$S_E50" -v runs="$S_RUNS" \
    -v sc="$S_CONFIGS" -v easy="$S_EASY" -v t1p="$S_T1_PATIENTS" '
# seconds of a run: epochs x (steps x step + validations x val_slices / 8 x forward). A
# training step of a run costs about 1.4x the bench step (augmentation, batching, Adam;
# measured: times.csv train_seconds / steps against reusenet bench, PSPNet 64x64)
function run(epochs, train, val, step, fwd, validations) {
    return epochs * int(train / 8) * 1.4 * step / 1000 + validations * val / 8 * fwd / 1000
}
BEGIN {
    # the presets: acdc 18.2 slices a patient, 50 training patients; t1 55 a patient, 2/3 training
    acdc = 910; acdc_val = 908; t1 = 3300; t1_val = 1650; rvsc = 246; rvsc_val = 246
    # make reproduce: every source validates each epoch; transfer runs after the last only
    src = 2 * run(E, acdc, acdc_val, u, v, E) + 2 * run(E, acdc, acdc_val, p, f, E) \
        + 2 * run(E, t1, t1_val, p, f, E) + run(E, rvsc, rvsc_val, p, f, E)
    tr = RC * S * (run(E, 182, acdc_val, p, f, 1) + run(E, 910, acdc_val, p, f, 1))
    printf "make reproduce (EPOCHS=%d SEEDS=%d, %d configurations): sources %.1f h, transfer %.1f h, total %.1f h (+ swap scans)\n", \
        E, S, RC, src / 3600, tr / 3600, (src + tr) / 3600
    # make study: UNet and PSPNet seg and auto on acdc, PSPNet seg and auto on t1; Table 1
    # at n = n10 and n50, and the easy target at n10
    t1s = int(t1p * 55 * 2 / 3)
    src = run(se, acdc, acdc_val, u64, v64, se) * 2 + run(se, acdc, acdc_val, p64, f64, se) * 2 \
        + run(se, t1s, t1s / 2, p64, f64, se) * 2
    tr = sc * runs * (run(e10, n10 * 18.2, acdc_val, p64, f64, 1) + run(e50, n50 * 18.2, acdc_val, p64, f64, 1)) \
        + easy * runs * run(e10, n10 * 18.2, acdc_val, p64, f64, 1)
    printf "make study (%d + %d configurations x %d runs): sources %.0f min, transfer %.0f min, total %.0f min (+ swap scans)\n", \
        sc, easy, runs, src / 60, tr / 60, (src + tr) / 60
}'
