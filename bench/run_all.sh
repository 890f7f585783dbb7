#!/usr/bin/env bash
# Every benchmark in sequence with its default parameters (about ten minutes in all; the
# dashboard ones need tmux for their real-terminal parts).
# Figures go to stdout and to bench/results/<name>.json. Run on a quiet machine: other load
# on the host shows up directly in the latencies and wall times.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3

status=0
for script in feed_latency feed_latency_pg idle_reader_cpu write_contention cli_wall metrics \
    escalation_tick alert_storm chaos remote_spectators \
    dashboard_first_paint dashboard_keypress dashboard_remote_commit dashboard_big_timeline; do
  echo "=== $script"
  "$PY" "bench/$script.py" || status=1
  echo
done
exit "$status"
