#!/usr/bin/env bash
# The vault operations through the whole stack (CLI, libazihsm, driver,
# device), as tests/host/test_cli.sh runs them on the host, each result
# cross-checked with openssl: RSA-PSS / PKCS#1 signatures, verify in the
# device, RSA-OAEP decryption of openssl's ciphertext; keys wrapped by
# openssl on the host (CKM_RSA_AES_KEY_WRAP to the unwrapping key exported
# in boot 1) unwrapped in boot 2 and used: AES-CBC equal to openssl enc,
# HMAC equal to openssl's, an EC key whose signature openssl verifies;
# ECDH with a host peer key whose HMAC / HKDF results equal openssl's from
# openssl's own ECDH secret; masked export and use; damaged blobs refused.
# Also: ECDSA P-256/384/521 keys generated in the device, verified by
# openssl; AES-CTR ciphertexts equal to OpenSSL's both ways, AES-GCM ones
# (under the IV the device drew) opened by OpenSSL and OpenSSL's opened in
# the device (GCM through scripts/libkcapi-evp.c, built here); a KBKDF-derived key
# checked by HMAC against openssl kdf KBKDF; refusals of keys lacking the
# usage (KEY_USAGE), of officer services to the user role (WRONG_ROLE),
# and of every command with the right PIN during a lockout (LOCKED_OUT),
# which ends after its wait. (Services with no session at all:
# tests/guest/noauth.c in the guest suite.) Needs scripts/vm-run. TAP.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kernel=${1:-6.1}
dir=$(mktemp -d /tmp/azihsm-ops.XXXXXX)
trap 'rm -rf "$dir"' EXIT
state=$dir/partition
in=$dir/in
# shellcheck source=tests/tap.sh
. "$top/tests/tap.sh"

mkdir -p "$in"
guest_opts=(--state "$state" --add /usr/bin/openssl)
hex() { od -An -tx1 -v "$1" | tr -d ' \n'; }
wrap() {	# KEYFILE OUT: OAEP-SHA256 of a fresh AES-256 key || AES-KWP of KEYFILE
	head -c 32 /dev/urandom >"$dir/eph"
	openssl pkeyutl -encrypt -pubin -inkey "$in/uk.pem" -pkeyopt rsa_padding_mode:oaep \
		-pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in "$dir/eph" \
		-out "$dir/w1" &&
	openssl enc -id-aes256-wrap-pad -K "$(hex "$dir/eph")" -iv A65959A6 -in "$1" \
		-out "$dir/w2" && cat "$dir/w1" "$dir/w2" >"$2"
}

printf 'CO-default-PIN-1\n' >"$in/pin.default"
printf 'officer-pin-0042\n' >"$in/pin.officer"
printf 'a message to sign\n' >"$in/msg"
head -c 3008 /dev/urandom >"$in/data"

guest '
cd /root/in
A="--role officer --pin-file pin.officer"
azihsm login --role officer --pin-file pin.default --new-pin-file pin.officer --change-pin >/dev/null
azihsm key generate $A --type rsa-2048 --label rsa1 --usage sign,verify --persistent >/dev/null &&
	azihsm key generate $A --type rsa-2048 --label rsa1d --usage decrypt --persistent >/dev/null &&
	echo GEN-RSA
