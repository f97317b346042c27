#!/bin/sh
# make check: every libFuzzer harness over its corpus (seeds and the inputs that once broke
# something), built with the normal compiler (tests/fuzz/replay.c). See tests/fuzz/README.md.
set -u
src=${LMCP_SRCDIR:-.}/tests/fuzz/corpus
bin=${LMCP_BUILDDIR:-.}/tests/fuzz
failed=0
for t in jsonparse server schema aws_error credfiles conf framing; do
    log=$bin/replay_$t.out
    if "$bin/replay_$t" "$src/$t" >"$log" 2>&1; then
        echo "ok: $t ($(tail -n 1 "$log"))"
    else
        echo "FAIL: $t: the last input run was:"
        grep '^replay: ' "$log" | tail -n 1
        tail -n 20 "$log"
        failed=1
    fi
done
exit $failed
