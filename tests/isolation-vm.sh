#!/usr/bin/env bash
# Key isolation: the guest never holds the secrets of keys it uses.
#
# The test makes an AES-256 key, an HMAC-SHA256 secret, an EC P-256 and an
# RSA-2048 private key with OpenSSL on the host, wraps each to the
# partition's unwrapping key (CKM_RSA_AES_KEY_WRAP: RSA-OAEP of a fresh
# AES-256 key || AES-KWP of the key or its PKCS#8 DER), so only the test
# and the device know them. A guest unwraps them and uses each through
# every path the CLI has (encrypt/decrypt CBC and GCM, HMAC, ECDSA and RSA
# PSS / PKCS#1 signatures, RSA-OAEP decryption; masked export, `key
# unmask`, operations with --masked, then delete, after which the blob is
# KEY_DELETED: issue 9), each result checked against
# OpenSSL with the host's keys. Then, with the guest still running, the
# host saves all guest RAM through the QEMU monitor (QMP pmemsave) and scans
# it at every byte offset for every 16-byte window of every secret (so a
# secret split across two pages is still found), big-endian and
# byte-reversed (little-endian bignum limbs): the AES and HMAC keys, the EC
# private scalar, RSA d, p, q, dp, dq, qinv, the four ephemeral wrapping
# keys (the OAEP plaintexts), and whole: the PKCS#8 DERs (the KWP
# plaintexts) and the keys in hex. None may be there. The sealed state
# files are scanned the same way.
#
# Positive control: the guest writes a 48-byte canary, given to it only
# as printf escapes, in binary to its tmpfs; the scan must find it, so a
# broken dump or scan fails the test.
#
# Out of scope: keys the kernel's crypto API users set (dm-crypt, AF_ALG):
# the crypto API hands the driver raw keys in kernel memory by contract.
# The device's own memory (the QEMU process, where the vault lives) is not
# guest memory and is not searched. TAP. Needs scripts/vm-run and python3.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kernel=${1:-6.1}
dir=$(mktemp -d /tmp/azihsm-iso.XXXXXX)
cleanup() {
	[[ -n ${guest_pid-} ]] && kill "$guest_pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
state=$dir/partition
in=$dir/in
mem_size=$((1 << 30))	# scripts/vm-run: -m 1G, all of it below 4 GiB on q35
# shellcheck source=tests/tap.sh
. "$top/tests/tap.sh"

mkdir -p "$in"
hex() { od -An -tx1 -v "$1" | tr -d ' \n'; }
show_out() { sed 's/^/#   | /' <<<"$out"; sed 's/^/#   /' "$dir/err"; }
# okd STATUS DESCRIPTION CMD...: ok, and on a failure CMD shows why.
okd() {
	local st=$1 desc=$2
	shift 2
	ok "$st" "$desc"
	[[ $st == 0 ]] || "$@"
}

printf 'CO-default-PIN-1\n' >"$in/pin.default"
printf 'officer-pin-0042\n' >"$in/pin.officer"
printf 'a message to sign\n' >"$in/msg"
head -c 4096 /dev/urandom >"$in/data"

# ---- boot 1: the partition's unwrapping key ------------------------------
guest '
cd /root/in
azihsm login --role officer --pin-file pin.default --new-pin-file pin.officer --change-pin >/dev/null &&
	azihsm unwrapping-key --role officer --pin-file pin.officer --out /tmp/uk.pem &&
	{ echo UK-BEGIN; cat /tmp/uk.pem; echo UK-END; }
' --state "$state"
okd $? "boot 1: PIN changed, unwrapping key exported" show_out
between UK >"$in/uk.pem"
openssl pkey -pubin -in "$in/uk.pem" -noout 2>/dev/null
ok $? "boot 1: the unwrapping key is a PEM public key"

# ---- host: keys only the test knows, wrapped -----------------------------
wrap() {	# NAME KEYFILE: $in/NAME.wrapped; the ephemeral key in $dir/NAME.eph
	head -c 32 /dev/urandom >"$dir/$1.eph"
	openssl pkeyutl -encrypt -pubin -inkey "$in/uk.pem" -pkeyopt rsa_padding_mode:oaep \
		-pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in "$dir/$1.eph" \
		-out "$dir/w1" &&
	openssl enc -id-aes256-wrap-pad -K "$(hex "$dir/$1.eph")" -iv A65959A6 -in "$2" \
		-out "$dir/w2" && cat "$dir/w1" "$dir/w2" >"$in/$1.wrapped"
}
iv=000102030405060708090a0b0c0d0e0f
head -c 32 /dev/urandom >"$dir/aes.key"
head -c 32 /dev/urandom >"$dir/hmac.key"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/ec.key" 2>/dev/null &&
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/rsa.key" 2>/dev/null &&
	openssl pkcs8 -topk8 -nocrypt -in "$dir/ec.key" -outform DER -out "$dir/ec.p8" &&
	openssl pkcs8 -topk8 -nocrypt -in "$dir/rsa.key" -outform DER -out "$dir/rsa.p8" &&
	openssl pkey -in "$dir/ec.key" -pubout -out "$in/ec.pub" 2>/dev/null &&
	openssl pkey -in "$dir/rsa.key" -pubout -out "$in/rsa.pub" 2>/dev/null &&
	wrap aes "$dir/aes.key" && wrap hmac "$dir/hmac.key" && wrap ec "$dir/ec.p8" &&
	wrap rsa "$dir/rsa.p8" &&
	openssl enc -aes-256-cbc -nopad -K "$(hex "$dir/aes.key")" -iv $iv -in "$in/data" \
		-out "$in/cbc.want" &&
	openssl dgst -sha256 -mac HMAC -macopt hexkey:"$(hex "$dir/hmac.key")" -binary "$in/data" \
		>"$in/hmac.want" &&
	printf 'OAEP secret for the HSM' >"$dir/secret" &&
	openssl pkeyutl -encrypt -pubin -inkey "$in/rsa.pub" -pkeyopt rsa_padding_mode:oaep \
		-pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in "$dir/secret" \
		-out "$in/oaep.ct" && cp "$dir/secret" "$in/oaep.want"
ok $? "host: AES-256, HMAC, EC P-256 and RSA-2048 keys made by openssl and wrapped to the unwrapping key"

# The canary: 48 random bytes, handed over as printf octal escapes only.
head -c 256 /dev/urandom | tr -d '%\\\000' | head -c 48 >"$dir/canary"
od -An -to1 -v "$dir/canary" | tr -s ' \n' ' ' | sed 's/ *$//; s/ /\\/g' >"$in/canary.esc"

# ---- boot 2: import, use, hold still for the dump ------------------------
cat >"$in/script.sh" <<'EOF'
cd /root/in
A="--role officer --pin-file pin.officer"
IV=000102030405060708090a0b0c0d0e0f
printf "$(cat canary.esc)" >/tmp/canary
# (The canary lives in tmpfs; the shell below holds it too.)
canary=$(od -An -tx1 /tmp/canary | tr -d " \n")
[ ${#canary} = 96 ] && echo CANARY-SET
azihsm key unwrap $A --in aes.wrapped --type aes-256 --usage encrypt,decrypt --label aesk --persistent >/dev/null &&
	azihsm key unwrap $A --in hmac.wrapped --type hmac-sha256 --usage sign --label hk --persistent >/dev/null &&
	azihsm key unwrap $A --in ec.wrapped --type ec-p256 --usage sign --label eck --persistent >/dev/null &&
	azihsm key unwrap $A --in rsa.wrapped --type rsa-2048 --usage sign --label rk --persistent >/dev/null &&
	azihsm key unwrap $A --in rsa.wrapped --type rsa-2048 --usage decrypt --label rd --persistent >/dev/null &&
	echo UNWRAPPED
# use KEYARG: every operation with the key given as KEYARG; prints what worked
use() {
	azihsm encrypt $A $1 --mode cbc --iv $IV --in data --out /tmp/cbc && cmp -s /tmp/cbc cbc.want &&
		azihsm decrypt $A $1 --mode cbc --iv $IV --in cbc.want --out /tmp/dec && cmp -s /tmp/dec data &&
		echo AES-CBC-$2
	azihsm encrypt $A $1 --mode gcm --aad hdr --in msg --out /tmp/gcm &&
		azihsm decrypt $A $1 --mode gcm --aad hdr --in /tmp/gcm --out /tmp/gcm.dec &&
		cmp -s /tmp/gcm.dec msg && echo AES-GCM-$2
}
use "--label aesk" LABEL
azihsm hmac $A --label hk --in data --out /tmp/mac && cmp -s /tmp/mac hmac.want && echo HMAC-LABEL
azihsm sign $A --label eck --alg ecdsa-sha256 --in msg --out /tmp/ec.sig &&
	openssl dgst -sha256 -verify ec.pub -signature /tmp/ec.sig msg >/dev/null && echo EC-LABEL
azihsm sign $A --label rk --alg rsa-pss-sha256 --in msg --out /tmp/pss.sig &&
	openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest \
		-verify rsa.pub -signature /tmp/pss.sig msg >/dev/null &&
	azihsm sign $A --label rk --alg rsa-pkcs1-sha256 --in msg --out /tmp/p1.sig &&
	openssl dgst -sha256 -verify rsa.pub -signature /tmp/p1.sig msg >/dev/null && echo RSA-SIGN-LABEL
azihsm decrypt $A --label rd --alg rsa-oaep-sha256 --in oaep.ct --out /tmp/oaep &&
	cmp -s /tmp/oaep oaep.want && echo RSA-OAEP-LABEL
# Masked export, unmask (check), every use with --masked (the officer's
# session copies of the live keys), then delete: the blob is refused.
for k in aesk hk eck rk rd; do
	azihsm key export-masked $A --label $k --out /tmp/$k.blob &&
		azihsm key unmask $A --in /tmp/$k.blob >/dev/null && echo MASKED-$k
done
use "--masked /tmp/aesk.blob" MASKED
azihsm hmac $A --masked /tmp/hk.blob --in data --out /tmp/mac2 && cmp -s /tmp/mac2 hmac.want &&
	echo HMAC-MASKED
azihsm sign $A --masked /tmp/eck.blob --alg ecdsa-sha256 --in msg --out /tmp/ec2.sig &&
	openssl dgst -sha256 -verify ec.pub -signature /tmp/ec2.sig msg >/dev/null && echo EC-MASKED
azihsm sign $A --masked /tmp/rk.blob --alg rsa-pss-sha256 --in msg --out /tmp/pss2.sig &&
	openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest \
		-verify rsa.pub -signature /tmp/pss2.sig msg >/dev/null &&
	azihsm decrypt $A --masked /tmp/rd.blob --alg rsa-oaep-sha256 --in oaep.ct --out /tmp/oaep2 &&
	cmp -s /tmp/oaep2 oaep.want && echo RSA-MASKED
for k in aesk hk eck rk rd; do
	azihsm key delete $A --label $k >/dev/null &&
		azihsm key unmask $A --in /tmp/$k.blob 2>&1 | grep -q KEY_DELETED && echo DELETED-$k
done
sync
echo READY-FOR-DUMP
# Wait (at most 5 minutes) for the host's line on the fourth serial port.
timeout 300 head -n 1 /dev/ttyS3 >/dev/null && echo RESUMED
[ "$(od -An -tx1 /tmp/canary | tr -d " \n")" = "$canary" ] && echo CANARY-KEPT
true
EOF
guest_start 'sh /root/in/script.sh' --state "$state" --add /usr/bin/openssl --timeout 900 \
	--qmp "$dir/mon" \
	--qemu-arg -serial --qemu-arg "unix:$dir/ttyS3,server=on,wait=off"
guest_line '^READY-FOR-DUMP' 600
okd $? "boot 2: the guest imported and used the keys and waits" show_out

# The monitor (QMP): pmemsave all RAM while the guest waits, then release it.
"$top/scripts/qmp" --wait 300 "$dir/mon" pmemsave \
	"{\"val\": 0, \"size\": $mem_size, \"filename\": \"$dir/mem\"}" >/dev/null &&
	python3 -c 'import socket, sys, time
t = socket.socket(socket.AF_UNIX)
t.connect(sys.argv[1])
t.sendall(b"go\n")
time.sleep(1)
t.close()' "$dir/ttyS3"
[[ -f $dir/mem && $(stat -c %s "$dir/mem") == "$mem_size" ]]
okd $? "host: pmemsave through the monitor wrote all $mem_size bytes of guest RAM" sed 's/^/#   /' "$dir/err"
guest_wait
rc=$?
[[ $rc == 0 ]] && said RESUMED && said CANARY-SET && said CANARY-KEPT
okd $? "boot 2: the guest resumed after the dump and ended cleanly (exit $rc)" show_out
said UNWRAPPED
okd $? "boot 2: the four keys unwrapped (the RSA key twice: sign, decrypt)" show_out
said AES-CBC-LABEL && said AES-GCM-LABEL && said HMAC-LABEL && said EC-LABEL &&
	said RSA-SIGN-LABEL && said RSA-OAEP-LABEL
ok $? "boot 2: each key used by label: AES-CBC = openssl's, GCM, HMAC = openssl's, ECDSA, RSA PSS/PKCS#1 verified, OAEP"
said MASKED-aesk && said MASKED-hk && said MASKED-eck && said MASKED-rk && said MASKED-rd
ok $? "boot 2: each key exported masked and unmasked"
said AES-CBC-MASKED && said AES-GCM-MASKED && said HMAC-MASKED && said EC-MASKED &&
	said RSA-MASKED
ok $? "boot 2: each key used from its masked blob"
said DELETED-aesk && said DELETED-hk && said DELETED-eck && said DELETED-rk &&
	said DELETED-rd
ok $? "boot 2: issue 9: each key deleted, then its blob is KEY_DELETED"

# ---- the secrets, as scan strings ----------------------------------------
# windows NAME FILE: every 16-byte window of FILE's bytes, and of them
# reversed; whole NAME FILE: FILE's bytes as one string.
python3 - "$dir" >"$dir/needles" <<'EOF'
import re, subprocess, sys
d = sys.argv[1]
out = []

def windows(name, b):
    for form, s in (("be", b), ("le", b[::-1])):
        for i in range(len(s) - 15):
            out.append("%s/%s %s" % (name, form, s[i:i + 16].hex()))

def whole(name, b):
    out.append("%s %s" % (name, b.hex()))

def fields(keyfile):
    text = subprocess.run(["openssl", "pkey", "-in", keyfile, "-noout", "-text"],
                          capture_output=True, text=True, check=True).stdout
    f, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"^(\w+):\s*$", line)
        if m:
            cur = m.group(1)
            f[cur] = ""
        elif cur and re.match(r"^\s+[0-9a-f:]+$", line):
            f[cur] += line.strip().replace(":", "")
        else:
            cur = None
    return {k: bytes.fromhex(v).lstrip(b"\0") for k, v in f.items() if v}

for n in ("aes", "hmac"):
    k = open("%s/%s.key" % (d, n), "rb").read()
    windows(n + "-key", k)
    whole(n + "-key-hex", k.hex().encode())
    whole(n + "-key-HEX", k.hex().upper().encode())
for n in ("aes", "hmac", "ec", "rsa"):
    windows(n + "-wrap-ephemeral", open("%s/%s.eph" % (d, n), "rb").read())
ec = fields(d + "/ec.key")
windows("ec-private-scalar", ec["priv"].rjust(32, b"\0"))
rsa = fields(d + "/rsa.key")
for f in ("privateExponent", "prime1", "prime2", "exponent1", "exponent2", "coefficient"):
    windows("rsa-" + f, rsa[f])
for n in ("ec", "rsa"):
    whole(n + "-pkcs8-der", open("%s/%s.p8" % (d, n), "rb").read())
windows("CANARY", open(d + "/canary", "rb").read())
print("\n".join(out))
EOF
n=$(wc -l <"$dir/needles")
[[ $n -gt 1500 ]] && grep -q '^rsa-privateExponent/be ' "$dir/needles" &&
	grep -q '^ec-private-scalar/le ' "$dir/needles"
ok $? "host: $n scan strings from the secrets and the canary"

cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o "$dir/memscan" \
	"$top/tests/tools/memscan.c" && "$dir/memscan" "$dir/mem" "$dir/needles" >"$dir/found"
ok $? "host: the dump scanned at every offset"
grep -q '^FOUND CANARY/be ' "$dir/found"
ok $? "positive control: the canary the guest wrote to its tmpfs IS found in the dump"
leaks=$(grep '^FOUND ' "$dir/found" | grep -v ' CANARY/' | cut -d' ' -f2 | sort | uniq -c)
[[ -z $leaks ]]
okd $? "no byte window of any secret (AES, HMAC, EC scalar, RSA d/p/q/dp/dq/qinv, wrap keys, PKCS#8, hex) in guest RAM" \
	sed 's/^/#   leaked: /' <<<"$leaks"

: >"$dir/found.state"
for f in "$state" "$state.nv"; do
	[[ -f $f ]] && "$dir/memscan" "$f" "$dir/needles" >>"$dir/found.state"
done
[[ -s $dir/found.state ]] && ! grep -q '^FOUND ' "$dir/found.state"
okd $? "no secret in the sealed state files either" sed -n 's/^FOUND /#   leaked: /p' "$dir/found.state"

tap_done
