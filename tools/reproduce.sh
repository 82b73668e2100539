#!/bin/sh
# The paper-sized study (see README, "Reproducing the paper"): the datasets at the paper's
# sizes (acdc 100, t1 90, rvsc 32 patients), 128x128 slices, UNet F=64 and PSPNet, every
# model the figures need, the swap scans, BN statistics, RMSE between all PSPNet models,
# the plan, the transfer experiment (n = 10 and 50, 3 seeds) and the report, in
# $STUDY_DIR (default build/study). Every step is skipped when its output exists and
# training resumes where it stopped, so the command can be interrupted and run again.
# With MPIRUN="mpirun -np R" (and the MPI=1 build: `make reproduce MPI=1 MPIRUN=...`) each
# training runs data-parallel on R ranks and the transfer experiment spreads its runs over
# them (README "Past one machine: Open MPI"); the scans and the rest run on one.
set -eu
. "$(dirname "$0")/lib.sh"
OUT=${STUDY_DIR:-build/study}
EPOCHS=${EPOCHS:-40}
SEEDS=${SEEDS:-3}
TABLE1_CONFIGS="random, freeze, fine-tune"   # per source line of study.cfg below (estimate.sh reads both)
COMMON="--size 128 --batch 8 --lr 0.001 --seed 1"

mkdir -p "$OUT/data" "$OUT/init" "$OUT/runs" "$OUT/scans" "$OUT/bn" "$OUT/rmse" "$OUT/plans" "$OUT/overlays"

step "datasets"
for p in acdc t1 rvsc; do
    [ -f "$OUT/data/$p/dataset.cfg" ] || "$BIN" data synth --preset "$p" --seed 1 -o "$OUT/data/$p"
done

step "shared initialisation and training"
acdc_models 64 "$EPOCHS" unet pspnet
train_seg_auto pspnet-t1 pspnet "$OUT/data/t1" "$EPOCHS" --width 64
train_run pspnet-rvsc-seg pspnet seg "$OUT/data/rvsc" "$EPOCHS" --width 64

step "swap scans, BN statistics, RMSE, plans"
R="$OUT/runs"
for arch in unet pspnet; do
    T="$R/$arch-acdc-seg/best.safetensors"; S="$R/$arch-acdc-auto/best.safetensors"
    [ -f "$OUT/scans/$arch-auto-to-seg.csv" ] || "$BIN" swap --target "$T" --source "$S" --data "$OUT/data/acdc" -o "$OUT/scans/$arch-auto-to-seg.csv"
    "$BIN" bnstats --target "$T" --source "$S" -o "$OUT/bn/$arch-auto-to-seg.csv" > /dev/null
    "$BIN" plan --scan "$OUT/scans/$arch-auto-to-seg.csv" -o "$OUT/plans/$arch-auto-to-seg.json"
    "$BIN" eval --weights "$T" --data "$OUT/data/acdc" --overlays "$OUT/overlays/$arch"
done
"$BIN" rmse "$R/pspnet-acdc-seg/best.safetensors" "$R/pspnet-acdc-auto/best.safetensors" \
    "$R/pspnet-t1-seg/best.safetensors" "$R/pspnet-t1-auto/best.safetensors" "$R/pspnet-rvsc-seg/best.safetensors" \
    --names "seg ACDC,auto ACDC,seg T1,auto T1,seg RVSC" -o "$OUT/rmse/pspnet.csv" > /dev/null
"$BIN" rmse "$R/unet-acdc-seg/best.safetensors" "$R/unet-acdc-auto/best.safetensors" \
    --names "seg ACDC,auto ACDC" -o "$OUT/rmse/unet.csv" > /dev/null

step "transfer experiment (Table 1)"
PLAN="$OUT/plans/pspnet-auto-to-seg.json"
cat > "$OUT/study.cfg" <<CFG
target: $OUT/data/acdc
arch: pspnet
n: 10 50
seeds: $SEEDS
epochs: $EPOCHS
configs: $TABLE1_CONFIGS
batch: 8
size: 128
lr: 0.001
source: T1 seg | $R/pspnet-t1-seg/best.safetensors | $PLAN
source: T1 auto | $R/pspnet-t1-auto/best.safetensors | $PLAN
source: RVSC seg | $R/pspnet-rvsc-seg/best.safetensors | $PLAN
CFG
$MPIRUN "$BIN" transfer --config "$OUT/study.cfg" -o "$OUT"

step "report"
pick_overlay unet
pick_overlay pspnet
"$BIN" report "$OUT" -o "$OUT/report.html"
printf '\nopen %s/report.html\n' "$OUT"
