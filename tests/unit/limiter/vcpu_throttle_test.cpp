// Tests for VcpuThrottle on manual clocks: charging, sleeping to the period's end, timer arming.
#include <catch2/catch.hpp>

#include <optional>
#include <vector>

#include "tests/unit/limiter/manual_clock.hpp"
#include "vmm/limiter/vcpu_throttle.hpp"

using namespace minivmm::limiter;
using minivmm::testing::ManualClock;
using namespace std::chrono_literals;

namespace {

// Sleeps by moving the wall clock to the deadline; can be told to be cut short instead.
class FakeSleeper final : public Sleeper {
public:
    explicit FakeSleeper(ManualClock& wall) : m_wall(wall) {}
    bool sleep_until(Nanos deadline) override
    {
        deadlines.push_back(deadline);
        if (interrupt_at) {
            m_wall.set(*interrupt_at);
            interrupt_at.reset();
            return false;
        }
        m_wall.set(deadline);
        return true;
    }
    std::vector<Nanos> deadlines;
    std::optional<Nanos> interrupt_at;

private:
    ManualClock& m_wall;
};

class FakeTimer final : public BudgetTimer {
public:
    void arm(Nanos cpu_time) override { arms.push_back(cpu_time); }
    std::vector<Nanos> arms;
};

struct Fixture {
    ManualClock wall{1000ms};
    ManualClock cpu{5s};
    FakeSleeper sleeper{wall};
    FakeTimer timer;
    VcpuThrottle throttle{0.25, 100ms, wall, cpu, sleeper, timer};

    // One KVM_RUN that used `cpu_time` of CPU over `wall_time`.
    void run(Nanos cpu_time, Nanos wall_time)
    {
        cpu.advance(cpu_time);
        wall.advance(wall_time);
        throttle.after_run();
    }
};

using Arms = std::vector<Nanos>;

} // namespace

TEST_CASE("throttle: the first run arms the timer with the whole budget", "[limiter][throttle]")
{
    Fixture f;
    CHECK(f.throttle.before_run() == RunDecision::Run);
    CHECK(f.timer.arms == Arms{25ms});
    CHECK(f.sleeper.deadlines.empty());
}

TEST_CASE("throttle: within a period the timer is not re-armed", "[limiter][throttle]")
{
    Fixture f;
    REQUIRE(f.throttle.before_run() == RunDecision::Run);
    f.run(10ms, 12ms);
    CHECK(f.throttle.before_run() == RunDecision::Run);
    CHECK(f.timer.arms == Arms{25ms});
    CHECK(f.throttle.budget().remaining() == 15ms);
}

TEST_CASE("throttle: a spent budget sleeps exactly to the period's end, then re-arms",
          "[limiter][throttle]")
{
    Fixture f;
    REQUIRE(f.throttle.before_run() == RunDecision::Run);
    f.run(10ms, 12ms);
    REQUIRE(f.throttle.before_run() == RunDecision::Run);
    f.run(15ms, 20ms); // 25 ms used at wall 1032 ms
    CHECK(f.throttle.before_run() == RunDecision::Run);
    CHECK(f.sleeper.deadlines == std::vector<Nanos>{1100ms});
    CHECK(f.throttle.throttled_time() == 68ms);
    CHECK(f.timer.arms == Arms{25ms, 25ms});
    CHECK(f.throttle.cpu_used() == 25ms);
}

TEST_CASE("throttle: an overshoot arms the next period with the budget less the debt",
          "[limiter][throttle]")
{
    Fixture f;
    REQUIRE(f.throttle.before_run() == RunDecision::Run);
    f.run(27ms, 40ms); // the timer fired 2 ms late
    CHECK(f.throttle.before_run() == RunDecision::Run);
    CHECK(f.sleeper.deadlines == std::vector<Nanos>{1100ms});
    CHECK(f.timer.arms == Arms{25ms, 23ms});
}

TEST_CASE("throttle: CPU used outside KVM_RUN (exit handling) is charged too",
          "[limiter][throttle]")
{
    Fixture f;
    REQUIRE(f.throttle.before_run() == RunDecision::Run);
    f.run(20ms, 20ms);
    f.cpu.advance(5ms); // handling the exit on the vCPU thread
    CHECK(f.throttle.before_run() == RunDecision::Run);
    CHECK(f.sleeper.deadlines == std::vector<Nanos>{1100ms});
    CHECK(f.throttle.cpu_used() == 25ms);
}

TEST_CASE("throttle: a new period re-arms the timer without sleeping", "[limiter][throttle]")
{
    Fixture f;
    REQUIRE(f.throttle.before_run() == RunDecision::Run);
    f.run(10ms, 150ms); // the guest halted most of the time
    CHECK(f.throttle.before_run() == RunDecision::Run);
    CHECK(f.sleeper.deadlines.empty());
    CHECK(f.timer.arms == Arms{25ms, 25ms});
    CHECK(f.throttle.budget().period_start() == 1100ms);
}

TEST_CASE("throttle: a signal during the sleep returns Interrupted and the next call sleeps on",
          "[limiter][throttle]")
{
    Fixture f;
    REQUIRE(f.throttle.before_run() == RunDecision::Run);
    f.run(25ms, 32ms);
    f.sleeper.interrupt_at = 1050ms;
    CHECK(f.throttle.before_run() == RunDecision::Interrupted);
    CHECK(f.timer.arms == Arms{25ms});
    CHECK(f.throttle.throttled_time() == 18ms);
    CHECK(f.throttle.before_run() == RunDecision::Run);
    CHECK(f.sleeper.deadlines == std::vector<Nanos>{1100ms, 1100ms});
    CHECK(f.throttle.throttled_time() == 68ms);
    CHECK(f.timer.arms == Arms{25ms, 25ms});
}

TEST_CASE("throttle: debt above a whole budget sleeps through several periods",
          "[limiter][throttle]")
{
    Fixture f;
    REQUIRE(f.throttle.before_run() == RunDecision::Run);
    f.run(60ms, 60ms);
    CHECK(f.throttle.before_run() == RunDecision::Run);
    CHECK(f.sleeper.deadlines == std::vector<Nanos>{1100ms, 1200ms});
    CHECK(f.timer.arms == Arms{25ms, 15ms});
    CHECK(f.throttle.throttled_time() == 140ms);
}
