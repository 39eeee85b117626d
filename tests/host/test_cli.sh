#!/usr/bin/env bash
# The azihsm CLI on the host: the real CLI code (lib/azihsm-cli.c,
# cli-key.c) linked on the firmware core (azihsm-fw, see cli_fw_dev.c),
# one process per command on one sealed partition file, as a script uses
# it in the guest: change the default officer PIN, generate a persistent
# P-384 key, export its public key, sign, verify with openssl, list,
# show, delete; the officer resets and unlocks the user; and the refusals.
# TAP.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cli=$here/azihsm-fw
dir=$(mktemp -d /tmp/azihsm-cli.XXXXXX)
trap 'rm -rf "$dir"' EXIT
export AZIHSM_TEST_STATE=$dir/partition
unset AZIHSM_PIN AZIHSM_NEW_PIN
# shellcheck source=tests/tap.sh
. "$here/tap.sh"	# installed beside it from tests/tap.sh
tap_on_fail() { [[ -s $dir/err ]] && sed 's/^/#   /' "$dir/err"; }

# run ARGS...: the CLI, stdout in $dir/out, stderr in $dir/err
run() { "$cli" "$@" >"$dir/out" 2>"$dir/err"; }

printf 'CO-default-PIN-1\n' >"$dir/pin.default"
printf 'officer-pin-0042\n' >"$dir/pin.officer"
printf 'wrong-pin-000000\n' >"$dir/pin.wrong"
printf 'a message to sign\n' >"$dir/msg"
co=(--role officer --pin-file "$dir/pin.officer")

run login --role officer --pin-file "$dir/pin.default"
ok $? "login with the default officer PIN"
grep -q 'PIN change required: the officer role' "$dir/out"
ok $? "it says the PIN must be changed"
run key list --role officer --pin-file "$dir/pin.default"
[[ $? == 1 ]] && grep -q 'default PIN (or one the officer set); change it first' "$dir/err"
ok $? "key list with the default PIN: refused, exit 1, says how to change it"
run login --role officer --pin-file "$dir/pin.default" --change-pin
[[ $? == 1 ]] && grep -q 'no PIN given: use --new-pin-file FILE or set AZIHSM_NEW_PIN' "$dir/err"
ok $? "--change-pin without a new PIN: refused with the way to give one"
run login --role officer --pin-file "$dir/pin.default" --change-pin \
	--new-pin-file "$dir/pin.officer"
ok $? "login --change-pin"
grep -q '^PIN changed$' "$dir/out"
ok $? "it says PIN changed"
AZIHSM_PIN=officer-pin-0042 run login --role officer --json
ok $? "login with the new PIN from AZIHSM_PIN"
grep -q '"must_change_pin": false' "$dir/out"
ok $? "login --json: must_change_pin false"
run login --role officer --pin-file "$dir/pin.wrong"
[[ $? == 1 ]] && grep -q 'BAD_CREDENTIAL' "$dir/err" && grep -q 'wrong id or PIN' "$dir/err"
ok $? "a wrong PIN: exit 1, BAD_CREDENTIAL, wrong id or PIN"

run key generate "${co[@]}" --type ec-p384 --label sig1 --usage sign --persistent
ok $? "key generate ec-p384 sig1 --persistent"
run key generate "${co[@]}" --type ec-p384 --label sig1 --usage sign --persistent
[[ $? == 1 ]] && grep -q 'LABEL_EXISTS' "$dir/err"
ok $? "the same label again: LABEL_EXISTS"
run key public "${co[@]}" --label sig1 --out "$dir/sig1.pem"
ok $? "key public --out"
grep -q 'BEGIN PUBLIC KEY' "$dir/sig1.pem" &&
	openssl pkey -pubin -in "$dir/sig1.pem" -noout -text 2>/dev/null | grep -q 'P-384'
ok $? "the public key is PEM, P-384"
run sign "${co[@]}" --label sig1 --alg ecdsa-sha384 --in "$dir/msg" --out "$dir/msg.sig"
ok $? "sign --alg ecdsa-sha384"
openssl dgst -sha384 -verify "$dir/sig1.pem" -signature "$dir/msg.sig" "$dir/msg" \
	>"$dir/out" 2>"$dir/err" && grep -q '^Verified OK$' "$dir/out"
