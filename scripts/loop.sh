#!/usr/bin/env bash
# The whole CPU lifecycle with edubot commands, in a temp folder (`make loop`): taxonomy add (a skill; a knowledge
# leaf with KNOWLEDGE=1) -> data generate -> model convert (the student) -> serve it, eval before -> model train
# and convert -> serve the trained model -> eval after. Prints each stage's time and the scores before and after.
#
# Environment: EDUBOT (default .venv/bin/edubot), EDUBOT_ILAB_PATH (default .ilab-venv/bin/ilab), EPOCHS (1),
# SCALE (the --sdg-scale-factor, 2), KEEP=1 keeps the temp folder, KNOWLEDGE=1 adds the knowledge leaf too: ilab
# 0.26.1 converts its document with docling, which needs docling's models on disk (downloaded from Hugging Face at
# first use, and the docling that instructlab 0.26.1 resolves to today no longer has the download SDG calls).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
EDUBOT=${EDUBOT:-$ROOT/.venv/bin/edubot}
export EDUBOT_ILAB_PATH=${EDUBOT_ILAB_PATH:-$ROOT/.ilab-venv/bin/ilab}
EPOCHS=${EPOCHS:-1}
SCALE=${SCALE:-2}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/edubot-loop.XXXXXX")
SERVER=""
export HOME=$WORK/home COLUMNS=200
# torch in ilab's trainer: one thread trained a small network 3.4x faster than two on the shared 2-core machine.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
# The run's own folders and settings only.
while IFS= read -r name; do unset "$name"; done < <(env | sed -n 's/^\(EDUBOT_[A-Z_]*\)=.*/\1/p' | grep -v '^EDUBOT_ILAB_PATH$')

