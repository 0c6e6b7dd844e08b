// PauseBarrier (vmm/vm/pause_barrier.hpp): vCPU threads park until resume, the controller learns
// when all are parked, and a stop releases parked threads.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "vmm/vm/pause_barrier.hpp"

using minivmm::vm::PauseBarrier;
using namespace std::chrono_literals;

TEST_CASE("pause barrier: park returns at once when no pause is wanted", "[vm][pause]")
{
    PauseBarrier barrier;
    CHECK_FALSE(barrier.pause_requested());
    barrier.park();
    CHECK(barrier.parked() == 0);
}

TEST_CASE("pause barrier: every thread parks, the controller sees it, resume lets them go", "[vm][pause]")
{
    PauseBarrier barrier;
    barrier.request_pause();
    std::atomic<int> released {0};
    std::vector<std::thread> vcpus;
    for (int i = 0; i < 3; ++i)
        vcpus.emplace_back([&] {
            barrier.park();
            released.fetch_add(1);
        });
    REQUIRE(barrier.wait_until_parked(3, 10s));
    CHECK(barrier.parked() == 3);
    CHECK(released.load() == 0);
    barrier.resume();
    for (auto& thread : vcpus)
        thread.join();
    CHECK(released.load() == 3);
    CHECK(barrier.parked() == 0);
    CHECK_FALSE(barrier.pause_requested());
}

TEST_CASE("pause barrier: waiting for more threads than park times out", "[vm][pause]")
{
    PauseBarrier barrier;
    barrier.request_pause();
    CHECK_FALSE(barrier.wait_until_parked(1, 20ms));
}

TEST_CASE("pause barrier: a stop releases parked threads and later parks", "[vm][pause]")
{
    PauseBarrier barrier;
    barrier.request_pause();
    std::thread vcpu([&] { barrier.park(); });
    REQUIRE(barrier.wait_until_parked(1, 10s));
    barrier.release_for_stop();
    vcpu.join();
    barrier.park(); // returns at once: the VM is ending
    CHECK_FALSE(barrier.wait_until_parked(1, 10ms));
}

TEST_CASE("pause barrier: the controller learns when every parked thread has left", "[vm][pause]")
{
    PauseBarrier barrier;
    barrier.request_pause();
    std::vector<std::thread> vcpus;
    for (int i = 0; i < 2; ++i)
        vcpus.emplace_back([&] { barrier.park(); });
    REQUIRE(barrier.wait_until_parked(2, 10s));
    barrier.resume();
    CHECK(barrier.wait_until_released(10s));
    CHECK(barrier.parked() == 0);
    for (auto& thread : vcpus)
        thread.join();
}
