#!/usr/bin/env bash
# The security domain through the CLI on the firmware core (azihsm-fw, one
# state file per device): device A activates with three owner RSA keys
# (openssl genpkey), quorum 2, backs up a persistent EC key and is
# zeroized; device B (a fresh state file) restores the domain with owner
# keys 1 and 3 and the key, whose signature openssl verifies with A's old
# public key; device C with one owner key, a tampered file or a stranger's
# key is refused with a clear message; owners who trust another
# manufacturer root than B's do not upload to B. TAP.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cli=$here/azihsm-fw
dir=$(mktemp -d /tmp/azihsm-cli-sd.XXXXXX)
trap 'rm -rf "$dir"' EXIT
unset AZIHSM_PIN AZIHSM_NEW_PIN AZIHSM_TEST_FW_IMAGE AZIHSM_TEST_FUSE_ROOT AZIHSM_TEST_FUSE_MIN_SVN
# shellcheck source=tests/tap.sh
. "$here/tap.sh"
tap_on_fail() { [[ -s $dir/err ]] && sed 's/^/#   /' "$dir/err"; }

# on DEV ARGS...: the CLI on device DEV's state file, output in $dir/out, err
on() {
	local dev=$1
	shift
	AZIHSM_TEST_STATE=$dir/$dev "$cli" "$@" >"$dir/out" 2>"$dir/err"
}
printf 'CO-default-PIN-1\n' >"$dir/pin0"
printf 'officer-pin-0042\n' >"$dir/pin"
printf 'a message signed on B\n' >"$dir/msg"
co=(--role officer --pin-file "$dir/pin")
fresh() { on "$1" login --role officer --pin-file "$dir/pin0" --change-pin --new-pin-file "$dir/pin"; }

for i in 1 2 3 4; do
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/k$i.pem" 2>/dev/null &&
		openssl pkey -in "$dir/k$i.pem" -pubout -out "$dir/k$i.pub" || exit 1
done

fresh A
ok $? "A: officer PIN changed"
on A sd activate "${co[@]}" --owner-key "$dir/k1.pub" --owner-key "$dir/k2.pub" --quorum 2 \
	--out "$dir/sd.json"
[[ $? == 2 ]] && grep -q 'quorum\|at least 3' "$dir/err"
ok $? "A: two owners refused by the CLI"
on A sd activate "${co[@]}" --owner-key "$dir/k1.pub" --owner-key "$dir/k2.pub" \
	--owner-key "$dir/k3.pub" --quorum 2 --out "$dir/sd.json" --json
ok $? "A: sd activate, 3 owners, quorum 2"
grep -q '"quorum": 2' "$dir/out" && grep -q '"format": "azihsm-security-domain-1"' "$dir/sd.json" &&
	[[ $(grep -c '"ciphertext"' "$dir/sd.json") == 3 ]]
ok $? "A: the security domain file holds 3 shares"
on A sd activate "${co[@]}" --owner-key "$dir/k1.pub" --owner-key "$dir/k2.pub" \
	--owner-key "$dir/k3.pub" --quorum 2 --out "$dir/sd2.json"
[[ $? == 1 ]] && grep -q 'SD_EXISTS' "$dir/err"
ok $? "A: a second activation: SD_EXISTS"
on A key generate "${co[@]}" --type ec-p384 --label ec1 --usage sign --persistent &&
	on A key public "${co[@]}" --label ec1 --out "$dir/ec1.pub"
ok $? "A: a persistent P-384 key and its public key"
on A sd backup-key "${co[@]}" --label ec1 --out "$dir/ec1.sdb"
ok $? "A: sd backup-key"
on A zeroize "${co[@]}" --yes
ok $? "A: zeroized"

fresh C
on C sd restore "${co[@]}" --share-key "$dir/k2.pem" --in "$dir/sd.json"
[[ $? == 1 ]] && grep -q 'not enough' "$dir/err"
ok $? "C: one owner key: not enough, says so"
on C sd restore "${co[@]}" --share-key "$dir/k1.pem" --share-key "$dir/k4.pem" --in "$dir/sd.json"
[[ $? == 1 ]] && grep -q 'is not the key of any share' "$dir/err"
ok $? "C: a stranger's key: refused, says so"
# The 11th hex digit of the first share's ciphertext changed (0 <-> 1, else to 0).
awk '!done && /"ciphertext"/ { i = index($0, "\"ciphertext\": \"") + 25; c = substr($0, i, 1)
	$0 = substr($0, 1, i - 1) (c == "0" ? "1" : "0") substr($0, i + 1); done = 1 } 1' \
	"$dir/sd.json" >"$dir/tampered.json"
[[ $(cmp -l "$dir/sd.json" "$dir/tampered.json" | wc -l) == 1 ]]
ok $? "a copy of the file with one hex digit of a share changed"
on C sd restore "${co[@]}" --share-key "$dir/k1.pem" --share-key "$dir/k3.pem" \
	--in "$dir/tampered.json"
[[ $? == 1 ]] && grep -q 'damaged\|tampered\|not an azihsm security domain' "$dir/err"
ok $? "C: a tampered file: refused, says so"
sed 's/"quorum": 2/"quorum": 1/' "$dir/sd.json" >"$dir/q1.json"
on C sd restore "${co[@]}" --share-key "$dir/k2.pem" --in "$dir/q1.json"
[[ $? == 1 ]]
ok $? "C: quorum lowered to 1 in the file: refused"
on C sd restore-key "${co[@]}" --in "$dir/ec1.sdb"
[[ $? == 1 ]] && grep -q 'NO_SD' "$dir/err"
ok $? "C: the key backup without the domain: NO_SD"

fresh B
# Each device here has its own manufacturer root ($dev.pki, cli_fw_dev.c):
# owners who trust only A's root must not give B the domain key.
on B sd restore "${co[@]}" --share-key "$dir/k1.pem" --share-key "$dir/k3.pem" \
	--in "$dir/sd.json" --root "$dir/A.pki/root.pem"
[[ $? == 1 ]] && grep -q 'exchange key is not signed.*chains to the trusted root' "$dir/err" &&
	grep -q 'A.pki/root.pem' "$dir/err"
ok $? "B: restore trusting another root: refused, says so"
on B sd info "${co[@]}" --json
grep -q '"active": false' "$dir/out"
ok $? "B: nothing was uploaded"
on B sd restore "${co[@]}" --share-key "$dir/k1.pem" --share-key "$dir/k3.pem" --in "$dir/sd.json" \
	--root "$dir/B.pki/root.pem"
ok $? "B: sd restore with owner keys 1 and 3 (--root: B's manufacturer)"
on B sd info "${co[@]}" --json
grep -q '"active": true' "$dir/out"
ok $? "B: sd info: active"
on B sd restore-key "${co[@]}" --in "$dir/ec1.sdb"
ok $? "B: sd restore-key"
on B sign "${co[@]}" --label ec1 --alg ecdsa-sha384 --in "$dir/msg" --out "$dir/msg.sig" &&
	openssl dgst -sha384 -verify "$dir/ec1.pub" -signature "$dir/msg.sig" "$dir/msg" >/dev/null
ok $? "B: signs with A's key; openssl verifies with A's old public key"

tap_done
