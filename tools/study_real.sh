#!/bin/sh
# `make study-real`: the paper's questions on real scans (README "make study-real"; what it
# found: docs/FINDINGS.md). The target is real ACDC, all 100 patients (SSL4MIS HDF5 layout,
# or the ACDC release with ACDC=...), split as the paper: 50 training and 50 validation
# patients (seeded), n = 10 and n = 50 drawn from the training half. Sources at graded
# distance from it:
#   ACDC auto      the auto-encoder on the target's own training half (in-domain);
#   LA seg, LA auto  real LGE-MRI of the left atrium (another sequence and anatomy);
#   T1 seg, T1 auto, RVSC seg  the synthetic stand-ins of `make study` for the paper's T1
#                  and RVSC data, which cannot be had here.
# Steps: Table 1's baselines (random init, random frozen encoder), which need no source;
# the PSPNet and UNet auto -> seg swap scans on real ACDC with the init and random controls
# and bootstrap intervals, BN statistics, RMSE and plans; then per source: its model, its
# predictors (aligned RMSE, CKA, LogME, LEEP) and its Table 1 runs (the plan frozen, the plan
# fine-tuned, everything fine-tuned), n = 10 and 50, RUNS runs each; Table 1 as a whole,
# whose ranking of the sources the report tests against the predictors (Kendall's tau-b
# with its interval); the report.
#
# Sizes were chosen by measurement on a 2-core machine (FINDINGS.md, "The real study: how
# it was sized"). Everything lands in $STUDY_DIR (default build/study-real); finished
# steps are skipped and training resumes, so the command runs in parts: run it again
# after an interruption. A part's small outputs (logs, tables, scans, plans, parts/*.md, each
# run's log.csv and config.json) are enough to go on from: a finished part is not run again,
# and the checkpoints an unfinished part needs are trained again from their seeds, to the
# same bits (so a part costs at most its own source and the target model, not the whole
# study). With MPIRUN="mpirun -np R" (the MPI=1 build) every
# training and the transfer grid run under Open MPI.
set -eu
. "$(dirname "$0")/lib.sh"
OUT=${STUDY_DIR:-build/study-real}
ACDC_H5=${ACDC_H5:-}               # SSL4MIS ACDC: the folder holding data/ and the lists
ACDC=${ACDC:-}                     # or the ACDC release's training/ folder (NIfTI)
LA_H5=${LA_H5:?LA_H5=/path/to/LA (the folder holding "2018LA_Seg_Training Set" and the lists)}
SIZE=${STUDY_SIZE:-96}
SRC_EPOCHS=${STUDY_SOURCE_EPOCHS:-10}
LA_PATIENTS=${STUDY_LA_PATIENTS:-20}  # LA training volumes of the LA sources (88 slices each)
EPOCHS=${STUDY_EPOCHS:-10 3}       # per n: 240 and 360 steps
N=${STUDY_N:-10 50}
RUNS=${STUDY_RUNS:-5}
VAL=${STUDY_SCAN_VAL:-10}          # validation patients of the swap scans and CKA
T1_PATIENTS=${STUDY_T1_PATIENTS:-30}
SOURCES="ACDC_auto LA_seg LA_auto T1_seg T1_auto RVSC_seg"
COMMON="--size $SIZE --batch 8 --lr 0.001 --seed 1 --quiet"
[ -n "$ACDC_H5$ACDC" ] || { echo "study-real: set ACDC_H5=/path/to/ACDC (SSL4MIS) or ACDC=/path/to/training (release)" >&2; exit 2; }

mkdir -p "$OUT/data" "$OUT/runs" "$OUT/scans" "$OUT/bn" "$OUT/rmse" "$OUT/plans" "$OUT/sources" \
    "$OUT/cka" "$OUT/transferability" "$OUT/overlays"
START=$(date +%s)
machine_header "SIZE=$SIZE SRC_EPOCHS=$SRC_EPOCHS LA_PATIENTS=$LA_PATIENTS EPOCHS='$EPOCHS' N='$N' RUNS=$RUNS VAL=$VAL MPIRUN='$MPIRUN'" \
    >> "$OUT/machine.txt"

step "1/8 datasets: real ACDC and LA, synthetic T1 and RVSC"
# The real folders are read where they are (nothing is written into them): a folder of
# ours holds links to them and the dataset.cfg that says what the HDF5 files lack.
real_h5() {  # name folder cfg-lines...
    d="$OUT/data/$1" src=$(cd "$2" && pwd)
    shift 2
    mkdir -p "$d"
    for f in "$src"/*; do [ -e "$d/${f##*/}" ] || ln -s "$f" "$d/${f##*/}"; done
    printf '%s\n' "$@" > "$d/dataset.cfg.tmp" && mv "$d/dataset.cfg.tmp" "$d/dataset.cfg"
}
if [ -n "$ACDC_H5" ]; then
    real_h5 acdc "$ACDC_H5" "preset: acdc" "spacing: 1.5"
else
    [ -e "$OUT/data/acdc" ] || ln -s "$(cd "$ACDC" && pwd)" "$OUT/data/acdc"
fi
real_h5 la "$LA_H5" "preset: custom" "spacing: 0.625" "labels: 1 left atrium"
synth() {  # name preset patients
    [ -f "$OUT/data/$1/dataset.cfg" ] && return
    "$BIN" data synth --preset "$2" --size 96 --seed 1 --patients "$3" -o "$OUT/data/$1"
}
synth t1 t1 "$T1_PATIENTS"
synth rvsc rvsc 32
for d in acdc la t1 rvsc; do "$BIN" data info "$OUT/data/$d" | head -8; done

