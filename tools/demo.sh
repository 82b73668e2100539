#!/bin/sh
# The parameter-reuse study end to end on built-in synthetic data, at demo size:
# three synthetic datasets, a shared initialisation per architecture, segmentation and
# auto-encoder models on acdc (UNet and PSPNet), segmentation on t1 and rvsc (PSPNet),
# evaluation with overlays, swap scans (target acdc-seg, source acdc-auto), BN statistics,
# pairwise kernel RMSE and reuse plans (the UNet plan validated jointly). Everything lands in $DEMO_DIR (default build/demo);
# finished steps are skipped when run again.
set -eu
. "$(dirname "$0")/lib.sh"
MPIRUN=""
OUT=${DEMO_DIR:-build/demo}
SIZE=${DEMO_SIZE:-64}          # slices cropped to SIZE x SIZE
EPOCHS=${DEMO_EPOCHS:-4}
COMMON="--size $SIZE --batch 8 --lr 0.003 --seed 1 --quiet"

mkdir -p "$OUT/data" "$OUT/init" "$OUT/runs" "$OUT/scans" "$OUT/bn" "$OUT/rmse" "$OUT/plans"

step "1/9 synthetic datasets"
for spec in "acdc 12" "t1 6" "rvsc 8"; do
    set -- $spec
    [ -f "$OUT/data/$1/dataset.cfg" ] || "$BIN" data synth --preset "$1" --patients "$2" --seed 1 --size 96 -o "$OUT/data/$1"
    "$BIN" data info "$OUT/data/$1" | head -6
done

step "2/9 shared initialisation (recorded as 'init' in every checkpoint) and training"
acdc_models 16 "$EPOCHS" unet pspnet
train_run pspnet-t1-seg pspnet seg "$OUT/data/t1" "$EPOCHS" --width 16
train_run pspnet-rvsc-seg pspnet seg "$OUT/data/rvsc" "$EPOCHS" --width 16

step "3/9 evaluation and overlays"
for arch in unet pspnet; do
    "$BIN" eval --weights "$OUT/runs/$arch-acdc-seg/best.safetensors" --data "$OUT/data/acdc" --size "$SIZE" \
        --overlays "$OUT/overlays/$arch"
done

step "4/9 swap scans, BN statistics, kernel RMSE (target acdc-seg, source acdc-auto)"
for arch in unet pspnet; do
    T="$OUT/runs/$arch-acdc-seg/best.safetensors"; S="$OUT/runs/$arch-acdc-auto/best.safetensors"
    # two of the six validation patients keep the scans short. The UNet scan runs the init
    # and random controls with every row and recalibrates BN statistics after every swap;
    # PSPNet's is the paper's plain scan (its controls tripled the demo's longest step)
    extra="--no-controls"; [ $arch = unet ] && extra=--recalibrate
    "$BIN" swap --target "$T" --source "$S" --data "$OUT/data/acdc" --size "$SIZE" --val-count 2 \
        $extra -o "$OUT/scans/$arch-auto-to-seg.csv"
    "$BIN" bnstats --target "$T" --source "$S" -o "$OUT/bn/$arch-auto-to-seg.csv" > /dev/null
done
R="$OUT/runs"
"$BIN" rmse "$R/pspnet-acdc-seg/best.safetensors" "$R/pspnet-acdc-auto/best.safetensors" \
    "$R/pspnet-t1-seg/best.safetensors" "$R/pspnet-rvsc-seg/best.safetensors" \
    --names "seg ACDC,auto ACDC,seg T1,seg RVSC" -o "$OUT/rmse/pspnet.csv" > /dev/null
"$BIN" rmse "$R/unet-acdc-seg/best.safetensors" "$R/unet-acdc-auto/best.safetensors" \
    --names "seg ACDC,auto ACDC" -o "$OUT/rmse/unet.csv" > /dev/null

