#!/bin/sh
# SPDX-License-Identifier: MIT
#
# libkcapi's test program and Debian's kcapi-tools against the azihsm
# crypto-API drivers, through AF_ALG. TAP; exits non-zero if anything failed.
#
# Material (made on the host by scripts/libkcapi-suite, never committed):
# $AZIHSM_LIBKCAPI (default /usr/libexec/azihsm/libkcapi) with bin/kcapi,
# bin/kcapi-enc, bin/kcapi-dgst, bin/kcapi-rng, cases.txt, tools/. Run:
#
#   d=$(scripts/libkcapi-suite) && make -C tests/guest BUILD=$PWD/build &&
#   scripts/vm-run --kernel 6.1 --add "$d:/usr/libexec/azihsm/libkcapi" \
#     --add build/tests/guest:/usr/libexec/azihsm/tests \
#     --module algif_hash --module algif_skcipher --module algif_aead \
#     --module algif_rng --module crypto_user --module ecb --module ctr \
#     --module xts --module gcm --module ghash_generic --module sha512_generic \
#     -- /usr/libexec/azihsm/tests/libkcapi.sh
#
# 1. Every algorithm the driver registers must be in /proc/crypto (missing
#    ones fail: this test does not skip when the driver is absent).
# 2. Each case of cases.txt (test.sh's known answers for our algorithms,
#    plus cases computed with OpenSSL on the host) runs with `kcapi -c
#    <our driver name>` in several ways (one shot, stream, vmsplice, AIO,
#    aligned) and must give the expected output; the same call against the
#    kernel's software driver is run once to tell a broken case from a
#    broken driver.
# 3. kcapi-dgst and kcapi-enc with our driver names on files, compared with
#    OpenSSL's outputs computed on the host; GCM also with the software
#    driver. kcapi-rng if the driver registers an rng.
# PBKDF cases (4096 HMACs each) run only with AZIHSM_KCAPI_PBKDF=1.

D=${AZIHSM_LIBKCAPI:-/usr/libexec/azihsm/libkcapi}
# A call that hangs fails its case instead of the whole run.
KCAPI_BIN=$D/bin/kcapi
KCAPI="timeout 60 $KCAPI_BIN"
T=$D/tools
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
n=0
failed=0

ok() {	# status description
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
diag() { echo "#   $*"; }
finish() {
	echo "1..$n"
	echo "# libkcapi: $n checks, $failed failed"
	[ $failed = 0 ]
	exit $?
}

echo "TAP version 13"
if [ ! -x "$KCAPI_BIN" ] || [ ! -f "$D/cases.txt" ]; then
	ok 1 "libkcapi material in $D (scripts/libkcapi-suite; vm-run --add DIR:$D)"
	echo "Bail out! no $KCAPI_BIN or $D/cases.txt"
	finish
fi
sed 's/^/# /' "$D/VERSION" 2>/dev/null

# AF_ALG and the software references; builtin or absent ones are fine here,
# a missing AF_ALG shows up in the cases.
for m in af_alg algif_hash algif_skcipher algif_aead algif_rng crypto_user \
	 ecb cbc ctr xts gcm ghash_generic sha512_generic hmac; do
	modprobe "$m" 2>/dev/null
done

# ---- 1. the driver's algorithms -------------------------------------------
# field VALUE of the /proc/crypto entry with driver name $1
proc_field() {
	awk -v d="$1" -v k="$2" '
		/^driver / { cur = $3 }
		/^$/ { cur = "" }
		cur == d && $1 == k { sub(/^[^:]*: /, ""); print; exit }' /proc/crypto
}
missing=0
for spec in ecb_aes_azihsm:skcipher cbc_aes_azihsm:skcipher ctr_aes_azihsm:skcipher \
	    xts_aes_azihsm:skcipher gcm_aes_azihsm:aead rfc4106_gcm_aes_azihsm:aead \
	    sha256_azihsm:ahash sha384_azihsm:ahash sha512_azihsm:ahash \
	    hmac_sha256_azihsm:ahash hmac_sha384_azihsm:ahash hmac_sha512_azihsm:ahash \
	    rsa_azihsm:akcipher ecdsa_nist_p256_azihsm:akcipher ecdsa_nist_p384_azihsm:akcipher; do
	drv=${spec%%:*} want=${spec#*:}
	type=$(proc_field "$drv" type)
	prio=$(proc_field "$drv" priority)
	st=$(proc_field "$drv" selftest)
	case $type in
	"$want") r=0 ;;
	sig) [ "$want" = akcipher ]; r=$? ;;	# ECDSA is a sig on newer kernels
	*) r=1 ;;
	esac
	ok $r "$drv registered: type ${type:-MISSING} (want $want), priority ${prio:-?}, selftest ${st:-?}"
	[ $r = 0 ] || missing=$((missing + 1))
