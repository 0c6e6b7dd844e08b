// Unit tests for the vmstate container (vmm/snapshot/vmstate_format.hpp): round trip, every
// validation rule on a hand-broken file, and the atomic DIR/vmstate.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tests/unit/disk/temp_dir.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/snapshot/crc32c.hpp"
#include "vmm/snapshot/vmstate_format.hpp"

using namespace minivmm::snapshot;
using minivmm::testing::TempDir;

namespace {

Vmstate sample()
{
    Vmstate state;
    state.sections.push_back({SectionType::MachineConfig, 0, {1, 2, 3}});
    state.sections.push_back({SectionType::Vcpu, 0, std::vector<std::uint8_t>(100, 0xaa)});
    state.sections.push_back({SectionType::Vcpu, 1, std::vector<std::uint8_t>(100, 0xbb)});
    state.sections.push_back({SectionType::Device, 3, {}});
    state.sections.push_back({SectionType::Limiter, 0, {9}});
    return state;
}

void put_u32(std::vector<std::uint8_t>& file, std::size_t offset, std::uint32_t value)
{
    for (int i = 0; i < 4; ++i)
        file[offset + i] = static_cast<std::uint8_t>(value >> (8 * i));
}
void put_u64(std::vector<std::uint8_t>& file, std::size_t offset, std::uint64_t value)
{
    for (int i = 0; i < 8; ++i)
        file[offset + i] = static_cast<std::uint8_t>(value >> (8 * i));
}

// Recomputes the checksum after a deliberate edit, so the rule under test is the one that fires.
void reseal(std::vector<std::uint8_t>& file)
{
    put_u32(file, 24, 0);
    put_u32(file, 24, crc32c(0, file));
}

std::string decode_error(const std::vector<std::uint8_t>& file)
{
    try {
        (void)decode_vmstate(file);
    } catch (const SnapshotError& error) {
        return error.what();
    }
    return "decoded";
}

std::vector<std::uint8_t> read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

} // namespace

TEST_CASE("CRC32C: the RFC 3720 §B.4 check values")
{
    const std::vector<std::uint8_t> zeros(32, 0);
    CHECK(crc32c(0, zeros) == 0x8a9136aau);
    const std::vector<std::uint8_t> ones(32, 0xff);
    CHECK(crc32c(0, ones) == 0x62a8ab43u);
    const std::string digits = "123456789";
    CHECK(crc32c(0, std::span(reinterpret_cast<const std::uint8_t*>(digits.data()), digits.size())) == 0xe3069283u);
    // Incremental equals whole.
    CHECK(crc32c(crc32c(0, std::span(zeros).first(10)), std::span(zeros).subspan(10)) == 0x8a9136aau);
}

TEST_CASE("vmstate: every section comes back with its type, instance and payload, in order")
{
    const Vmstate state = sample();
    const auto file = encode_vmstate(state);
    CHECK(file.size() == kVmstateHeaderSize + 5 * kSectionHeaderSize + 3 + 200 + 0 + 1);
    CHECK(std::memcmp(file.data(), "MVMSTATE", 8) == 0);
    const Vmstate back = decode_vmstate(file);
    REQUIRE(back.sections.size() == state.sections.size());
    for (std::size_t i = 0; i < state.sections.size(); ++i) {
        CHECK(back.sections[i].type == state.sections[i].type);
        CHECK(back.sections[i].instance == state.sections[i].instance);
        CHECK(back.sections[i].payload == state.sections[i].payload);
    }
    CHECK(back.has(SectionType::Vcpu, 1));
    CHECK_FALSE(back.has(SectionType::Vcpu, 2));
    CHECK(back.find(SectionType::Device, 3).payload.empty());
    CHECK_THROWS_WITH(back.find(SectionType::Pit), "vmstate: missing section pit");
}

TEST_CASE("vmstate: an empty vmstate is the header alone and decodes")
{
    const auto file = encode_vmstate(Vmstate {});
    CHECK(file.size() == kVmstateHeaderSize);
    CHECK(decode_vmstate(file).sections.empty());
}

TEST_CASE("vmstate: a section reader is named after its section")
{
    const Vmstate state = sample();
    StateReader reader = section_reader(state.find(SectionType::Vcpu, 1));
    CHECK(reader.u8() == 0xbb);
    CHECK_THROWS_WITH(reader.expect_end(), Catch::StartsWith("vcpu 1: 99 bytes left over"));
}

