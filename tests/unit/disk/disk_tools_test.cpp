// Tests for the disk tools on temporary files: sparse create, grow/shrink rules, locking,
// sparse-preserving verified backup.
#include <catch2/catch.hpp>

#include <sys/file.h>

#include <algorithm>

#include "tests/unit/disk/temp_dir.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/base/unique_fd.hpp"
#include "vmm/disk/backup_disk.hpp"
#include "vmm/disk/create_disk.hpp"
#include "vmm/disk/data_extents.hpp"
#include "vmm/disk/disk_checksum.hpp"
#include "vmm/disk/resize_disk.hpp"

using namespace minivmm;
using namespace minivmm::disk;
using namespace minivmm::testing;

namespace {

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;

UniqueFd open_read(const std::string& path)
{
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(fd);
    return fd;
}

// Holds the lock a running VMM holds on a writable disk.
UniqueFd lock_like_a_vmm(const std::string& path)
{
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    REQUIRE(fd);
    REQUIRE(::flock(fd.get(), LOCK_EX | LOCK_NB) == 0);
    return fd;
}

} // namespace

TEST_CASE("disk create: a new image is sparse and has the requested size", "[disk][create]")
{
    TempDir dir;
    const auto path = dir.file("a.img");
    CHECK(create_disk(path, 64 * MiB) == 64 * MiB);
    const auto st = stat_of(path);
    CHECK(st.st_size == static_cast<off_t>(64 * MiB));
    CHECK(st.st_blocks == 0);
}

TEST_CASE("disk create: a size is rounded up to whole 512-byte sectors", "[disk][create]")
{
    TempDir dir;
    CHECK(create_disk(dir.file("a.img"), 1000) == 1024);
    CHECK(stat_of(dir.file("a.img")).st_size == 1024);
    CHECK(round_up_to_sector(512) == 512);
    CHECK(round_up_to_sector(513) == 1024);
}

TEST_CASE("disk create: an existing file is never overwritten", "[disk][create]")
{
    TempDir dir;
    const auto path = dir.file("a.img");
    write_at(path, 0, pattern(100, 1));
    CHECK_THROWS_WITH(create_disk(path, 1 * MiB), Catch::Contains("already exists"));
    CHECK(read_all(path) == pattern(100, 1));
    CHECK_THROWS_AS(create_disk(dir.file("zero.img"), 0), UserError);
    CHECK(dir.names() == std::vector<std::string>{"a.img"});
}

TEST_CASE("data extents: SEEK_DATA/SEEK_HOLE find the written ranges", "[disk][extents]")
{
    TempDir dir;
    const auto path = dir.file("a.img");
    create_disk(path, 16 * MiB);
    write_at(path, 0, pattern(4 * KiB, 1));
    write_at(path, 8 * MiB, pattern(8 * KiB, 2));
    const auto fd = open_read(path);
    CHECK(data_extents(fd.get(), 16 * MiB)
          == std::vector<Extent>{{0, 4 * KiB}, {8 * MiB, 8 * KiB}});
    CHECK(data_end(fd.get(), 16 * MiB) == 8 * MiB + 8 * KiB);
}

TEST_CASE("disk resize: growing keeps the data and adds a hole", "[disk][resize]")
{
    TempDir dir;
    const auto path = dir.file("a.img");
    create_disk(path, 1 * MiB);
    write_at(path, 0, pattern(4 * KiB, 3));
    const auto result = resize_disk(path, 100 * MiB);
    CHECK(result.old_size == 1 * MiB);
    CHECK(result.new_size == 100 * MiB);
    CHECK(stat_of(path).st_size == static_cast<off_t>(100 * MiB));
    CHECK(stat_of(path).st_blocks <= 64); // 4 KiB of data, not 100 MiB
    const auto bytes = read_all(path);
    CHECK(std::equal(bytes.begin(), bytes.begin() + 4 * KiB, pattern(4 * KiB, 3).begin()));
}

TEST_CASE("disk resize: shrinking over holes only is allowed", "[disk][resize]")
{
    TempDir dir;
    const auto path = dir.file("a.img");
    create_disk(path, 10 * MiB);
    write_at(path, 0, pattern(4 * KiB, 4));
    CHECK(resize_disk(path, 1 * MiB).new_size == 1 * MiB);
    CHECK(stat_of(path).st_size == static_cast<off_t>(1 * MiB));
}

TEST_CASE("disk resize: shrinking below the last data is refused", "[disk][resize]")
{
    TempDir dir;
    const auto path = dir.file("a.img");
    create_disk(path, 10 * MiB);
    write_at(path, 5 * MiB, pattern(4 * KiB, 5));
    CHECK_THROWS_WITH(resize_disk(path, 4 * MiB),
                      Catch::Contains("stores data up to byte 5246976"));
    CHECK(stat_of(path).st_size == static_cast<off_t>(10 * MiB));
    CHECK_THROWS_AS(resize_disk(dir.file("missing.img"), 1 * MiB), UserError);
}

TEST_CASE("disk resize: a disk locked by a running VM is refused", "[disk][resize]")
{
    TempDir dir;
    const auto path = dir.file("a.img");
    create_disk(path, 1 * MiB);
    const auto vmm = lock_like_a_vmm(path);
    CHECK_THROWS_WITH(resize_disk(path, 2 * MiB), Catch::Contains("in use by a running VM"));
    CHECK(stat_of(path).st_size == static_cast<off_t>(1 * MiB));
}

