#!/usr/bin/env bash
# Zeroize and backup with the azihsm CLI on the host (azihsm-fw: the real
# CLI and library on the firmware core, one process per command on one
# sealed partition file): persistent EC and AES keys, a signature, backup
# create; a restore over the live keys (all present); the host puts back
# its earlier copy of the state files and the backup brings back the keys
# made since (the EC key's public key and new signature checked with
# openssl against the old PEM, the AES key decrypting the old ciphertext);
# a key deleted since a backup does not come back (issue 9: KEY_DELETED);
# zeroize (keys gone, default PINs must be changed again) after which
# nothing of before opens: the old masked blob, the backup and the old
# state file are refused (issue 9: zeroize is final), damaged and cut
# backups too. tests/backup-vm.sh does the same in the guest, through the
# driver. TAP.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cli=$here/azihsm-fw
dir=$(mktemp -d /tmp/azihsm-cli-backup.XXXXXX)
trap 'rm -rf "$dir"' EXIT
export AZIHSM_TEST_STATE=$dir/partition
unset AZIHSM_PIN AZIHSM_NEW_PIN
# shellcheck source=tests/tap.sh
. "$here/tap.sh"	# installed beside it from tests/tap.sh
tap_on_fail() { [[ -s $dir/err ]] && sed 's/^/#   /' "$dir/err"; }

run() { "$cli" "$@" >"$dir/out" 2>"$dir/err"; }

printf 'CO-default-PIN-1\n' >"$dir/pin.odefault"
printf 'CU-default-PIN-1\n' >"$dir/pin.udefault"
printf 'officer-pin-0042\n' >"$dir/pin.officer"
printf 'user-pin-0000042\n' >"$dir/pin.user"
printf 'officer-pin-0043\n' >"$dir/pin.officer2"
printf 'backup me, then restore me\n' >"$dir/msg"
head -c 64 /dev/urandom >"$dir/plain"
co=(--pin-file "$dir/pin.officer")
cu=(--role user --pin-file "$dir/pin.user")

run login --role officer --pin-file "$dir/pin.odefault" --change-pin --new-pin-file "$dir/pin.officer"
ok $? "officer changes the default PIN"
run login --role user --pin-file "$dir/pin.udefault" --change-pin --new-pin-file "$dir/pin.user"
ok $? "user changes the default PIN"
run key generate --role officer "${co[@]}" --type ec-p384 --usage sign,verify --label bk-ec \
	--persistent
ok $? "persistent EC P-384 key bk-ec"
run key generate --role officer "${co[@]}" --type aes-256 --usage encrypt,decrypt \
	--label bk-aes --persistent
ok $? "persistent AES-256 key bk-aes"
run key public "${cu[@]}" --label bk-ec --out "$dir/ec.pem"
ok $? "its public key"
run sign "${cu[@]}" --label bk-ec --alg ecdsa-sha384 --in "$dir/msg" --out "$dir/sig0"
ok $? "the user signs"
openssl dgst -sha384 -verify "$dir/ec.pem" -signature "$dir/sig0" "$dir/msg" >/dev/null 2>&1
ok $? "openssl verifies it"
run encrypt "${cu[@]}" --label bk-aes --mode cbc --iv 000102030405060708090a0b0c0d0e0f \
	--in "$dir/plain" --out "$dir/ct"
ok $? "bk-aes encrypts 64 bytes (CBC)"
run key export-masked --role officer "${co[@]}" --label bk-ec --out "$dir/old-ec.masked"
ok $? "a masked blob of bk-ec (kept to try after the zeroize)"

run zeroize --role user --pin-file "$dir/pin.user" --yes
[[ $? == 1 ]] && grep -q 'WRONG_ROLE' "$dir/err"
ok $? "zeroize as the user: exit 1, WRONG_ROLE"
run backup create --role user --pin-file "$dir/pin.user" --out "$dir/bk-user"
[[ $? == 1 ]] && grep -q 'WRONG_ROLE' "$dir/err"
ok $? "backup create as the user: exit 1, WRONG_ROLE"
run backup create "${co[@]}" --out "$dir/bk" --json
ok $? "backup create --out DIR --json"
python3 - "$dir/out" "$dir/bk" >"$dir/err" 2>&1 <<'EOF'
import json, os, sys
j = json.load(open(sys.argv[1]))
d = sys.argv[2]
assert j["sealed_bk3"] == "bk3.sealed"
assert os.path.getsize(os.path.join(d, "bk3.sealed")) == 175
files = {k["label"]: k["file"] for k in j["keys"]}
assert files == {"bk-ec": "bk-ec.masked", "bk-aes": "bk-aes.masked"}, files
for f in files.values():
    assert os.path.getsize(os.path.join(d, f)) > 0
