#!/usr/bin/env python3
"""Rewrites jars for the packed Spark runtime (pack-spark.sh): entries stored uncompressed, so that one
xz stream over all of them compresses far better than the jars' own deflate, and native libraries for
other platforms than linux x86-64 left out. Signature files go too (the jars are no longer as signed).

    repack-jars.py OUT_DIR JAR...
"""
import os
import re
import sys
import zipfile

FOREIGN = re.compile(r'(win|windows|darwin|mac|osx|freebsd|sunos|aix|android)', re.I)
X86_64 = re.compile(r'(x86_64|x86-64|amd64)', re.I)
NATIVE = re.compile(r'\.(so|dll|dylib|jnilib|a)$')
SIGNATURE = re.compile(r'META-INF/[^/]+\.(SF|RSA|DSA|EC)$')


def repack(src, dst):
    dropped = 0
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w', zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            name = info.filename
            if NATIVE.search(name) and (FOREIGN.search(name) or not X86_64.search(name)):
                dropped += info.file_size
                continue
            if SIGNATURE.match(name):
                continue
            entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            entry.external_attr = info.external_attr
            entry.compress_type = zipfile.ZIP_STORED
            zout.writestr(entry, zin.read(info))
    return dropped


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for jar in sys.argv[2:]:
        dropped = repack(jar, os.path.join(out, os.path.basename(jar)))
        if dropped:
            print(f"[repack] {os.path.basename(jar)}: {dropped / 1e6:.1f} MB of other platforms' natives left out")


if __name__ == '__main__':
    main()
