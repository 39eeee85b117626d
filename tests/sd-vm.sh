#!/usr/bin/env bash
# The security domain across three QEMU instances (issue 10, section 5),
# each with its own state file, driven by the CLI in the guest: device A
# activates with three owner RSA keys (made here with openssl), quorum 2,
# backs up a persistent EC key under the domain and is zeroized; device B
# (a fresh state file) restores the domain with owner keys 1 and 3 and the
# key, and its signature verifies here with OpenSSL against A's old
# public key (a restore pinned to another device, --expect-device SD-A, is
# refused first; the one pinned to SD-B goes through); device C, given only one owner key, refuses. The security
# domain file and the key backup travel through the host, as an owner
# would carry them. TAP.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kernel=${1:-6.1}
dir=$(mktemp -d /tmp/azihsm-sd.XXXXXX)
trap 'rm -rf "$dir"' EXIT
# shellcheck source=tests/tap.sh
. "$top/tests/tap.sh"

# Every guest: openssl and the files of $dir/in; device DEV's state file is
# $dir/DEV and its serial SD-DEV.
mkdir -p "$dir/in"
guest_opts=(--add /usr/bin/openssl)

printf 'CO-default-PIN-1\n' >"$dir/in/pin0"
printf 'officer-pin-0042\n' >"$dir/in/pin"
for i in 1 2 3; do
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/k$i.pem" 2>/dev/null &&
		openssl pkey -in "$dir/k$i.pem" -pubout -out "$dir/in/k$i.pub" || exit 1
done
ok 0 "three owner RSA-2048 key pairs (openssl genpkey)"
fresh='azihsm login --role officer --pin-file pin0 --change-pin --new-pin-file pin >/dev/null'
co='--role officer --pin-file pin'

guest "
set -e
cd /root/in
$fresh
azihsm sd activate $co --owner-key k1.pub --owner-key k2.pub --owner-key k3.pub --quorum 2 --out /tmp/sd.json
azihsm key generate $co --type ec-p384 --label ec1 --usage sign --persistent
azihsm key public $co --label ec1 --out /tmp/ec1.pub
azihsm sd backup-key $co --label ec1 --out /tmp/ec1.sdb
azihsm zeroize $co --yes
echo SD-BEGIN; cat /tmp/sd.json; echo SD-END
echo PUB-BEGIN; cat /tmp/ec1.pub; echo PUB-END
echo BLOB-BEGIN; openssl base64 -in /tmp/ec1.sdb; echo BLOB-END
" --state "$dir/A" --serial SD-A
ok $? "A: activate (3 owners, quorum 2), persistent EC key, backup under the domain, zeroize"
between SD >"$dir/in/sd.json"
between PUB >"$dir/ec1.pub"
between BLOB | openssl base64 -d -out "$dir/in/ec1.sdb"
grep -q '"format": "azihsm-security-domain-1"' "$dir/in/sd.json" &&
	[[ $(grep -c '"ciphertext"' "$dir/in/sd.json") == 3 ]] && [[ -s $dir/in/ec1.sdb ]] &&
	grep -q 'BEGIN PUBLIC KEY' "$dir/ec1.pub"
ok $? "A: the security domain file (3 shares), the key backup and the public key came out"

cp "$dir/k1.pem" "$dir/k3.pem" "$dir/in/"
printf 'signed on device B\n' >"$dir/in/msg"
guest "
cd /root/in
$fresh
azihsm sd restore-key $co --in ec1.sdb 2>&1 | grep -q NO_SD && echo BEFORE-NO-SD
azihsm cert chain --out /tmp | grep '^# device'
echo DEV-BEGIN; cat /tmp/device.pem; echo DEV-END
azihsm sd restore $co --share-key k1.pem --share-key k3.pem --in sd.json --expect-device SD-A
echo WRONG-RC=\$?
azihsm sd info $co | grep -q 'no security domain' && echo STILL-NO-SD
azihsm sd restore $co --share-key k1.pem --share-key k3.pem --in sd.json --expect-device SD-B &&
	echo RESTORED
azihsm sd restore-key $co --in ec1.sdb && echo KEY-BACK
azihsm sign $co --label ec1 --alg ecdsa-sha384 --in msg --out /tmp/msg.sig
echo SIG-BEGIN; openssl base64 -in /tmp/msg.sig; echo SIG-END
" --state "$dir/B" --serial SD-B
ok $? "B: a fresh device boots"
grep -q '^BEFORE-NO-SD$' <<<"$out"
ok $? "B: before the restore the key backup is NO_SD"
grep -q '^WRONG-RC=1$' <<<"$out" && grep -q 'not by the expected device SD-A' <<<"$out" &&
	grep -q '^STILL-NO-SD$' <<<"$out"
ok $? "B: sd restore --expect-device SD-A (the owners named another device): refused, nothing installed"
between DEV >"$dir/b-device.pem"
fp=$(openssl x509 -in "$dir/b-device.pem" -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)
[[ -n $fp ]] && grep -q "^# device SD-B, certificate SHA-256 $fp " <<<"$out"
ok $? "B: cert chain names device SD-B and its certificate's SHA-256 (OpenSSL: ${fp:0:16}...)"
grep -q '^RESTORED$' <<<"$out" && grep -q '^KEY-BACK$' <<<"$out"
ok $? "B: sd restore --expect-device SD-B with owner keys 1 and 3, then the key restored"
between SIG | openssl base64 -d -out "$dir/msg.sig"
openssl dgst -sha384 -verify "$dir/ec1.pub" -signature "$dir/msg.sig" "$dir/in/msg" >/dev/null
ok $? "B: its signature verifies with OpenSSL against A's old public key"
rm -f "$dir/in/k1.pem" "$dir/in/k3.pem"

cp "$dir/k2.pem" "$dir/in/"
guest "
cd /root/in
$fresh
azihsm sd restore $co --share-key k2.pem --in sd.json; echo RC=\$?
azihsm sd restore-key $co --in ec1.sdb; echo RC2=\$?
" --state "$dir/C" --serial SD-C
ok $? "C: a fresh device boots"
grep -q '^RC=1$' <<<"$out" && grep -q 'not enough to restore' <<<"$out"
ok $? "C: one owner key: refused, 'not enough to restore'"
grep -q '^RC2=1$' <<<"$out" && grep -q 'NO_SD' <<<"$out"
ok $? "C: the key backup does not restore (NO_SD)"

tap_done
