#!/usr/bin/env bash
# Zeroize and backup through the whole stack (CLI, libazihsm, driver,
# device), two boots on one state file, as tests/host/test_cli_backup.sh
# runs them on the host:
#   boot 1: persistent EC P-384 and AES-256 keys, a signature and an AES-CBC
#   ciphertext, backup create, zeroize; then the keys are gone, both PINs
#   refused, the default ones must be changed, the old masked blob is
#   BAD_BLOB; the driver's kernel session, which the zeroize closed, is
#   reopened for a new crypto-API key (kcapi-enc). The backup directory comes out to the host (tar, base64).
#   host: the signature checked with openssl; a copy of the backup with one
#   bit of bk3.sealed flipped.
#   boot 2: the zeroize survived the reboot (old PINs refused, no keys, the
#   old blob BAD_BLOB); PINs changed; the flipped backup refused (BAD_BLOB)
#   with nothing changed; backup restore; the restored EC key's public key
#   equals the old PEM and its new signature verifies with openssl against
#   the old PEM; the AES key decrypts the old ciphertext; a second restore
#   is NOT_EMPTY.
# Needs scripts/vm-run. TAP.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kernel=${1:-6.1}
dir=$(mktemp -d /tmp/azihsm-backup.XXXXXX)
trap 'rm -rf "$dir"' EXIT
state=$dir/partition
in=$dir/in
# shellcheck source=tests/tap.sh
. "$top/tests/tap.sh"

mkdir -p "$in"
guest() {
	printf '%s\n' "$1" >"$in/script.sh"
	out=$("$top/scripts/vm-run" --kernel "$kernel" --state "$state" \
		--module algif_skcipher --module crypto_user \
		--add /usr/bin/openssl --add /usr/bin/kcapi-enc --add "$in:/root/in" \
		-- sh /root/in/script.sh 2>"$dir/err")
	local rc=$?
	[[ $rc == 0 ]] || { sed 's/^/#   /' "$dir/err"; sed 's/^/#   | /' <<<"$out"; }
	return $rc
}
# block NAME: the lines the guest printed between NAME-BEGIN and NAME-END
block() { sed -n "/^$1-BEGIN\$/,/^$1-END\$/p" <<<"$out" | sed '1d;$d'; }
said() { grep -q "^$1\$" <<<"$out"; }

printf 'CO-default-PIN-1\n' >"$in/pin.odefault"
printf 'CU-default-PIN-1\n' >"$in/pin.udefault"
printf 'officer-pin-0042\n' >"$in/pin.officer"
printf 'user-pin-0000042\n' >"$in/pin.user"
printf 'officer-pin-0043\n' >"$in/pin.officer2"
printf 'user-pin-0000043\n' >"$in/pin.user2"
printf 'signed before the backup\n' >"$in/msg"
printf 'signed after the restore\n' >"$in/msg2"
head -c 4096 /dev/urandom >"$in/plain"

guest '
cd /root/in
A="--pin-file pin.officer"
U="--role user --pin-file pin.user"
iv=000102030405060708090a0b0c0d0e0f
azihsm login --role officer --pin-file pin.odefault --change-pin --new-pin-file pin.officer >/dev/null &&
	azihsm login --role user --pin-file pin.udefault --change-pin --new-pin-file pin.user >/dev/null &&
	echo PINS-SET
azihsm key generate --role officer $A --type ec-p384 --usage sign,verify --label bk-ec --persistent >/dev/null &&
	azihsm key generate --role officer $A --type aes-256 --usage encrypt,decrypt --label bk-aes --persistent >/dev/null &&
	echo KEYS-MADE
azihsm key public $U --label bk-ec --out /tmp/ec.pem &&
	azihsm sign $U --label bk-ec --alg ecdsa-sha384 --in msg --out /tmp/sig0 &&
	openssl dgst -sha384 -verify /tmp/ec.pem -signature /tmp/sig0 msg >/dev/null && echo SIGNED
echo EC-BEGIN; cat /tmp/ec.pem; echo EC-END
echo SIG-BEGIN; openssl base64 -in /tmp/sig0; echo SIG-END
azihsm encrypt $U --label bk-aes --mode cbc --iv $iv --in plain --out /tmp/ct && echo ENCRYPTED
echo CT-BEGIN; openssl base64 -in /tmp/ct; echo CT-END
azihsm key export-masked --role officer $A --label bk-ec --out /tmp/old-ec.masked && echo EXPORTED
echo OLD-BEGIN; openssl base64 -in /tmp/old-ec.masked; echo OLD-END
azihsm zeroize $U --yes 2>&1 | grep -q WRONG_ROLE && echo USER-ZEROIZE-REFUSED
azihsm backup create $A --out /tmp/bk --json >/tmp/bk.json && echo BACKUP-MADE
grep -q "\"sealed_bk3\": \"bk3.sealed\"" /tmp/bk.json && [ -s /tmp/bk/bk3.sealed ] &&
	[ -s /tmp/bk/bk-ec.masked ] && [ -s /tmp/bk/bk-aes.masked ] && [ -s /tmp/bk/index ] &&
	echo BACKUP-FILES
