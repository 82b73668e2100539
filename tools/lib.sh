# Shared by the study scripts (tools/*.sh): sourced, never run. Each script sets BIN, OUT and
# COMMON (the training options every run shares) and, for data-parallel training, MPIRUN.
#
# A step is skipped when its output exists, and a training run when it is finished (train_run),
# so every script can be interrupted and run again: it continues where it stopped.

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