step "5/9 reuse plans"
"$BIN" plan --scan "$OUT/scans/pspnet-auto-to-seg.csv" -o "$OUT/plans/pspnet-auto-to-seg.json"
# the UNet plan validated jointly: whole, cumulative in layer order, greedy (2 candidates a round)
"$BIN" plan --scan "$OUT/scans/unet-auto-to-seg.csv" --validate \
    --target "$OUT/runs/unet-acdc-seg/best.safetensors" --source "$OUT/runs/unet-acdc-auto/best.safetensors" \
    --data "$OUT/data/acdc" --size "$SIZE" --val-count 2 --candidates 2 -o "$OUT/plans/unet-auto-to-seg.json"
# the interval rule: reusable only when the whole 95% interval of the drop is within tau
"$BIN" plan --scan "$OUT/scans/unet-auto-to-seg.csv" --rule ci -o "$OUT/plans/unet-auto-to-seg-ci.json"

step "6/9 transfer experiment (Table 1, reduced: n = 4, one seed)"
# As in the paper, one plan (PSPNet, auto-encoder -> segmentation on acdc) selects the
# tensors reused from every source.
PLAN="$OUT/plans/pspnet-auto-to-seg.json"
# the sources under their Table 1 names: the report's predictors look them up by name
mkdir -p "$OUT/sources"
for s in T1_seg:t1-seg ACDC_auto:acdc-auto RVSC_seg:rvsc-seg; do
    cp "$R/pspnet-${s#*:}/best.safetensors" "$OUT/sources/${s%%:*}.safetensors"
done
cat > "$OUT/study.cfg" <<CFG
target: $OUT/data/acdc
arch: pspnet
n: 4
seeds: 1
epochs: $EPOCHS
batch: 8
size: $SIZE
lr: 0.003
source: T1_seg | $OUT/sources/T1_seg.safetensors | $PLAN
source: ACDC_auto | $OUT/sources/ACDC_auto.safetensors | $PLAN
source: RVSC_seg | $OUT/sources/RVSC_seg.safetensors | $PLAN
CFG
"$BIN" transfer --config "$OUT/study.cfg" -o "$OUT"
cat "$OUT/transfer/table.md"

step "7/9 will a source help? (aligned RMSE, CKA, LogME and LEEP of the Table 1 sources)"
mkdir -p "$OUT/cka" "$OUT/transferability"
T="$R/pspnet-acdc-seg/best.safetensors"
for s in T1_seg ACDC_auto RVSC_seg; do
    "$BIN" rmse "$T" "$OUT/sources/$s.safetensors" --names "target,$s" --align \
        -o "$OUT/rmse/target-$s.csv" > /dev/null
    "$BIN" cka --target "$T" --source "$OUT/sources/$s.safetensors" --data "$OUT/data/acdc" \
        --size "$SIZE" --val-count 2 --pixels 512 -o "$OUT/cka/$s.csv" > /dev/null
done
"$BIN" transferability --source "$OUT/sources/T1_seg.safetensors" "$OUT/sources/ACDC_auto.safetensors" \
    "$OUT/sources/RVSC_seg.safetensors" --data "$OUT/data/acdc" --size "$SIZE" --pixels 2048 \
    -o "$OUT/transferability/pspnet.csv"

step "8/9 segmenting a new scan and scoring it (predict, eval --pred/--gt)"
P=$(ls "$OUT/data/acdc" | grep -v dataset.cfg | tail -n 1)
rm -rf "$OUT/predict" && mkdir -p "$OUT/predict"
"$BIN" predict --weights "$R/unet-acdc-seg/best.safetensors" --input "$OUT/data/acdc/$P" \
    -o "$OUT/predict/$P" --quiet
"$BIN" eval --pred "$OUT/predict/$P" --gt "$OUT/data/acdc/$P" -o "$OUT/predict/metrics.csv"

step "9/9 report"
mkdir -p "$OUT/overlays"
pick_overlay unet
pick_overlay pspnet
"$BIN" report "$OUT" -o "$OUT/report.html"

printf '\nThe study is in %s; open %s/report.html\n' "$OUT" "$OUT"