TEST_CASE("disk checksum: equal contents match whatever the layout, one byte changes it",
          "[disk][checksum]")
{
    TempDir dir;
    const auto sparse = dir.file("sparse.img");
    const auto dense = dir.file("dense.img");
    create_disk(sparse, 4 * MiB);
    write_at(sparse, 1 * MiB, pattern(4 * KiB, 6));
    write_at(dense, 0, std::vector<std::uint8_t>(4 * MiB, 0)); // all data, mostly zeros
    write_at(dense, 1 * MiB, pattern(4 * KiB, 6));
    const auto a = open_read(sparse);
    const auto b = open_read(dense);
    CHECK(disk_checksum(a.get(), 4 * MiB) == disk_checksum(b.get(), 4 * MiB));
    write_at(dense, 3 * MiB + 17, {1});
    CHECK(disk_checksum(a.get(), 4 * MiB) != disk_checksum(b.get(), 4 * MiB));
    // The same blocks at another place differ too (the block index is hashed).
    const auto moved = dir.file("moved.img");
    create_disk(moved, 4 * MiB);
    write_at(moved, 2 * MiB, pattern(4 * KiB, 6));
    const auto c = open_read(moved);
    CHECK(disk_checksum(a.get(), 4 * MiB) != disk_checksum(c.get(), 4 * MiB));
}

TEST_CASE("disk backup: the copy has the same contents and size and stays sparse",
          "[disk][backup]")
{
    TempDir dir;
    const auto source = dir.file("src.img");
    const auto backup = dir.file("dst.img");
    create_disk(source, 256 * MiB);
    write_at(source, 0, pattern(4 * KiB, 7));
    write_at(source, 100 * MiB + 123, pattern(10 * KiB, 8));
    write_at(source, 200 * MiB, std::vector<std::uint8_t>(1 * MiB, 0)); // allocated zeros
    write_at(source, 256 * MiB - 1, {0xaa});

    std::vector<std::pair<std::uint64_t, std::uint64_t>> calls;
    const auto result = backup_disk(source, backup, [&](std::uint64_t done, std::uint64_t total) {
        calls.emplace_back(done, total);
    });

    CHECK(result.size == 256 * MiB);
    CHECK(stat_of(backup).st_size == static_cast<off_t>(256 * MiB));
    CHECK(read_all(backup) == read_all(source));
    // 4 + 12 + 4 KiB of data (block-rounded); the zero MiB became a hole. 512-byte blocks.
    CHECK(stat_of(backup).st_blocks <= 128);
    CHECK(stat_of(source).st_blocks >= 2048);
    // Progress: starts at 0, never goes back, ends at the total, which is what was read.
    REQUIRE(calls.size() >= 2);
    CHECK(calls.front().first == 0);
    CHECK(calls.back().first == calls.back().second);
    CHECK(calls.back().second == result.data_bytes);
    CHECK(std::is_sorted(calls.begin(), calls.end()));
    CHECK(dir.names() == std::vector<std::string>{"dst.img", "src.img"}); // no temp file left
    const auto fd = open_read(source);
    CHECK(result.checksum == disk_checksum(fd.get(), 256 * MiB));
}

TEST_CASE("disk backup: an existing destination is never overwritten", "[disk][backup]")
{
    TempDir dir;
    create_disk(dir.file("src.img"), 1 * MiB);
    write_at(dir.file("dst.img"), 0, pattern(10, 9));
    CHECK_THROWS_WITH(backup_disk(dir.file("src.img"), dir.file("dst.img")),
                      Catch::Contains("already exists"));
    CHECK(read_all(dir.file("dst.img")) == pattern(10, 9));
}

TEST_CASE("disk backup: a source in use by a running VM is refused clearly", "[disk][backup]")
{
    TempDir dir;
    const auto source = dir.file("src.img");
    create_disk(source, 1 * MiB);
    const auto vmm = lock_like_a_vmm(source);
    CHECK_THROWS_WITH(backup_disk(source, dir.file("dst.img")),
                      Catch::Equals("disk " + source + " is in use by a running VM; stop the VM "
                                    "(or snapshot it) and try again"));
    CHECK(dir.names() == std::vector<std::string>{"src.img"});
}

TEST_CASE("disk backup: verification catches a copy that differs", "[disk][backup]")
{
    TempDir dir;
    const auto source = dir.file("src.img");
    const auto copy = dir.file("copy.img");
    create_disk(source, 2 * MiB);
    write_at(source, 64 * KiB, pattern(4 * KiB, 10));
    create_disk(copy, 2 * MiB);
    {
        const auto from = open_read(source);
        UniqueFd to(::open(copy.c_str(), O_RDWR | O_CLOEXEC));
        REQUIRE(to);
        CHECK(copy_data_extents(from.get(), to.get(), 2 * MiB, {}) == 4 * KiB);
        CHECK_NOTHROW(verify_copy(from.get(), to.get(), 2 * MiB, source));
    }
    write_at(copy, 64 * KiB + 100, {0xff});
    const auto from = open_read(source);
    const auto to = open_read(copy);
    CHECK_THROWS_WITH(verify_copy(from.get(), to.get(), 2 * MiB, source),
                      Catch::Contains("the copy differs from the source"));
}
