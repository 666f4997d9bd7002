#!/usr/bin/env bash
# Run a command while CPU hogs keep every core busy (`make test-under-load`): one busy loop per core (HOGS
# overrides the count), started here and always killed when the command ends, fails or is interrupted. The test
# suite must pass like this: tests wait on conditions with generous ceilings, never on how long something takes.
#
# Usage: scripts/under-load.sh COMMAND [ARGS...]
set -euo pipefail

[ "$#" -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
HOGS=${HOGS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}
PIDS=()
CHILD=""

stop() {
    [ -z "$CHILD" ] || kill -TERM -- "-$CHILD" 2>/dev/null || true  # interrupted: the command and its children
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for _ in $(seq "$HOGS"); do
    # exec: the pid kept is the busy loop itself, not a subshell around it.
    (exec python3 -c 'while True: pass') &
    PIDS+=("$!")
done
echo "under-load: $HOGS CPU hogs (pids ${PIDS[*]}) while running: $*" >&2
# In the background, in a process group of its own (job control on), and waited for: a signal to this script
# is acted on at once and ends the command with everything it started.
set -m
"$@" &
CHILD=$!
set +m
status=0
wait "$CHILD" || status=$?
CHILD=""
exit "$status"
