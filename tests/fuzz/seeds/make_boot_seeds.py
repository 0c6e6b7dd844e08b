#!/usr/bin/env python3
"""Writes the seed inputs of fuzz_guest_boot and fuzz_boot_tables (input formats in their .cpp
files) into corpus/<target>/ under the directory given: tiny synthetic kernels (ELF64 and ELF32
with a PVH note, an x86-64 Linux vmlinux without one, a bzImage setup header) a few hundred bytes
each, never a real kernel, and builder operations at the size boundaries."""
import struct
import sys
from pathlib import Path

MIB = 1 << 20
PT_LOAD, PT_NOTE = 1, 4


def note(name, kind, desc):
    name = name.encode() + b"\0"
    pad = lambda b: b + b"\0" * (-len(b) % 4)
    return struct.pack("<III", len(name), len(desc), kind) + pad(name) + pad(desc)


def elf64(segments, entry, notes=b""):
    """segments: (paddr, vaddr, payload, memsz). Returns an ET_EXEC x86-64 ELF."""
    phnum = len(segments) + (1 if notes else 0)
    data_offset = 64 + 56 * phnum
    phdrs, blobs = b"", b""
    offset = data_offset
    if notes:
        phdrs += struct.pack("<IIQQQQQQ", PT_NOTE, 4, offset, 0, 0, len(notes), len(notes), 4)
        blobs += notes
        offset += len(notes)
    for paddr, vaddr, payload, memsz in segments:
        phdrs += struct.pack("<IIQQQQQQ", PT_LOAD, 5, offset, vaddr, paddr, len(payload), memsz, 0x1000)
        blobs += payload
        offset += len(payload)
    ident = b"\x7fELF" + bytes([2, 1, 1]) + b"\0" * 9
    ehdr = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, entry, 64, 0, 0, 64, 56, phnum, 64, 0, 0)
    return ehdr + phdrs + blobs


def elf32(segments, entry, notes=b""):
    phnum = len(segments) + (1 if notes else 0)
    offset = 52 + 32 * phnum
    phdrs, blobs = b"", b""
    if notes:
        phdrs += struct.pack("<IIIIIIII", PT_NOTE, offset, 0, 0, len(notes), len(notes), 4, 4)
        blobs += notes
        offset += len(notes)
    for paddr, vaddr, payload, memsz in segments:
        phdrs += struct.pack("<IIIIIIII", PT_LOAD, offset, vaddr, paddr, len(payload), memsz, 5, 0x1000)
        blobs += payload
        offset += len(payload)
    ident = b"\x7fELF" + bytes([1, 1, 1]) + b"\0" * 9
    ehdr = ident + struct.pack("<HHIIIIIHHHHHH", 2, 3, 1, entry, 52, 0, 0, 52, 32, phnum, 40, 0, 0)
    return ehdr + phdrs + blobs