echo BK-BEGIN; tar -C /tmp -cf - bk | openssl base64; echo BK-END
azihsm zeroize $A 2>&1 | grep -q "confirm with --yes" && echo NEEDS-YES
azihsm key list --role officer $A --json | grep -q bk-ec && echo STILL-THERE
azihsm zeroize $A --yes >/dev/null && echo ZEROIZED
azihsm key list --role officer $A 2>&1 | grep -q BAD_CREDENTIAL && echo OFFICER-PIN-GONE
azihsm key list $U 2>&1 | grep -q BAD_CREDENTIAL && echo USER-PIN-GONE
azihsm login --role officer --pin-file pin.odefault --json | grep -q "\"must_change_pin\": true" &&
	echo OFFICER-DEFAULT
azihsm key list --role officer --pin-file pin.odefault 2>&1 | grep -q "change it first" &&
	echo MUST-CHANGE
# The zeroize closed the driver kernel session too: a new crypto-API key
# must still work (the driver reopens the session), as the software AES.
head -c 32 /dev/urandom >/tmp/k; head -c 4096 /dev/urandom >/tmp/m
kcapi-enc -e -c cbc_aes_azihsm --keyfd 3 --iv $iv -i /tmp/m -o /tmp/c1 3</tmp/k &&
	kcapi-enc -e -c "cbc(aes-generic)" --keyfd 3 --iv $iv -i /tmp/m -o /tmp/c2 3</tmp/k &&
	[ -s /tmp/c1 ] && cmp -s /tmp/c1 /tmp/c2 && echo KCRYPTO-AFTER-ZEROIZE
dmesg | grep -q "kernel session [0-9]* reopened" && echo KSESS-REOPENED
true
'
ok $? "boot 1: the guest ran"
said PINS-SET && said KEYS-MADE
ok $? "boot 1: PINs changed, persistent EC P-384 and AES-256 keys generated"
said SIGNED && said ENCRYPTED && said EXPORTED
ok $? "boot 1: the user signs (openssl verifies in the guest), encrypts; a masked blob exported"
said USER-ZEROIZE-REFUSED
ok $? "boot 1: zeroize as the user: WRONG_ROLE"
said BACKUP-MADE && said BACKUP-FILES
ok $? "boot 1: backup create: bk3.sealed, bk-ec.masked, bk-aes.masked, index"
said NEEDS-YES && said STILL-THERE
ok $? "boot 1: zeroize without --yes does nothing"
said ZEROIZED
ok $? "boot 1: zeroize --yes"
said OFFICER-PIN-GONE && said USER-PIN-GONE
ok $? "boot 1: after it both PINs are refused (BAD_CREDENTIAL)"
said OFFICER-DEFAULT && said MUST-CHANGE
ok $? "boot 1: the default officer PIN opens and must be changed first"
said KCRYPTO-AFTER-ZEROIZE && said KSESS-REOPENED
ok $? "boot 1: after it the driver reopens its kernel session: cbc_aes_azihsm with a new key equals the software AES"

block EC >"$in/ec.pem"
block SIG | openssl base64 -d >"$dir/sig0"
block CT | openssl base64 -d >"$in/ct"
block OLD | openssl base64 -d >"$in/old-ec.masked"
openssl dgst -sha384 -verify "$in/ec.pem" -signature "$dir/sig0" "$in/msg" >/dev/null 2>&1
ok $? "host: the boot-1 signature verifies with openssl against the boot-1 PEM"
[[ $(stat -c %s "$in/ct") == 4096 && -s $in/old-ec.masked ]]
ok $? "host: the ciphertext and the old masked blob came out"
mkdir -p "$in/good" "$in/bad"
block BK | openssl base64 -d | tar -C "$in/good" -xf - &&
	[[ $(stat -c %s "$in/good/bk/bk3.sealed") == 175 ]] && grep -q '^key bk-ec.masked ' "$in/good/bk/index"
ok $? "host: the backup directory came out (bk3.sealed is 175 bytes, the index lists bk-ec)"
cp -r "$in/good/bk" "$in/bad/bk"
printf '\x01' | dd of="$in/bad/bk/bk3.sealed" bs=1 seek=120 count=1 conv=notrunc status=none
! cmp -s "$in/good/bk/bk3.sealed" "$in/bad/bk/bk3.sealed"
ok $? "host: a copy with one byte of bk3.sealed changed"

