# Shared by the study scripts (tools/*.sh): sourced, never run. Each script sets OUT and
# COMMON (the training options every run shares); BIN (the program) and MPIRUN (e.g.
# "mpirun -np 2", for data-parallel training) come from the environment, with the defaults
# below.
#
# A step is skipped when its output exists, and a training run when it is finished (train_run),
# so every script can be interrupted and run again: it continues where it stopped.

BIN=${BIN:-build/reusenet}
MPIRUN=${MPIRUN:-}

# One BLAS kernel for every machine a study runs on: a study kept in parts is rebuilt from
# its seeds in later sittings, perhaps on another processor, and its bits depend on the
# kernel (README "What the bits depend on"). Haswell's (AVX2) runs on every AVX2 processor
# and gave the same bits on an AMD EPYC (Zen 4) and an Intel Xeon with AVX-512, where each
# processor's own pick (Cooperlake, SkylakeX) does not. A kernel the user set is kept.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx2 /proc/cpuinfo 2>/dev/null; then
    OPENBLAS_CORETYPE=Haswell
    export OPENBLAS_CORETYPE
fi

# "== text  (HH:MM:SS)" between steps, so that a log shows where the time went.
step() { printf '\n== %s  (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }

# init_model ARCH [WIDTH]: OUT/init/ARCH.safetensors, PyTorch's initialisation with seed 1,
# the shared starting point of every model of that architecture.
init_model() {
    [ -f "$OUT/init/$1.safetensors" ] && return 0
    mkdir -p "$OUT/init"
    if [ "$1" = unet ]; then
        "$BIN" init --arch unet --width "${2:-32}" --seed 1 -o "$OUT/init/unet.safetensors"
    else
        "$BIN" init --arch "$1" --seed 1 -o "$OUT/init/$1.safetensors"
    fi
}

# train_run NAME ARCH TASK DATA EPOCHS [OPTION...]: OUT/runs/NAME trained from OUT/init/ARCH;
# prints the last log row. One rule decides what happens: a run with a resume point is
# resumed (train stops at once when that point is the last epoch), one without is trained
# from its start. A run kept without its checkpoints (log.csv and config.json only, as a
# study committed in parts keeps it) is so trained again, to the same bits.
train_run() {
    name=$1 arch=$2 task=$3 data=$4 epochs=$5
    shift 5
    d="$OUT/runs/$name"
    resume=""
    [ -f "$d/resume.safetensors" ] && resume="--resume"
    echo "training $name${resume:+ (resuming, if not finished)}"
    $MPIRUN "$BIN" train --arch "$arch" --task "$task" --data "$data" --epochs "$epochs" \
        --init-from "$OUT/init/$arch.safetensors" $COMMON $resume "$@" -o "$d" || return 1
    tail -n 1 "$d/log.csv"
}

# scan_auto_to_seg ARCH DATA: the swap scan of OUT/runs/ARCH-acdc-auto into ARCH-acdc-seg
# (the paper's auto-encoder -> segmentation scan, with the init and random controls and
# bootstrap intervals over VAL validation patients of DATA at SIZE), its BN statistics and
# kernel RMSE; the scan is skipped when its file exists and goes on from its state
# (swap --resume) when it was stopped part-way.
scan_auto_to_seg() {
    t="$OUT/runs/$1-acdc-seg/best.safetensors" s="$OUT/runs/$1-acdc-auto/best.safetensors"
    [ -f "$OUT/scans/$1-auto-to-seg.csv" ] || "$BIN" swap --resume --target "$t" --source "$s" \
        --init "$OUT/init/$1.safetensors" --data "$2" --size "$SIZE" \
        --val-count "$VAL" --quiet -o "$OUT/scans/$1-auto-to-seg.csv"
    "$BIN" bnstats --target "$t" --source "$s" -o "$OUT/bn/$1-auto-to-seg.csv" > /dev/null
    "$BIN" rmse "$t" "$s" --names "seg ACDC,auto ACDC" -o "$OUT/rmse/$1.csv" > /dev/null
}

# study_header TARGET N EPOCHS RUNS CONFIGS SIZE: study.cfg of a PSPNet Table 1, run r with seed
# r and its own draw of the n patients (its "source:" lines follow).
study_header() {
    printf 'target: %s\narch: pspnet\nn: %s\nepochs: %s\nseeds: %s\nsubsets: per-seed\nconfigs: %s\nbatch: 8\nsize: %s\nlr: 0.001\n' \
        "$1" "$2" "$3" "$4" "$5" "$6"
}

# train_seg_auto PREFIX ARCH DATA EPOCHS [OPTION...]: the segmentation model PREFIX-seg, then
# the auto-encoder PREFIX-auto, each a train_run.
train_seg_auto() {
    sa_prefix=$1 sa_arch=$2 sa_data=$3 sa_epochs=$4
    shift 4
    train_run "$sa_prefix-seg" "$sa_arch" seg "$sa_data" "$sa_epochs" "$@" &&
        train_run "$sa_prefix-auto" "$sa_arch" auto "$sa_data" "$sa_epochs" "$@"
}

# acdc_models WIDTH EPOCHS ARCH...: the shared initialisations (UNet of width WIDTH, PSPNet,
# whose checkpoints record a width it does not use), then for each ARCH in that order its
# segmentation model and auto-encoder on OUT/data/acdc: the scans' target and source.
acdc_models() {
    am_width=$1 am_epochs=$2
    shift 2
    init_model unet "$am_width"
    init_model pspnet
    for am_arch in "$@"; do
        train_seg_auto "$am_arch-acdc" "$am_arch" "$OUT/data/acdc" "$am_epochs" --width "$am_width"
    done
}

# make_plans ARCH...: each ARCH's auto -> seg scan turned into plans by the paper's rule and
# by the interval rule (reusable only when the whole 95 % interval of the drop is within tau).
make_plans() {
    for arch in "$@"; do
        "$BIN" plan --scan "$OUT/scans/$arch-auto-to-seg.csv" -o "$OUT/plans/$arch-auto-to-seg.json"
        "$BIN" plan --scan "$OUT/scans/$arch-auto-to-seg.csv" --rule ci -o "$OUT/plans/$arch-auto-to-seg-ci.json"
    done
}

# source_predictors NAME TARGET DATA SOURCE...: what says, before any training, whether a source
# of OUT/sources/ will help the target model: kernel RMSE after weight alignment and per-layer
# CKA on VAL patients of DATA, one file per source, and LogME and LEEP of all the sources
# (transferability/NAME.csv).
source_predictors() {
    tf="$OUT/transferability/$1.csv" t=$2 data=$3
    shift 3
    srcs=""
    for s in "$@"; do
        "$BIN" rmse "$t" "$OUT/sources/$s.safetensors" --names "target,$s" --align \
            -o "$OUT/rmse/target-$s.csv" > /dev/null
        [ -f "$OUT/cka/$s.csv" ] || "$BIN" cka --target "$t" --source "$OUT/sources/$s.safetensors" \
            --data "$data" --size "$SIZE" --val-count "$VAL" --pixels 2048 -o "$OUT/cka/$s.csv" > /dev/null
        srcs="$srcs $OUT/sources/$s.safetensors"
    done
    [ -f "$tf" ] || "$BIN" transferability --source $srcs --data "$data" --size "$SIZE" \
        -o "$tf" > /dev/null
}

# study_source NAME CHECKPOINT PLAN: one "source:" line of study.cfg.
study_source() { printf 'source: %s | %s | %s\n' "$1" "$2" "$3"; }

# pick_overlay ARCH: the middle one of OUT/overlays/ARCH/*.png as OUT/overlays/ARCH-acdc-seg.png,
# the picture the report shows.
pick_overlay() {
    [ -d "$OUT/overlays/$1" ] || return 0
    n=$(ls "$OUT/overlays/$1" | wc -l)
    first=$(ls "$OUT/overlays/$1" | sed -n "$(( (n + 1) / 2 ))p")
    [ -n "$first" ] && cp "$OUT/overlays/$1/$first" "$OUT/overlays/$1-acdc-seg.png"
    return 0
}

# machine_header SETTINGS: what each invocation of a study adds to its machine.txt.
machine_header() {
    echo "settings: $*"
    echo "started: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    "$BIN" --version
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
}
