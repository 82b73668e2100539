#!/bin/sh
# The folders' layering (README, "What is in it"): a file includes only from its own folder
# and the folders below it, in this order, and no two files include each other. Prints
# every include that breaks it; exit 1 when there is one.
set -eu
ORDER="engine util models datasets train reuse report transfer cli"
rank() { i=0; for d in $ORDER; do [ "$d" = "$1" ] && { echo $i; return; }; i=$((i + 1)); done; echo 99; }
bad=0
for dir in $ORDER; do
    r=$(rank "$dir")
    for f in "$dir"/*.c "$dir"/*.h; do
        [ -e "$f" ] || continue
        for inc in $(sed -n 's/^#include "\([a-z_]*\/[a-z_0-9]*\.h\)".*/\1/p' "$f"); do
            if [ "$(rank "${inc%%/*}")" -gt "$r" ]; then echo "layers: $f includes $inc, a folder above it"; bad=1; fi
            # f's own header and inc's file of the other kind: a header included back by
            # the header it includes, or two .c files each including the other's header
            case $f in *.h) mine=$f other=$inc ;; *) mine=${f%.c}.h other=${inc%.h}.c ;; esac
            if [ "$inc" != "$mine" ] && [ -f "$other" ] && grep -q "^#include \"$mine\"" "$other"; then
                echo "layers: $f and $other include each other's header"; bad=1
            fi
        done
    done
done
[ $bad = 0 ] && echo "layers: every include points down or across ($ORDER)"
exit $bad
