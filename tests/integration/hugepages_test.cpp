// --hugepages on the real VMM: when the host's huge-page pool cannot hold the guest (empty, or
// too small), minivmm warns once and runs the guest on normal pages; it never dies of SIGBUS.
#include "tests/integration/vmm_harness.hpp"
#include "tests/support/huge_page_pool.hpp"

using namespace minivmm::testing;

namespace {
bool pool_usable(const HugePagePool& pool, long wanted)
{
    if (pool.ok() && pool.pages() == wanted)
        return true;
    if (running_in_ci() && !pool.ok())
        FAIL("cannot set " << HugePagePool::kPath << " (not root?), and CI=true");
    WARN("the huge-page pool could not be set to " << wanted << " pages (got " << pool.pages() << "): skipped");
    return false;
}

std::size_t count_of(const std::string& text, const std::string& needle)
{
    std::size_t count = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
        ++count;
    return count;
}

void check_fallback(const ProcessResult& result)
{
    INFO("stdout: " << result.out << "\nstderr: " << result.err);
    CHECK(result.exit_status == 0);
    CHECK(has_line(result.out, "Hello from the minivmm test guest"));
    CHECK(count_of(result.err, "minivmm: warning: --hugepages") == 1);
    CHECK(result.err.find("using normal pages") != std::string::npos);
}
} // namespace

TEST_CASE("--hugepages with an empty huge-page pool warns once and runs on normal pages", "[guest][hugepages]")
{
    if (!kvm_available())
        return;
    HugePagePool pool(0);
    if (!pool_usable(pool, 0))
        return;
    check_fallback(run_vmm({"--kernel", testguest("hello"), "--memory", "32M", "--hugepages"}));
}

TEST_CASE("--hugepages with a pool too small for the guest warns once and runs on normal pages", "[guest][hugepages]")
{
    if (!kvm_available())
        return;
    HugePagePool pool(4); // 8 MiB for a 32 MiB guest
    if (!pool_usable(pool, 4))
        return;
    check_fallback(run_vmm({"--kernel", testguest("hello"), "--memory", "32M", "--hugepages"}));
}

TEST_CASE("--hugepages with a pool that holds the guest uses it without a warning", "[guest][hugepages]")
{
    if (!kvm_available())
        return;
    HugePagePool pool(16); // 32 MiB
    if (!pool_usable(pool, 16))
        return;
    const auto result = run_vmm({"--kernel", testguest("hello"), "--memory", "32M", "--hugepages"});
    INFO("stdout: " << result.out << "\nstderr: " << result.err);
    CHECK(result.exit_status == 0);
    CHECK(has_line(result.out, "Hello from the minivmm test guest"));
    CHECK(result.err.find("warning") == std::string::npos);
}
