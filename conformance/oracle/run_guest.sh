#!/bin/sh
# Runs inside the oracle guest: every oracle program listed in ./jobs (one "name program args" per
# line), each file's output preceded by a "=== FILE name" marker line.
dmesg -n 1 2>/dev/null
cd /bin
while read -r name prog args; do
  [ -z "$name" ] && continue
  echo "=== FILE $name"
  start=$(date +%s)
  /bin/$prog $args 2>/tmp/err.txt
  rc=$?
  echo "=== END $name rc=$rc secs=$(( $(date +%s) - start ))"
  sed 's/^/=== STDERR /' /tmp/err.txt
done < /bin/jobs
