#!/usr/bin/env bash
# The end-to-end VFIO client (native/tests/vfio_dma_engine.c) under `uiommu run` on each platform
# preset, against the preset's second device (gpu0: PASID, ATS and, where the unit takes page
# requests, PRI). A stage a preset's machine cannot do is skipped by the program itself; stages
# listed after the platform below are known not to work there yet.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
make -s -C "$root/native" programs
status=0
# AMD: 6.12 attaches only SVA domains to PASIDs and turns PPR on only for them (docs/faults.md).
for run in "vtd" "smmuv3" "amd --skip iopf,pasid"; do
  set -- $run
  platform=$1; shift
  echo "== vfio_dma_engine on --platform $platform $*"
  if ! "$root/uiommu" run --platform "$platform" -- "$root/native/build/vfio_dma_engine" /dev/vfio/devices/vfio1 "$@"; then
    echo "vfio_dma_engine: FAILED on $platform" >&2
    status=1
  fi
done
exit $status
