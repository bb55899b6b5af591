#!/bin/bash
# The oracle jobs: "<file name> <program> <args>" per line (read by run_guest.sh in the guest).
for seed in $(seq 1 48); do echo "ioas-random-$(printf %02d "$seed") ioas_random $seed 80"; done
for c in auto-align unmap copy allow-reserve domain option ids; do echo "ioas-$c ioas_cases $c"; done
echo "vfio-compat-type1 vfio_compat 1"
echo "vfio-compat-type1v2 vfio_compat 3"
echo "errno-edges errno_edges"
