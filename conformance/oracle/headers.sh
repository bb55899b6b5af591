#!/bin/bash
# Copies the 6.12 uAPI headers the oracle programs compile against into $1 (default build/include):
# include/uapi/linux/{iommufd,vfio}.h and drivers/iommu/iommufd/iommufd_test.h, from an extracted
# linux-source-6.12 tree ($KSRC, default /tmp/ksrc/linux-source-6.12) or else from the Debian tarball.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/build/include}
KSRC=${KSRC:-/tmp/ksrc/linux-source-6.12}
mkdir -p "$out/linux"
files="include/uapi/linux/iommufd.h include/uapi/linux/vfio.h drivers/iommu/iommufd/iommufd_test.h"
if [[ ! -f $KSRC/include/uapi/linux/iommufd.h ]]; then
  KSRC=$(mktemp -d)/linux-source-6.12
  mkdir -p "$KSRC"
  tar xf /usr/src/linux-source-6.12.tar.xz -C "$KSRC" --strip-components=1 \
    $(for f in $files; do echo "linux-source-6.12/$f"; done)
fi
cp "$KSRC/include/uapi/linux/iommufd.h" "$KSRC/include/uapi/linux/vfio.h" "$out/linux/"
cp "$KSRC/drivers/iommu/iommufd/iommufd_test.h" "$out/"
