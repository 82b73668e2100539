#!/bin/sh
# The parameter-reuse study end to end on built-in synthetic data, at demo size:
# three synthetic datasets, a shared initialisation per architecture, segmentation and
# auto-encoder models on acdc (UNet and PSPNet), segmentation on t1 and rvsc (PSPNet),
# evaluation with overlays, swap scans (target acdc-seg, source acdc-auto), BN statistics,
# pairwise kernel RMSE and reuse plans (the UNet plan validated jointly). Everything lands in $DEMO_DIR (default build/demo);
# finished steps are skipped when run again.
set -eu
BIN=${BIN:-build/reusenet}
OUT=${DEMO_DIR:-build/demo}
SIZE=${DEMO_SIZE:-64}          # slices cropped to SIZE x SIZE
EPOCHS=${DEMO_EPOCHS:-4}
COMMON="--size $SIZE --batch 8 --lr 0.003 --seed 1 --quiet"

step() { printf '\n== %s\n' "$*"; }
mkdir -p "$OUT/data" "$OUT/init" "$OUT/runs" "$OUT/scans" "$OUT/bn" "$OUT/rmse" "$OUT/plans"

step "1/8 synthetic datasets"
for spec in "acdc 12" "t1 6" "rvsc 8"; do
    set -- $spec
    [ -f "$OUT/data/$1/dataset.cfg" ] || "$BIN" data synth --preset "$1" --patients "$2" --seed 1 --size 96 -o "$OUT/data/$1"
    "$BIN" data info "$OUT/data/$1" | head -6
done

step "2/8 shared initialisation (recorded as 'init' in every checkpoint)"
[ -f "$OUT/init/unet.safetensors" ] || "$BIN" init --arch unet --width 16 --seed 1 -o "$OUT/init/unet.safetensors"
[ -f "$OUT/init/pspnet.safetensors" ] || "$BIN" init --arch pspnet --seed 1 -o "$OUT/init/pspnet.safetensors"

train() {  # name arch task dataset
    if [ -f "$OUT/runs/$1/last.safetensors" ] && [ ! -f "$OUT/runs/$1/resume.safetensors" ]; then return; fi
    resume=""
    [ -f "$OUT/runs/$1/resume.safetensors" ] && resume="--resume"
    echo "training $1"
    "$BIN" train --arch "$2" --width 16 --task "$3" --data "$OUT/data/$4" --epochs "$EPOCHS" \
        --init-from "$OUT/init/$2.safetensors" $COMMON $resume -o "$OUT/runs/$1" || return 1
    tail -n 1 "$OUT/runs/$1/log.csv"
}
step "3/8 training"
train unet-acdc-seg unet seg acdc
train unet-acdc-auto unet auto acdc
train pspnet-acdc-seg pspnet seg acdc
train pspnet-acdc-auto pspnet auto acdc
train pspnet-t1-seg pspnet seg t1
train pspnet-rvsc-seg pspnet seg rvsc

step "4/8 evaluation and overlays"
for arch in unet pspnet; do
    "$BIN" eval --weights "$OUT/runs/$arch-acdc-seg/best.safetensors" --data "$OUT/data/acdc" --size "$SIZE" \
        --overlays "$OUT/overlays/$arch"
done

step "5/8 swap scans, BN statistics, kernel RMSE (target acdc-seg, source acdc-auto)"
for arch in unet pspnet; do
    T="$OUT/runs/$arch-acdc-seg/best.safetensors"; S="$OUT/runs/$arch-acdc-auto/best.safetensors"
    # two of the six validation patients keep the scans short: each row also runs the init and
    # random controls; the UNet scan recalibrates BN statistics after every swap too
    recal=""; [ $arch = unet ] && recal=--recalibrate
    "$BIN" swap --target "$T" --source "$S" --data "$OUT/data/acdc" --size "$SIZE" --val-count 2 \
        $recal -o "$OUT/scans/$arch-auto-to-seg.csv"
    "$BIN" bnstats --target "$T" --source "$S" -o "$OUT/bn/$arch-auto-to-seg.csv" > /dev/null
done
R="$OUT/runs"
"$BIN" rmse "$R/pspnet-acdc-seg/best.safetensors" "$R/pspnet-acdc-auto/best.safetensors" \
    "$R/pspnet-t1-seg/best.safetensors" "$R/pspnet-rvsc-seg/best.safetensors" \
    --names "seg ACDC,auto ACDC,seg T1,seg RVSC" -o "$OUT/rmse/pspnet.csv" > /dev/null
"$BIN" rmse "$R/unet-acdc-seg/best.safetensors" "$R/unet-acdc-auto/best.safetensors" \
    --names "seg ACDC,auto ACDC" -o "$OUT/rmse/unet.csv" > /dev/null

step "6/8 reuse plans"
"$BIN" plan --scan "$OUT/scans/pspnet-auto-to-seg.csv" -o "$OUT/plans/pspnet-auto-to-seg.json"
# the UNet plan validated jointly: whole, cumulative in layer order, greedy (2 candidates a round)
"$BIN" plan --scan "$OUT/scans/unet-auto-to-seg.csv" --validate \
    --target "$OUT/runs/unet-acdc-seg/best.safetensors" --source "$OUT/runs/unet-acdc-auto/best.safetensors" \
    --data "$OUT/data/acdc" --size "$SIZE" --val-count 2 --candidates 2 -o "$OUT/plans/unet-auto-to-seg.json"
# the interval rule: reusable only when the whole 95% interval of the drop is within tau
"$BIN" plan --scan "$OUT/scans/unet-auto-to-seg.csv" --rule ci -o "$OUT/plans/unet-auto-to-seg-ci.json"

step "7/8 transfer experiment (Table 1, reduced: n = 4, one seed)"
# As in the paper, one plan (PSPNet, auto-encoder -> segmentation on acdc) selects the
# tensors reused from every source.
PLAN="$OUT/plans/pspnet-auto-to-seg.json"
cat > "$OUT/study.cfg" <<CFG
target: $OUT/data/acdc
arch: pspnet
n: 4
seeds: 1
epochs: $EPOCHS
batch: 8
size: $SIZE
lr: 0.003
source: T1 seg | $R/pspnet-t1-seg/best.safetensors | $PLAN
source: ACDC auto | $R/pspnet-acdc-auto/best.safetensors | $PLAN
source: RVSC seg | $R/pspnet-rvsc-seg/best.safetensors | $PLAN
CFG
"$BIN" transfer --config "$OUT/study.cfg" -o "$OUT"
cat "$OUT/transfer/table.md"

step "8/8 report"
mkdir -p "$OUT/overlays"
for arch in unet pspnet; do
    n=$(ls "$OUT/overlays/$arch" | wc -l); first=$(ls "$OUT/overlays/$arch" | sed -n "$(( (n + 1) / 2 ))p")
    [ -n "$first" ] && cp "$OUT/overlays/$arch/$first" "$OUT/overlays/$arch-acdc-seg.png"
done
"$BIN" report "$OUT" -o "$OUT/report.html"

printf '\nThe study is in %s; open %s/report.html\n' "$OUT" "$OUT"
