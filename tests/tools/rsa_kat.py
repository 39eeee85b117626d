#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Recompute the RSA known answers of qemu-device/fw/crypto/hsm_selftest_kat.h
with Python's own integers (no OpenSSL RSA): the PKCS#1 v1.5 SHA-256
signature of "abc" (digest from FIPS 180-2) and the OAEP-SHA256 ciphertext of
kat_rsa_msg (seed 00..1f, empty label). Exit 0 when the table agrees."""
import hashlib, re, sys

src = open(sys.argv[1] if len(sys.argv) > 1 else "qemu-device/fw/crypto/hsm_selftest_kat.h").read()
def table(name):
    body = re.search(r"%s\[\d+\] = \{(.*?)\};" % name, src, re.S).group(1)
    return bytes(int(x, 16) for x in re.findall(r"0x([0-9a-f]{2})", body))

def der_ints(der):
    """The INTEGERs of a PKCS#8 / PKCS#1 RSA private key, in order."""
    out, i = [], 0
    def hdr(i):
        t, l = der[i], der[i + 1]; i += 2
        if l & 0x80:
            n = l & 0x7f; l = int.from_bytes(der[i:i + n], "big"); i += n
        return t, l, i
    stack = [(0, len(der))]
    while stack:
        i, end = stack.pop()
        while i < end:
            t, l, j = hdr(i)
            if t in (0x30, 0x04):
                stack.append((j + l, end)); end = j + l; i = j
                continue
            if t == 0x02:
                out.append(int.from_bytes(der[j:j + l], "big"))
            i = j + l
    return out

ints = der_ints(table("kat_rsa_key"))
k = next(i for i in range(len(ints)) if ints[i].bit_length() == 2048)
n, e, d = ints[k], ints[k + 1], ints[k + 2]
L = 256
digest = bytes.fromhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
di = bytes.fromhex("3031300d060960864801650304020105000420") + digest
em = b"\x00\x01" + b"\xff" * (L - 3 - len(di)) + b"\x00" + di
ok = pow(int.from_bytes(em, "big"), d, n).to_bytes(L, "big") == table("kat_rsa_sig")

def mgf1(seed, length):
    o, c = b"", 0
    while len(o) < length:
        o += hashlib.sha256(seed + c.to_bytes(4, "big")).digest(); c += 1
    return o[:length]
msg = table("kat_rsa_msg")
lh = hashlib.sha256(b"").digest()
db = lh + b"\x00" * (L - len(msg) - 66) + b"\x01" + msg
seed = bytes(range(32))
mdb = bytes(a ^ b for a, b in zip(db, mgf1(seed, L - 33)))
ms = bytes(a ^ b for a, b in zip(seed, mgf1(mdb, 32)))
ct = pow(int.from_bytes(b"\x00" + ms + mdb, "big"), e, n).to_bytes(L, "big")
ok = ok and ct == table("kat_rsa_ct")
print("rsa known answers:", "agree" if ok else "DIFFER")
sys.exit(0 if ok else 1)