def bz_image(setup_sects=1, init_size=MIB, payload=b"\x90" * 1024, version=0x020f, relocatable=1,
             cmdline_size=2047, initrd_addr_max=0x7fffffff):
    """A bzImage: boot sector + setup sectors with the setup header, then the protected-mode part."""
    setup = bytearray(512 * ((setup_sects or 4) + 1))  # boot.rst: setup_sects 0 means 4
    struct.pack_into("<B", setup, 0x1f1, setup_sects)
    struct.pack_into("<H", setup, 0x1fe, 0xaa55)
    setup[0x200] = 0xeb
    setup[0x201] = 0x6a  # header ends at 0x202 + 0x6a = 0x26c
    setup[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", setup, 0x206, version)
    struct.pack_into("<I", setup, 0x22c, initrd_addr_max)
    struct.pack_into("<I", setup, 0x230, 0x200000)      # kernel_alignment
    struct.pack_into("<B", setup, 0x234, relocatable)
    struct.pack_into("<H", setup, 0x236, 0x1)           # xloadflags: XLF_KERNEL_64
    struct.pack_into("<I", setup, 0x238, cmdline_size)
    struct.pack_into("<Q", setup, 0x258, 0x200000)      # pref_address
    struct.pack_into("<I", setup, 0x260, init_size)
    return bytes(setup) + payload


def boot_input(kernel, ram=3, vcpus=1, flags=0, cmdline_length=0, initrd_size=0, cmdline=b""):
    return struct.pack("<BBBHI", ram, vcpus, flags, cmdline_length, initrd_size) + cmdline + kernel


def write(directory, seeds):
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in seeds.items():
        (directory / name).write_bytes(data)


def main():
    corpus = Path(sys.argv[1])
    code = b"\xf4" * 64
    pvh_note = note("Xen", 18, struct.pack("<I", 0x100000))
    linux_note = note("Linux", 1, b"\0" * 4)
    write(corpus / "fuzz_guest_boot", {
        "elf64_pvh": boot_input(elf64([(0x100000, 0x100000, code, 0x2000)], 0x100000, pvh_note),
                                flags=2, cmdline_length=21, cmdline=b"console=ttyS0 quiet x"),
        "elf32_pvh_initrd": boot_input(elf32([(0x100000, 0x100000, code, 0x1000)], 0x100000, pvh_note),
                                       ram=6, vcpus=4, flags=1, initrd_size=300000),
        "elf64_linux_virtual_entry": boot_input(
            elf64([(0x200000, 0xffffffff81000000, code, 0x1000)], 0xffffffff81000010, linux_note), ram=5,
            flags=1, cmdline_length=2047, initrd_size=4096),
        "bzimage": boot_input(bz_image(), ram=5, vcpus=2, flags=1, initrd_size=8192),
        "bzimage_fixed_old_cmdline": boot_input(bz_image(setup_sects=0, relocatable=0, version=0x020c,
                                                         cmdline_size=255, init_size=0x10000), ram=5,
                                                flags=0, cmdline_length=256),
        "elf64_bss_too_big": boot_input(elf64([(0x100000, 0x100000, code, 64 * MIB)], 0x100000, pvh_note)),
        "not_a_kernel": boot_input(b"\x1f\x8b\x08\x00gzip"),
    })
    u64 = lambda v: struct.pack("<Q", v)
    write(corpus / "fuzz_boot_tables", {
        # e820 for 2 MiB, 3 GiB (the hole's start), 3 GiB + 4 KiB, 64 GiB.
        "e820_sizes": b"".join(b"\0" + bytes([2]) + u64(v) for v in (2 * MIB, 3 << 30, (3 << 30) + 4096, 64 << 30)),
        # initrd of 1 MiB in 16 MiB with a 2 MiB kernel and initrd_addr_max 0x37ffffff; and one that does not fit.
        "initrd": b"\1" + bytes([2]) + u64(16 * MIB) + u64(MIB) + b"\0" + u64(2 * MIB) + b"\0" + b"\0"
                  + struct.pack("<I", 0x37ffffff)
                  + b"\1" + bytes([2]) + u64(4 * MIB) + u64(8 * MIB) + b"\0" + u64(2 * MIB) + b"\0" + b"\1",
        # A zero page from a bzImage header with an initrd above 4 GiB and 3 e820 entries, then 129.
        "zero_page": b"\2\1" + bytes([0x7b]) + bz_image()[0x1f1:0x1f1 + 0x7b] + b"\1" + u64(5 << 32) + u64(4096)
                     + bytes([3]) + (u64(0) + u64(0x9fc00) + struct.pack("<I", 1)) * 3 + u64(0xe0000)
                     + b"\2\0\0\0" + bytes([129]) + b"\0" * (129 * 20 + 8),
        # PVH start info and zero page with cmdlines at the limits.
        "pvh_and_zero_page_cmdlines": b"\3\2" + u64(1 << 30) + b"\0" + struct.pack("<H", 0xffff) + b"\1" + u64(0x800000)
                                      + u64(0x1000) + u64(0xe0000)
                                      + b"\4\2" + u64(1 << 30) + b"\0" + struct.pack("<H", 2047) + b"\0"
                                      + b"\0" + u64(0xe0000)
                                      + b"\4\2" + u64(1 << 30) + b"\0" + struct.pack("<H", 2048) + b"\0" + b"\0" + u64(0),
        # write_cmdline: NUL inside, over 64 KiB, a limit of 0.
        "cmdline_limits": b"\5\x08" + struct.pack("<H", 10) + struct.pack("<H", 3) + u64(100) + b"\0"
                          + b"\5\x02" + bytes([1]) + u64(1 << 40) + b"\0"
                          + b"\5\0" + struct.pack("<H", 1) + u64(0) + b"\0",
    })


if __name__ == "__main__":
    main()