idx = open(os.path.join(d, "index")).read().splitlines()
assert idx[0] == "azihsm-backup 1" and idx[1] == "bk3 bk3.sealed", idx
assert len([l for l in idx if l.startswith("key ")]) == 2, idx
EOF
ok $? "the directory: bk3.sealed (175 bytes), bk-ec.masked, bk-aes.masked, index"
run backup create "${co[@]}" --out "$dir/bk"
[[ $? == 1 ]] && grep -q 'cannot create .*bk3.sealed' "$dir/err"
ok $? "backup create into the same directory again: refused, nothing overwritten"
run backup restore "${co[@]}" --in "$dir/bk" --json
ok $? "backup restore over the live keys: exit 0"
python3 - "$dir/out" >"$dir/err" 2>&1 <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["restored"] == 0 and j["present"] == 2, j
assert all(k["restored"] is False for k in j["keys"]), j
EOF
ok $? "  nothing restored, both present"

# The host's own copy of the state files; keys made after it.
cp "$dir/partition" "$dir/partition.snap" && cp "$dir/partition.nv" "$dir/partition.nv.snap"
ok $? "the host copies the state files (partition, partition.nv)"
run key generate --role officer "${co[@]}" --type ec-p384 --usage sign,verify --label new-ec \
	--persistent
ok $? "then a persistent EC key new-ec"
run key generate --role officer "${co[@]}" --type aes-256 --usage encrypt,decrypt \
	--label new-aes --persistent
ok $? "  and a persistent AES key new-aes"
run key public "${cu[@]}" --label new-ec --out "$dir/new-ec.pem"
ok $? "  new-ec's public key"
run encrypt "${cu[@]}" --label new-aes --mode cbc --iv 000102030405060708090a0b0c0d0e0f \
	--in "$dir/plain" --out "$dir/ct"
ok $? "  new-aes encrypts 64 bytes (CBC)"
run backup create "${co[@]}" --out "$dir/bk2"
ok $? "a second backup (the BK3 exists: the same one is sealed again)"
cp "$dir/partition.snap" "$dir/partition" && cp "$dir/partition.nv.snap" "$dir/partition.nv"
ok $? "the host puts its copy back"
run key list --role officer "${co[@]}" --json
! grep -q 'new-ec' "$dir/out" && grep -q 'bk-ec' "$dir/out"
ok $? "  new-ec and new-aes are gone, bk-ec is there"
run backup restore --role user --pin-file "$dir/pin.user" --in "$dir/bk2"
[[ $? == 1 ]] && grep -q 'WRONG_ROLE' "$dir/err"
ok $? "restore as the user: exit 1, WRONG_ROLE"
run backup restore "${co[@]}" --in "$dir/bk2" --json
ok $? "backup restore --in DIR --json"
python3 - "$dir/out" >"$dir/err" 2>&1 <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["restored"] == 2 and j["present"] == 2, j
got = sorted(k["label"] for k in j["keys"] if k["restored"])
assert got == ["new-aes", "new-ec"], j
EOF
ok $? "  new-ec and new-aes restored, bk-ec and bk-aes present"
run key list --role officer "${co[@]}" --json
python3 - "$dir/out" >"$dir/err" 2>&1 <<'EOF'
import json, sys
keys = {k["label"]: k for k in json.load(open(sys.argv[1]))}
assert keys["new-ec"]["persistent"] is True and keys["new-ec"]["type"] == "ec-p384", keys
assert keys["new-aes"]["persistent"] is True and keys["new-aes"]["type"] == "aes-256", keys
EOF
ok $? "key list: new-ec and new-aes, persistent, their types"
run key public "${cu[@]}" --label new-ec --out "$dir/new-ec2.pem"
cmp -s "$dir/new-ec.pem" "$dir/new-ec2.pem"
ok $? "the restored new-ec has the old public key"
run sign "${cu[@]}" --label new-ec --alg ecdsa-sha384 --in "$dir/msg" --out "$dir/sig1"
ok $? "the user signs with the restored key"
openssl dgst -sha384 -verify "$dir/new-ec.pem" -signature "$dir/sig1" "$dir/msg" >/dev/null 2>&1
ok $? "openssl verifies the new signature with the old PEM"
run decrypt "${cu[@]}" --label new-aes --mode cbc --iv 000102030405060708090a0b0c0d0e0f \
	--in "$dir/ct" --out "$dir/plain2"
ok $? "the restored new-aes decrypts the old ciphertext"
cmp -s "$dir/plain" "$dir/plain2"
ok $? "  to the old plaintext"

