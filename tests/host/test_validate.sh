#!/usr/bin/env bash
# azihsm validate, path fw (issue 11 section 1, path c): the real CLI on the
# firmware core (azihsm-fw; what a partition session cannot run goes through
# the kernel session's services, val_fw_kernel.c) runs a bounded sample of the NIST CAVP files
# (python3-cryptography-vectors) and the ACVP sets (tests/data/acvp); every
# vector that runs passes, the JSON and JUnit reports parse. Then the
# negative proofs: the firmware with fault-corrupt=aes-cbc (the test-only
# property, here AZIHSM_TEST_FAULT_CORRUPT) and copies of a CAVP and an
# ACVP file with one expected value flipped must each be reported as
# failures (exit 1) of exactly that algorithm. TAP.
#   VALIDATE_SAMPLE=N (default 6): vectors per file; 0 runs them all.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=@TOP@	# the source tree (set when installed into the build tree)
cli=$here/azihsm-fw
cavp=${AZIHSM_CAVP_DIR:-/usr/lib/python3/dist-packages/cryptography_vectors}
acvp=$top/tests/data/acvp
sample=${VALIDATE_SAMPLE:-6}
dir=$(mktemp -d /tmp/azihsm-validate.XXXXXX)
trap 'rm -rf "$dir"' EXIT
export AZIHSM_TEST_STATE=$dir/partition
unset AZIHSM_PIN AZIHSM_NEW_PIN AZIHSM_TEST_FAULT_CORRUPT AZIHSM_CAVP_DIR AZIHSM_ACVP_DIR
# shellcheck source=tests/tap.sh
. "$here/tap.sh"
tap_on_fail() { [[ -s $dir/err ]] && tail -n 15 "$dir/err" | sed 's/^/#   /'; }

printf 'CU-default-PIN-1\n' >"$dir/pin.default"
printf 'user-pin-val-042\n' >"$dir/pin.user"
u=(--pin-file "$dir/pin.user")
run() { "$cli" "$@" >"$dir/out" 2>"$dir/err"; }
# counts PATH ALG MODE: the report line's "run passed failed n/a"
counts() { awk -v p="$1" -v a="$2" -v m="$3" '$1 == p && $2 == a && $3 == m {
	for (i = 4; i <= 7; i++) printf "%s ", $i; print "" }' "$dir/out"; }

run login --pin-file "$dir/pin.default" --change-pin --new-pin-file "$dir/pin.user"
ok $? "change the user's default PIN"

[[ -d $cavp/ciphers/AES ]]
ok $? "the CAVP vectors are installed ($cavp, python3-cryptography-vectors)"

t0=$SECONDS
run validate "${u[@]}" --acvp "$acvp" --sample "$sample" --json "$dir/r.json" --junit "$dir/r.xml"
rc=$?
ok $rc "validate --sample $sample on the firmware core: exit 0 ($((SECONDS - t0)) s)"
[[ $rc == 0 ]] || sed 's/^/#   | /' "$dir/out" | grep -v 'n/a' | head -40
! grep -q FAILED "$dir/out"
ok $? "no algorithm reports a failure"

# Each of these ran vectors and all of them passed.
for am in "AES-ECB KAT" "AES-ECB MMT" "AES-CBC KAT" "AES-CBC MMT" "AES-CTR ACVP" \
	"AES-GCM decrypt" "AES-GCM ACVP" "AES-XTS 256" "HMAC-SHA-256 ACVP" "HMAC-SHA-384 ACVP" \
	"HMAC-SHA-512 ACVP" "ECDSA SigGen" "ECDSA SigVer-ACVP" "RSA-PKCS1 SigGen" \
	"RSA-PKCS1 SigVer" "RSA-PSS SigGen" "RSA-PSS SigVer" \
	"AES-GCM encrypt" "AES-XTS 128" "SHA-256 short" "SHA-256 long" "SHA-384 short" \
	"SHA-384 long" "SHA-512 short" "SHA-512 long" "HKDF RFC5869"; do
	read -r a m <<<"$am"
	read -r nrun npass nfail _ <<<"$(counts fw "$a" "$m")"
	[[ ${nrun:-0} -gt 0 && $npass == "$nrun" && $nfail == 0 ]]
	ok $? "$a $m: vectors ran and passed (run ${nrun:-none}, passed ${npass:-none})"
done
# What cannot run on this path is reported as not applicable, with a reason.
for am in "KAS-ECC-SSC ACVP" "ECDSA KeyVer-ACVP"; do
	read -r a m <<<"$am"
	read -r nrun _ _ nna <<<"$(counts fw "$a" "$m")"
	[[ ${nrun:-x} == 0 && ${nna:-0} -gt 0 ]]
	ok $? "$a $m: not applicable on the fw path (n/a ${nna:-none})"
done
grep -q "n/a: the device's GCM takes 96-bit IVs only" "$dir/out"
ok $? "the reason for the GCM vectors with other IV lengths is given"

