#!/bin/sh
# `make study`: the paper's questions answered with intervals on one 2-core machine in about
# an hour and a half (docs/FINDINGS.md holds what it found). Sizes were chosen by measurement
# (FINDINGS.md, "How the regime was chosen"):
#   * synthetic ACDC at noise 10 (the target: a PSPNet from random init on 10 patients ends
#     near 0.75 mean Dice, below the ceiling of about 0.89, as the paper's 0.73), and at
#     noise 1 for a second, easy difficulty; synthetic T1 (30 patients) as the other dataset;
#   * 64x64 slices; sources trained 6 epochs on their full training split;
#   * swap scans with the init and random controls and bootstrap intervals (10 validation
#     patients), UNet and PSPNet (auto-encoder -> segmentation on ACDC, as the paper);
#   * Table 1 (PSPNet): random init, random frozen encoder, and from each source (T1 seg,
#     T1 auto: the paper's best) the plan frozen, the plan fine-tuned and everything fine-tuned; n = 10
#     (6 epochs) and n = 50 (2 epochs); 5 runs, run r with seed r and its own draw of the
#     n patients; validation after the last epoch only;
#   * the easy target: n = 10, T1 seg, random / freeze / fine-tune / all fine-tune;
#   * aligned kernel RMSE, CKA and LogME of the sources, and the report.
# Everything lands in $STUDY_DIR (default build/study); finished steps are
# skipped and training resumes, so the command can be interrupted and run again. With
# MPIRUN="mpirun -np R" (and the MPI=1 build) the transfer runs are spread over the ranks.
# On real data: make study ACDC=/path/to/ACDC/training [T1=/path/to/T1] (README "make study").
set -eu
BIN=${BIN:-build/reusenet}
MPIRUN=${MPIRUN:-}
OUT=${STUDY_DIR:-build/study}
SIZE=${STUDY_SIZE:-64}
NOISE=${STUDY_NOISE:-10}           # the target's difficulty
EASY_NOISE=${STUDY_EASY_NOISE:-1}  # the second difficulty
SRC_EPOCHS=${STUDY_SOURCE_EPOCHS:-6}
EPOCHS=${STUDY_EPOCHS:-6 2}        # per n
N=${STUDY_N:-10 50}
RUNS=${STUDY_RUNS:-5}
PATIENTS=${STUDY_PATIENTS:-}       # empty: the presets' sizes (acdc 100)
T1_PATIENTS=${STUDY_T1_PATIENTS:-30}   # t1 has 55 slices a patient: 30 give 1100 training slices
VAL=${STUDY_SCAN_VAL:-10}          # validation patients of the swap scans and CKA
ACDC=${ACDC:-}                     # a real ACDC training folder instead of synthetic data
T1=${T1:-}                         # a real T1 dataset folder (dataset.cfg with preset t1)
COMMON="--size $SIZE --batch 8 --lr 0.001 --seed 1 --quiet"

