// GuestMemory::create: huge-page backing is reserved when it is mapped, so a pool that cannot
// hold the guest is an error at creation (the VMM then falls back to normal pages), never a
// SIGBUS at the guest's first touch.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include "tests/support/huge_page_pool.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/memory/guest_memory.hpp"

using minivmm::GuestMemory;
using minivmm::SysError;
using minivmm::testing::HugePagePool;
namespace layout = minivmm::layout;

namespace {
constexpr std::uint64_t kHugePage = 2 * layout::MiB;

bool pool_usable(const HugePagePool& pool, long wanted)
{
    if (pool.ok() && pool.pages() == wanted)
        return true;
    const char* ci = std::getenv("CI");
    if (ci && std::string(ci) == "true" && !pool.ok())
        FAIL("cannot set " << HugePagePool::kPath << " (not root?), and CI=true");
    WARN("the huge-page pool could not be set to " << wanted << " pages (got " << pool.pages() << "): skipped");
    return false;
}

// Writes the last byte of every huge page: what a guest touching all its RAM does.
void touch_every_page(const GuestMemory& memory)
{
    for (const auto& region : memory.regions())
        for (std::uint64_t offset = kHugePage - 1; offset < region.size(); offset += kHugePage)
            REQUIRE(memory.write_obj<std::uint8_t>(region.guest_address + offset, 0x5a));
}
} // namespace

TEST_CASE("guest memory: huge pages with an empty pool fail at creation, not at first touch", "[memory][hugepages]")
{
    HugePagePool pool(0);
    if (!pool_usable(pool, 0))
        return;
    const layout::RamRange ranges[] {{0, 8 * layout::MiB}};
    CHECK_THROWS_AS(GuestMemory::create(ranges, GuestMemory::Backing::HugePages), SysError);
}

TEST_CASE("guest memory: huge pages with a pool too small for the guest fail at creation", "[memory][hugepages]")
{
    HugePagePool pool(2); // 4 MiB for a 16 MiB guest
    if (!pool_usable(pool, 2))
        return;
    const layout::RamRange ranges[] {{0, 16 * layout::MiB}};
    CHECK_THROWS_AS(GuestMemory::create(ranges, GuestMemory::Backing::HugePages), SysError);
}

TEST_CASE("guest memory: huge pages from a pool that holds the guest are usable to the last page", "[memory][hugepages]")
{
    HugePagePool pool(4);
    if (!pool_usable(pool, 4))
        return;
    const layout::RamRange ranges[] {{0, 8 * layout::MiB}};
    const GuestMemory memory = GuestMemory::create(ranges, GuestMemory::Backing::HugePages);
    touch_every_page(memory);
    CHECK(memory.read_obj<std::uint8_t>(8 * layout::MiB - 1) == 0x5a);
}
