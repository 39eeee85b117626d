#!/usr/bin/env bash
# Zeroize and backup through the whole stack (CLI, libazihsm, driver,
# device), on one state file over four boots, as tests/host/test_cli_backup.sh
# runs them on the host. Issue 9: a backup restores only within the
# device's zeroize epoch, never a deleted key, and a zeroize is final.
#   boot 1: persistent EC P-384 and AES-256 keys, a signature, an AES-CBC
#   ciphertext, a masked blob, backup create, a restore over the live keys
#   (nothing restored, both present).
#   host: a copy of both state files (the host's own backup of the device).
#   boot 2: a persistent EC key new-ec, its public key and a signature,
#   backup create (bk2, to the host: tar, base64).
#   host: puts its copy of the state files back (new-ec is lost).
#   boot 3: backup restore of bk2 brings new-ec back (its public key equals
#   the old PEM, its new signature verifies with openssl), bk-ec and bk-aes
#   are present, bk-aes decrypts the boot-1 ciphertext; the user may not
#   restore or unmask (WRONG_ROLE); bk-aes deleted, a second restore
#   refuses it (KEY_DELETED: deletion is final); zeroize, after which the
#   old masked blob and the backup are BAD_BLOB (a zeroize is final), a
#   copy with one flipped bit too, and the driver reopens its kernel
#   session for a new crypto-API key (kcapi-enc).
#   host: FILE.nv is at epoch 1.
#   boot 4: the zeroize survived the reboot (old PINs refused, no keys, the
#   backup and the old blob still BAD_BLOB).
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
guest_opts=(--state "$state" --module algif_skcipher --module crypto_user
	--add /usr/bin/openssl --add /usr/bin/kcapi-enc)

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
echo SIG-BEGIN; openssl base64 -in /tmp/sig0; echo SIG-END
echo EC-BEGIN; cat /tmp/ec.pem; echo EC-END
azihsm encrypt $U --label bk-aes --mode cbc --iv $iv --in plain --out /tmp/ct && echo ENCRYPTED
echo CT-BEGIN; openssl base64 -in /tmp/ct; echo CT-END
azihsm key export-masked --role officer $A --label bk-ec --out /tmp/old-ec.masked && echo EXPORTED
echo OLD-BEGIN; openssl base64 -in /tmp/old-ec.masked; echo OLD-END
azihsm zeroize $U --yes 2>&1 | grep -q WRONG_ROLE && echo USER-ZEROIZE-REFUSED
azihsm backup create $A --out /tmp/bk --json >/tmp/bk.json && echo BACKUP-MADE
grep -q "\"sealed_bk3\": \"bk3.sealed\"" /tmp/bk.json && [ -s /tmp/bk/bk3.sealed ] &&
	[ -s /tmp/bk/bk-ec.masked ] && [ -s /tmp/bk/bk-aes.masked ] && [ -s /tmp/bk/index ] &&
	echo BACKUP-FILES
azihsm backup restore $A --in /tmp/bk --json >/tmp/r0.json && grep -q "\"restored\": 0" /tmp/r0.json &&
	grep -q "\"present\": 2" /tmp/r0.json && echo RESTORE-LIVE-PRESENT
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
said RESTORE-LIVE-PRESENT
ok $? "boot 1: backup restore over the live keys: nothing restored, both present"
between EC >"$in/ec.pem"
between SIG | openssl base64 -d >"$dir/sig0"
between CT | openssl base64 -d >"$in/ct"
between OLD | openssl base64 -d >"$in/old-ec.masked"
openssl dgst -sha384 -verify "$in/ec.pem" -signature "$dir/sig0" "$in/msg" >/dev/null 2>&1
ok $? "host: the boot-1 signature verifies with openssl against the boot-1 PEM"
[[ $(stat -c %s "$in/ct") == 4096 && -s $in/old-ec.masked ]]
ok $? "host: the ciphertext and the masked blob came out"
cp "$state" "$dir/snap" && cp "$state.nv" "$dir/snap.nv"
ok $? "host: a copy of both state files"

guest '
cd /root/in
A="--pin-file pin.officer"
U="--role user --pin-file pin.user"
azihsm key generate --role officer $A --type ec-p384 --usage sign,verify --label new-ec --persistent >/dev/null &&
	azihsm key public $U --label new-ec --out /tmp/new.pem && echo NEW-KEY