step() { printf '\n== %s  (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }
mkdir -p "$OUT/data" "$OUT/init" "$OUT/runs" "$OUT/scans" "$OUT/bn" "$OUT/rmse" "$OUT/plans" \
    "$OUT/sources" "$OUT/cka" "$OUT/transferability" "$OUT/overlays"
START=$(date +%s)
{
    echo "settings: SIZE=$SIZE NOISE=$NOISE EASY_NOISE=$EASY_NOISE SRC_EPOCHS=$SRC_EPOCHS EPOCHS='$EPOCHS' N='$N' RUNS=$RUNS PATIENTS='$PATIENTS' T1_PATIENTS=$T1_PATIENTS VAL=$VAL MPIRUN='$MPIRUN' ACDC='$ACDC' T1='$T1'"
    echo "started: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    "$BIN" --version
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
} > "$OUT/machine.txt"

step "1/8 datasets (synthetic unless ACDC=...)"
synth() {  # name preset noise [patients]
    [ -f "$OUT/data/$1/dataset.cfg" ] && return
    p=""; [ -n "${4:-$PATIENTS}" ] && p="--patients ${4:-$PATIENTS}"
    "$BIN" data synth --preset "$2" --noise "$3" --size 96 --seed 1 $p -o "$OUT/data/$1"
}
if [ -n "$ACDC" ]; then
    [ -e "$OUT/data/acdc" ] || ln -s "$(cd "$ACDC" && pwd)" "$OUT/data/acdc"
else
    synth acdc acdc "$NOISE"
fi
synth acdc-easy acdc "$EASY_NOISE"
if [ -n "$T1" ]; then
    [ -e "$OUT/data/t1" ] || ln -s "$(cd "$T1" && pwd)" "$OUT/data/t1"
else
    synth t1 t1 1 "$T1_PATIENTS"
fi
for d in acdc acdc-easy t1; do "$BIN" data info "$OUT/data/$d" | sed -n '1p;5,6p'; done

step "2/8 shared initialisation and source models ($SRC_EPOCHS epochs each)"
[ -f "$OUT/init/unet.safetensors" ] || "$BIN" init --arch unet --width 32 --seed 1 -o "$OUT/init/unet.safetensors"
[ -f "$OUT/init/pspnet.safetensors" ] || "$BIN" init --arch pspnet --seed 1 -o "$OUT/init/pspnet.safetensors"
train() {  # name arch task dataset
    d="$OUT/runs/$1"
    if [ -f "$d/last.safetensors" ] && [ "$(($(wc -l < "$d/log.csv") - 1))" -ge "$SRC_EPOCHS" ]; then return; fi
    resume=""; [ -f "$d/resume.safetensors" ] && resume="--resume"
    echo "training $1"
    $MPIRUN "$BIN" train --arch "$2" --width 32 --task "$3" --data "$OUT/data/$4" --epochs "$SRC_EPOCHS" \
        --init-from "$OUT/init/$2.safetensors" $COMMON $resume -o "$d"
    tail -n 1 "$d/log.csv"
}
for arch in pspnet unet; do
    train "$arch-acdc-seg" "$arch" seg acdc
    train "$arch-acdc-auto" "$arch" auto acdc
done
train pspnet-t1-seg pspnet seg t1
train pspnet-t1-auto pspnet auto t1
R="$OUT/runs"
cp "$R/pspnet-t1-seg/best.safetensors" "$OUT/sources/T1_seg.safetensors"
cp "$R/pspnet-t1-auto/best.safetensors" "$OUT/sources/T1_auto.safetensors"

step "3/8 swap scans with controls and intervals, BN statistics, kernel RMSE"
for arch in pspnet unet; do
    T="$R/$arch-acdc-seg/best.safetensors"; S="$R/$arch-acdc-auto/best.safetensors"
    [ -f "$OUT/scans/$arch-auto-to-seg.csv" ] || "$BIN" swap --target "$T" --source "$S" \
        --init "$OUT/init/$arch.safetensors" --data "$OUT/data/acdc" --size "$SIZE" \
        --val-count "$VAL" --quiet -o "$OUT/scans/$arch-auto-to-seg.csv"
    "$BIN" bnstats --target "$T" --source "$S" -o "$OUT/bn/$arch-auto-to-seg.csv" > /dev/null
    "$BIN" rmse "$T" "$S" --names "seg ACDC,auto ACDC" -o "$OUT/rmse/$arch.csv" > /dev/null
    "$BIN" eval --weights "$T" --data "$OUT/data/acdc" --val-count "$VAL" --overlays "$OUT/overlays/$arch" > /dev/null
done

step "4/8 reuse plans (the paper's rule and the interval rule)"
for arch in pspnet unet; do
    "$BIN" plan --scan "$OUT/scans/$arch-auto-to-seg.csv" -o "$OUT/plans/$arch-auto-to-seg.json"
    "$BIN" plan --scan "$OUT/scans/$arch-auto-to-seg.csv" --rule ci -o "$OUT/plans/$arch-auto-to-seg-ci.json"
done

study_cfg() {  # target n epochs configs sources...
    printf 'target: %s\narch: pspnet\nn: %s\nepochs: %s\nseeds: %s\nsubsets: per-seed\nconfigs: %s\nbatch: 8\nsize: %s\nlr: 0.001\n' \
        "$1" "$2" "$3" "$RUNS" "$4" "$SIZE"
    shift 4
    for s in "$@"; do
        printf 'source: %s | %s/sources/%s.safetensors | %s/plans/pspnet-auto-to-seg.json\n' "$s" "$OUT" "$s" "$OUT"
    done
}
step "5/8 transfer experiment: Table 1 with intervals (n = $N, $RUNS runs each)"
study_cfg "$OUT/data/acdc" "$N" "$EPOCHS" "random, random frozen encoder, freeze, fine-tune, all fine-tune" \
    T1_seg T1_auto > "$OUT/study.cfg"
$MPIRUN "$BIN" transfer --config "$OUT/study.cfg" -o "$OUT"
cat "$OUT/transfer/table.md"

step "6/8 the second difficulty: the easy target (noise $EASY_NOISE), n = ${N%% *}"
mkdir -p "$OUT/easy"
study_cfg "$OUT/data/acdc-easy" "${N%% *}" "${EPOCHS%% *}" "random, freeze, fine-tune, all fine-tune" \
    T1_seg > "$OUT/easy/study.cfg"
$MPIRUN "$BIN" transfer --config "$OUT/easy/study.cfg" -o "$OUT/easy"
cat "$OUT/easy/transfer/table.md"

step "7/8 will a source help? aligned RMSE, CKA, LogME and LEEP of the sources"
T="$R/pspnet-acdc-seg/best.safetensors"
for s in T1_seg T1_auto; do
    "$BIN" rmse "$T" "$OUT/sources/$s.safetensors" --names "target,$s" --align \
        -o "$OUT/rmse/target-$s.csv" > /dev/null
    [ -f "$OUT/cka/$s.csv" ] || "$BIN" cka --target "$T" --source "$OUT/sources/$s.safetensors" \
        --data "$OUT/data/acdc" --size "$SIZE" --val-count "$VAL" --pixels 2048 -o "$OUT/cka/$s.csv" > /dev/null
done
[ -f "$OUT/transferability/pspnet.csv" ] || "$BIN" transferability --source "$OUT/sources/T1_seg.safetensors" \
    "$OUT/sources/T1_auto.safetensors" --data "$OUT/data/acdc" --size "$SIZE" \
    -o "$OUT/transferability/pspnet.csv" > /dev/null

step "8/8 report"
for arch in unet pspnet; do
    n=$(ls "$OUT/overlays/$arch" | wc -l); first=$(ls "$OUT/overlays/$arch" | sed -n "$(( (n + 1) / 2 ))p")
    [ -n "$first" ] && cp "$OUT/overlays/$arch/$first" "$OUT/overlays/$arch-acdc-seg.png"
done
"$BIN" report "$OUT" -o "$OUT/report.html"
"$BIN" report "$OUT/easy" -o "$OUT/easy/report.html" > /dev/null
{
    echo "finished: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "wall time of this invocation: $(( ($(date +%s) - START) / 60 )) min"
} >> "$OUT/machine.txt"
cat "$OUT/machine.txt"
printf '\nopen %s/report.html\n' "$OUT"
