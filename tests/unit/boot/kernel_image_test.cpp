// Tests for kernel detection and the ELF loader (PVH note, Linux vmlinux, every bounds check).
#include <catch2/catch.hpp>

#include "tests/unit/boot/test_images.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/boot/kernel_image.hpp"

using namespace minivmm;
using namespace minivmm::boot;
using namespace minivmm::boot::test;
using Catch::Matchers::Contains;

namespace {

std::vector<std::uint8_t> bytes(std::string_view text) { return {text.begin(), text.end()}; }

ElfSegment segment(std::uint64_t paddr, std::vector<std::uint8_t> data, std::uint64_t memsz)
{
    return {paddr, paddr, std::move(data), memsz};
}

} // namespace

TEST_CASE("A file that is no kernel is refused naming what it is")
{
    const auto memory = guest_memory(16 * layout::MiB);
    const auto refuse = [&](std::vector<std::uint8_t> file, const std::string& found) {
        CHECK_THROWS_WITH(load_kernel(memory, file, "/k"), Contains("kernel /k: not a kernel: found " + found));
    };
    refuse({}, "an empty file");
    refuse({0x7f}, "a 1-byte file");
    refuse({0x1f, 0x8b, 8, 0, 0, 0}, "gzip data");
    refuse(bytes("070701000000"), "a cpio archive");
    refuse(bytes("console=ttyS0 quiet\n"), "text");
    refuse(bytes("#!/bin/sh\necho"), "a script");
    refuse({0xde, 0xad, 0xbe, 0xef, 0x00, 0x01}, "unrecognized data (first bytes de ad be ef 00 01)");
    refuse({0x7f, 'E', 'L', 'F', 1}, "a truncated ELF file");
}

TEST_CASE("gABI: PT_LOAD copies p_filesz bytes to p_paddr and zeroes up to p_memsz")
{
    const auto memory = guest_memory(16 * layout::MiB);
    REQUIRE(memory.write_obj<std::uint32_t>(0x200004, 0xffffffff));  // stale bytes where .bss goes
    const auto file = make_elf64(0x200000, {segment(0x200000, {1, 2, 3, 4}, 0x1000)}, {pvh_note(0x200000)});
    const auto image = load_kernel(memory, file, "k");
    CHECK(image.kind == KernelKind::PvhElf);
    CHECK(image.entry == 0x200000);
    CHECK(*memory.read_obj<std::uint32_t>(0x200000) == 0x04030201);
    CHECK(*memory.read_obj<std::uint32_t>(0x200004) == 0);
    CHECK(image.lowest == 0x200000);
    CHECK(image.highest == 0x201000);
    CHECK(image.ranges == std::vector<LoadedRange>{{0x200000, 0x201000}});
}

TEST_CASE("Xen elfnote.h: a PVH note with an 8-byte value is accepted; ELF32 kernels load too")
{
    const auto memory = guest_memory(16 * layout::MiB);
    const auto file64 = make_elf64(0, {segment(0x100000, {0x90}, 0x10)}, {{"Xen", 18, u64_bytes(0x100000)}});
    CHECK(load_kernel(memory, file64, "k").entry == 0x100000);
    const auto file32 = make_elf32(0, {segment(0x300000, {0x90}, 0x10)}, {{"GNU", 3, {1, 2, 3, 4}}, pvh_note(0x300004)});
    const auto image = load_kernel(memory, file32, "k");
    CHECK(image.kind == KernelKind::PvhElf);
    CHECK(image.entry == 0x300004);
}

TEST_CASE("A PVH entry outside every loaded segment is refused")
{
    const auto memory = guest_memory(16 * layout::MiB);
    const auto file = make_elf64(0, {segment(0x100000, {0x90}, 0x10)}, {pvh_note(0x500000)});
    CHECK_THROWS_WITH(load_kernel(memory, file, "k"), Contains("PVH entry point 0x500000"));
}

TEST_CASE("An x86-64 vmlinux without a PVH note is a Linux ELF entered at its physical entry")
{
    const auto memory = guest_memory(64 * layout::MiB);
    const std::uint64_t virt = 0xffffffff81000000;
    const ElfSegment text{0x1000000, virt, {0xf4}, 0x2000};
    SECTION("a physical e_entry is used as is")
    {
        const auto image = load_kernel(memory, make_elf64(0x1000000, {text}), "vmlinux");
        CHECK(image.kind == KernelKind::LinuxElf);
        CHECK(image.entry == 0x1000000);
    }
    SECTION("a virtual e_entry is translated through its PT_LOAD")
    {
        const auto image = load_kernel(memory, make_elf64(virt + 0x40, {text}), "vmlinux");
        CHECK(image.entry == 0x1000040);
    }
    SECTION("the PVH note wins when present")
    {
        const auto image = load_kernel(memory, make_elf64(0x1000000, {text}, {pvh_note(0x1000100)}), "vmlinux");
        CHECK(image.kind == KernelKind::PvhElf);
        CHECK(image.entry == 0x1000100);
    }
}

