// The all-stop holds for gdb (vmm/vm/debug_barrier.hpp): each vCPU parks while held, a release
// lets only the named ones go, and the VM's end lets every one leave.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "vmm/vm/debug_barrier.hpp"

using namespace minivmm::vm;
using namespace std::chrono_literals;

TEST_CASE("DebugBarrier: held vCPUs park; a release lets only the named vCPU run", "[debug_barrier]")
{
    DebugBarrier barrier(2);
    std::atomic<int> rounds[2] {0, 0};
    std::atomic<bool> done {false};
    barrier.hold_all();
    auto vcpu = [&](unsigned index) {
        while (!done) {
            if (barrier.hold_requested(index)) {
                barrier.park(index);
                continue;
            }
            ++rounds[index];
            std::this_thread::yield();
        }
    };
    std::jthread a(vcpu, 0u), b(vcpu, 1u);
    REQUIRE(barrier.wait_until_parked(5s));
    CHECK(rounds[0] == 0);
    CHECK(rounds[1] == 0);

    const bool only_second[] = {false, true};
    barrier.release(only_second);
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (rounds[1] == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
    CHECK(rounds[1] > 0);
    CHECK(rounds[0] == 0); // still held

    barrier.hold_all();
    REQUIRE(barrier.wait_until_parked(5s));
    done = true;
    barrier.release_for_stop(); // the VM's end: both leave park()
    a.join();
    b.join();
    CHECK_FALSE(barrier.wait_until_parked(10ms)); // ending: no longer a successful wait
}