azihsm key generate $A --type ec-p384 --label dh --usage derive --persistent >/dev/null && echo GEN-DH
azihsm key public $A --label rsa1 --out /tmp/rsa1.pem
for c in 256:256 384:384 521:512; do
	azihsm key generate $A --type ec-p${c%:*} --label ec${c%:*} --usage sign --persistent >/dev/null &&
	azihsm key public $A --label ec${c%:*} --out /tmp/ec.pem &&
	azihsm sign $A --label ec${c%:*} --alg ecdsa-sha${c#*:} --in msg --out /tmp/ec.sig &&
	openssl pkey -pubin -in /tmp/ec.pem -noout -text | grep -q "P-${c%:*}" &&
	openssl dgst -sha${c#*:} -verify /tmp/ec.pem -signature /tmp/ec.sig msg >/dev/null &&
	echo ECDSA-${c%:*}-OK
done
azihsm sign $A --label rsa1 --alg rsa-pss-sha256 --in msg --out /tmp/pss.sig &&
	openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest \
		-verify /tmp/rsa1.pem -signature /tmp/pss.sig msg >/dev/null && echo PSS-OK
azihsm sign $A --label rsa1 --alg rsa-pkcs1-sha384 --in msg --out /tmp/p1.sig &&
	openssl dgst -sha384 -verify /tmp/rsa1.pem -signature /tmp/p1.sig msg >/dev/null && echo PKCS1-OK
azihsm verify $A --label rsa1 --alg rsa-pss-sha256 --sig /tmp/pss.sig --in msg >/dev/null && echo VERIFY-OK
echo other >/tmp/other
azihsm verify $A --label rsa1 --alg rsa-pss-sha256 --sig /tmp/pss.sig --in /tmp/other >/dev/null ||
	echo VERIFY-BAD-REFUSED
azihsm sign $A --label rsa1 --alg rsa-pss-sha256 --in msg --json | grep -q "\"fips_approved\": true" &&
	echo FIPS-FLAG
printf "OAEP secret" >/tmp/secret
azihsm key public $A --label rsa1d --out /tmp/rsa1d.pem
openssl pkeyutl -encrypt -pubin -inkey /tmp/rsa1d.pem -pkeyopt rsa_padding_mode:oaep \
	-pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in /tmp/secret -out /tmp/ct
azihsm decrypt $A --label rsa1d --alg rsa-oaep-sha256 --in /tmp/ct --out /tmp/pt &&
	cmp -s /tmp/pt /tmp/secret && echo OAEP-OK
azihsm unwrapping-key $A --out /tmp/uk.pem
echo UK-BEGIN; cat /tmp/uk.pem; echo UK-END
azihsm key public $A --label dh --out /tmp/dh.pem
echo DH-BEGIN; cat /tmp/dh.pem; echo DH-END
azihsm sign --label rsa1 --alg rsa-pss-sha256 --in msg >/dev/null 2>&1 || echo NO-PIN-REFUSED
true
'
ok $? "boot 1: the guest ran"
said GEN-RSA && said GEN-DH
ok $? "boot 1: persistent RSA-2048 and P-384 keys generated"
said ECDSA-256-OK && said ECDSA-384-OK && said ECDSA-521-OK
ok $? "boot 1: ECDSA P-256/SHA-256, P-384/SHA-384, P-521/SHA-512 keys made in the device: openssl verifies"
said PSS-OK && said PKCS1-OK
ok $? "boot 1: RSA-PSS and PKCS#1 v1.5 signatures verify with openssl"
said VERIFY-OK && said VERIFY-BAD-REFUSED
ok $? "boot 1: verify in the device: the good signature OK, another message refused"
said FIPS-FLAG
ok $? "boot 1: sign --json reports fips_approved"
said OAEP-OK
ok $? "boot 1: RSA-OAEP decryption of openssl's ciphertext"
said NO-PIN-REFUSED
ok $? "boot 1: no PIN, no operation"
between UK >"$in/uk.pem"
between DH >"$dir/dh.pem"
openssl pkey -pubin -in "$in/uk.pem" -noout 2>/dev/null && openssl pkey -pubin -in "$dir/dh.pem" -noout 2>/dev/null
ok $? "boot 1: the unwrapping key and the ECDH key came out as PEM"

# On the host, with keys only the host knows.
iv=000102030405060708090a0b0c0d0e0f
head -c 32 /dev/urandom >"$dir/aes.key"
head -c 32 /dev/urandom >"$dir/hmac.key"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/ec.key" 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in "$dir/ec.key" -outform DER -out "$dir/ec.p8"
openssl pkey -in "$dir/ec.key" -pubout -out "$in/ec.pub" 2>/dev/null
wrap "$dir/aes.key" "$in/aes.wrapped" && wrap "$dir/hmac.key" "$in/hmac.wrapped" &&
	wrap "$dir/ec.p8" "$in/ec.wrapped"
ok $? "host: openssl wraps an AES, an HMAC and an EC key to the unwrapping key"
cp "$in/aes.wrapped" "$in/bad.wrapped"
printf '\x01' | dd of="$in/bad.wrapped" bs=1 seek=280 conv=notrunc status=none
openssl enc -aes-256-cbc -nopad -K "$(hex "$dir/aes.key")" -iv $iv -in "$in/data" -out "$in/cbc.want"
openssl dgst -sha256 -mac HMAC -macopt hexkey:"$(hex "$dir/hmac.key")" -binary "$in/data" \
	>"$in/hmac.want"
openssl enc -aes-256-ctr -K "$(hex "$dir/aes.key")" -iv $iv -in "$in/data" -out "$in/ctr.want"
gcmiv=00112233445566778899aabb
cc -std=c11 -O2 -Wall -Wextra -Werror -o "$dir/evp" "$top/scripts/libkcapi-evp.c" -lcrypto &&
	"$dir/evp" aes-256-gcm e "$(hex "$dir/aes.key")" $gcmiv 686472 16 <"$in/data" >"$in/gcm.want" &&
	[[ $(stat -c %s "$in/gcm.want") == 3024 ]]
ok $? "host: openssl's AES-CTR and AES-GCM (ciphertext || tag) of the data"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$dir/peer.key" 2>/dev/null
openssl pkey -in "$dir/peer.key" -pubout -out "$in/peer.pem" 2>/dev/null
openssl pkeyutl -derive -inkey "$dir/peer.key" -peerkey "$dir/dh.pem" -out "$dir/z"
openssl dgst -sha384 -mac HMAC -macopt hexkey:"$(hex "$dir/z")" -binary "$in/msg" >"$in/z.want"
k=$(openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt hexkey:"$(hex "$dir/z")" \
	-kdfopt salt:NaCl -kdfopt info:ctx HKDF | tr -d ':\n')
openssl dgst -sha256 -mac HMAC -macopt hexkey:"$k" -binary "$in/msg" >"$in/hkdf.want"
k=$(openssl kdf -keylen 40 -kdfopt mode:counter -kdfopt mac:HMAC -kdfopt digest:SHA384 \
	-kdfopt hexkey:"$(hex "$dir/z")" -kdfopt salt:lbl -kdfopt info:ctx KBKDF | tr -d ':\n')
openssl dgst -sha512 -mac HMAC -macopt hexkey:"$k" -binary "$in/msg" >"$in/kbkdf.want"
printf 'CU-default-PIN-1\n' >"$in/pin.udefault"
printf 'user-pin-000042\n' >"$in/pin.user"
printf 'wrong-pin-000000\n' >"$in/pin.wrong"

guest '
cd /root/in
A="--role officer --pin-file pin.officer"
azihsm key list $A --json | grep -q "\"rsa1\"" && echo RSA1-KEPT
azihsm key unwrap $A --in aes.wrapped --type aes-256 --usage encrypt,decrypt --label aesk --persistent >/dev/null &&
	echo UNWRAP-AES
azihsm encrypt $A --label aesk --mode cbc --iv 000102030405060708090a0b0c0d0e0f --in data --out /tmp/cbc &&
	cmp -s /tmp/cbc cbc.want && echo CBC-OK
azihsm decrypt $A --label aesk --mode cbc --iv 000102030405060708090a0b0c0d0e0f --in cbc.want --out /tmp/dec &&
	cmp -s /tmp/dec data && echo CBC-DEC-OK
azihsm encrypt $A --label aesk --mode gcm --aad hdr --in msg --out /tmp/gcm &&
	azihsm decrypt $A --label aesk --mode gcm --aad hdr --in /tmp/gcm --out /tmp/gcm.dec &&
	cmp -s /tmp/gcm.dec msg && echo GCM-OK
azihsm encrypt $A --label aesk --mode gcm --iv 00112233445566778899aabb --in msg 2>/dev/null ||
	echo GCM-IV-REFUSED
azihsm encrypt $A --label aesk --mode ctr --iv 000102030405060708090a0b0c0d0e0f --in data --out /tmp/ctr &&
	cmp -s /tmp/ctr ctr.want &&
	azihsm decrypt $A --label aesk --mode ctr --iv 000102030405060708090a0b0c0d0e0f --in ctr.want --out /tmp/ctr.dec &&
	cmp -s /tmp/ctr.dec data && echo CTR-OK
azihsm encrypt $A --label aesk --mode gcm --aad hdr --in data --out /tmp/gcm2 &&
	echo "GCM2 $(od -An -tx1 -v /tmp/gcm2 | tr -d " \n")"
azihsm decrypt $A --label aesk --mode gcm --iv 00112233445566778899aabb --aad hdr --in gcm.want --out /tmp/gcm2.dec &&
	cmp -s /tmp/gcm2.dec data && echo GCM-DEC-OSSL
azihsm key unwrap $A --in bad.wrapped --type aes-256 --usage encrypt --label bad 2>&1 | grep -q DECRYPT_FAILED &&
	echo BAD-WRAP-REFUSED
azihsm key unwrap $A --in hmac.wrapped --type hmac-sha256 --usage sign --label hk --persistent >/dev/null &&
	azihsm hmac $A --label hk --in data --out /tmp/mac && cmp -s /tmp/mac hmac.want && echo HMAC-OK
azihsm key unwrap $A --in ec.wrapped --type ec-p256 --usage sign --label eck --persistent >/dev/null &&
	azihsm sign $A --label eck --alg ecdsa-sha256 --in msg --out /tmp/eck.sig &&
	openssl dgst -sha256 -verify ec.pub -signature /tmp/eck.sig msg >/dev/null && echo EC-UNWRAP-OK
azihsm ecdh $A --label dh --peer peer.pem --type hmac-sha384 --usage sign,derive --new-label z1 2>&1 >/dev/null |
	grep -q INVALID_ARG && echo ECDH-MIXED-REFUSED
azihsm ecdh $A --label dh --peer peer.pem --type hmac-sha384 --usage derive --new-label z1 --persistent >/dev/null &&
	azihsm ecdh $A --label dh --peer peer.pem --type hmac-sha384 --usage sign --new-label z1m --persistent >/dev/null &&
	azihsm hmac $A --label z1m --in msg --out /tmp/z && cmp -s /tmp/z z.want && echo ECDH-OK
azihsm derive $A --label z1 --kdf hkdf --hash sha256 --salt NaCl --info ctx --type hmac-sha256 --usage sign --new-label h1 --persistent >/dev/null &&
	azihsm hmac $A --label h1 --in msg --out /tmp/h && cmp -s /tmp/h hkdf.want && echo HKDF-OK
azihsm derive $A --label z1 --kdf kbkdf --hash sha384 --salt lbl --info ctx --type hmac-sha512 --length 40 --usage sign --new-label kb1 --persistent >/dev/null &&
	azihsm hmac $A --label kb1 --in msg --out /tmp/kb && cmp -s /tmp/kb kbkdf.want && echo KBKDF-OK
# Keys lacking the usage.
azihsm sign $A --label dh --alg ecdsa-sha384 --in msg 2>&1 >/dev/null | grep -q KEY_USAGE && echo USAGE-SIGN-REFUSED
azihsm ecdh $A --label eck --peer peer.pem --type hmac-sha256 --usage sign 2>&1 >/dev/null | grep -q KEY_USAGE &&
	echo USAGE-ECDH-REFUSED
azihsm key generate $A --type aes-256 --label aenc --usage encrypt --persistent >/dev/null &&
	azihsm encrypt $A --label aenc --mode cbc --iv 000102030405060708090a0b0c0d0e0f --in data --out /tmp/aenc &&
	azihsm decrypt $A --label aenc --mode cbc --iv 000102030405060708090a0b0c0d0e0f --in /tmp/aenc 2>&1 >/dev/null |
	grep -q KEY_USAGE && echo USAGE-DECRYPT-REFUSED
azihsm derive $A --label hk --kdf hkdf --hash sha256 --type aes-256 --usage encrypt 2>&1 >/dev/null | grep -q KEY_USAGE &&
	echo USAGE-DERIVE-REFUSED
# The user role: uses keys, may not manage persistent ones or export.
U="--role user --pin-file pin.user"
azihsm login --role user --pin-file pin.udefault --new-pin-file pin.user --change-pin >/dev/null && echo USER-PIN
azihsm sign $U --label rsa1 --alg rsa-pss-sha256 --in msg --out /tmp/u.sig &&
	azihsm key public $U --label rsa1 --out /tmp/rsa1.pem &&
	openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest \
		-verify /tmp/rsa1.pem -signature /tmp/u.sig msg >/dev/null && echo USER-SIGNS
azihsm key generate $U --type aes-256 --label ukey --usage encrypt --persistent 2>&1 >/dev/null |
	grep -q WRONG_ROLE && echo ROLE-GEN-REFUSED
azihsm key delete $U --label rsa1 2>&1 >/dev/null | grep -q WRONG_ROLE && echo ROLE-DEL-REFUSED
azihsm key export-masked $U --label aesk --out /tmp/u.blob 2>&1 >/dev/null | grep -q WRONG_ROLE &&
	echo ROLE-EXPORT-REFUSED
# Lockout of the user role: 3 counted failures, then waits of 1, 2, 4, 8 s
# after each further one; an attempt during a wait is refused unchecked.
n=0
for i in 1 2 3; do
	azihsm key list --role user --pin-file pin.wrong 2>&1 >/dev/null | grep -q BAD_CREDENTIAL && n=$((n + 1))
done
for w in 2 3 5; do
	sleep $w
	azihsm key list --role user --pin-file pin.wrong 2>&1 >/dev/null | grep -q BAD_CREDENTIAL && n=$((n + 1))
done
echo "WRONG-COUNTED $n"
l=0
azihsm key list $U 2>&1 >/dev/null | grep -q LOCKED_OUT && l=$((l + 1))
azihsm sign $U --label rsa1 --alg rsa-pss-sha256 --in msg 2>&1 >/dev/null | grep -q LOCKED_OUT && l=$((l + 1))
azihsm hmac $U --label hk --in msg 2>&1 >/dev/null | grep -q LOCKED_OUT && l=$((l + 1))
azihsm unwrapping-key $U 2>&1 >/dev/null | grep -q LOCKED_OUT && l=$((l + 1))
echo "LOCKED $l"
sleep 9
azihsm sign $U --label rsa1 --alg rsa-pss-sha256 --in msg --out /tmp/u2.sig >/dev/null && echo USER-BACK
azihsm key export-masked $A --label aesk --out /tmp/aesk.blob &&
	azihsm encrypt $A --masked /tmp/aesk.blob --mode cbc --iv 000102030405060708090a0b0c0d0e0f --in data --out /tmp/cbc2 &&
	cmp -s /tmp/cbc2 cbc.want && echo MASKED-OK
azihsm key unmask $U --in /tmp/aesk.blob 2>&1 | grep -q WRONG_ROLE && echo USER-UNMASK-REFUSED
azihsm key delete $A --label aesk >/dev/null &&
	azihsm encrypt $A --masked /tmp/aesk.blob --mode cbc --iv 000102030405060708090a0b0c0d0e0f --in data 2>&1 |
	grep -q KEY_DELETED && echo DELETED-BLOB-REFUSED
printf "\200" | dd of=/tmp/aesk.blob bs=1 seek=40 conv=notrunc 2>/dev/null
azihsm key unmask $A --in /tmp/aesk.blob 2>&1 | grep -q BAD_BLOB && echo BAD-BLOB-REFUSED
true
'
ok $? "boot 2: the guest ran"
said RSA1-KEPT
ok $? "boot 2: rsa1 survived the reboot"
said UNWRAP-AES && said CBC-OK && said CBC-DEC-OK
ok $? "boot 2: the unwrapped AES key encrypts and decrypts CBC exactly as openssl enc with the host's key"
said GCM-OK
ok $? "boot 2: AES-GCM round trip"
said CTR-OK
ok $? "boot 2: AES-CTR: the device's ciphertext = openssl enc's; openssl's decrypts in the device"
said GCM-IV-REFUSED
ok $? "boot 2: issue 9: AES-GCM encryption with the caller's IV refused (the device draws it)"
g=$(sed -n 's/^GCM2 //p' <<<"$out")
[[ ${#g} == $(((12 + 3008 + 16) * 2)) ]] &&
	printf '%s' "${g:24:6016}" | xxd -r -p |
	"$dir/evp" aes-256-gcm d "$(hex "$dir/aes.key")" "${g:0:24}" 686472 "${g:6040:32}" |
	cmp -s - "$in/data" && said GCM-DEC-OSSL
ok $? "boot 2: AES-GCM with AAD: OpenSSL decrypts the device's IV || ciphertext || tag; OpenSSL's decrypts in the device"
said BAD-WRAP-REFUSED
ok $? "boot 2: a damaged wrap blob: DECRYPT_FAILED"
said HMAC-OK
ok $? "boot 2: HMAC with the unwrapped secret = openssl's"
said EC-UNWRAP-OK
ok $? "boot 2: the unwrapped EC key signs; openssl verifies with the host's public key"
said ECDH-OK && said ECDH-MIXED-REFUSED
ok $? "boot 2: ECDH with the host's peer key: HMAC = openssl's with openssl's ECDH secret; issue 9: a sign+derive result refused"
said HKDF-OK
ok $? "boot 2: HKDF of the ECDH key: HMAC = openssl's from openssl kdf HKDF"
said KBKDF-OK
ok $? "boot 2: KBKDF (counter, HMAC-SHA384) of the ECDH key: HMAC = openssl's from openssl kdf KBKDF"
said USAGE-SIGN-REFUSED && said USAGE-ECDH-REFUSED && said USAGE-DECRYPT-REFUSED &&
	said USAGE-DERIVE-REFUSED
ok $? "boot 2: sign with a derive key, ECDH with a sign key, decrypt with an encrypt key, derive with a sign key: KEY_USAGE"
said USER-PIN && said USER-SIGNS
ok $? "boot 2: the user role, after its PIN change, signs with the officer's key (openssl verifies)"
said ROLE-GEN-REFUSED && said ROLE-DEL-REFUSED && said ROLE-EXPORT-REFUSED
ok $? "boot 2: the user may not make or delete persistent keys nor export masked: WRONG_ROLE"
said "WRONG-COUNTED 6"
ok $? "boot 2: six wrong user PINs, each after the previous wait: BAD_CREDENTIAL"
said "LOCKED 4"
ok $? "boot 2: then the right PIN is refused for key list, sign, hmac, unwrapping-key: LOCKED_OUT"
said USER-BACK
ok $? "boot 2: after the wait the right PIN works again"
said MASKED-OK
ok $? "boot 2: masked export, then encrypt --masked: openssl's ciphertext"
said USER-UNMASK-REFUSED
ok $? "boot 2: issue 9: the user may not unmask a persistent key's blob: WRONG_ROLE"
said DELETED-BLOB-REFUSED
ok $? "boot 2: issue 9: the key deleted, its blob is KEY_DELETED"
said BAD-BLOB-REFUSED
ok $? "boot 2: a masked blob with a flipped bit: BAD_BLOB"

tap_done