finish() {
    [ -n "$SERVER" ] && kill -TERM "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap finish EXIT
cd "$WORK"
mkdir -p "$HOME"
TOTAL_START=$(date +%s)

# stage NAME COMMAND...: run it with its output in NAME.log; print its time, or its last lines when it fails.
stage() {
    local name=$1 start end
    shift
    start=$(date +%s.%N)
    if ! "$@" >"$WORK/$name.log" 2>&1; then
        echo "stage '$name' failed ($*):"
        tail -25 "$WORK/$name.log"
        KEEP=1
        exit 1
    fi
    end=$(date +%s.%N)
    awk -v n="$name" -v s="$start" -v e="$end" 'BEGIN { printf "%-22s %7.1f s\n", n, e - s }'
}

# serve MODEL: start `edubot serve` on a free port in the background and wait until it answers.
serve() {
    PORT=$("$ROOT/.venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$EDUBOT" serve --model "$1" --port "$PORT" >"$WORK/serve-$(basename "$1").log" 2>&1 &
    SERVER=$!
    for _ in $(seq 600); do
        curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && return 0
        kill -0 "$SERVER" 2>/dev/null || break
        sleep 1
    done
    tail -20 "$WORK/serve-$(basename "$1").log"
    return 1
}

unserve() { kill -TERM "$SERVER" && wait "$SERVER" || true; SERVER=""; }

# evaluate OUT [--compare BEFORE]: score the served model on the taxonomy's own questions.
evaluate() {
    local out=$1
    shift
    "$EDUBOT" eval --url "http://127.0.0.1:$PORT" --ungrounded --format json "$@" >"$out"
}

# 1. Seed data: a skill (and with KNOWLEDGE=1 a knowledge leaf, its document in a local git repository).
mkdir docs
cat >docs/water.md <<'EOF'
# The water cycle

Water evaporates from seas, lakes and rivers when the sun warms it. The water vapour rises and cools into tiny
drops that form clouds. When the drops grow heavy they fall as rain, snow or hail. Rain water runs into rivers
and back to the sea, and the cycle starts again.
EOF
git -C docs init -q && git -C docs add water.md && git -C docs -c user.name=edubot -c user.email=edubot@localhost commit -qm doc
COMMIT=$(git -C docs rev-parse HEAD)
cat >knowledge.csv <<'EOF'
context,question,answer
"Water evaporates from seas, lakes and rivers when the sun warms it.",What makes water evaporate?,The warmth of the sun makes water evaporate from seas, lakes and rivers.
,Where does water evaporate from?,"From seas, lakes and rivers."
,What does the sun do to the water?,It warms it so that it evaporates.
The water vapour rises and cools into tiny drops that form clouds.,What are clouds made of?,Tiny drops of water that formed when water vapour cooled.
,What happens to water vapour as it rises?,It cools into tiny drops.
,What do the tiny drops form?,They form clouds.
"When the drops grow heavy they fall as rain, snow or hail.",When do drops fall from a cloud?,When they grow heavy.
,In what forms do the drops fall?,"As rain, snow or hail."
,What is rain?,Drops of water that grew heavy and fell from a cloud.
Rain water runs into rivers and back to the sea.,Where does rain water go?,Into rivers and back to the sea.
,What carries rain water to the sea?,Rivers carry it.
,Does the water stay in the rivers?,"No, it runs back to the sea."
"Rain water runs back to the sea, and the cycle starts again.",Why is it called a cycle?,Because the water comes back to the sea and everything starts again.
,What happens after the water reaches the sea?,The cycle starts again.
,Does the water cycle end?,"No, it starts again."
EOF
cat >skill.csv <<'EOF'
question,answer
What does evaporation mean?,"Evaporation is when a liquid, like water in a puddle, slowly turns into a gas and goes into the air."
What does photosynthesis mean?,"Photosynthesis is how plants use sunlight, water and air to make their own food."
What is gravity?,Gravity is the pull that makes things fall down to the ground and keeps us on the Earth.
What is a magnet?,A magnet is a piece of metal that pulls iron things towards it without touching them.
What does melting mean?,"Melting is when something solid, like ice, gets warm and turns into a liquid."
EOF
mkdir taxonomy
add_leaves() {
    local attribution=(--created-by edubot --attribution-title "edubot loop" --attribution-link - --creators edubot)
    if [ "${KNOWLEDGE:-0}" = 1 ]; then
        "$EDUBOT" taxonomy add knowledge/science/water_cycle --kind knowledge --from knowledge.csv \
            "${attribution[@]}" --domain Science --outline "The water cycle" --repo "file://$WORK/docs" \
            --commit "$COMMIT" --pattern water.md || return 1
    fi
    "$EDUBOT" taxonomy add compositional_skills/education/science_words --kind skill --from skill.csv \
        "${attribution[@]}" --task-description "Explain a science word to a ten-year-old pupil." &&
        "$EDUBOT" taxonomy validate
}
stage "taxonomy add" add_leaves
stage "ilab config init" "$EDUBOT_ILAB_PATH" config init --non-interactive --taxonomy-path "$WORK/taxonomy"

# 2. Synthetic data with the embedded model as generator model (pinned sampling: the same taxonomy gives the same data).
stage "data generate" "$EDUBOT" data generate --pipeline simple --generator local --sdg-scale-factor "$SCALE"
grep -E '^samples:|^  [0-9]+ ' "$WORK/data generate.log" | sed 's/^/  /'

# 3. The student: the embedded GGUF as a Hugging Face folder; scored before training.
GGUF=$("$EDUBOT" model list --format json | "$ROOT/.venv/bin/python" -c \
    'import json, sys; print(next(m["path"] for m in json.load(sys.stdin)["models"] if m.get("embedded")))')
stage "model convert (base)" "$EDUBOT" model convert "$GGUF" -o models/base
stage "serve base" serve models/base
stage "eval before" evaluate before.json
unserve

# 4. Train (full pipeline on CPU), convert the checkpoint, serve it and score it again.
stage "model train" "$EDUBOT" model train --pipeline full --device cpu --model-path models/base --convert -- \
    --num-epochs "$EPOCHS"
stage "serve trained" serve models/checkpoints-samples_0
stage "eval after" evaluate after.json --compare before.json
unserve

"$ROOT/.venv/bin/python" - after.json <<'EOF'
import json
import sys

compared = json.load(open(sys.argv[1]))["compare"]["overall"]
changed = []
print("eval (ungrounded)            before    after")
for entry in compared:
    for metric, d in entry["deltas"].items():
        if isinstance(d.get("before"), (int, float)) or isinstance(d.get("after"), (int, float)):
            show = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
            print(f"  {metric:<24} {show(d['before']):>8} {show(d['after']):>8}")
            if d.get("delta"):
                changed.append(metric)
print("training changed the scores:", ", ".join(changed) if changed else "no (the same before and after)")
EOF
printf '%-22s %7d s\n' "total" "$(($(date +%s) - TOTAL_START))"