ok $? "openssl dgst -verify: Verified OK"
"$cli" sign "${co[@]}" --label sig1 --alg ecdsa-sha256 <"$dir/msg" >"$dir/msg256.sig" 2>"$dir/err"
ok $? "sign from stdin to stdout (ecdsa-sha256)"
openssl dgst -sha256 -verify "$dir/sig1.pem" -signature "$dir/msg256.sig" "$dir/msg" \
	>/dev/null 2>&1
ok $? "that verifies too"
run sign "${co[@]}" --label sig1 --alg ecdsa-sha256 --in "$dir/msg" --json
grep -q '"fips_approved": true' "$dir/out"
ok $? "sign --json (ECDSA): the device's fips_approved flag"

run key list "${co[@]}" --json
ok $? "key list --json"
python3 -c '
import json, sys
keys = json.load(open(sys.argv[1]))
k = [k for k in keys if k["label"] == "sig1"]
assert len(k) == 1 and k[0]["type"] == "ec-p384" and k[0]["usage"] == ["sign"]
assert k[0]["persistent"] is True and isinstance(k[0]["id"], int)
' "$dir/out"
ok $? "key list --json: valid JSON, sig1 is ec-p384, sign, persistent"
id=$(python3 -c 'import json,sys; print([k["id"] for k in json.load(open(sys.argv[1])) if k["label"] == "sig1"][0])' "$dir/out")
run key show "${co[@]}" --id "$id" --json
grep -q '"label": "sig1"' "$dir/out"
ok $? "key show --id $id --json"
run key show "${co[@]}" --label sig1
grep -q '^type: *ec-p384$' "$dir/out"
ok $? "key show --label sig1"

run key generate "${co[@]}" --type aes-256 --usage encrypt,decrypt --label tmp
grep -q 'session key' "$dir/err"
ok $? "a key without --persistent: the CLI warns it is a session key"
run key show "${co[@]}" --label tmp
[[ $? == 1 ]] && grep -q 'KEY_NOT_FOUND' "$dir/err"
ok $? "and it is gone in the next command"

run key delete "${co[@]}" --label sig1
ok $? "key delete --label sig1"
run sign "${co[@]}" --label sig1 --alg ecdsa-sha384 --in "$dir/msg"
[[ $? == 1 ]] && grep -q 'KEY_NOT_FOUND' "$dir/err"
ok $? "sign with the deleted key: KEY_NOT_FOUND"
run key list "${co[@]}"
grep -q '^no keys$' "$dir/out"
ok $? "key list: no keys"

run key show --label
[[ $? == 2 ]]
ok $? "a usage error exits 2"
"$cli" key public --help >"$dir/out" 2>&1 && grep -q -- '--out FILE' "$dir/out"
ok $? "key public --help"

