#!/bin/bash
# Regenerates the differential traces in scenario/src/test/resources/oracle/ from the real kernel:
# builds the oracle programs (static, against the 6.12 uAPI headers), runs them all in one boot of
# the Linux 6.12 oracle VM (/work/shared/tools/kernel-oracle.sh), and splits the output into one
# scenario file per program and seed. Also regenerates the struct layout resources of core.
#
#   conformance/oracle/regenerate.sh            everything
#   ORACLE_TOOL=path/to/kernel-oracle.sh ...    another copy of the oracle script
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=$repo/scenario/src/test/resources/oracle
tool=${ORACLE_TOOL:-/work/shared/tools/kernel-oracle.sh}
build=$here/build
mkdir -p "$build/guest" "$out"

"$here/headers.sh" "$build/include"
cc() { gcc -static -O2 -Wall -Wextra -Wno-unused-function -D__user= -I"$build/include" -o "$build/$1" "$here/$1.c"; }

# host-side: layouts from the headers
cc struct_layout
cc ioctl_table
"$build/struct_layout" > "$repo/core/src/test/resources/uapi/struct-layout.txt"
"$build/ioctl_table" > "$repo/core/src/test/resources/uapi/ioctl-table.txt"

# guest-side programs
progs="ioas_random ioas_cases vfio_compat errno_edges"
rm -rf "$build/guest"; mkdir -p "$build/guest"
for p in $progs; do cc "$p"; cp "$build/$p" "$build/guest/"; done
cp "$here/run_guest.sh" "$build/guest/"
"$here/jobs.sh" > "$build/guest/jobs"

# Use a private oracle work dir sharing the shared kernel build, so that concurrent users of the
# oracle do not overwrite each other's initrd.
if [[ -z ${ORACLE_DIR:-} ]]; then
  shared=${TMPDIR:-/tmp}/kernel-oracle
  export ORACLE_DIR=${TMPDIR:-/tmp}/kernel-oracle-uiommu-traces
  if [[ -f $shared/linux/arch/x86/boot/bzImage ]]; then
    mkdir -p "$ORACLE_DIR"
    ln -sfn "$shared/linux" "$ORACLE_DIR/linux"
    for f in selftest fail_nth; do [[ -x $ORACLE_DIR/$f ]] || cp "$shared/$f" "$ORACLE_DIR/"; done
  fi
fi

log=$build/oracle-output.txt
start=$(date +%s)
"$tool" -x "$build/guest" run_guest.sh > "$log"
echo "oracle run: $(( $(date +%s) - start )) s" >&2

python3 - "$log" "$out" <<'PY'
import json, os, sys
log, out = sys.argv[1], sys.argv[2]
files, cur, name, bad = {}, None, None, []
for line in open(log, encoding="utf-8", errors="replace"):
    line = line.rstrip("\n")
    if line.startswith("=== FILE "):
        name = line[9:].strip(); cur = []
    elif line.startswith("=== END "):
        rc = line.split("rc=")[1].split()[0]
        if rc != "0":
            bad.append(f"{name}: exit {rc}")
        files[name] = cur; cur = None
    elif line.startswith("=== STDERR "):
        print(line[11:], file=sys.stderr)
    elif cur is not None:
        if line.startswith("{"):
            json.loads(line)  # must be valid JSON
            cur.append(line)
        elif line.startswith("#"):
            cur.append(line)
        elif line.strip():
            bad.append(f"{name}: stray output line: {line[:120]}")
if bad or not files:
    sys.exit("oracle run failed:\n" + "\n".join(bad or ["no output"]))
for f in os.listdir(out):
    if f.endswith(".jsonl"):
        os.remove(os.path.join(out, f))
steps = 0
for n, lines in files.items():
    with open(os.path.join(out, n + ".jsonl"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    steps += sum(1 for l in lines if l.startswith('{"step"'))
print(f"{len(files)} files, {steps} steps", file=sys.stderr)
PY