TEST_CASE("An ELF that has no PVH note and is not a Linux vmlinux is refused")
{
    const auto memory = guest_memory(16 * layout::MiB);
    CHECK_THROWS_WITH(load_kernel(memory, make_elf64(0x100000, {segment(0x100000, {1}, 1)}), "k"),
        Contains("has no PVH entry note"));
    CHECK_THROWS_WITH(load_kernel(memory, make_elf32(0x100000, {segment(0x100000, {1}, 1)}), "k"),
        Contains("has no PVH entry note"));
}

TEST_CASE("ELF bounds: a segment past the file's end is reported as truncation")
{
    const auto memory = guest_memory(16 * layout::MiB);
    auto file = make_elf64(0, {segment(0x100000, std::vector<std::uint8_t>(100, 1), 100)}, {});
    file.resize(file.size() - 10);
    CHECK_THROWS_WITH(load_kernel(memory, file, "/x/y"),
        Contains("kernel /x/y: ELF program header 0 ends at byte") && Contains("the file is truncated"));
}

TEST_CASE("ELF bounds: a truncated header or program header table is refused")
{
    const auto memory = guest_memory(16 * layout::MiB);
    auto file = make_elf64(0, {segment(0x100000, {1}, 1)}, {pvh_note(0x100000)});
    auto header_only = file;
    header_only.resize(40);
    CHECK_THROWS_WITH(load_kernel(memory, header_only, "k"), Contains("ELF64 header needs 64 bytes but the file has 40"));
    auto table_cut = file;
    table_cut.resize(64 + 20);
    CHECK_THROWS_WITH(load_kernel(memory, table_cut, "k"), Contains("program header table"));
}

TEST_CASE("ELF bounds: load addresses below 1 MiB, outside RAM or in the MMIO hole are refused")
{
    const auto memory = guest_memory(16 * layout::MiB);
    CHECK_THROWS_WITH(load_kernel(memory, make_elf64(0, {segment(0x7000, {1}, 1)}, {pvh_note(0x7000)}), "k"),
        Contains("below 1 MiB"));
    CHECK_THROWS_WITH(load_kernel(memory, make_elf64(0, {segment(0xff0000, {1}, 0x20000)}, {pvh_note(0xff0000)}), "k"),
        Contains("not inside the guest's RAM"));
    const auto big = guest_memory(4 * layout::GiB);
    CHECK_THROWS_WITH(load_kernel(big, make_elf64(0, {segment(0xd0000000, {1}, 1)}, {pvh_note(0xd0000000)}), "k"),
        Contains("not inside the guest's RAM"));
}

TEST_CASE("ELF bounds: p_filesz larger than p_memsz, or a wrapping segment, is refused")
{
    const auto memory = guest_memory(16 * layout::MiB);
    CHECK_THROWS_WITH(load_kernel(memory, make_elf64(0, {segment(0x100000, {1, 2}, 1)}, {pvh_note(0x100000)}), "k"),
        Contains("larger than its memory size"));
    CHECK_THROWS_WITH(
        load_kernel(memory, make_elf64(0, {segment(0xfffffffffffff000, {1}, 0x2000)}, {pvh_note(0x100000)}), "k"),
        Contains("wraps the address space"));
}

TEST_CASE("ELF notes: a note whose sizes run past its segment is refused")
{
    const auto memory = guest_memory(16 * layout::MiB);
    auto file = make_elf64(0, {segment(0x100000, {1}, 1)}, {{"Xen", 18, u32_bytes(0x100000)}});
    // The note is the file's tail: its descsz field sits 16 + 4 bytes before the end.
    const std::size_t descsz_at = file.size() - 4 - 4 - 12 + 4;
    file[descsz_at] = 0xff;
    CHECK_THROWS_WITH(load_kernel(memory, file, "k"), Contains("runs past its segment's end"));
}

TEST_CASE("ELF: wrong machine, big-endian and non-executable files are refused")
{
    const auto memory = guest_memory(16 * layout::MiB);
    auto arm = make_elf<Elf64_Ehdr, Elf64_Phdr>(ELFCLASS64, EM_AARCH64, 0, {segment(0x100000, {1}, 1)});
    CHECK_THROWS_WITH(load_kernel(memory, arm, "k"), Contains("not an x86 kernel"));
    auto big_endian = make_elf64(0, {segment(0x100000, {1}, 1)});
    big_endian[EI_DATA] = ELFDATA2MSB;
    CHECK_THROWS_WITH(load_kernel(memory, big_endian, "k"), Contains("big-endian"));
    auto object = make_elf64(0, {segment(0x100000, {1}, 1)});
    object[16] = ET_REL;
    CHECK_THROWS_WITH(load_kernel(memory, object, "k"), Contains("relocatable object"));
}
