// VmStopper: many threads stopping the VM at once (a vCPU's exit port, the event loop's timeout,
// a signal): exactly one reason is recorded, the first, and the kick runs exactly once.
#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "vmm/vm/stop_reason.hpp"

using minivmm::vm::StopKind;
using minivmm::vm::StopReason;
using minivmm::vm::VmStopper;

TEST_CASE("vm stopper: the first reason wins and later ones are ignored", "[vm][stop]")
{
    VmStopper stopper;
    int kicks = 0;
    stopper.set_kick([&] { ++kicks; });
    CHECK_FALSE(stopper.stopping());
    CHECK_FALSE(stopper.reason());
    stopper.stop({StopKind::ExitPort, 7, ""});
    stopper.stop({StopKind::GuestCrash, 0, "triple fault"});
    CHECK(stopper.stopping());
    REQUIRE(stopper.reason());
    CHECK(stopper.reason()->kind == StopKind::ExitPort);
    CHECK(stopper.reason()->status == 7);
    CHECK(kicks == 1);
}

TEST_CASE("vm stopper: threads racing to stop record one reason and kick once, while others poll stopping()",
    "[vm][stop]")
{
    VmStopper stopper;
    std::atomic<int> kicks {0};
    stopper.set_kick([&] { ++kicks; });
    constexpr int kThreads = 8;
    std::atomic<bool> go {false};
    std::atomic<int> saw_stopping {0};
    std::vector<std::thread> threads;
    // Pollers: what each vCPU thread's loop does between exits.
    for (int i = 0; i < 2; ++i)
        threads.emplace_back([&] {
            while (!go.load()) {
            }
            while (!stopper.stopping()) {
            }
            ++saw_stopping;
        });
    for (int i = 0; i < kThreads; ++i)
        threads.emplace_back([&, i] {
            while (!go.load()) {
            }
            stopper.stop({StopKind::ExitPort, static_cast<std::uint8_t>(i), "thread " + std::to_string(i)});
        });
    go = true;
    for (auto& thread : threads)
        thread.join();
    CHECK(kicks.load() == 1);
    CHECK(saw_stopping.load() == 2);
    REQUIRE(stopper.reason());
    const StopReason reason = *stopper.reason();
    CHECK(reason.detail == "thread " + std::to_string(reason.status));
}
