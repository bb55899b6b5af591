#!/usr/bin/env bash
# Builds the kernel's own iommufd selftest (Debian's linux-source-6.12, sources unmodified) against
# uiommu's ABI header, runs it under `uiommu run`, prints the kselftest totals and fails when fewer
# tests pass than conformance/selftest-expected.txt records.
#
#   conformance/kernel-selftest.sh [--platform P] [TEST-FILTER-ARGS...]
#
# Extra arguments go to the selftest binary (kselftest harness: -f FIXTURE, -v VARIANT, -t TEST, -l);
# with any of them the expected-count check is skipped. Work folder: $UIOMMU_CONFORMANCE_DIR
# (default target/conformance in the repository).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${UIOMMU_CONFORMANCE_DIR:-$root/target/conformance}
tarball=/usr/src/linux-source-6.12.tar.xz
platform=()
if [[ ${1:-} == --platform ]]; then platform=(--platform "$2"); shift 2; fi

if [[ ! -f $tarball ]]; then
  echo "kernel-selftest: installing linux-source-6.12 (the selftest sources)" >&2
  sudo=(); [[ $(id -u) == 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq linux-source-6.12 >/dev/null
fi
command -v cc >/dev/null || { echo "kernel-selftest: needs a C compiler (cc); apt-get install gcc" >&2; exit 2; }

src=$work/linux-source-6.12
stamp=$work/.extracted
if [[ ! -f $stamp || $tarball -nt $stamp ]]; then
  rm -rf "$src"; mkdir -p "$work"
  tar xf "$tarball" -C "$work" \
    linux-source-6.12/tools/testing/selftests/iommu \
    linux-source-6.12/tools/testing/selftests/kselftest_harness.h \
    linux-source-6.12/tools/testing/selftests/kselftest.h \
    linux-source-6.12/drivers/iommu/iommufd/iommufd_test.h \
    linux-source-6.12/include/uapi/linux/iommufd.h
  touch "$stamp"
fi

# The ABI header must agree with the kernel's 6.12 header on every struct, field and ioctl number.
mkdir -p "$work/kernel-uapi/linux"
cp "$src/include/uapi/linux/iommufd.h" "$work/kernel-uapi/linux/"
cc -o "$work/abi-layout-uiommu" -I"$root/native/include" "$root/conformance/abi-layout.c"
cc -o "$work/abi-layout-kernel" -I"$work/kernel-uapi" "$root/conformance/abi-layout.c"
if ! diff -u <("$work/abi-layout-kernel") <("$work/abi-layout-uiommu") >"$work/abi-layout.diff"; then
  echo "kernel-selftest: native/include/linux/iommufd.h differs from the 6.12 header:" >&2
  cat "$work/abi-layout.diff" >&2
  exit 1
fi
echo "kernel-selftest: ABI header matches Linux 6.12 ($("$work/abi-layout-uiommu" | grep -c .) layout lines)"

# Build flags as the selftests' lib.mk gives them; the compat header supplies names the Debian copy
# takes from a newer test header.
cflags=(-Wall -O2 -Wno-unused-function -D_GNU_SOURCE= -I"$root/native/include"
        -include "$root/conformance/selftest-compat.h")
st=$src/tools/testing/selftests/iommu
for prog in iommufd iommufd_fail_nth; do
  if [[ ! -x $work/$prog || $st/$prog.c -nt $work/$prog || $root/native/include/linux/iommufd.h -nt $work/$prog ]]; then
    cc "${cflags[@]}" -o "$work/$prog" "$st/$prog.c" -lpthread
  fi
done

# Hugepage variants need 2 MiB pages, as on the reference kernel (64 reserved).
if [[ -w /proc/sys/vm/nr_hugepages && $(cat /proc/sys/vm/nr_hugepages) -lt 64 ]]; then
  echo 64 > /proc/sys/vm/nr_hugepages || true
fi

expected_file=$root/conformance/selftest-expected.txt
status=0
for prog in iommufd iommufd_fail_nth; do
  log=$work/$prog.log
  start=$(date +%s.%N)
  set +e
  "$root/uiommu" run "${platform[@]}" -- "$work/$prog" "$@" >"$log" 2>&1
  rc=$?
  set -e
  end=$(date +%s.%N)
  totals=$(grep '^# Totals:' "$log" | tail -1)
  [[ -n $totals ]] || { echo "kernel-selftest: $prog printed no totals (exit $rc); see $log" >&2; tail -20 "$log" >&2; status=1; continue; }
  pass=$(sed -E 's/.*Totals: pass:([0-9]+).*/\1/' <<<"$totals")
  printf 'kernel-selftest: %-17s %s  (%.1f s, exit %d)\n' "$prog" "$totals" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" "$rc"
  grep '^not ok' "$log" | sed 's/^/  /' || true
  if [[ $# -eq 0 ]]; then
    want=$(awk -v p="$prog" '$1 == p { print $2 }' "$expected_file")
    if [[ -n $want && $pass -lt $want ]]; then
      echo "kernel-selftest: $prog passed $pass tests, fewer than the $want recorded in $expected_file" >&2
      status=1
    fi
  fi
done
exit $status
