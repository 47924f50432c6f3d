#!/usr/bin/env python3
"""Writes the seed corpora for the boot fuzzers: small valid and near-valid ELF kernels and
bzImages, and boot_plan inputs that combine them with an initrd and a command line.

Usage: make_fuzz_corpus.py [repo root] [--real-bzimage PATH]
With --real-bzimage, the first 2 KiB of a real bzImage (boot sector and setup header only)
is added as one more seed. The corpus files are committed; rerun after changing the formats.
"""
import argparse
import pathlib
import struct

MIB = 1 << 20
PT_LOAD, PT_NOTE = 1, 4


def elf(phdrs, entry, size, cls=2, data=1, machine=62, etype=2, phoff=64, phnum=None, phentsize=56):
    """ELF64 header, program headers at phoff, file padded to size with a recognisable pattern."""
    out = bytearray((i * 7 + 3) & 0xff for i in range(size))
    ident = b"\x7fELF" + bytes([cls, data, 1]) + bytes(9)
    hdr = ident + struct.pack("<HHIQQQIHHHHHH", etype, machine, 1, entry, phoff, 0, 0, 64,
                              phentsize, len(phdrs) if phnum is None else phnum, 64, 0, 0)
    out[0:64] = hdr
    table = b"".join(struct.pack("<IIQQQQQQ", t, 5, off, vaddr, paddr, filesz, memsz, 0x1000)
                     for (t, off, vaddr, paddr, filesz, memsz) in phdrs)
    if phoff + len(table) <= size:
        out[phoff:phoff + len(table)] = table
    return bytes(out)


def test_guest(**kw):
    # One PT_LOAD of 0x40 file bytes at offset 0x100, 0x2000 in memory at 1 MiB.
    return elf([(PT_LOAD, 0x100, MIB, MIB, 0x40, 0x2000)], MIB, 0x140, **kw)


def elf_seeds():
    virt = 0xffffffff81000000
    return {
        "guest_1mib": test_guest(),
        "linux_like": elf([(PT_LOAD, 0x100, virt, 16 * MIB, 0x80, 0x10000),
                           (PT_LOAD, 0x180, 0, 16 * MIB + 0x10000, 0x40, 0x1000),
                           (PT_NOTE, 0x1c0, virt + 0x100, 16 * MIB + 0x100, 0x10, 0x10)],
                          virt + 0x20, 0x200),
        "physical_entry": elf([(PT_LOAD, 0x100, virt, 16 * MIB, 0x40, 0x1000)], 16 * MIB + 8, 0x140),
        "two_segments": elf([(PT_LOAD, 0x100, 2 * MIB, 2 * MIB, 0x20, 0x1000),
                             (PT_LOAD, 0x120, MIB, MIB, 0x20, 0x20)], MIB, 0x140),
        "near_overlap": elf([(PT_LOAD, 0x100, MIB, MIB, 0x20, 0x2000),
                             (PT_LOAD, 0x120, MIB + 0x1000, MIB + 0x1000, 0x20, 0x20)], MIB, 0x140),
        "near_below_1mib": elf([(PT_LOAD, 0x100, 0xff000, 0xff000, 0x40, 0x2000)], 0xff000, 0x140),
        "near_past_ram": elf([(PT_LOAD, 0x100, 63 * MIB, 63 * MIB, 0x40, 2 * MIB)], 63 * MIB, 0x140),
        "near_entry_outside": elf([(PT_LOAD, 0x100, MIB, MIB, 0x40, 0x2000)], 3 * MIB, 0x140),
        "near_class32": test_guest(cls=1),
        "near_phoff_huge": test_guest(phoff=0xfffffffffffffff0),
        "near_phnum_big": test_guest(phnum=60),
        "near_offset_huge": elf([(PT_LOAD, 0xfffffffffffffff0, MIB, MIB, 0x40, 0x2000)], MIB, 0x140),
        "near_paddr_wraps": elf([(PT_LOAD, 0x100, MIB, 0xfffffffffffff000, 0x40, 0x2000)], MIB, 0x140),
        "truncated_header": test_guest()[:40],
    }


