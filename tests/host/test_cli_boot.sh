#!/usr/bin/env bash
# Secure boot through the CLI on the firmware core (azihsm-fw, cli_fw_dev.c
# takes the image and fuses from AZIHSM_TEST_FW_IMAGE, _FUSE_ROOT,
# _FUSE_MIN_SVN): a manifest made by scripts/fw-manifest boots and serves;
# one with a flipped signature digit, another vendor's, or one below the
# fused SVN is refused (ERROR_STATE) and leaves no state file. TAP.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=${AZIHSM_TOP:-$(cd "$here/../.." && pwd)}
cli=$here/azihsm-fw
dir=$(mktemp -d /tmp/azihsm-cli-boot.XXXXXX)
trap 'rm -rf "$dir"' EXIT
unset AZIHSM_PIN AZIHSM_NEW_PIN AZIHSM_TEST_FW_IMAGE AZIHSM_TEST_FUSE_ROOT AZIHSM_TEST_FUSE_MIN_SVN
# shellcheck source=tests/tap.sh
. "$here/tap.sh"
tap_on_fail() { [[ -s $dir/err ]] && sed 's/^/#   /' "$dir/err"; }

printf 'CO-default-PIN-1\n' >"$dir/pin"
# login STATE: the CLI's login, stdout/stderr in $dir/out, $dir/err
login() {
	AZIHSM_TEST_STATE=$dir/$1 "$cli" login --role officer --pin-file "$dir/pin" \
		>"$dir/out" 2>"$dir/err"
}
root() { openssl pkey -in "$1" -pubout -outform DER | sha384sum | cut -c1-96; }

fwm=$top/scripts/fw-manifest
[[ -x $fwm ]] || { echo "1..0 # SKIP $fwm not found (set AZIHSM_TOP)"; exit 0; }
"$fwm" --key "$dir/vendor.pem" --out "$dir/good" --svn 4 --version 4.0.0 &&
	"$fwm" --key "$dir/rogue.pem" --out "$dir/rogue" --svn 4 &&
	"$fwm" --key "$dir/vendor.pem" --out "$dir/old" --svn 3
ok $? "fw-manifest: a good, another vendor's and an old manifest"
sed '$ s/^signature 30/signature 31/' "$dir/good" >"$dir/flipped"
cmp -s "$dir/good" "$dir/flipped"
[[ $? == 1 ]]
ok $? "a copy with its signature's first byte changed"

export AZIHSM_TEST_FUSE_ROOT AZIHSM_TEST_FUSE_MIN_SVN=4
AZIHSM_TEST_FUSE_ROOT=$(root "$dir/vendor.pem")

AZIHSM_TEST_FW_IMAGE=$dir/good login s-good
ok $? "good manifest: login works"
[[ -f $dir/s-good ]]
ok $? "... and the partition was stored"

for bad in flipped rogue old; do
	AZIHSM_TEST_FW_IMAGE=$dir/$bad login "s-$bad"
	[[ $? == 1 ]] && grep -q 'ERROR_STATE' "$dir/err"
	ok $? "$bad manifest: login refused with ERROR_STATE"
	[[ ! -e $dir/s-$bad ]]
	ok $? "$bad manifest: no state file made"
done
AZIHSM_TEST_FW_IMAGE=$dir/missing login s-missing
[[ $? == 1 ]] && grep -q 'ERROR_STATE' "$dir/err"
ok $? "fuses but no image: refused"
env -u AZIHSM_TEST_FUSE_ROOT -u AZIHSM_TEST_FUSE_MIN_SVN AZIHSM_TEST_STATE="$dir/s-unsigned" \
	"$cli" login --role officer --pin-file "$dir/pin" >"$dir/out" 2>"$dir/err"
ok $? "no image and no fuses (unsigned): login works"

tap_done
