#!/usr/bin/env python3
"""Checks a Lambda package for the provided.al2023 runtime.

A package is a zip holding exactly one entry, a regular, executable file named
`bootstrap`, or that ELF binary itself. The binary must be for the expected
machine and need no glibc newer than the runtime's: the check reads the ELF's
version needs (.gnu.version_r, what the dynamic loader checks at start-up, the
same thing `readelf -V` prints), so it needs nothing but Python's standard
library. Non-numeric glibc tags fail too: GLIBC_ABI_DT_RELR means glibc 2.36
or newer (packed relocations), GLIBC_PRIVATE is no stable ABI at all.

    check_lambda_zip.py [--max-glibc 2.34] [--arch x86_64|arm64|any] [--bare] FILE...

Prints one line a file: `ok    FILE: highest glibc needed V (<= MAX)` (V is
`none` when the binary needs no glibc version) or `FAIL  FILE: why`; with
--bare only V or why (for scripts). Exit status 1 when a file fails, 2 on bad
arguments.
"""

import argparse
import re
import stat
import struct
import sys
import zipfile

SHT_GNU_VERNEED = 0x6FFFFFFE
# The ELF e_machine of each Lambda architecture: EM_X86_64, EM_AARCH64.
MACHINES = {"x86_64": 62, "arm64": 183}
# glibc of Amazon Linux 2023, the provided.al2023 runtime.
DEFAULT_MAX_GLIBC = "2.34"


class Unfit(Exception):
    """The package must not be deployed; the message says why."""


def version(tag):
    """(2, 34) for GLIBC_2.34; None for a tag that is not a version."""
    m = re.fullmatch(r"GLIBC_(\d+(?:\.\d+)+)", tag)
    return tuple(int(x) for x in m.group(1).split(".")) if m else None


def glibc_tags(data, arch="any"):
    """The GLIBC_* version tags the ELF image `data` needs."""
    if data[:4] != b"\x7fELF":
        raise Unfit("not an ELF file")
    cls, enc = data[4], data[5]
    if cls not in (1, 2) or enc not in (1, 2):
        raise Unfit("unsupported ELF class or byte order")
    e = "<" if enc == 1 else ">"
    try:
        return _verneed_tags(data, e, cls, arch)
    except (struct.error, IndexError, ValueError) as err:
        raise Unfit(f"truncated or malformed ELF: {err}") from None


def _verneed_tags(data, e, cls, arch):
    (machine,) = struct.unpack_from(e + "H", data, 0x12)
    if arch != "any" and machine != MACHINES[arch]:
        raise Unfit(f"ELF machine {machine} is not {arch} ({MACHINES[arch]})")
    if cls == 2:
        (shoff,) = struct.unpack_from(e + "Q", data, 0x28)
        shentsize, shnum = struct.unpack_from(e + "HH", data, 0x3A)
        shdr = e + "IIQQQQIIQQ"
    else:
        (shoff,) = struct.unpack_from(e + "I", data, 0x20)
        shentsize, shnum = struct.unpack_from(e + "HH", data, 0x2E)
        shdr = e + "IIIIIIIIII"
    if shoff == 0 or shnum == 0:
        raise Unfit("ELF has no section headers: cannot read its glibc version needs")
    secs = [struct.unpack_from(shdr, data, shoff + i * shentsize) for i in range(shnum)]
    tags = set()
    for s in secs:
        if s[1] != SHT_GNU_VERNEED:
            continue
        strtab = secs[s[6]][4]  # sh_link -> .dynstr, its sh_offset
        off, count = s[4], s[7]  # sh_offset, sh_info = number of Verneed
        for _ in range(count):  # Elf_Verneed: version, cnt, file, aux, next
            _v, cnt, _file, aux, nxt = struct.unpack_from(e + "HHIII", data, off)
            a = off + aux
            for _ in range(cnt):  # Elf_Vernaux: hash, flags, other, name, next
                _h, _f, _o, name, anext = struct.unpack_from(e + "IHHII", data, a)
                end = data.index(b"\0", strtab + name)
                tag = data[strtab + name : end].decode("ascii", "replace")
                if tag.startswith("GLIBC_"):
                    tags.add(tag)
                a += anext
            if nxt == 0:
                break
            off += nxt
    return tags


def bootstrap_of(path):
    """The bytes to check: a zip's only entry `bootstrap`, or the file."""
    if not path.endswith(".zip"):
        with open(path, "rb") as f:
            return f.read()
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            names = [i.filename for i in infos]
            if names != ["bootstrap"]:
                raise Unfit(f"expected exactly one entry named 'bootstrap', found {names}")
            info = infos[0]
            mode = info.external_attr >> 16
            if info.is_dir() or not stat.S_ISREG(mode):
                raise Unfit(f"'bootstrap' is not a regular file (mode {oct(mode)})")
            if mode & 0o111 != 0o111:
                raise Unfit(f"'bootstrap' is not executable (mode {oct(mode)})")
            bad = z.testzip()
            if bad is not None:
                raise Unfit(f"corrupt entry {bad}")
            return z.read(info)
    except zipfile.BadZipFile as err:
        raise Unfit(f"not a valid zip: {err}") from None


def check(path, max_glibc=DEFAULT_MAX_GLIBC, arch="any"):
    """The highest glibc version `path` needs ("none" if none); Unfit if the
    package must not be deployed."""
    tags = glibc_tags(bootstrap_of(path), arch)
    limit = version("GLIBC_" + max_glibc)
    numeric = sorted((t for t in tags if version(t)), key=version)
    too_new = [t for t in numeric if version(t) > limit]
    odd = sorted(t for t in tags if not version(t))
    if too_new or odd:
        why = ", ".join(too_new + odd)
        if "GLIBC_ABI_DT_RELR" in odd:
            why += " (GLIBC_ABI_DT_RELR: glibc >= 2.36)"
        raise Unfit(f"needs a glibc newer than {max_glibc}: {why}")
    return numeric[-1] if numeric else "none"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-glibc", default=DEFAULT_MAX_GLIBC, help="default %(default)s")
    parser.add_argument("--arch", choices=[*MACHINES, "any"], default="any")
    parser.add_argument("--bare", action="store_true", help="print only the version or why it fails")
    parser.add_argument("files", nargs="+", metavar="FILE")
    args = parser.parse_args(argv)
    if version("GLIBC_" + args.max_glibc) is None:
        parser.error(f"--max-glibc must be a version such as 2.34, not {args.max_glibc!r}")
    status = 0
    for path in args.files:
        try:
            needed = check(path, args.max_glibc, args.arch)
            print(needed if args.bare else f"ok    {path}: highest glibc needed {needed} (<= {args.max_glibc})")
        except (Unfit, OSError) as err:
            print(err if args.bare else f"FAIL  {path}: {err}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
