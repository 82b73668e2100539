#!/bin/sh
# How long `make reproduce` (and `make study`) will take on this machine: times a training
# step and an eval forward of each model with `reusenet bench` (about a minute; run it on an
# otherwise idle machine, the timings are what it measures), then adds up every training
# run's steps and validation passes. Slice counts are the synthetic presets' (reusenet data
# info): acdc 100 patients, 18.2 slices each, split 50/50; t1 55 slices a patient, split
# 2/3 : 1/3 (90 patients in make reproduce, 30 in make study); rvsc 32 patients, 15.4
# slices each, split 16/16.
#   sh tools/estimate.sh            (EPOCHS, SEEDS and the study's settings as in the scripts)
#   MS="311 94 1587 491 144 41 139 35" sh tools/estimate.sh    (times already measured, in
#   the order printed below: no measuring)
set -eu
BIN=${BIN:-build/reusenet}
EPOCHS=${EPOCHS:-40}    # make reproduce
SEEDS=${SEEDS:-3}

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

awk -v E="$EPOCHS" -v S="$SEEDS" -v p="$P128" -v f="$F128" -v u="$U128" -v v="$V128" \
    -v p64="$P64" -v f64="$F64" -v u64="$U64" -v v64="$V64" '
# seconds of a run: epochs x (steps x step + validations x val_slices / 8 x forward). A
# training step of a run costs about 1.4x the bench step (augmentation, batching, Adam;
# measured: times.csv train_seconds / steps against reusenet bench, PSPNet 64x64)
function run(epochs, train, val, step, fwd, validations) {
    return epochs * int(train / 8) * 1.4 * step / 1000 + validations * val / 8 * fwd / 1000
}
BEGIN {
    acdc = 910; acdc_val = 908; t1 = 3300; t1_val = 1650; rvsc = 246; rvsc_val = 246
    n10 = 182; n50 = 910
    # make reproduce: every source validates each epoch; transfer runs after the last only
    src = 2 * run(E, acdc, acdc_val, u, v, E) + 2 * run(E, acdc, acdc_val, p, f, E) \
        + 2 * run(E, t1, t1_val, p, f, E) + run(E, rvsc, rvsc_val, p, f, E)
    runs = 7 * S                       # random + 3 sources x (freeze, fine-tune), per n
    tr = runs * (run(E, n10, acdc_val, p, f, 1) + run(E, n50, acdc_val, p, f, 1))
    printf "make reproduce (EPOCHS=%d SEEDS=%d): sources %.1f h, transfer %.1f h, total %.1f h (+ swap scans)\n", \
        E, S, src / 3600, tr / 3600, (src + tr) / 3600
    # make study: 6 source epochs; Table 1 8 configurations x 5 runs at n = 10 (6 epochs)
    # and n = 50 (2 epochs); the easy target 4 configurations x 5 runs at n = 10
    src = run(6, acdc, acdc_val, u64, v64, 6) * 2 + run(6, acdc, acdc_val, p64, f64, 6) * 2 \
        + run(6, 1100, 550, p64, f64, 6) * 2
    tr = 40 * (run(6, n10, acdc_val, p64, f64, 1) + run(2, n50, acdc_val, p64, f64, 1)) \
        + 20 * run(6, n10, acdc_val, p64, f64, 1)
    printf "make study: sources %.0f min, transfer %.0f min, total %.0f min (+ swap scans)\n", \
        src / 60, tr / 60, (src + tr) / 60
}'