# ---- the officer manages the user (user reset-pin, user unlock) ----
printf 'CU-default-PIN-1\n' >"$dir/pin.udefault"
printf 'user-pin-000001\n' >"$dir/pin.user1"
printf 'officer-set-0002\n' >"$dir/pin.user2"
printf 'user-pin-000003\n' >"$dir/pin.user3"
cu=(--role user --pin-file "$dir/pin.user1")
run login --role user --pin-file "$dir/pin.udefault" --change-pin --new-pin-file "$dir/pin.user1"
ok $? "user: the user changes its default PIN"
run user reset-pin "${cu[@]}" --new-pin-file "$dir/pin.user2"
[[ $? == 1 ]] && grep -q 'WRONG_ROLE' "$dir/err"
ok $? "user reset-pin in a user session: exit 1, WRONG_ROLE"
run user unlock "${cu[@]}"
[[ $? == 1 ]] && grep -q 'WRONG_ROLE' "$dir/err"
ok $? "user unlock in a user session: exit 1, WRONG_ROLE"
run user reset-pin "${co[@]}"
[[ $? == 1 ]] && grep -q 'no PIN given: use --new-pin-file FILE or set AZIHSM_NEW_PIN' "$dir/err"
ok $? "user reset-pin without a new PIN: refused with the way to give one"
run user reset-pin "${co[@]}" --new-pin officer-set-0002
[[ $? == 1 ]] && grep -q 'cannot read officer-set-0002' "$dir/err"
ok $? "user reset-pin: a PIN on the command line is only ever a file name"
printf 'CU-default-PIN-1\n' >"$dir/pin.weak"
run user reset-pin "${co[@]}" --new-pin-file "$dir/pin.weak"
[[ $? == 1 ]] && grep -q 'WEAK_PIN' "$dir/err"
ok $? "user reset-pin to the user's default PIN: WEAK_PIN"
run user reset-pin --pin-file "$dir/pin.officer" --new-pin-file "$dir/pin.user2" --json
ok $? "user reset-pin as the officer (--role defaults to officer)"
python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j == {"user_id": "azihsm-user", "pin_reset": True, "must_change_pin": True}, j
' "$dir/out" 2>"$dir/err"
ok $? "user reset-pin --json: valid JSON, user_id, must_change_pin true"
run login "${cu[@]}"
[[ $? == 1 ]] && grep -q 'BAD_CREDENTIAL' "$dir/err"
ok $? "the user's old PIN is refused"
run login --role user --pin-file "$dir/pin.user2"
ok $? "the officer-set PIN logs in"
grep -q 'PIN change required: the user role' "$dir/out"
ok $? "and must be changed"
run key list --role user --pin-file "$dir/pin.user2"
[[ $? == 1 ]] && grep -q 'change it first' "$dir/err"
ok $? "key list with the officer-set PIN: refused until changed"
AZIHSM_PIN=officer-set-0002 AZIHSM_NEW_PIN=user-pin-000003 run login --role user --change-pin
ok $? "the user changes it (PINs from AZIHSM_PIN / AZIHSM_NEW_PIN)"
cu=(--role user --pin-file "$dir/pin.user3")
run key list "${cu[@]}"
ok $? "then the user works"
# Lock the user out: five counted wrong PINs (the wait is then 4 s).
n=0
for _ in $(seq 1 40); do
	run login --role user --pin-file "$dir/pin.wrong"
	if grep -q 'BAD_CREDENTIAL' "$dir/err"; then
		n=$((n + 1))
		[[ $n == 5 ]] && break
	else
		sleep 0.5
	fi
done
[[ $n == 5 ]]
ok $? "five wrong user PINs counted"
run login "${cu[@]}"
[[ $? == 1 ]] && grep -q 'LOCKED_OUT' "$dir/err"
ok $? "the right PIN during the wait: LOCKED_OUT"
run user unlock "${co[@]}" --json
[[ $? == 0 ]] && python3 -c '
import json, sys
assert json.load(open(sys.argv[1])) == {"unlocked": True}
' "$dir/out"
ok $? "user unlock --json by the officer"
run login "${cu[@]}" --json
[[ $? == 0 ]] && grep -q '"must_change_pin": false' "$dir/out"
ok $? "after the unlock the user's unchanged PIN logs in at once"
run user unlock --pin-file "$dir/pin.officer"
[[ $? == 0 ]] && grep -q '^user unlocked: ok$' "$dir/out"
ok $? "user unlock with nothing to clear: ok"

# ---- operations (cli-ops.c), every result checked with the openssl command ----
hex() { xxd -p "$1" | tr -d '\n'; }
# wrap KEYFILE OUT: CKM_RSA_AES_KEY_WRAP to the unwrapping key (OAEP-SHA256)
wrap() {
	head -c 32 /dev/urandom >"$dir/eph"
	openssl pkeyutl -encrypt -pubin -inkey "$dir/uk.pem" -pkeyopt rsa_padding_mode:oaep \
		-pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in "$dir/eph" \
		-out "$dir/w1" 2>/dev/null &&
	openssl enc -id-aes256-wrap-pad -K "$(hex "$dir/eph")" -iv A65959A6 -in "$1" \
		-out "$dir/w2" 2>/dev/null && cat "$dir/w1" "$dir/w2" >"$2"
}
head -c 3008 /dev/urandom >"$dir/data"

