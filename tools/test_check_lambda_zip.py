"""Tests of check_lambda_zip.py on ELF images and zips built here, byte by byte."""

import io
import os
import struct
import sys
import tempfile
import unittest
import zipfile
from contextlib import redirect_stdout

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_lambda_zip as c  # noqa: E402


def elf(tags, machine=62, cls=2, enc=1, sections=True):
    """A minimal ELF image whose .gnu.version_r needs `tags` from libc.so.6.

    Layout: ELF header, .dynstr, .gnu.version_r (one Verneed, one Vernaux per
    tag), then the section headers: null, .dynstr, .gnu.version_r.
    """
    e = "<" if enc == 1 else ">"
    dynstr = b"\0libc.so.6\0"
    names = []
    for t in tags:
        names.append(len(dynstr))
        dynstr += t.encode() + b"\0"
    ehsize = 64 if cls == 2 else 52
    dynstr_off = ehsize
    verneed_off = dynstr_off + len(dynstr)
    verneed = struct.pack(e + "HHIII", 1, len(tags), 1, 16, 0)
    for i, n in enumerate(names):
        nxt = 16 if i < len(names) - 1 else 0
        verneed += struct.pack(e + "IHHII", 0, 0, i + 2, n, nxt)
    shoff = verneed_off + len(verneed)
    if cls == 2:
        shdr, shentsize = e + "IIQQQQIIQQ", 64
    else:
        shdr, shentsize = e + "IIIIIIIIII", 40
    headers = struct.pack(shdr, *([0] * 10))
    headers += struct.pack(shdr, 0, 3, 0, 0, dynstr_off, len(dynstr), 0, 0, 1, 0)
    headers += struct.pack(shdr, 0, c.SHT_GNU_VERNEED, 0, 0, verneed_off, len(verneed), 1, 1, 4, 0)
    ident = b"\x7fELF" + bytes([cls, enc, 1]) + bytes(9)
    if cls == 2:
        rest = struct.pack(e + "HHIQQQIHHHHHH", 3, machine, 1, 0, 0,
                           shoff if sections else 0, 0, ehsize, 0, 0, shentsize,
                           3 if sections else 0, 0)
    else:
        rest = struct.pack(e + "HHIIIIIHHHHHH", 3, machine, 1, 0, 0,
                           shoff if sections else 0, 0, ehsize, 0, 0, shentsize,
                           3 if sections else 0, 0)
    return ident + rest + dynstr + verneed + headers


