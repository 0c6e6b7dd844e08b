// A console reader that stops reading (stdout a full pipe nobody drains) must never keep the VM
// from stopping: --timeout and SIGTERM end minivmm promptly, and the output that could not be
// delivered is dropped and reported once on stderr.
#include <signal.h>

#include "tests/integration/vmm_harness.hpp"

using namespace minivmm::testing;

namespace {
// How long a stop may take once it is due: the VMM tears down in well under a second; a hang
// is what this catches (the harness kills the child at the deadline and reports timed_out).
constexpr auto kStopGrace = std::chrono::seconds(10);

void check_dropped_report(const ProcessResult& result)
{
    const auto lines = lines_of(result.err);
    std::size_t reports = 0;
    for (const auto& line : lines)
        if (line.find("console output dropped: ") != std::string::npos && line.find("not reading") != std::string::npos)
            ++reports;
    CHECK(reports == 1);
}
} // namespace

TEST_CASE("--timeout ends a VM whose stdout reader stopped reading", "[guest][console]")
{
    if (!kvm_available())
        return;
    ProcessOptions options;
    options.stdout_unread = true;
    options.timeout = std::chrono::seconds(2) + kStopGrace;
    const auto result = run_process({minivmm_binary(), "run", "--kernel", testguest("chatter"), "--timeout", "2"}, options);
    INFO("stderr: " << result.err);
    REQUIRE_FALSE(result.timed_out);
    CHECK(result.stdout_filled); // the guest really was writing into a blocked sink
    CHECK(result.exit_status == 124);
    CHECK(result.err.find("timeout") != std::string::npos);
    check_dropped_report(result);
}

TEST_CASE("SIGTERM ends a VM whose stdout reader stopped reading", "[guest][console]")
{
    if (!kvm_available())
        return;
    ProcessOptions options;
    options.stdout_unread = true;
    options.signal_when_stdout_full = SIGTERM;
    options.timeout = std::chrono::seconds(20) + kStopGrace;
    const auto result = run_process({minivmm_binary(), "run", "--kernel", testguest("chatter")}, options);
    INFO("stderr: " << result.err);
    REQUIRE_FALSE(result.timed_out);
    REQUIRE(result.stdout_filled);
    CHECK(result.exit_status == 128 + SIGTERM);
    check_dropped_report(result);
}