run key generate "${co[@]}" --type rsa-2048 --label rsa1 --usage sign,verify,decrypt --persistent
[[ $? == 1 ]] && grep -q 'INVALID_ARG' "$dir/err"
ok $? "issue 9: key generate rsa-2048 --usage sign,verify,decrypt: exit 1, INVALID_ARG"
run key generate "${co[@]}" --type rsa-2048 --label rsa1 --usage sign,verify --persistent
ok $? "key generate rsa-2048 rsa1 (sign, verify)"
run key generate "${co[@]}" --type rsa-2048 --label rsa1d --usage decrypt --persistent
ok $? "key generate rsa-2048 rsa1d (decrypt)"
run key public "${co[@]}" --label rsa1d --out "$dir/rsa1d.pem"
ok $? "key public rsa1d"
run key public "${co[@]}" --label rsa1 --out "$dir/rsa1.pem"
ok $? "key public rsa1"
run sign "${co[@]}" --label rsa1 --alg rsa-pss-sha256 --in "$dir/msg" --out "$dir/pss.sig"
ok $? "sign --alg rsa-pss-sha256"
openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest \
	-verify "$dir/rsa1.pem" -signature "$dir/pss.sig" "$dir/msg" 2>/dev/null | grep -q '^Verified OK$'
ok $? "openssl verifies the PSS signature"
run sign "${co[@]}" --label rsa1 --alg rsa-pkcs1-sha384 --in "$dir/msg" --json
python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["fips_approved"] is True and j["alg"] == "rsa-pkcs1-sha384"
open(sys.argv[2], "wb").write(bytes.fromhex(j["signature"]))
' "$dir/out" "$dir/p1.sig" 2>"$dir/err" &&
	openssl dgst -sha384 -verify "$dir/rsa1.pem" -signature "$dir/p1.sig" "$dir/msg" >/dev/null 2>&1
ok $? "sign --json (rsa-pkcs1-sha384): fips_approved true, the signature verifies with openssl"
run verify "${co[@]}" --label rsa1 --alg rsa-pss-sha256 --sig "$dir/pss.sig" --in "$dir/msg"
[[ $? == 0 ]] && grep -q '^Verified OK$' "$dir/out"
ok $? "verify in the device: Verified OK, exit 0"
printf 'another message\n' >"$dir/msg2"
run verify "${co[@]}" --label rsa1 --alg rsa-pss-sha256 --sig "$dir/pss.sig" --in "$dir/msg2" --json
[[ $? == 1 ]] && grep -q '"valid": false' "$dir/out" && grep -q '"fips_approved": true' "$dir/out"
ok $? "verify of another message: valid false, exit 1 (--json)"
printf 'the OAEP secret' >"$dir/secret"
openssl pkeyutl -encrypt -pubin -inkey "$dir/rsa1d.pem" -pkeyopt rsa_padding_mode:oaep \
	-pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in "$dir/secret" -out "$dir/oaep"
run decrypt "${co[@]}" --label rsa1d --alg rsa-oaep-sha256 --in "$dir/oaep" --out "$dir/dec"
[[ $? == 0 ]] && cmp -s "$dir/dec" "$dir/secret"
ok $? "decrypt --alg rsa-oaep-sha256 of openssl's ciphertext"
run decrypt "${co[@]}" --label rsa1d --alg rsa-oaep-sha384 --in "$dir/oaep"
[[ $? == 1 ]] && grep -q 'DECRYPT_FAILED' "$dir/err"
ok $? "with the wrong OAEP hash: exit 1, DECRYPT_FAILED"

run unwrapping-key "${co[@]}" --out "$dir/uk.pem"
[[ $? == 0 ]] && openssl pkey -pubin -in "$dir/uk.pem" -noout -text 2>/dev/null | grep -q '2048 bit'
ok $? "unwrapping-key: an RSA-2048 PEM public key"
run unwrapping-key "${co[@]}" --json
grep -q '"spki_der": "30' "$dir/out"
ok $? "unwrapping-key --json"
head -c 32 /dev/urandom >"$dir/aes.key"
wrap "$dir/aes.key" "$dir/aes.wrapped"
ok $? "openssl wraps a known AES-256 key (OAEP + AES-KWP)"
run key unwrap "${co[@]}" --in "$dir/aes.wrapped" --type aes-256 --usage encrypt,decrypt \
	--label aesk --persistent --json