def bzimage(setup_sects=1, version=0x020f, loadflags=0x01, xloadflags=0x1, jump_len=0x6a,
            pref=16 * MIB, init_size=MIB, align=0x200000, relocatable=1, payload=0x300,
            syssize=0, real_sects=None):
    """real_sects: lay the file out for that many setup sectors while the header claims
    setup_sects (an oversized setup_sects that points into the payload)."""
    sects = real_sects or setup_sects or 4
    out = bytearray((i * 7 + 3) & 0xff for i in range((sects + 1) * 512 + payload))
    out[0x1f1:0x26c] = bytes(0x26c - 0x1f1)

    def put(fmt, off, val):
        out[off:off + struct.calcsize(fmt)] = struct.pack(fmt, val)

    put("<B", 0x1f1, setup_sects)
    put("<I", 0x1f4, syssize)
    put("<H", 0x1fe, 0xaa55)
    out[0x200:0x202] = bytes([0xeb, jump_len])
    out[0x202:0x206] = b"HdrS"
    put("<H", 0x206, version)
    put("<B", 0x211, loadflags)
    put("<I", 0x214, 0x100000)
    put("<I", 0x22c, 0x7fffffff)
    put("<I", 0x230, align)
    put("<B", 0x234, relocatable)
    put("<H", 0x236, xloadflags)
    put("<I", 0x238, 0x7ff)
    put("<Q", 0x258, pref)
    put("<I", 0x260, init_size)
    return bytes(out)


def bzimage_seeds():
    return {
        "valid": bzimage(),
        "setup_sects_zero": bzimage(setup_sects=0),
        "low_pref_address": bzimage(pref=0x10000),
        "non_relocatable": bzimage(relocatable=0, pref=MIB),
        "near_old_protocol": bzimage(version=0x0204),
        "near_no_xloadflags": bzimage(version=0x020a),
        "near_no_kernel64": bzimage(xloadflags=0x2),
        "near_no_loaded_high": bzimage(loadflags=0x80),
        "near_header_too_long": bzimage(jump_len=0x90),
        "near_header_short": bzimage(jump_len=0x50),
        "near_init_size_past_ram": bzimage(init_size=60 * MIB),
        "near_bad_alignment": bzimage(align=0x300000),
        "near_payload_short": bzimage(payload=0x200),
        "with_syssize": bzimage(syssize=0x300 // 16),
        "near_setup_sects_over_32k": bzimage(setup_sects=64, real_sects=1, payload=0x8000),
        "near_setup_sects_into_payload": bzimage(setup_sects=3, real_sects=1, payload=0x800,
                                                 syssize=0x800 // 16),
    }


def plan_input(cmdline, initrd, kernel, initrd_len=None):
    return (struct.pack("<HI", len(cmdline), len(initrd) if initrd_len is None else initrd_len)
            + cmdline + initrd + kernel)


def boot_plan_seeds():
    initrd = bytes(range(64))
    return {
        "elf_with_initrd": plan_input(b"console=ttyS0 panic=-1", initrd, test_guest()),
        "elf_no_initrd": plan_input(b"", b"", test_guest()),
        "bzimage_with_initrd": plan_input(b"console=ttyS0 quiet", initrd, bzimage()),
        "bzimage_full_ram": plan_input(b"x", initrd, bzimage(init_size=16 * MIB - 0x1000, pref=MIB)),
        "cmdline_nul": plan_input(b"root=/dev/vda\0init=/bin/sh", b"", bzimage()),
        "neither_format": plan_input(b"a", b"", b"\x00" * 64),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root", nargs="?", default=str(pathlib.Path(__file__).resolve().parents[3]))
    parser.add_argument("--real-bzimage")
    args = parser.parse_args()
    corpus = pathlib.Path(args.root) / "fuzz" / "corpus"
    sets = {"elf_kernel": elf_seeds(), "bzimage": bzimage_seeds(), "boot_plan": boot_plan_seeds()}
    if args.real_bzimage:
        sets["bzimage"]["real_header_2k"] = pathlib.Path(args.real_bzimage).read_bytes()[:2048]
    for target, seeds in sets.items():
        (corpus / target).mkdir(parents=True, exist_ok=True)
        for name, data in seeds.items():
            (corpus / target / name).write_bytes(data)
        print(f"{target}: {len(seeds)} seeds")


if __name__ == "__main__":
    main()
