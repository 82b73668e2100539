#!/bin/sh
# tools/study_export.sh STUDY_DIR DEST: a study's small outputs, the ones worth keeping in a
# repository and enough to go on from (README "make study-real", "In parts"): every file
# under STUDY_DIR but the datasets (data/), the checkpoints (*.safetensors) and the overlay
# folders (the picked overlay of each architecture stays), copied to DEST with their paths.
# An unfinished swap scan's state (scans/*.resume.safetensors: Dice counts, mostly zeros,
# some 20 KB compressed) is kept too, so the scan goes on from it with models trained again
# from their seeds; it is dropped from DEST once the scan's CSV exists. Other files in DEST
# that the study no longer has are left alone.
set -eu
[ $# -eq 2 ] || { echo "usage: tools/study_export.sh STUDY_DIR DEST" >&2; exit 2; }
src=$1 dest=$2
[ -d "$src" ] || { echo "study_export: $src: not a folder" >&2; exit 1; }
(cd "$src" && find . -path ./data -prune -o -path './overlays/*/*' -prune -o -type f \
    \( ! -name '*.safetensors' -o -path './scans/*.resume.safetensors' \) ! -name '*.tmp*' -print) | while IFS= read -r f; do
    mkdir -p "$dest/$(dirname "$f")"
    cp "$src/$f" "$dest/$f.part.$$" && mv "$dest/$f.part.$$" "$dest/$f"
done
for state in "$dest"/scans/*.resume.safetensors; do
    [ -f "$state" ] && [ -f "$src/scans/$(basename "$state" .resume.safetensors)" ] && rm -f "$state"
done
true