[[ $? == 0 ]] && grep -q '"fips_approved": true' "$dir/out"
ok $? "key unwrap into persistent aes-256 'aesk'"
iv=000102030405060708090a0b0c0d0e0f
run encrypt "${co[@]}" --label aesk --mode cbc --iv $iv --in "$dir/data" --out "$dir/cbc"
openssl enc -aes-256-cbc -nopad -K "$(hex "$dir/aes.key")" -iv $iv -in "$dir/data" |
	cmp -s - "$dir/cbc"
ok $? "encrypt --mode cbc (3008 bytes, chunked) = openssl enc -aes-256-cbc"
openssl enc -aes-256-ctr -K "$(hex "$dir/aes.key")" -iv $iv -in "$dir/data" -out "$dir/ctr.ossl"
"$cli" decrypt "${co[@]}" --label aesk --mode ctr --iv $iv <"$dir/ctr.ossl" >"$dir/ctr.dec" 2>"$dir/err"
[[ $? == 0 ]] && cmp -s "$dir/ctr.dec" "$dir/data"
ok $? "decrypt --mode ctr of openssl's ciphertext (stdin to stdout)"
head -c 1000 "$dir/data" >"$dir/small"
run encrypt "${co[@]}" --label aesk --mode gcm --iv 00112233445566778899aabb --aad hdr \
	--in "$dir/small" --out "$dir/gcm"
[[ $? == 2 ]] && grep -q 'no --iv' "$dir/err"
ok $? "issue 9: encrypt --mode gcm --iv: usage error (the device draws GCM IVs)"
run encrypt "${co[@]}" --label aesk --mode gcm --aad hdr --in "$dir/small" --out "$dir/gcm"
[[ $? == 0 ]] && [[ $(stat -c %s "$dir/gcm") == 1028 ]]
ok $? "encrypt --mode gcm: 12-byte device IV, ciphertext and 16-byte tag"
run encrypt "${co[@]}" --label aesk --mode gcm --aad hdr --in "$dir/small" --out "$dir/gcm2"
[[ $? == 0 ]] && ! cmp -s <(head -c 12 "$dir/gcm") <(head -c 12 "$dir/gcm2")
ok $? "issue 9: encrypt --mode gcm again: another IV"
run decrypt "${co[@]}" --label aesk --mode gcm --aad hdr --in "$dir/gcm" --out "$dir/gcm.dec"
[[ $? == 0 ]] && cmp -s "$dir/gcm.dec" "$dir/small"
ok $? "decrypt --mode gcm (the IV from the input): the plaintext"
tail -c +13 "$dir/gcm" >"$dir/gcm.noiv"
run decrypt "${co[@]}" --label aesk --mode gcm --iv "$(head -c 12 "$dir/gcm" | hex /dev/stdin)" \
	--aad hdr --in "$dir/gcm.noiv" --out "$dir/gcm.dec2"
[[ $? == 0 ]] && cmp -s "$dir/gcm.dec2" "$dir/small"
ok $? "decrypt --mode gcm --iv (ciphertext || tag input): the plaintext"
run decrypt "${co[@]}" --label aesk --mode gcm --aad HDR --in "$dir/gcm"
[[ $? == 1 ]] && grep -q 'BAD_TAG' "$dir/err"
ok $? "decrypt --mode gcm with other AAD: exit 1, BAD_TAG"
run encrypt "${co[@]}" --label aesk --mode cbc --in "$dir/small"
[[ $? == 2 ]] && grep -q 'needs --iv of 16 bytes' "$dir/err"
ok $? "encrypt --mode cbc without --iv: usage error"
cp "$dir/aes.wrapped" "$dir/bad.wrapped"
printf '\x01' | dd of="$dir/bad.wrapped" bs=1 seek=280 conv=notrunc status=none
run key unwrap "${co[@]}" --in "$dir/bad.wrapped" --type aes-256 --usage encrypt --label bad
[[ $? == 1 ]] && grep -q 'DECRYPT_FAILED' "$dir/err"
ok $? "key unwrap of a damaged blob: exit 1, DECRYPT_FAILED"

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/ec.key" 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in "$dir/ec.key" -outform DER -out "$dir/ec.p8"
openssl pkey -in "$dir/ec.key" -pubout -out "$dir/ec.pub" 2>/dev/null
wrap "$dir/ec.p8" "$dir/ec.wrapped"
run key unwrap "${co[@]}" --in "$dir/ec.wrapped" --type ec-p256 --usage sign --label eck --persistent
ok $? "key unwrap of openssl's P-256 key (PKCS#8)"
run sign "${co[@]}" --label eck --alg ecdsa-sha256 --in "$dir/msg" --out "$dir/eck.sig"
openssl dgst -sha256 -verify "$dir/ec.pub" -signature "$dir/eck.sig" "$dir/msg" >/dev/null 2>&1
ok $? "it signs; openssl verifies with the original public key"

