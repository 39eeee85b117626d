#!/usr/bin/env bash
# The azihsm CLI on the host: the real CLI code (lib/azihsm-cli.c,
# cli-key.c) linked on the firmware core (azihsm-fw, see cli_fw_dev.c),
# one process per command on one sealed partition file, as a script uses
# it in the guest: change the default officer PIN, generate a persistent
# P-384 key, export its public key, sign, verify with openssl, list,
# show, delete; and the refusals. TAP.
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
[[ $? == 1 ]] && grep -q 'default PIN; change it first' "$dir/err"
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

tap_done