R="$OUT/runs"
PLAN="$OUT/plans/pspnet-auto-to-seg.json"
# Table 1 runs in parts, each a `transfer` over the shared grid folder (its runs are named by
# n, configuration and run, whatever the part; random init, which every difference is paired
# with, is in each and trains once): the baselines need no source; each source's
# part needs only that source's checkpoint. A finished part leaves parts/NAME.md (its
# table), so a study resumed from its committed small outputs trains again only the models
# an unfinished part needs.
part_done() { [ -f "$OUT/parts/$1.md" ]; }
table1_part() {  # NAME CONFIGS [SOURCE]
    {
        study_header "$OUT/data/acdc" "$N" "$EPOCHS" "$RUNS" "$2" "$SIZE"
        [ -z "${3:-}" ] || study_source "$3" "$OUT/sources/$3.safetensors" "$PLAN"
    } > "$OUT/parts/$1.cfg"
    $MPIRUN "$BIN" transfer --config "$OUT/parts/$1.cfg" -o "$OUT" &&
        cp "$OUT/transfer/table.md" "$OUT/parts/$1.md.tmp" && mv "$OUT/parts/$1.md.tmp" "$OUT/parts/$1.md"
}
# source_model NAME: train the model behind source NAME and keep it as sources/NAME.
source_model() {
    case $1 in
        ACDC_auto) train_run pspnet-acdc-auto pspnet auto "$OUT/data/acdc" "$SRC_EPOCHS" --width 32 ;;
        LA_seg) train_run pspnet-la-seg pspnet seg "$OUT/data/la" "$SRC_EPOCHS" --n-train "$LA_PATIENTS" ;;
        LA_auto) train_run pspnet-la-auto pspnet auto "$OUT/data/la" "$SRC_EPOCHS" --n-train "$LA_PATIENTS" ;;
        T1_seg) train_run pspnet-t1-seg pspnet seg "$OUT/data/t1" "$SRC_EPOCHS" ;;
        T1_auto) train_run pspnet-t1-auto pspnet auto "$OUT/data/t1" "$SRC_EPOCHS" ;;
        RVSC_seg) train_run pspnet-rvsc-seg pspnet seg "$OUT/data/rvsc" "$SRC_EPOCHS" ;;
    esac || return 1
    run=$(echo "$1" | tr 'A-Z_' 'a-z-')
    cp "$R/pspnet-$run/best.safetensors" "$OUT/sources/$1.safetensors"
}
mkdir -p "$OUT/parts"
init_model unet 32
init_model pspnet

step "2/8 Table 1 baselines on real ACDC: random init and random frozen encoder, n = $N, $RUNS runs each"
part_done baselines || table1_part baselines "random, random frozen encoder"

step "3/8 swap scans with controls and intervals on real ACDC, BN statistics, kernel RMSE ($SRC_EPOCHS epochs per model)"
for arch in pspnet unet; do
    if [ ! -f "$OUT/scans/$arch-auto-to-seg.csv" ] || [ ! -f "$OUT/bn/$arch-auto-to-seg.csv" ] ||
       [ ! -f "$OUT/rmse/$arch.csv" ] || { [ ! -d "$OUT/overlays/$arch" ] &&
       [ ! -f "$OUT/overlays/$arch-acdc-seg.png" ]; }; then
        train_seg_auto "$arch-acdc" "$arch" "$OUT/data/acdc" "$SRC_EPOCHS" --width 32
        scan_auto_to_seg "$arch" "$OUT/data/acdc"
        [ -d "$OUT/overlays/$arch" ] || "$BIN" eval --weights "$R/$arch-acdc-seg/best.safetensors" \
            --data "$OUT/data/acdc" --size "$SIZE" --val-count "$VAL" --overlays "$OUT/overlays/$arch" > /dev/null
        pick_overlay "$arch"
    fi
done

step "4/8 reuse plans (the paper's rule and the interval rule)"
make_plans pspnet unet

step "5/8 per source: its model, what predicts its help (aligned RMSE, CKA, LogME, LEEP), its Table 1 runs"
for s in $SOURCES; do
    part_done "$s" && continue
    echo "source $s"
    train_run pspnet-acdc-seg pspnet seg "$OUT/data/acdc" "$SRC_EPOCHS" --width 32   # the target model
    source_model "$s"
    source_predictors "$s" "$R/pspnet-acdc-seg/best.safetensors" "$OUT/data/acdc" "$s"
    table1_part "$s" "random, freeze, fine-tune, all fine-tune" "$s"
done

step "6/8 Table 1 on real ACDC: every configuration, n = $N, $RUNS runs each"
{
    study_header "$OUT/data/acdc" "$N" "$EPOCHS" "$RUNS" \
        "random, random frozen encoder, freeze, fine-tune, all fine-tune" "$SIZE"
    for s in $SOURCES; do study_source "$s" "$OUT/sources/$s.safetensors" "$PLAN"; done
} > "$OUT/study.cfg"
$MPIRUN "$BIN" transfer --config "$OUT/study.cfg" -o "$OUT"   # every run has finished: the table
cat "$OUT/transfer/table.md"

step "7/8 report"
"$BIN" report "$OUT" -o "$OUT/report.html"

step "8/8 done"
{
    echo "finished: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "wall time of this invocation: $(( ($(date +%s) - START) / 60 )) min"
} >> "$OUT/machine.txt"
cat "$OUT/machine.txt"
printf '\nopen %s/report.html\n' "$OUT"
