// DIR/memory (vmm/memory/memory_file.hpp): all-zero pages stay holes, the data comes back through
// a private mapping, and the guest's writes to that mapping never reach the file.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/test_guest_memory.hpp"
#include "tests/unit/disk/temp_dir.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/base/unique_fd.hpp"
#include "vmm/memory/memory_file.hpp"

using namespace minivmm;

namespace {
std::uint64_t allocated_bytes(int fd)
{
    struct stat status {};
    REQUIRE(::fstat(fd, &status) == 0);
    return std::uint64_t(status.st_blocks) * 512;
}
} // namespace

TEST_CASE("memory file: a 64 MiB guest with three touched pages is a 64 MiB file of about three pages", "[memory][snapshot]")
{
    testing::TempDir dir;
    GuestMemory memory = testing::make_test_memory(64 * layout::MiB);
    REQUIRE(memory.write_obj<std::uint64_t>(0x1000, 0x1122334455667788));
    REQUIRE(memory.write_obj<std::uint8_t>(0x3fff, 0x99));               // the last byte of a page
    REQUIRE(memory.write_obj<std::uint32_t>(64 * layout::MiB - 4, 0xabcd)); // the last page
    REQUIRE(memory.write_obj<std::uint32_t>(0x8000, 0));                   // touched, but zero: a hole
    const std::string path = dir.file("memory");
    UniqueFd file(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    REQUIRE(file);
    const MemoryFileStats stats = write_memory_file(file.get(), memory, path);
    CHECK(stats.total_bytes == 64 * layout::MiB);
    CHECK(stats.data_bytes == 3 * kMemoryFilePageSize);
    CHECK(allocated_bytes(file.get()) <= 64 * 1024); // a few pages, whatever the file system's block size

    const std::vector<layout::RamRange> ranges {{0, 64 * layout::MiB}};
    GuestMemory restored = map_memory_file(file.get(), ranges, path);
    CHECK(restored.read_obj<std::uint64_t>(0x1000) == 0x1122334455667788u);
    CHECK(restored.read_obj<std::uint8_t>(0x3fff) == 0x99);
    CHECK(restored.read_obj<std::uint32_t>(64 * layout::MiB - 4) == 0xabcdu);
    CHECK(restored.read_obj<std::uint64_t>(0x2000) == 0u);

    // Copy-on-write: the restored guest's writes stay in its own pages.
    REQUIRE(restored.write_obj<std::uint64_t>(0x1000, 7));
    REQUIRE(restored.write_obj<std::uint64_t>(0x5000, 8));
    GuestMemory again = map_memory_file(file.get(), ranges, path);
    CHECK(again.read_obj<std::uint64_t>(0x1000) == 0x1122334455667788u);
    CHECK(again.read_obj<std::uint64_t>(0x5000) == 0u);
    CHECK(restored.read_obj<std::uint64_t>(0x1000) == 7u);
}

TEST_CASE("memory file: regions lie back to back in guest-address order", "[memory][snapshot]")
{
    testing::TempDir dir;
    std::vector<GuestMemory::Region> regions;
    regions.push_back({0x1'0000'0000, Mapping::anonymous(2 * layout::MiB)});
    regions.push_back({0, Mapping::anonymous(4 * layout::MiB)});
    GuestMemory memory(std::move(regions));
    REQUIRE(memory.write_obj<std::uint32_t>(0x1'0000'0000, 0x4444));
    REQUIRE(memory.write_obj<std::uint32_t>(0x10, 0x1111));
    const std::string path = dir.file("memory");
    UniqueFd file(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    (void)write_memory_file(file.get(), memory, path);
    std::uint32_t value = 0;
    REQUIRE(::pread(file.get(), &value, sizeof value, 4 * layout::MiB) == sizeof value);
    CHECK(value == 0x4444u);
    const std::vector<layout::RamRange> ranges {{0, 4 * layout::MiB}, {0x1'0000'0000, 2 * layout::MiB}};
    GuestMemory restored = map_memory_file(file.get(), ranges, path);
    CHECK(restored.read_obj<std::uint32_t>(0x1'0000'0000) == 0x4444u);
    CHECK(restored.read_obj<std::uint32_t>(0x10) == 0x1111u);
}

TEST_CASE("memory file: a file whose size is not the layout's is refused", "[memory][snapshot]")
{
    testing::TempDir dir;
    const std::string path = dir.file("memory");
    UniqueFd file(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    REQUIRE(::ftruncate(file.get(), 3 * layout::MiB) == 0);
    const std::vector<layout::RamRange> ranges {{0, 4 * layout::MiB}};
    REQUIRE_THROWS_AS(map_memory_file(file.get(), ranges, path), UserError);
    CHECK_THROWS_WITH(map_memory_file(file.get(), ranges, path),
        Catch::Contains("is 3145728 bytes, the snapshot's RAM layout needs 4194304 bytes"));
}
