# shellcheck shell=bash
# Helpers shared by the torture scripts; source after ../e2e/lib.sh.

# Private copies of the binaries: other people rebuild the shared build dir while a long
# run is going, and exec of a binary being relinked fails (status 126, ETXTBSY).
snapshot_bins() {
  install -d -m 0755 "$T/bin"
  local b
  for b in "$VMIP" "$LEASED" "$VMIPCTL"; do
    install -m 0755 "$b" "$T/bin/"
    "$T/bin/${b##*/}" --help >/dev/null 2>&1 || [[ ${b##*/} == vmip ]] ||
      die "copy of $b does not run (being rebuilt?)"
  done
  VMIP=$T/bin/vmip LEASED=$T/bin/vmip-leased VMIPCTL=$T/bin/vmipctl
}

KNOWN=0
# expect_yes NAME YES_NO DETAIL: pass, or fail printing DETAIL (what was seen).
expect_yes() {
  if [[ $2 == yes ]]; then pass "$1"; else fail "$1: $3"; fi
}