class Files(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def file(self, name, data):
        path = os.path.join(self.dir.name, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def zip(self, entries, mode=0o100755):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for name, data in entries:
                info = zipfile.ZipInfo(name)
                info.external_attr = mode << 16
                z.writestr(info, data)
        return self.file("bootstrap.zip", buf.getvalue())


class ElfTests(Files):
    def test_reads_the_glibc_needs_of_64_and_32_bit_both_byte_orders(self):
        for cls in (1, 2):
            for enc in (1, 2):
                image = elf(["GLIBC_2.17", "GLIBC_2.28", "GCC_3.0"], cls=cls, enc=enc)
                self.assertEqual(c.glibc_tags(image), {"GLIBC_2.17", "GLIBC_2.28"}, (cls, enc))

    def test_the_highest_version_is_compared_as_numbers_not_text(self):
        path = self.file("b", elf(["GLIBC_2.9", "GLIBC_2.17"]))
        self.assertEqual(c.check(path, "2.34"), "GLIBC_2.17")
        self.assertEqual(c.check(self.file("n", elf([]))), "none")

    def test_a_glibc_newer_than_the_runtime_fails_naming_it(self):
        path = self.file("b", elf(["GLIBC_2.34", "GLIBC_2.35"]))
        with self.assertRaisesRegex(c.Unfit, r"newer than 2\.34: GLIBC_2\.35$"):
            c.check(path, "2.34")
        self.assertEqual(c.check(path, "2.35"), "GLIBC_2.35")

    def test_non_numeric_glibc_tags_fail(self):
        with self.assertRaisesRegex(c.Unfit, r"GLIBC_ABI_DT_RELR \(GLIBC_ABI_DT_RELR: glibc >= 2\.36\)"):
            c.check(self.file("b", elf(["GLIBC_2.17", "GLIBC_ABI_DT_RELR"])))
        with self.assertRaisesRegex(c.Unfit, "GLIBC_PRIVATE"):
            c.check(self.file("p", elf(["GLIBC_PRIVATE"])))

    def test_the_machine_must_match_the_architecture(self):
        arm = self.file("arm", elf(["GLIBC_2.17"], machine=183))
        self.assertEqual(c.check(arm, arch="arm64"), "GLIBC_2.17")
        with self.assertRaisesRegex(c.Unfit, r"ELF machine 183 is not x86_64 \(62\)"):
            c.check(arm, arch="x86_64")

    def test_what_is_not_a_readable_elf_fails_clearly(self):
        cases = [
            (b"#!/bin/sh\n", "not an ELF file"),
            (b"\x7fELF" + bytes([3, 1]) + bytes(60), "unsupported ELF class"),
            (elf(["GLIBC_2.17"], sections=False), "no section headers"),
            (elf(["GLIBC_2.17"])[:80], "truncated or malformed ELF"),
        ]
        for data, why in cases:
            with self.assertRaisesRegex(c.Unfit, why):
                c.check(self.file("x", data))


class ZipTests(Files):
    def test_a_zip_with_one_executable_bootstrap_is_checked_inside(self):
        self.assertEqual(c.check(self.zip([("bootstrap", elf(["GLIBC_2.28"]))])), "GLIBC_2.28")

    def test_a_zip_must_hold_exactly_one_executable_regular_bootstrap(self):
        image = elf(["GLIBC_2.28"])
        with self.assertRaisesRegex(c.Unfit, r"exactly one entry named 'bootstrap', found \['main'\]"):
            c.check(self.zip([("main", image)]))
        with self.assertRaisesRegex(c.Unfit, "found \\['bootstrap', 'README'\\]"):
            c.check(self.zip([("bootstrap", image), ("README", b"x")]))
        with self.assertRaisesRegex(c.Unfit, "not executable"):
            c.check(self.zip([("bootstrap", image)], mode=0o100644))
        with self.assertRaisesRegex(c.Unfit, "not a regular file"):
            c.check(self.zip([("bootstrap", image)], mode=0o120777))
        with self.assertRaisesRegex(c.Unfit, "not a valid zip"):
            c.check(self.file("bootstrap.zip", b"PK not really"))


class CommandLineTests(Files):
    def run_main(self, *argv):
        out = io.StringIO()
        with redirect_stdout(out):
            status = c.main(list(argv))
        return status, out.getvalue().splitlines()

    def test_one_line_a_file_and_status_one_when_any_fails(self):
        good = self.file("good", elf(["GLIBC_2.17"]))
        bad = self.file("bad", elf(["GLIBC_2.38"]))
        status, lines = self.run_main(good, bad, os.path.join(self.dir.name, "missing"))
        self.assertEqual(status, 1)
        self.assertEqual(lines[0], f"ok    {good}: highest glibc needed GLIBC_2.17 (<= 2.34)")
        self.assertEqual(lines[1], f"FAIL  {bad}: needs a glibc newer than 2.34: GLIBC_2.38")
        self.assertTrue(lines[2].startswith("FAIL  ") and "No such file" in lines[2], lines[2])
        self.assertEqual(self.run_main("--bare", "--arch", "x86_64", good), (0, ["GLIBC_2.17"]))

    def test_a_bad_glibc_limit_is_a_usage_error(self):
        with redirect_stdout(io.StringIO()), self.assertRaises(SystemExit) as exit_:
            sys.stderr, saved = io.StringIO(), sys.stderr
            try:
                c.main(["--max-glibc", "latest", "x"])
            finally:
                sys.stderr = saved
        self.assertEqual(exit_.exception.code, 2)


if __name__ == "__main__":
    unittest.main()
