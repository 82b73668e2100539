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
. "$(dirname "$0")/lib.sh"
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
# Table 1's configurations and sources, and the easy target's (tools/estimate.sh reads these)
TABLE1_CONFIGS="random, random frozen encoder, freeze, fine-tune, all fine-tune"
TABLE1_SOURCES="T1_seg T1_auto"
EASY_CONFIGS="random, freeze, fine-tune, all fine-tune"
EASY_SOURCES="T1_seg"
COMMON="--size $SIZE --batch 8 --lr 0.001 --seed 1 --quiet"

mkdir -p "$OUT/data" "$OUT/init" "$OUT/runs" "$OUT/scans" "$OUT/bn" "$OUT/rmse" "$OUT/plans" \
    "$OUT/sources" "$OUT/cka" "$OUT/transferability" "$OUT/overlays"
START=$(date +%s)
machine_header "SIZE=$SIZE NOISE=$NOISE EASY_NOISE=$EASY_NOISE SRC_EPOCHS=$SRC_EPOCHS EPOCHS='$EPOCHS' N='$N' RUNS=$RUNS PATIENTS='$PATIENTS' T1_PATIENTS=$T1_PATIENTS VAL=$VAL MPIRUN='$MPIRUN' ACDC='$ACDC' T1='$T1'" \
    > "$OUT/machine.txt"

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
acdc_models 32 "$SRC_EPOCHS" pspnet unet
train_seg_auto pspnet-t1 pspnet "$OUT/data/t1" "$SRC_EPOCHS" --width 32
R="$OUT/runs"
cp "$R/pspnet-t1-seg/best.safetensors" "$OUT/sources/T1_seg.safetensors"
cp "$R/pspnet-t1-auto/best.safetensors" "$OUT/sources/T1_auto.safetensors"

step "3/8 swap scans with controls and intervals, BN statistics, kernel RMSE"
for arch in pspnet unet; do
    scan_auto_to_seg "$arch" "$OUT/data/acdc"
    "$BIN" eval --weights "$R/$arch-acdc-seg/best.safetensors" --data "$OUT/data/acdc" --val-count "$VAL" \
        --overlays "$OUT/overlays/$arch" > /dev/null
done

step "4/8 reuse plans (the paper's rule and the interval rule)"
make_plans pspnet unet

study_cfg() {  # target n epochs configs sources...
    study_header "$1" "$2" "$3" "$RUNS" "$4" "$SIZE"
    shift 4
    for s in "$@"; do study_source "$s" "$OUT/sources/$s.safetensors" "$OUT/plans/pspnet-auto-to-seg.json"; done
}
step "5/8 transfer experiment: Table 1 with intervals (n = $N, $RUNS runs each)"
study_cfg "$OUT/data/acdc" "$N" "$EPOCHS" "$TABLE1_CONFIGS" $TABLE1_SOURCES > "$OUT/study.cfg"
$MPIRUN "$BIN" transfer --config "$OUT/study.cfg" -o "$OUT"
cat "$OUT/transfer/table.md"

step "6/8 the second difficulty: the easy target (noise $EASY_NOISE), n = ${N%% *}"
mkdir -p "$OUT/easy"
study_cfg "$OUT/data/acdc-easy" "${N%% *}" "${EPOCHS%% *}" "$EASY_CONFIGS" $EASY_SOURCES \
    > "$OUT/easy/study.cfg"
$MPIRUN "$BIN" transfer --config "$OUT/easy/study.cfg" -o "$OUT/easy"
cat "$OUT/easy/transfer/table.md"

step "7/8 will a source help? aligned RMSE, CKA, LogME and LEEP of the sources"
source_predictors pspnet "$R/pspnet-acdc-seg/best.safetensors" "$OUT/data/acdc" $TABLE1_SOURCES

step "8/8 report"
pick_overlay unet
pick_overlay pspnet
"$BIN" report "$OUT" -o "$OUT/report.html"
"$BIN" report "$OUT/easy" -o "$OUT/easy/report.html" > /dev/null
{
    echo "finished: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "wall time of this invocation: $(( ($(date +%s) - START) / 60 )) min"
} >> "$OUT/machine.txt"
cat "$OUT/machine.txt"
printf '\nopen %s/report.html\n' "$OUT"