run key delete --role officer "${co[@]}" --label new-aes
ok $? "the officer deletes new-aes"
run backup restore "${co[@]}" --in "$dir/bk2"
[[ $? == 1 ]] && grep -q 'KEY_DELETED' "$dir/err" && grep -q 'deletion is final' "$dir/err" &&
	grep -q '1 of 4 keys not restored' "$dir/err"
ok $? "issue 9: restore again: new-aes KEY_DELETED (deletion is final), exit 1"
run key list --role officer "${co[@]}" --json
! grep -q 'new-aes' "$dir/out"
ok $? "  new-aes did not come back"
run key unmask --role user --pin-file "$dir/pin.user" --in "$dir/bk2/new-aes.masked"
[[ $? == 1 ]] && grep -q 'WRONG_ROLE' "$dir/err"
ok $? "issue 9: the user cannot take a persistent key's blob either (WRONG_ROLE)"

run zeroize "${co[@]}"
[[ $? == 2 ]] && grep -q 'confirm with --yes' "$dir/err"
ok $? "zeroize without --yes: usage error, nothing done"
run key list --role officer "${co[@]}" --json
grep -q 'bk-ec' "$dir/out"
ok $? "  the keys are still there"
cp "$dir/partition" "$dir/partition.before"
run zeroize "${co[@]}" --yes --json
ok $? "zeroize --yes"
grep -q '"zeroized": true' "$dir/out"
ok $? "  --json says zeroized"
run key list --role officer "${co[@]}"
[[ $? == 1 ]] && grep -q 'BAD_CREDENTIAL' "$dir/err"
ok $? "the officer's PIN no longer opens (BAD_CREDENTIAL)"
run login --role officer --pin-file "$dir/pin.odefault" --json
ok $? "the default officer PIN opens again"
grep -q '"must_change_pin": true' "$dir/out"
ok $? "  and must be changed"
run login --role user --pin-file "$dir/pin.user"
[[ $? == 1 ]] && grep -q 'BAD_CREDENTIAL' "$dir/err"
ok $? "the user's PIN no longer opens either"
run login --role officer --pin-file "$dir/pin.odefault" --change-pin \
	--new-pin-file "$dir/pin.officer2"
ok $? "the officer changes the default PIN"
co=(--pin-file "$dir/pin.officer2")
run login --role user --pin-file "$dir/pin.udefault" --change-pin --new-pin-file "$dir/pin.user"
ok $? "the user changes the default PIN"
run key list --role officer "${co[@]}" --json
ok $? "key list after the zeroize"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1])) == []' "$dir/out" 2>"$dir/err"
ok $? "  no keys"
run key unmask --role officer "${co[@]}" --in "$dir/old-ec.masked"
[[ $? == 1 ]] && grep -q 'BAD_BLOB' "$dir/err"
ok $? "issue 9: the old masked blob: BAD_BLOB"
run backup restore "${co[@]}" --in "$dir/bk2"
[[ $? == 1 ]] && grep -q 'BAD_BLOB' "$dir/err" && grep -q 'made before a zeroize' "$dir/err"
ok $? "issue 9: the backup of before the zeroize: exit 1, BAD_BLOB (a zeroize is final)"
run key list --role officer "${co[@]}" --json
python3 -c 'import json,sys; assert json.load(open(sys.argv[1])) == []' "$dir/out" 2>"$dir/err"
ok $? "  no key came back"
cp "$dir/partition" "$dir/partition.now"
cp "$dir/partition.before" "$dir/partition"
run key list --role officer "${co[@]}"
[[ $? == 1 ]] && grep -q 'ERROR_STATE' "$dir/err"
ok $? "issue 9: the state file of before the zeroize copied back: refused (error state: rolled back)"
cp "$dir/partition.now" "$dir/partition"
run key list --role officer "${co[@]}"
ok $? "  the current one back: it opens"

cp -r "$dir/bk" "$dir/bad"
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[120]^=1; open(p,"wb").write(b)' \
	"$dir/bad/bk3.sealed"
run backup restore "${co[@]}" --in "$dir/bad"
[[ $? == 1 ]] && grep -q 'BAD_BLOB' "$dir/err" && grep -q 'does not open on this device' "$dir/err"
ok $? "restore with a flipped bit in bk3.sealed: exit 1, BAD_BLOB"
head -c 100 "$dir/bk/bk3.sealed" >"$dir/bad/bk3.sealed"
run backup restore "${co[@]}" --in "$dir/bad"
[[ $? == 1 ]] && grep -q 'BAD_BLOB' "$dir/err"
ok $? "restore with a truncated bk3.sealed: exit 1, BAD_BLOB"
printf 'not an index\n' >"$dir/bad/index"
run backup restore "${co[@]}" --in "$dir/bad"
[[ $? == 1 ]] && grep -q 'not an azihsm backup index' "$dir/err"
ok $? "restore with a bad index: exit 1, says so"

tap_done
