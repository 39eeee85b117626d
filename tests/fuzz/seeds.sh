#!/bin/sh
# Write seed requests (2 bytes of response size, then an MBOR request)
# into the corpus directory $1.
set -e
d=$1
mkdir -p "$d"
# GetApiRev, GetDeviceInfo, GetRandom 16: response capacity 0x1000.
printf '\000\020\242\030\000\241\030\002\032\000\000\003\352\030\001\240' >"$d/seed-apirev"
printf '\000\020\242\030\000\241\030\002\032\000\000\003\353\030\001\240' >"$d/seed-devinfo"
printf '\000\020\242\030\000\241\030\002\032\000\000\017\241\030\001\241\030\001\031\000\020' >"$d/seed-random"