echo NEW-BEGIN; cat /tmp/new.pem; echo NEW-END
azihsm backup create $A --out /tmp/bk2 >/dev/null && [ -s /tmp/bk2/new-ec.masked ] && echo BACKUP2-MADE
echo BK2-BEGIN; tar -C /tmp -cf - bk2 | openssl base64; echo BK2-END
true
'
ok $? "boot 2: the guest ran"
said NEW-KEY && said BACKUP2-MADE
ok $? "boot 2: a persistent key new-ec, then backup create (bk2)"
between NEW >"$in/new.pem"
mkdir -p "$in/good" "$in/bad"
between BK2 | openssl base64 -d | tar -C "$in/good" -xf - &&
	[[ $(stat -c %s "$in/good/bk2/bk3.sealed") == 175 ]] && grep -q '^key new-ec.masked ' "$in/good/bk2/index"
ok $? "host: bk2 came out (bk3.sealed is 175 bytes, the index lists new-ec)"
cp -r "$in/good/bk2" "$in/bad/bk2"
printf '\x01' | dd of="$in/bad/bk2/bk3.sealed" bs=1 seek=120 count=1 conv=notrunc status=none
! cmp -s "$in/good/bk2/bk3.sealed" "$in/bad/bk2/bk3.sealed"
ok $? "host: a copy with one byte of bk3.sealed changed"
cp "$dir/snap" "$state" && cp "$dir/snap.nv" "$state.nv"
ok $? "host: puts its copy of the state files back (new-ec is lost)"

guest '
cd /root/in
A="--pin-file pin.officer"
U="--role user --pin-file pin.user"
iv=000102030405060708090a0b0c0d0e0f
azihsm key list --role officer $A --json >/tmp/l0.json && ! grep -q new-ec /tmp/l0.json &&
	grep -q bk-ec /tmp/l0.json && echo NEW-EC-LOST
azihsm backup restore $U --in good/bk2 2>&1 | grep -q WRONG_ROLE && echo USER-RESTORE-REFUSED
azihsm key unmask $U --in good/bk2/new-ec.masked 2>&1 | grep -q WRONG_ROLE && echo USER-UNMASK-REFUSED
azihsm backup restore $A --in good/bk2 --json >/tmp/r.json && echo RESTORED
grep -q "\"restored\": 1" /tmp/r.json && grep -q "\"present\": 2" /tmp/r.json && echo RESTORED-1-PRESENT-2
azihsm key list --role officer $A --json >/tmp/l.json && grep -q "\"new-ec\"" /tmp/l.json &&
	[ "$(grep -c "\"persistent\": true" /tmp/l.json)" = 3 ] && echo LISTED-PERSISTENT
azihsm key public $U --label new-ec --out /tmp/new2.pem && cmp -s /tmp/new2.pem new.pem && echo SAME-PUBLIC
echo NEW2-BEGIN; cat /tmp/new2.pem; echo NEW2-END
azihsm sign $U --label new-ec --alg ecdsa-sha384 --in msg2 --out /tmp/sig1 &&
	openssl dgst -sha384 -verify new.pem -signature /tmp/sig1 msg2 >/dev/null && echo NEW-SIG-OK
echo SIG1-BEGIN; openssl base64 -in /tmp/sig1; echo SIG1-END
azihsm decrypt $U --label bk-aes --mode cbc --iv $iv --in ct --out /tmp/plain2 &&
	cmp -s /tmp/plain2 plain && echo AES-OLD-CT-OK
azihsm key delete --role officer $A --label bk-aes >/dev/null &&
	azihsm backup restore $A --in good/bk2 >/tmp/r2.out 2>&1; grep -q KEY_DELETED /tmp/r2.out &&
	! azihsm key list --role officer $A --json | grep -q bk-aes && echo DELETED-STAYS-DELETED
azihsm zeroize $A --yes >/dev/null && echo ZEROIZED
azihsm key list --role officer $A 2>&1 | grep -q BAD_CREDENTIAL && echo OFFICER-PIN-GONE
azihsm login --role officer --pin-file pin.odefault --json | grep -q "\"must_change_pin\": true" &&
	echo OFFICER-DEFAULT
A="--pin-file pin.officer2"
azihsm login --role officer --pin-file pin.odefault --change-pin --new-pin-file pin.officer2 >/dev/null &&
	echo FIRST-OFFICER-IN