TEST_CASE("vmstate: a file that is not a snapshot is refused as such")
{
    std::vector<std::uint8_t> elf {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
    elf.resize(4096);
    CHECK(decode_error(elf) == "vmstate: not a minivmm snapshot (bad magic)");
    CHECK(decode_error({}) == "vmstate: truncated: 0 bytes, shorter than the 32-byte header");
    CHECK(decode_error({'x'}) == "vmstate: not a minivmm snapshot (bad magic)");
}

TEST_CASE("vmstate: another format version names both versions")
{
    auto file = encode_vmstate(sample());
    put_u32(file, 8, kVmstateVersion + 1);
    reseal(file);
    CHECK(decode_error(file) == fmt::format("vmstate: format version {} was written by a newer minivmm; this one reads "
                                            "version {} only",
                                    kVmstateVersion + 1, kVmstateVersion));
    put_u32(file, 8, 0);
    reseal(file);
    CHECK_THAT(decode_error(file), Catch::Contains("version 0 was written by an older minivmm"));
}

TEST_CASE("vmstate: any flipped byte is a checksum mismatch")
{
    const auto good = encode_vmstate(sample());
    // Every byte outside the magic, version and length (those have their own messages).
    for (std::size_t offset : {std::size_t(12), std::size_t(24), std::size_t(28), std::size_t(33), std::size_t(60),
             good.size() - 1}) {
        auto file = good;
        file[offset] ^= 0x10;
        INFO("offset " << offset);
        CHECK_THAT(decode_error(file), Catch::StartsWith("vmstate: checksum mismatch"));
    }
}

TEST_CASE("vmstate: a file cut short anywhere is truncated")
{
    const auto good = encode_vmstate(sample());
    for (std::size_t size : {std::size_t(8), std::size_t(31), std::size_t(32), std::size_t(40), good.size() / 2,
             good.size() - 1}) {
        const std::vector<std::uint8_t> file(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(size));
        INFO("size " << size);
        CHECK_THAT(decode_error(file), Catch::StartsWith("vmstate: truncated"));
    }
}

TEST_CASE("vmstate: bytes after the length the header claims are refused")
{
    auto file = encode_vmstate(sample());
    file.push_back(0);
    CHECK(decode_error(file) == fmt::format("vmstate: 1 trailing bytes after the {} the header claims", file.size() - 1));
}

TEST_CASE("vmstate: a header length over the format's limit is refused before anything is read")
{
    auto file = encode_vmstate(sample());
    put_u64(file, 16, kMaxVmstateSize + 1);
    CHECK_THAT(decode_error(file), Catch::Contains("over the limit"));
}

TEST_CASE("vmstate: unknown flags are refused")
{
    auto file = encode_vmstate(sample());
    put_u32(file, 12, 1);
    reseal(file);
    CHECK(decode_error(file) == "vmstate: unknown flags 0x1 (this minivmm writes and reads 0)");
}

TEST_CASE("vmstate: a section whose length runs past the end is refused")
{
    auto file = encode_vmstate(sample());
    // The first section's length field, at header + 8.
    put_u64(file, kVmstateHeaderSize + 8, file.size());
    reseal(file);
    CHECK_THAT(decode_error(file), Catch::Contains("section 0 of 5: its") && Catch::Contains("run past the end"));
    // A length of 2^64-1 must not wrap the bounds check.
    put_u64(file, kVmstateHeaderSize + 8, ~0ull);
    reseal(file);
    CHECK_THAT(decode_error(file), Catch::Contains("run past the end"));
}

TEST_CASE("vmstate: a section count beyond the sections present is refused")
{
    auto file = encode_vmstate(sample());
    put_u32(file, 28, 6);
    reseal(file);
    CHECK_THAT(decode_error(file), Catch::Contains("section 5 of 6: its header at offset"));
    put_u32(file, 28, 4);
    reseal(file);
    CHECK_THAT(decode_error(file), Catch::Contains("bytes after the last of 4 sections"));
}

TEST_CASE("vmstate: an unknown section type is refused")
{
    auto file = encode_vmstate(sample());
    put_u32(file, kVmstateHeaderSize, 99);
    reseal(file);
    CHECK(decode_error(file) == "vmstate: section 0 of 5: unknown type 99");
    put_u32(file, kVmstateHeaderSize, 0);
    reseal(file);
    CHECK(decode_error(file) == "vmstate: section 0 of 5: unknown type 0");
}

TEST_CASE("vmstate: a duplicate (type, instance) is refused")
{
    auto file = encode_vmstate(sample());
    // Section 2 (vcpu 1) becomes vcpu 0, like section 1: offset of section 2's instance field.
    const std::size_t section2 = kVmstateHeaderSize + 2 * kSectionHeaderSize + 3 + 100;
    put_u32(file, section2 + 4, 0);
    reseal(file);
    CHECK(decode_error(file) == "vmstate: duplicate section vcpu 0");
}

TEST_CASE("vmstate: encoding a duplicate section is a bug, refused before any byte is written")
{
    Vmstate state = sample();
    state.sections.push_back({SectionType::Device, 3, {}});
    CHECK_THROWS_AS(encode_vmstate(state), std::logic_error);
}

TEST_CASE("vmstate file: written whole into DIR/vmstate, read back, no temporary left")
{
    TempDir dir;
    write_vmstate_file(dir.file(""), sample());
    CHECK(dir.names() == std::vector<std::string> {"vmstate"});
    const Vmstate back = read_vmstate_file(dir.file(""));
    CHECK(back.sections.size() == 5);
    CHECK(read_file(dir.file("vmstate")) == encode_vmstate(sample()));
    struct stat status {};
    REQUIRE(::stat(dir.file("vmstate").c_str(), &status) == 0);
    CHECK((status.st_mode & 0777) == 0600);

    // A second snapshot into the same directory replaces it whole.
    Vmstate other;
    other.sections.push_back({SectionType::Clock, 0, {7}});
    write_vmstate_file(dir.file(""), other);
    CHECK(read_vmstate_file(dir.file("")).sections.size() == 1);
    CHECK(dir.names() == std::vector<std::string> {"vmstate"});
}

TEST_CASE("vmstate file: a missing directory is a SysError and nothing is written")
{
    TempDir dir;
    CHECK_THROWS_AS(write_vmstate_file(dir.file("absent"), sample()), minivmm::SysError);
    CHECK(dir.names().empty());
}

TEST_CASE("vmstate file: a missing, corrupt or non-regular vmstate is one line naming the file")
{
    TempDir dir;
    CHECK_THROWS_WITH(read_vmstate_file(dir.file("")), Catch::Contains("vmstate: cannot open: No such file"));
    {
        std::ofstream out(dir.file("vmstate"), std::ios::binary);
        out << "garbage";
    }
    CHECK_THROWS_WITH(read_vmstate_file(dir.file("")), Catch::EndsWith("vmstate: not a minivmm snapshot (bad magic)"));
    CHECK_THROWS_AS(read_vmstate_file(dir.file("")), SnapshotError);
}