guest '
cd /root/in
A="--pin-file pin.officer2"
U="--role user --pin-file pin.user2"
iv=000102030405060708090a0b0c0d0e0f
azihsm key list --role officer --pin-file pin.officer 2>&1 | grep -q BAD_CREDENTIAL && echo OLD-PIN-REFUSED
azihsm login --role officer --pin-file pin.odefault --change-pin --new-pin-file pin.officer2 >/dev/null &&
	azihsm login --role user --pin-file pin.udefault --change-pin --new-pin-file pin.user2 >/dev/null &&
	echo PINS-CHANGED
[ "$(azihsm key list --role officer $A --json | tr -d " \n")" = "[]" ] && echo NO-KEYS
azihsm key unmask --role officer $A --in old-ec.masked 2>&1 | grep -q BAD_BLOB && echo OLD-BLOB-BAD
azihsm backup restore $A --in bad/bk 2>&1 | grep -q BAD_BLOB && echo FLIPPED-REFUSED
azihsm key unmask --role officer $A --in old-ec.masked 2>&1 | grep -q BAD_BLOB && echo STILL-BAD
azihsm backup restore $U --in good/bk 2>&1 | grep -q WRONG_ROLE && echo USER-RESTORE-REFUSED
azihsm backup restore $A --in good/bk --json >/tmp/r.json && echo RESTORED
grep -q "\"restored\": 2" /tmp/r.json && echo RESTORED-2
azihsm key list --role officer $A --json >/tmp/l.json &&
	grep -q "\"bk-ec\"" /tmp/l.json && grep -q "\"bk-aes\"" /tmp/l.json &&
	[ "$(grep -c "\"persistent\": true" /tmp/l.json)" = 2 ] && echo LISTED-PERSISTENT
azihsm key public $U --label bk-ec --out /tmp/ec2.pem && cmp -s /tmp/ec2.pem ec.pem && echo SAME-PUBLIC
echo EC2-BEGIN; cat /tmp/ec2.pem; echo EC2-END
azihsm sign $U --label bk-ec --alg ecdsa-sha384 --in msg2 --out /tmp/sig1 &&
	openssl dgst -sha384 -verify ec.pem -signature /tmp/sig1 msg2 >/dev/null && echo NEW-SIG-OK
echo SIG1-BEGIN; openssl base64 -in /tmp/sig1; echo SIG1-END
azihsm decrypt $U --label bk-aes --mode cbc --iv $iv --in ct --out /tmp/plain2 &&
	cmp -s /tmp/plain2 plain && echo AES-OLD-CT-OK
azihsm backup restore $A --in good/bk 2>&1 | grep -q NOT_EMPTY && echo AGAIN-NOT-EMPTY
true
'
ok $? "boot 2: the guest ran"
said OLD-PIN-REFUSED
ok $? "boot 2: the zeroize survived the reboot: the old officer PIN is refused"
said PINS-CHANGED
ok $? "boot 2: both default PINs changed again"
said NO-KEYS
ok $? "boot 2: no keys"
said OLD-BLOB-BAD
ok $? "boot 2: the old masked blob: BAD_BLOB (new masking key)"
said FLIPPED-REFUSED && said STILL-BAD
ok $? "boot 2: restore with a flipped bk3.sealed: BAD_BLOB, nothing changed"
said USER-RESTORE-REFUSED
ok $? "boot 2: restore as the user: WRONG_ROLE"
said RESTORED && said RESTORED-2 && said LISTED-PERSISTENT
ok $? "boot 2: backup restore: bk-ec and bk-aes back as persistent keys"
said SAME-PUBLIC
ok $? "boot 2: the restored EC key's public key equals the old PEM (in the guest)"
block EC2 | cmp -s - "$in/ec.pem"
ok $? "host: and byte for byte on the host"
said NEW-SIG-OK
ok $? "boot 2: its new signature verifies with openssl against the old PEM (in the guest)"
block SIG1 | openssl base64 -d >"$dir/sig1" &&
	openssl dgst -sha384 -verify "$in/ec.pem" -signature "$dir/sig1" "$in/msg2" >/dev/null 2>&1
ok $? "host: the new signature verifies with the host's openssl against the boot-1 PEM"
said AES-OLD-CT-OK
ok $? "boot 2: the restored AES key decrypts the boot-1 ciphertext to the plaintext"
said AGAIN-NOT-EMPTY
ok $? "boot 2: a second restore: NOT_EMPTY"

tap_done