head -c 32 /dev/urandom >"$dir/hmac.key"
wrap "$dir/hmac.key" "$dir/hmac.wrapped"
run key unwrap "${co[@]}" --in "$dir/hmac.wrapped" --type hmac-sha256 --usage sign --label hk \
	--persistent
ok $? "key unwrap of an HMAC secret"
run hmac "${co[@]}" --label hk --in "$dir/data" --out "$dir/mac"
openssl dgst -sha256 -mac HMAC -macopt hexkey:"$(hex "$dir/hmac.key")" -binary "$dir/data" |
	cmp -s - "$dir/mac"
ok $? "hmac = openssl dgst -mac HMAC with the secret"
run hmac "${co[@]}" --label aesk --in "$dir/msg"
[[ $? == 1 ]] && grep -q 'KEY_USAGE\|KEY_TYPE' "$dir/err"
ok $? "hmac with an AES key: exit 1"

run key generate "${co[@]}" --type ec-p384 --label dh --usage derive --persistent
run key public "${co[@]}" --label dh --out "$dir/dh.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$dir/peer.key" 2>/dev/null
openssl pkey -in "$dir/peer.key" -pubout -out "$dir/peer.pem" 2>/dev/null
openssl pkeyutl -derive -inkey "$dir/peer.key" -peerkey "$dir/dh.pem" -out "$dir/z" 2>/dev/null
run ecdh "${co[@]}" --label dh --peer "$dir/peer.pem" --type hmac-sha384 --usage sign,derive \
	--new-label z1 --persistent
[[ $? == 1 ]] && grep -q 'INVALID_ARG' "$dir/err"
ok $? "issue 9: ecdh into an HMAC key to sign and derive: exit 1, INVALID_ARG"
run ecdh "${co[@]}" --label dh --peer "$dir/peer.pem" --type hmac-sha384 --usage derive \
	--new-label z1 --persistent --json
[[ $? == 0 ]] && grep -q '"fips_approved": true' "$dir/out"
ok $? "ecdh with openssl's peer key into a persistent HMAC key (derive)"
run ecdh "${co[@]}" --label dh --peer "$dir/peer.pem" --type hmac-sha384 --usage sign \
	--new-label z1m --persistent
ok $? "ecdh again into a persistent HMAC key (sign)"
run hmac "${co[@]}" --label z1m --in "$dir/msg" --out "$dir/zmac"
openssl dgst -sha384 -mac HMAC -macopt hexkey:"$(hex "$dir/z")" -binary "$dir/msg" |
	cmp -s - "$dir/zmac"
ok $? "its HMAC = openssl's HMAC keyed with openssl's ECDH secret"
run derive "${co[@]}" --label z1 --kdf hkdf --hash sha256 --salt NaCl --info ctx \
	--type hmac-sha256 --usage sign --new-label h1 --persistent
ok $? "derive --kdf hkdf into a persistent HMAC key"
run hmac "${co[@]}" --label h1 --in "$dir/msg" --out "$dir/hmac1"
k=$(openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt hexkey:"$(hex "$dir/z")" \
	-kdfopt salt:NaCl -kdfopt info:ctx HKDF | tr -d ':\n')
openssl dgst -sha256 -mac HMAC -macopt hexkey:"$k" -binary "$dir/msg" | cmp -s - "$dir/hmac1"
ok $? "its HMAC = openssl's with openssl kdf HKDF of the ECDH secret"
run derive "${co[@]}" --label z1 --kdf kbkdf --hash sha384 --salt lbl --info ctx \
	--type hmac-sha512 --length 40 --usage sign --new-label kb1 --persistent