python3 - "$dir/r.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "azihsm-validate/1" and d["paths"] == ["fw"]
t = d["totals"]
assert t["failed"] == 0 and t["run"] == t["passed"] > 100, t
assert all(r["path"] == "fw" for r in d["results"])
EOF
ok $? "--json: schema azihsm-validate/1, totals agree"
python3 -c 'import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
s = r.find("testsuite")
assert s.get("name") == "validate.fw" and s.get("failures") == "0" and int(s.get("tests")) > 20' \
	"$dir/r.xml"
ok $? "--junit: one testsuite validate.fw, no failures"

# --- negative proofs ----------------------------------------------------------
AZIHSM_TEST_FAULT_CORRUPT=aes-cbc run validate "${u[@]}" --acvp "$acvp" --sample 3 --only AES-CBC
rc=$?
read -r nrun _ nfail _ <<<"$(counts fw AES-CBC KAT)"
[[ $rc == 1 && ${nfail:-0} -gt 0 && $nfail == "$nrun" ]] && grep -q 'differs from the expected' "$dir/out"
ok $? "fault-corrupt=aes-cbc: exit $rc, every AES-CBC KAT vector fails (${nfail:-?}/${nrun:-?})"
AZIHSM_TEST_FAULT_CORRUPT=aes-cbc run validate "${u[@]}" --acvp "$acvp" --sample 3 --only AES-ECB
ok $? "fault-corrupt=aes-cbc leaves AES-ECB alone (exit 0)"
AZIHSM_TEST_FAULT_CORRUPT=aes-nope run validate "${u[@]}" --acvp "$acvp" --only AES-CBC
[[ $? == 1 ]] && grep -q 'did not start' "$dir/err"
ok $? "an unknown fault-corrupt value: the firmware does not start"

# A CAVP tree of links to the real files, one of them a copy with the first
# expected ciphertext flipped.
mkdir -p "$dir/cavp/ciphers/AES"
for d in "$cavp"/*; do [[ $(basename "$d") == ciphers ]] || ln -s "$d" "$dir/cavp/"; done
for d in "$cavp"/ciphers/AES/*; do
	[[ $(basename "$d") == CBC ]] || ln -s "$d" "$dir/cavp/ciphers/AES/"
done
mkdir "$dir/cavp/ciphers/AES/CBC"
for f in "$cavp"/ciphers/AES/CBC/*; do ln -s "$f" "$dir/cavp/ciphers/AES/CBC/"; done
rm "$dir/cavp/ciphers/AES/CBC/CBCMMT128.rsp"
awk '!done && /^CIPHERTEXT = / { c = substr($3, 1, 1); $3 = (c == "0" ? "1" : "0") substr($3, 2); done = 1 }
	{ print }' "$cavp/ciphers/AES/CBC/CBCMMT128.rsp" >"$dir/cavp/ciphers/AES/CBC/CBCMMT128.rsp"
! cmp -s "$cavp/ciphers/AES/CBC/CBCMMT128.rsp" "$dir/cavp/ciphers/AES/CBC/CBCMMT128.rsp"
ok $? "a copy of CBCMMT128.rsp with one expected ciphertext flipped"
run validate "${u[@]}" --vectors "$dir/cavp" --acvp "$acvp" --only AES-CBC
rc=$?
read -r nrun _ nfail _ <<<"$(counts fw AES-CBC MMT)"
[[ $rc == 1 && $nfail == 1 && $nrun == 60 ]] && grep -q 'CBCMMT128.rsp:10: encrypt: output differs' "$dir/out"
ok $? "the flipped CAVP value: exit $rc, exactly that vector fails (${nfail:-?} of ${nrun:-?})"

cp -r "$acvp" "$dir/acvp"
# The first test whose key a partition takes (16..128 bytes).
tc=$(python3 - "$dir/acvp/HMAC-SHA2-256-2.0/internalProjection.json" <<'EOF'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
t = next(t for g in d["testGroups"] for t in g["tests"] if 32 <= len(t["key"]) <= 256)
t["mac"] = ("1" if t["mac"][0] == "0" else "0") + t["mac"][1:]
json.dump(d, open(p, "w"))
print(t["tcId"])
EOF
)
ok $? "a copy of the HMAC-SHA2-256 set with one expected MAC flipped (tcId $tc)"
run validate "${u[@]}" --acvp "$dir/acvp" --only HMAC-SHA-256
rc=$?
read -r nrun _ nfail _ <<<"$(counts fw HMAC-SHA-256 ACVP)"
[[ $rc == 1 && $nfail == 1 ]] && grep -q "internalProjection.json:$tc: MAC differs" "$dir/out"
ok $? "the flipped ACVP value: exit $rc, exactly that vector fails (${nfail:-?} of ${nrun:-?})"

run validate "${u[@]}" --acvp "$acvp" --only AES-NOPE
[[ $? == 2 ]] && grep -q -- '--only takes an algorithm' "$dir/err"
ok $? "an unknown --only algorithm is a usage error, not an empty pass"

run validate "${u[@]}" --vectors "$dir/nowhere" --acvp "$acvp" --only AES-ECB
[[ $? == 1 ]] && grep -q 'vector file missing' "$dir/out"
ok $? "missing vector files are a failure, not a silent pass"

tap_done