done
if [ $missing != 0 ]; then
	diag "$missing azihsm algorithm(s) missing; our entries in /proc/crypto:"
	grep -B1 -A6 '_azihsm$' /proc/crypto | sed 's/^/#   /'
	lsmod 2>/dev/null | grep -q azihsm || diag "the azihsm module is not loaded"
fi

# The kernel's software implementation of a name, by driver name so that
# the priorities do not matter.
soft() {
	case $1 in
	"cbc(aes)"|"ecb(aes)"|"ctr(aes)") echo "${1%(aes)}(aes-generic)" ;;
	"xts(aes)") echo "xts(ecb(aes-generic))" ;;
	"gcm(aes)") echo "gcm_base(ctr(aes-generic),ghash-generic)" ;;
	"rfc4106(gcm(aes))") echo "rfc4106(gcm_base(ctr(aes-generic),ghash-generic))" ;;
	sha256|sha384|sha512) echo "$1-generic" ;;
	"hmac(sha"*) echo "hmac(${1#hmac(}" | sed 's/)$/-generic)/' ;;
	esac
}

# ---- 2. the cases ------------------------------------------------------------
# run_case CAT MODE DRIVER FIELDS...: the kcapi call of test.sh for one case;
# output on stdout, stderr in $W/err.
run_case() {
	cat=$1 mode=$2 drv=$3
	shift 3
	case $cat in
	hash)	# key msg exp
		msg=$2; [ "$msg" = 00 ] && msg=-
		if [ -n "$1" ]; then
			$KCAPI $mode -c "$drv" -k "$1" -p "$msg" 2>"$W/err"
		else
			$KCAPI $mode -c "$drv" -p "$msg" 2>"$W/err"
		fi ;;
	sym)	# enc key iv msg exp
		iv=; [ -n "$3" ] && iv="-i $3"
		if [ "$1" = 1 ]; then
			$KCAPI $mode -e -c "$drv" $iv -k "$2" -p "$4" 2>"$W/err"
		else
			$KCAPI $mode -c "$drv" $iv -k "$2" -q "$4" 2>"$W/err"
		fi ;;
	aead)	# enc key iv assoc tag taglen msg exp
		assoc=$4
		# rfc4106: the IV is part of the AAD (kernels >= 4.2), as test.sh does
		case $name in rfc4106*) assoc=$4$3 ;; esac
		if [ "$1" = 1 ]; then
			$KCAPI $mode -e -c "$drv" -i "$3" -k "$2" -a "$assoc" -p "$7" -l "$6" 2>"$W/err"
		else
			$KCAPI $mode -c "$drv" -i "$3" -k "$2" -a "$assoc" -t "$5" -q "$7" 2>"$W/err"
		fi ;;
	kdf)	# type key msg exp
		$KCAPI $mode -x "$1" -c "$drv" -k "$2" -p "$3" -b $((${#4} / 2)) 2>"$W/err" ;;
	hkdf)	# salt ikm info exp
		$KCAPI $mode -x 12 -c "$drv" -k "$2" -i "$1" -p "$3" -b $((${#4} / 2)) 2>"$W/err" ;;
	pbkdf)	# salt pw count exp
		$KCAPI $mode -x 8 -c "$drv" -k "$1" -p "$2" -d "$3" -b $((${#4} / 2)) 2>"$W/err" ;;
	esac
}

# The modes each category runs in (test.sh's: -x 1 sync, 9 AIO; -s stream,
# -v vmsplice, -m aligned); ',' separates, '_' is a space.
modes() {
	case $1 in
	hash) echo "-x_3,-x_3_-s" ;;
	sym) echo "-x_1,-x_1_-s,-x_1_-v,-x_9,-x_1_-m" ;;
	aead) echo "-x_2,-x_2_-s,-x_2_-v,-x_10" ;;
	*) echo "_" ;;
	esac
}

total=0 cats=
while IFS='|' read -r cat id name drv f1 f2 f3 f4 f5 f6 f7 f8; do
	[ -n "$cat" ] || continue
	if [ "$cat" = pbkdf ] && [ "${AZIHSM_KCAPI_PBKDF:-0}" != 1 ]; then
		skip "pbkdf $id $name" "4096 HMACs through the device; set AZIHSM_KCAPI_PBKDF=1"
		continue
	fi
	# The expected value is the last non-empty-by-position field of the category.
	case $cat in
	hash) exp=$f3 ;;
	sym) exp=$f5 ;;
	aead) exp=$f8 ;;
	*) exp=$f4 ;;
	esac
	case " $cats " in *" $cat "*) ;; *) cats="$cats $cat" ;; esac
	ref=$(soft "$name")
	for m in $(modes "$cat" | tr ',' ' '); do
		mode=$(echo "$m" | tr '_' ' ')
		# kcapi's stream mode (-s, -v) keeps a partial block waiting for
		# more data (algif_skcipher processes whole chunks while more is
		# announced): with a length that is not a block multiple it waits
		# for ever, whatever the driver (the software ctr(aes) too).
		if [ "$cat" = sym ] && [ $(( ${#f4} / 2 % 16 )) != 0 ]; then
			case $mode in *-s*|*-v*) continue ;; esac
		fi
		got=$(run_case "$cat" "$mode" "$drv" "$f1" "$f2" "$f3" "$f4" "$f5" "$f6" "$f7" "$f8")
		# test.sh compares a hash with its expected length
		[ "$cat" = hash ] && got=$(echo "$got" | cut -c1-${#exp})
		total=$((total + 1))
		if [ "$got" = "$exp" ]; then
			ok 0 "$cat $id $drv ($name)${mode:+ $mode}"
			continue
		fi
		ok 1 "$cat $id $drv ($name)${mode:+ $mode}"
		diag "expected: $(echo "$exp" | cut -c1-96)"
		diag "got:      $(echo "$got" | tr '\n' ' ' | cut -c1-96)"
		[ -s "$W/err" ] && sed 's/^/#   stderr: /' "$W/err" | head -n 5
		sgot=$(run_case "$cat" "$mode" "$ref" "$f1" "$f2" "$f3" "$f4" "$f5" "$f6" "$f7" "$f8")
		[ "$cat" = hash ] && sgot=$(echo "$sgot" | cut -c1-${#exp})
		if [ "$sgot" = "$exp" ]; then
			diag "the software driver $ref gives the expected value: our driver is wrong"
		else
			diag "the software driver $ref does not either ($(echo "$sgot" | tr '\n' ' ' | cut -c1-60)): a case or AF_ALG problem"
		fi
	done
done <"$D/cases.txt"

# ---- 3. kcapi-tools -----------------------------------------------------------
ENC=$D/bin/kcapi-enc DGST=$D/bin/kcapi-dgst RNG=$D/bin/kcapi-rng
hexof() { od -An -v -tx1 "$1" | tr -d ' \n'; }
same_file() {	# file expected description
	if cmp -s "$1" "$2"; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diag "got $(wc -c <"$1") bytes, expected $(wc -c <"$2"); first bytes got $(hexof "$1" | cut -c1-32), expected $(hexof "$2" | cut -c1-32)"
		[ -s "$W/err" ] && sed 's/^/#   stderr: /' "$W/err" | head -n 5
	fi
}
tools=0
for alg in sha256 sha384 sha512; do
	$DGST -c "${alg}_azihsm" --hex -i "$T/msg1000.bin" >"$W/d" 2>"$W/err"
	[ "$(tr -d ' \n' <"$W/d")" = "$(tr -d ' \n' <"$T/$alg.exp")" ]
	ok $? "kcapi-dgst -c ${alg}_azihsm: the digest OpenSSL computed"
	# kcapi-dgst does not take a 100-byte key from --keyfd as OpenSSL's
	# -mac HMAC does (the software HMAC gives kcapi-dgst's value, not
	# OpenSSL's): compare with the kernel's software HMAC through the
	# same tool.
	$DGST -c "hmac_${alg}_azihsm" --keyfd 3 --hex -i "$T/msg1000.bin" \
		3<"$T/hmackey.bin" >"$W/d" 2>"$W/err"
	$DGST -c "hmac(${alg}-generic)" --keyfd 3 --hex -i "$T/msg1000.bin" \
		3<"$T/hmackey.bin" >"$W/ds" 2>/dev/null
	[ -s "$W/d" ] && cmp -s "$W/d" "$W/ds"
	ok $? "kcapi-dgst -c hmac_${alg}_azihsm (100-byte key --keyfd): as the software hmac(${alg}-generic)"
	tools=$((tools + 2))
done
iv=$(cat "$T/iv.hex")
for mode in cbc ecb ctr xts; do
	key=$T/key32.bin; [ $mode = xts ] && key=$T/key64.bin
	ivopt="--iv $iv"; [ $mode = ecb ] && ivopt=
	$ENC -e -c "${mode}_aes_azihsm" --keyfd 3 $ivopt -i "$T/msg.bin" -o "$W/ct" \
		3<"$key" 2>"$W/err"
	exp=$T/$mode.exp
	if [ $mode = xts ]; then
		# kcapi-enc does not use a 64-byte --keyfd key as OpenSSL's
		# aes-256-xts does (the software XTS gives kcapi-enc's value, not
		# OpenSSL's): compare with the kernel's software XTS through it.
		$ENC -e -c "xts(ecb(aes-generic))" --keyfd 3 $ivopt -i "$T/msg.bin" \
			-o "$W/xts.exp" 3<"$key" 2>/dev/null
		exp=$W/xts.exp
	fi
	same_file "$W/ct" "$exp" "kcapi-enc -e -c ${mode}_aes_azihsm, 4096 bytes: $([ $mode = xts ] && echo "the software XTS's" || echo "OpenSSL's") ciphertext"
	$ENC -d --nounpad -c "${mode}_aes_azihsm" --keyfd 3 $ivopt -i "$exp" \
		-o "$W/pt" 3<"$key" 2>"$W/err"
	same_file "$W/pt" "$T/msg.bin" "kcapi-enc -d -c ${mode}_aes_azihsm: the plaintext back"
	tools=$((tools + 2))
done
# GCM: kcapi-enc writes what AF_ALG returns (with or without the AAD in
# front, by kernel); it must equal the software GCM's output and contain
# OpenSSL's ciphertext and tag.
giv=$(cat "$T/gcm-iv.hex") gaad=$(cat "$T/gcm-aad.hex")
$ENC -e -c gcm_aes_azihsm --keyfd 3 --iv "$giv" --aad "$gaad" --taglen 16 \
	-i "$T/msg.bin" -o "$W/g" 3<"$T/key32.bin" 2>"$W/err"
$ENC -e -c "gcm_base(ctr(aes-generic),ghash-generic)" --keyfd 3 --iv "$giv" --aad "$gaad" \
	--taglen 16 -i "$T/msg.bin" -o "$W/gs" 3<"$T/key32.bin" 2>/dev/null
case $(hexof "$W/g") in
"$(hexof "$T/gcm.exp")"|"$gaad$(hexof "$T/gcm.exp")") cmp -s "$W/g" "$W/gs" ;;
*) false ;;
esac
ok $? "kcapi-enc -e -c gcm_aes_azihsm (AAD, 16-byte tag): OpenSSL's ciphertext and tag, as the software GCM"
tools=$((tools + 1))
rngdrv=$(awk '/^driver / { d = $3 } /^type .*: rng$/ && d ~ /_azihsm$/ { print d; exit }' /proc/crypto)
if [ -n "$rngdrv" ]; then
	$RNG -n "$rngdrv" -b 64 --hex >"$W/r" 2>"$W/err"
	r=$(tr -d ' \n' <"$W/r")
	[ ${#r} = 128 ] && [ "$r" != "$(printf '%0128d' 0)" ]
	ok $? "kcapi-rng -n $rngdrv -b 64: 64 bytes, not all zero"
else
	skip "kcapi-rng" "the driver registers no crypto-API rng (its RNG is hw_random)"
fi

echo "# cases: $total kcapi runs over the categories:$cats; $tools kcapi-tools checks"
finish