azihsm key unmask --role officer $A --in old-ec.masked 2>&1 | grep -q BAD_BLOB && echo OLD-BLOB-BAD
azihsm backup restore $A --in good/bk2 2>&1 | grep -q "made before a zeroize" && echo BACKUP-BAD
azihsm backup restore $A --in bad/bk2 2>&1 | grep -q BAD_BLOB && echo FLIPPED-REFUSED
[ "$(azihsm key list --role officer $A --json | tr -d " \n")" = "[]" ] && echo NO-KEYS
# The zeroize closed the driver kernel session too: a new crypto-API key
# must still work (the driver reopens the session), as the software AES.
head -c 32 /dev/urandom >/tmp/k; head -c 4096 /dev/urandom >/tmp/m
kcapi-enc -e -c cbc_aes_azihsm --keyfd 3 --iv $iv -i /tmp/m -o /tmp/c1 3</tmp/k &&
	kcapi-enc -e -c "cbc(aes-generic)" --keyfd 3 --iv $iv -i /tmp/m -o /tmp/c2 3</tmp/k &&
	[ -s /tmp/c1 ] && cmp -s /tmp/c1 /tmp/c2 && echo KCRYPTO-AFTER-ZEROIZE
dmesg | grep -q "kernel session [0-9]* reopened" && echo KSESS-REOPENED
true
'
ok $? "boot 3: the guest ran"
said NEW-EC-LOST
ok $? "boot 3: the host's copy has bk-ec but not new-ec"
said USER-RESTORE-REFUSED && said USER-UNMASK-REFUSED
ok $? "boot 3: restore and unmask of a persistent key's blob as the user: WRONG_ROLE"
said RESTORED && said RESTORED-1-PRESENT-2 && said LISTED-PERSISTENT
ok $? "boot 3: backup restore: new-ec back as a persistent key, bk-ec and bk-aes present"
said SAME-PUBLIC
ok $? "boot 3: the restored new-ec's public key equals its old PEM (in the guest)"
between NEW2 | cmp -s - "$in/new.pem"
ok $? "host: and byte for byte on the host"
said NEW-SIG-OK
ok $? "boot 3: its new signature verifies with openssl against the old PEM (in the guest)"
between SIG1 | openssl base64 -d >"$dir/sig1" &&
	openssl dgst -sha384 -verify "$in/new.pem" -signature "$dir/sig1" "$in/msg2" >/dev/null 2>&1
ok $? "host: the new signature verifies with the host's openssl against the boot-2 PEM"
said AES-OLD-CT-OK
ok $? "boot 3: bk-aes decrypts the boot-1 ciphertext to the plaintext"
said DELETED-STAYS-DELETED
ok $? "boot 3: issue 9: bk-aes deleted, a second restore refuses it (KEY_DELETED)"
said ZEROIZED && said OFFICER-PIN-GONE && said OFFICER-DEFAULT && said FIRST-OFFICER-IN
ok $? "boot 3: zeroize; the old PIN refused; the first to log in on the default officer PIN changes it"
said OLD-BLOB-BAD
ok $? "boot 3: issue 9: the old masked blob: BAD_BLOB"
said BACKUP-BAD && said FLIPPED-REFUSED && said NO-KEYS
ok $? "boot 3: issue 9: the backup of before the zeroize: BAD_BLOB (a zeroize is final), flipped too; no keys"
said KCRYPTO-AFTER-ZEROIZE && said KSESS-REOPENED
ok $? "boot 3: after it the driver reopens its kernel session: cbc_aes_azihsm with a new key equals the software AES"
python3 -c 'import sys; b = open(sys.argv[1], "rb").read(); assert len(b) == 64 and b[8] == 2 and int.from_bytes(b[52:60], "little") == 1' \
	"$state.nv" 2>"$dir/err"
ok $? "host: FILE.nv (version 2) is at epoch 1"

guest '
cd /root/in
A="--pin-file pin.officer2"
azihsm key list --role officer --pin-file pin.officer 2>&1 | grep -q BAD_CREDENTIAL && echo OLD-PIN-REFUSED
[ "$(azihsm key list --role officer $A --json | tr -d " \n")" = "[]" ] && echo NO-KEYS
azihsm backup restore $A --in good/bk2 2>&1 | grep -q BAD_BLOB && echo BACKUP-STILL-BAD
azihsm key unmask --role officer $A --in old-ec.masked 2>&1 | grep -q BAD_BLOB && echo STILL-BAD
true
'
ok $? "boot 4: the guest ran"
said OLD-PIN-REFUSED && said NO-KEYS
ok $? "boot 4: the zeroize survived the reboot: the old officer PIN is refused, no keys"
said BACKUP-STILL-BAD && said STILL-BAD
ok $? "boot 4: issue 9: the backup and the old masked blob are still BAD_BLOB"

tap_done
