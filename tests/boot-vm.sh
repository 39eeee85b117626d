#!/usr/bin/env bash
# Secure boot through the whole stack: QEMU's fw-image / fuse-root-hash /
# fuse-min-svn properties (vm-run passes the build's manifest and fuses),
# the firmware's check, the driver, libazihsm and `azihsm info` in the
# guest. Three boots: the build's manifest (verified; the measurement the
# guest sees is recomputed here with OpenSSL), the same manifest with one
# signature byte changed, and the build's manifest under a fused minimum
# SVN above its own (rollback). A refused boot serves nothing, says why,
# and leaves no state file. TAP.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kernel=${1:-6.1}
dir=$(mktemp -d /tmp/azihsm-boot.XXXXXX)
trap 'rm -rf "$dir"' EXIT
# shellcheck source=tests/tap.sh
. "$top/tests/tap.sh"

# boot VM-RUN-OPTION...: `azihsm info` (plain and --json) and a GetRandom in
# a guest; output in $out.
boot() {
	guest '
azihsm info; azihsm info --json
azihsm random 16 >/dev/null 2>/tmp/err && echo RANDOM-WORKED; cat /tmp/err
echo "SYSFS $(cat /sys/class/azihsm/azihsm0/error_state)"' --state "$dir/state" "$@"
}

"$top/scripts/fw-manifest"
ok $? "scripts/fw-manifest: the build's manifest"
manifest=$top/build/fw/manifest
svn=$(sed -n 's/^svn //p' "$manifest")
want=$(head -n -1 "$manifest" | openssl dgst -sha384 -r | cut -d' ' -f1)

boot
ok $? "build's manifest: the guest runs"
[[ $(json_field boot_state) == verified && $(json_field error_state) == false ]]
ok $? "build's manifest: boot verified, not in the error state ($(json_field boot_state))"
[[ $(json_field svn) == "$svn" && $(json_field fw_version) == "$(sed -n 's/^version //p' "$manifest")" ]]
ok $? "build's manifest: azihsm info shows its SVN ($svn) and version"
[[ -n $want && $(json_field measurement) == "$want" ]]
ok $? "build's manifest: measurement = SHA-384 of the signed part, by OpenSSL on the host"
grep -q '^measurement: *'"$want"'$' <<<"$out"
ok $? "build's manifest: plain azihsm info prints the measurement"
grep -q RANDOM-WORKED <<<"$out"
ok $? "build's manifest: services answer"
[[ -s $dir/state ]]
ok $? "build's manifest: the partition state was stored"
rm -f "$dir/state" "$dir/state.nv"

# One byte of the DER signature changed (its first, the SEQUENCE tag).
sed '$ s/^signature 30/signature 31/' "$manifest" >"$dir/flipped"
boot --fw-image "$dir/flipped"
ok $? "flipped signature: the guest still boots (the device answers info)"
[[ $(json_field boot_state) == bad-signature && $(json_field error_state) == true ]]
ok $? "flipped signature: boot bad-signature, error state ($(json_field boot_state))"
grep -q '^boot: *bad-signature (firmware image REFUSED' <<<"$out"
ok $? "flipped signature: plain azihsm info says the image was refused"
! grep -q RANDOM-WORKED <<<"$out" && grep -q ERROR_STATE <<<"$out"
ok $? "flipped signature: services refused with ERROR_STATE"
grep -q '^SYSFS 1$' <<<"$out"
ok $? "flipped signature: sysfs error_state 1"
[[ ! -e $dir/state ]]
ok $? "flipped signature: no state file made"

boot --fuse-min-svn $((svn + 1))
[[ $(json_field boot_state) == rollback && $(json_field error_state) == true &&
   $(json_field svn) == "$svn" ]]
ok $? "fused SVN $((svn + 1)) over the manifest's $svn: rollback, error state"
! grep -q RANDOM-WORKED <<<"$out" && [[ ! -e $dir/state ]]
ok $? "rollback: services refused, no state file"

tap_done
