// Tests for ThreadCpuTimer on the host: the signal reaches the arming thread once it has used
// the armed CPU time (a spin, not a sleep: the timer counts CPU time).
#include <catch2/catch.hpp>

#include <signal.h>

#include <atomic>
#include <thread>

#include "vmm/limiter/clock.hpp"
#include "vmm/limiter/thread_cpu_timer.hpp"

using namespace minivmm::limiter;
using namespace std::chrono_literals;

namespace {

std::atomic<int> g_signals{0};
thread_local bool t_is_target = false;
std::atomic<int> g_wrong_thread{0};

void on_budget_signal(int)
{
    if (t_is_target)
        g_signals.fetch_add(1);
    else
        g_wrong_thread.fetch_add(1);
}

} // namespace

TEST_CASE("thread cpu timer: the signal arrives on the arming thread after its CPU time",
          "[limiter][timer]")
{
    const int signal_number = SIGRTMIN + 1;
    struct sigaction action {};
    action.sa_handler = on_budget_signal;
    sigemptyset(&action.sa_mask);
    struct sigaction previous {};
    REQUIRE(sigaction(signal_number, &action, &previous) == 0);

    Nanos cpu_at_signal{0};
    std::thread vcpu([&] {
        t_is_target = true;
        ThreadCpuClock cpu;
        ThreadCpuTimer timer(signal_number);
        const Nanos start = cpu.now();
        timer.arm(20ms);
        // Spin (like a guest without exits) until the signal, at most 2 s of CPU.
        while (g_signals.load() == 0 && cpu.now() - start < 2s) {
        }
        cpu_at_signal = cpu.now() - start;
    });
    vcpu.join();
    sigaction(signal_number, &previous, nullptr);

    CHECK(g_signals.load() == 1);
    CHECK(g_wrong_thread.load() == 0);
    CHECK(cpu_at_signal >= 20ms);
    CHECK(cpu_at_signal < 1s); // the kernel checks CPU timers on its tick, never this late
}

TEST_CASE("monotonic sleeper: an absolute deadline in the past returns at once",
          "[limiter][timer]")
{
    MonotonicClock clock;
    MonotonicSleeper sleeper;
    CHECK(sleeper.sleep_until(clock.now() - 1ms));
}
