#!/usr/bin/env bash
# run-smoke.sh BINARY NAME CORPUS_DIR — a short, bounded libFuzzer run of one
# target as part of `make check`: seeds from fuzz/seeds/NAME (inputs written
# for this project), a working corpus in CORPUS_DIR (kept between runs in the
# build tree), TKMS_FUZZ_SECONDS (default 20) of fuzzing. Any crash, leak,
# sanitizer report or timeout fails the test. For longer campaigns run the
# binary directly: build-sanitize/fuzz_NAME -max_total_time=3600 CORPUS SEEDS
set -euo pipefail
bin=$1 name=$2 corpus=$3
seeds="${TKMS_SOURCE_DIR:?}/fuzz/seeds/$name"
mkdir -p "$corpus"
dirs=("$corpus")
[ -d "$seeds" ] && dirs+=("$seeds")
exec "$bin" -max_total_time="${TKMS_FUZZ_SECONDS:-20}" -timeout=10 -rss_limit_mb=2048 \
     -print_final_stats=1 "${dirs[@]}"