ok $? "derive --kdf kbkdf (40-byte HMAC-SHA512 key)"
run hmac "${co[@]}" --label kb1 --in "$dir/msg" --out "$dir/kbmac"
k=$(openssl kdf -keylen 40 -kdfopt mode:counter -kdfopt mac:HMAC -kdfopt digest:SHA384 \
	-kdfopt hexkey:"$(hex "$dir/z")" -kdfopt salt:lbl -kdfopt info:ctx KBKDF | tr -d ':\n')
openssl dgst -sha512 -mac HMAC -macopt hexkey:"$k" -binary "$dir/msg" | cmp -s - "$dir/kbmac"
ok $? "its HMAC = openssl's with openssl kdf KBKDF"
run derive "${co[@]}" --label z1 --kdf hkdf --hash md5 --type aes-256 --usage encrypt
[[ $? == 2 ]]
ok $? "derive --hash md5: usage error"

run key export-masked "${co[@]}" --label aesk --out "$dir/aesk.blob"
ok $? "key export-masked aesk"
# The officer's session copy beside the live key (labels are per owner).
run encrypt "${co[@]}" --masked "$dir/aesk.blob" --mode cbc --iv $iv --in "$dir/data" \
	--out "$dir/cbc2"
[[ $? == 0 ]] && cmp -s "$dir/cbc" "$dir/cbc2"
ok $? "encrypt --masked blob: the same ciphertext as the key itself"
run key unmask "${co[@]}" --in "$dir/aesk.blob" --json
[[ $? == 0 ]] && grep -q '"type": "aes-256"' "$dir/out"
ok $? "key unmask --json: an aes-256 key"
run key unmask "${cu[@]}" --in "$dir/aesk.blob"
[[ $? == 1 ]] && grep -q 'WRONG_ROLE' "$dir/err"
ok $? "issue 9: the user may not unmask a persistent key's blob (WRONG_ROLE)"
run key delete "${co[@]}" --label aesk
ok $? "key delete aesk"
run encrypt "${co[@]}" --masked "$dir/aesk.blob" --mode cbc --iv $iv --in "$dir/data" \
	--out "$dir/cbc3"
[[ $? == 1 ]] && grep -q 'KEY_DELETED' "$dir/err"
ok $? "issue 9: after the delete its blob is KEY_DELETED (deletion is final)"
printf '\x80' | dd of="$dir/aesk.blob" bs=1 seek=40 conv=notrunc status=none
run key unmask "${co[@]}" --in "$dir/aesk.blob"
[[ $? == 1 ]] && grep -q 'BAD_BLOB' "$dir/err"
ok $? "a masked blob with a flipped bit: exit 1, BAD_BLOB"
run sign "${co[@]}" --label rsa1 --masked "$dir/aesk.blob" --alg rsa-pss-sha256 --in "$dir/msg"
[[ $? == 2 ]]
ok $? "two key selectors: usage error"

# crypto list / priority: no device; /proc/crypto replaced by the sample.
AZIHSM_PROC_CRYPTO=$here/proc-crypto.txt run crypto list
[[ $? == 0 ]] && [[ $(grep -c '_azihsm ' "$dir/out") == 5 ]] &&
	grep -Eq '^sha256_azihsm +sha256 +ahash +50 passed +no: sha256-avx2 \(170\)$' "$dir/out" &&
	grep -Eq '^ctr_aes_azihsm +ctr\(aes\) +skcipher +300 passed +yes$' "$dir/out" &&
	! grep -q 'aesni' <(cut -c1-28 "$dir/out")
