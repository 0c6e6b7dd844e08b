// Tests for bzImage setup-header parsing and loading (Linux boot.rst).
#include <catch2/catch.hpp>

#include "tests/unit/boot/test_images.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/boot/kernel_image.hpp"

using namespace minivmm;
using namespace minivmm::boot;
using namespace minivmm::boot::test;
using Catch::Matchers::Contains;
using layout::MiB;

TEST_CASE("boot.rst: a valid header parses, setup_sects locates the protected-mode kernel")
{
    const auto file = make_bz_image({.setup_sects = 7});
    const auto header = parse_bz_image_header(file, "bz");
    CHECK(header.protocol == 0x020f);
    CHECK(header.setup_sects == 7);
    CHECK(header.protected_mode_offset == 8 * 512);
    CHECK(header.header.cmdline_size == 2047);
    CHECK(header.header_length == sizeof(setup_header));
}

TEST_CASE("boot.rst setup_sects: 0 means 4")
{
    const auto header = parse_bz_image_header(make_bz_image({.setup_sects = 0}), "bz");
    CHECK(header.setup_sects == 4);
    CHECK(header.protected_mode_offset == 5 * 512);
}

TEST_CASE("boot.rst: a truncated header, a file ending in the setup code, or no HdrS is refused")
{
    auto file = make_bz_image({});
    auto cut_header = file;
    cut_header.resize(0x210);
    CHECK_THROWS_WITH(parse_bz_image_header(cut_header, "bz"), Contains("the file is truncated"));
    auto cut_setup = file;
    cut_setup.resize(5 * 512);
    CHECK_THROWS_WITH(parse_bz_image_header(cut_setup, "bz"), Contains("the file is truncated"));
    auto no_magic = file;
    no_magic[0x202] = 'X';
    CHECK_THROWS_WITH(parse_bz_image_header(no_magic, "bz"), Contains("no \"HdrS\" magic"));
}

TEST_CASE("boot.rst: protocols older than 2.06, or without xloadflags (2.12), are refused")
{
    CHECK_THROWS_WITH(parse_bz_image_header(make_bz_image({.version = 0x0205}), "bz"),
        Contains("boot protocol 2.05 is older than 2.06"));
    CHECK_THROWS_WITH(parse_bz_image_header(make_bz_image({.version = 0x020b}), "bz"),
        Contains("protocol 2.11 predates xloadflags"));
}

TEST_CASE("boot.rst 64-bit protocol: a kernel without XLF_KERNEL_64 is refused")
{
    CHECK_THROWS_WITH(parse_bz_image_header(make_bz_image({.xloadflags = 0}), "bz"), Contains("lacks XLF_KERNEL_64"));
}

TEST_CASE("bzImage: the protected-mode part loads at 1 MiB; the 64-bit entry is 0x200 past it")
{
    const auto memory = guest_memory(64 * MiB);
    const auto image = load_kernel(memory, make_bz_image({.payload = 4096}), "bz");
    CHECK(image.kind == KernelKind::BzImage);
    CHECK(image.entry == 0x100200);
    CHECK(*memory.read_obj<std::uint8_t>(0x100000) == 0x5a);
    CHECK(*memory.read_obj<std::uint8_t>(0x100fff) == 0x5a);
    REQUIRE(image.bz_header);
    // Relocatable, 2 MiB alignment, pref_address 16 MiB: decompresses at 16 MiB, init_size 4 MiB.
    CHECK(image.highest == 20 * MiB);
}

TEST_CASE("bzImage: init_size must fit in guest RAM where the kernel decompresses")
{
    const auto memory = guest_memory(16 * MiB);
    CHECK_THROWS_WITH(load_kernel(memory, make_bz_image({.init_size = 32 * MiB, .pref_address = 0x200000}), "bz"),
        Contains("decompresses into [0x200000, 0x2200000)") && Contains("give the guest more memory"));
}

TEST_CASE("boot.rst init_size: a header that needs no memory to decompress into is refused as corrupt")
{
    // Found by fuzz_guest_boot: init_size 0 was accepted and recorded as an empty kernel range.
    const auto memory = guest_memory(16 * MiB);
    CHECK_THROWS_WITH(load_kernel(memory, make_bz_image({.init_size = 0, .pref_address = 0x200000}), "bz"),
        Contains("init_size is 0") && Contains("the header is corrupt"));
}
