// The VMM stays in control of a guest that floods a virtqueue (Hardening defect 1): the hostile
// guest keeps one disk's queue full forever from a second vCPU (hostile.case=flood); the other
// disk must keep answering, and SIGTERM and --timeout must end the VMM promptly. On hardware
// KVM the guest republishes at native speed and, without a per-pass budget in the device, held
// the event-loop thread for good (only SIGKILL ended it); the unit tests in
// tests/unit/devices/virtio (a request gate republishing from inside the device) show the same stall
// deterministically on any host.
#include <signal.h>

#include <chrono>
#include <fstream>

#include "tests/integration/vmm_harness.hpp"
#include "tests/support/background_process.hpp"

using namespace minivmm::testing;
using Clock = std::chrono::steady_clock;

namespace {

// How long "promptly" may take on a loaded 2-core CI machine: stopping is a signal to each vCPU
// thread, one loop round and a join, normally a few milliseconds.
constexpr auto kPromptly = std::chrono::seconds(3);

std::string make_disk(const TempDir& dir, const std::string& name)
{
    const std::string path = dir.file(name);
    std::ofstream(path, std::ios::binary) << std::string(64 * 512, '\x5a');
    return path;
}

std::vector<std::string> flood_argv(const TempDir& dir, const std::string& engine)
{
    return {minivmm_binary(), "run", "--kernel", testguest("hostile"), "--cpus", "2", "--cmdline",
        "hostile.case=flood hostile.disk=0", "--disk", "path=" + make_disk(dir, "flooded.img") + ",engine=" + engine,
        "--disk", "path=" + make_disk(dir, "other.img") + ",engine=" + engine};
}

double seconds(Clock::duration d)
{
    return std::chrono::duration<double>(d).count();
}

} // namespace

TEST_CASE("a guest keeping a disk queue full from 2 vCPUs: the other disk answers and SIGTERM ends the VMM promptly",
    "[guest][blk]")
{
    if (!kvm_available())
        return;
    const std::string engine = GENERATE(std::string("sync"), std::string("uring"));
    CAPTURE(engine);
    TempDir dir;
    BackgroundProcess vmm(flood_argv(dir, engine));
    const auto started = Clock::now();
    const auto flooding = vmm.wait_for_line("hostile: flood running on 2 cpus", std::chrono::seconds(60));
    INFO("stdout: " << vmm.out() << "\nstderr: " << vmm.err());
    REQUIRE(flooding);
    // Reads of the other disk complete while the flood goes on: its ioeventfd is still served.
    const auto answered = vmm.wait_for_line("hostile: flood disk 1 read 5 ok", std::chrono::seconds(60));
    REQUIRE(answered);
    const auto signalled = Clock::now();
    const ProcessResult result = vmm.stop(SIGTERM, std::chrono::seconds(20));
    const auto stop_time = Clock::now() - signalled;
    INFO(engine << ": flood running after " << seconds(flooding->arrived - started) << " s, 5 reads of the other disk "
                << seconds(answered->arrived - flooding->arrived) << " s later, SIGTERM to exit " << seconds(stop_time)
                << " s");
    CHECK_FALSE(result.timed_out);
    CHECK(result.exit_status == 128 + SIGTERM); // README, exit codes: 128+n for signal n
    CHECK(stop_time < kPromptly);
}

TEST_CASE("a guest keeping a disk queue full from 2 vCPUs: --timeout 2 ends the VMM on time (exit 124)", "[guest][blk]")
{
    if (!kvm_available())
        return;
    const std::string engine = GENERATE(std::string("sync"), std::string("uring"));
    CAPTURE(engine);
    TempDir dir;
    auto argv = flood_argv(dir, engine);
    argv.insert(argv.end(), {"--timeout", "2"});
    BackgroundProcess vmm(argv);
    const auto started = Clock::now();
    const ProcessResult result = vmm.wait(std::chrono::seconds(30));
    const auto run_time = Clock::now() - started;
    INFO("stdout: " << vmm.out() << "\nstderr: " << vmm.err());
    INFO(engine << ": --timeout 2 run ended after " << seconds(run_time) << " s");
    CHECK_FALSE(result.timed_out);
    CHECK(result.exit_status == 124);
    // The flood was on well before the timer fired: the guest gets there in a fraction of that.
    CHECK(has_line(vmm.out(), "hostile: flood running on 2 cpus"));
    CHECK(run_time < std::chrono::seconds(2) + kPromptly);
}