ok $? "crypto list: our five, sha256_azihsm loses to sha256-avx2, ctr_aes_azihsm selected"
AZIHSM_PROC_CRYPTO=$here/proc-crypto.txt run crypto list --all --json
[[ $? == 0 ]] && python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))
assert len(a) == 15, len(a)
x = {e["driver"]: e for e in a}
assert x["xts_aes_azihsm"]["selected_driver"] == "xts-aes-aesni"
assert x["xts_aes_azihsm"]["selected"] is False
assert x["__xts-aes-aesni"]["internal"] is True
assert x["ecdsa_nist_p256_azihsm"]["selected"] is True
assert x["gcm_aes_azihsm"]["selftest"] == "unknown"
' "$dir/out" 2>"$dir/err"
ok $? "crypto list --all --json: 15 entries, valid JSON, the right choices"
printf 'name : x\ndriver y\n' >"$dir/bad-crypto"
AZIHSM_PROC_CRYPTO=$dir/bad-crypto run crypto list
[[ $? == 1 ]] && grep -q "line 2: cannot parse 'driver y'" "$dir/err"
ok $? "crypto list on a malformed file: exit 1, names the line"
run crypto priority no_such_driver_azihsm_test 5
[[ $? == 1 ]] && grep -Eq 'load the crypto_user module|no algorithm with driver name|not permitted: .*CAP_NET_ADMIN' "$dir/err"
ok $? "crypto priority of an unknown driver: exit 1, a clear reason ($(head -c 60 "$dir/err"))"
run crypto priority sha256_azihsm -3
[[ $? == 2 ]] && grep -q 'priority must be a number' "$dir/err"
ok $? "crypto priority with a negative number: usage error"

# Self-tests and tamper (hsm-design.md "Self-tests and the error state",
# "Tamper response"), each command a fresh start of the firmware.
run selftest --json
[[ $? == 0 ]] && python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["passed"] is True
res = {t["algorithm"]: t["result"] for t in r["results"]}
assert len(res) == 17, res
assert all(v == "pass" for v in res.values()), res
' "$dir/out" 2>"$dir/err"
ok $? "selftest --json: integrity and the 16 algorithm families pass"
AZIHSM_TEST_SELFTEST_FAIL=ecdh run selftest
[[ $? == 1 ]] && grep -Eq '^ecdh +FAIL$' "$dir/out" && grep -Eq '^ecdsa +pass$' "$dir/out" &&
	grep -q 'FAILED: the device is in its error state' "$dir/out"
ok $? "selftest with selftest-fail=ecdh: exit 1, ecdh FAIL, the others pass"
AZIHSM_TEST_SELFTEST_FAIL=ecdh run random 16
[[ $? == 1 ]] && grep -q 'ERROR_STATE' "$dir/err"
ok $? "in the error state GetRandom is refused with ERROR_STATE"

ts=$dir/tamper-partition
tco=(--role officer --pin-file "$dir/pin.officer")
AZIHSM_TEST_STATE=$ts run login --role officer --pin-file "$dir/pin.default" --change-pin \
	--new-pin-file "$dir/pin.officer" &&
	AZIHSM_TEST_STATE=$ts run key generate "${tco[@]}" --type ec-p384 --label tk --usage sign \
		--persistent &&
	AZIHSM_TEST_STATE=$ts run key list "${tco[@]}" && grep -q tk "$dir/out"
ok $? "tamper partition: officer PIN set, persistent key tk made"
AZIHSM_TEST_STATE=$ts AZIHSM_TEST_TAMPER=2:5000 run random 16
[[ $? == 1 ]] && grep -q 'ERROR_STATE' "$dir/err"
ok $? "right after a voltage tamper event: GetRandom refused with ERROR_STATE"
AZIHSM_TEST_STATE=$ts run key list "${tco[@]}"
[[ $? == 1 ]] && grep -q 'BAD_CREDENTIAL' "$dir/err"
ok $? "after a restart on the same state file: the officer PIN is gone (credentials zeroized)"
AZIHSM_TEST_STATE=$ts run login --role officer --pin-file "$dir/pin.default" --change-pin \
	--new-pin-file "$dir/pin.officer" && AZIHSM_TEST_STATE=$ts run key list "${tco[@]}" &&
	! grep -q tk "$dir/out"
ok $? "... and the state file brings no key back (tk gone)"
AZIHSM_TEST_STATE=$ts run tamper log --json
[[ $? == 0 ]] && python3 -c '
import json, sys
l = json.load(open(sys.argv[1]))
assert l["count"] == 1 and len(l["events"]) == 1, l
e = l["events"][0]
assert e["sensor"] == "voltage" and e["value"] == 5000 and e["seq"] == 1, e
' "$dir/out" 2>"$dir/err"
ok $? "tamper log --json after the restart: one voltage event, reading 5000"
AZIHSM_TEST_STATE=$ts run random 16
ok $? "after the restart the error state is left (the self-tests ran again and passed)"

tap_done
