# Sourced by ./uiommu and ./run-tests: sets JAVA_HOME to a JDK 25 or explains what to install.
# The default java on many machines is older; uiommu is built with --release 25.
uiommu_java_major() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 |
    sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p'
}

uiommu_find_jdk25() {
  local candidate
  for candidate in "${UIOMMU_JAVA_HOME:-}" "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk* /usr/lib/jvm/java-25* /usr/lib/jvm/jdk-25* /opt/java/jdk-25* /opt/jdk-25*; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/javac" ] || continue
    if [ "$(uiommu_java_major "$candidate")" -ge 25 ] 2>/dev/null; then
      export JAVA_HOME="$candidate"
      return 0
    fi
  done
  if command -v javac >/dev/null 2>&1; then
    candidate=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
    if [ "$(uiommu_java_major "$candidate")" -ge 25 ] 2>/dev/null; then
      export JAVA_HOME="$candidate"
      return 0
    fi
  fi
  cat >&2 <<'MSG'
uiommu needs a JDK 25 or newer, and none was found
(looked at $UIOMMU_JAVA_HOME, $JAVA_HOME, /usr/lib/jvm/*25*, and the javac on PATH).
Install one, for example Temurin 25 (apt package temurin-25-jdk from packages.adoptium.net,
or a tarball from https://adoptium.net), then run again or point UIOMMU_JAVA_HOME at it.
MSG
  return 1
}
