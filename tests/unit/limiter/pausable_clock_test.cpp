// PausableClock (vmm/limiter/pausable_clock.hpp): stands still while paused, never jumps.
#include <catch2/catch.hpp>

#include "tests/unit/limiter/manual_clock.hpp"
#include "vmm/limiter/pausable_clock.hpp"

using minivmm::limiter::Nanos;
using minivmm::limiter::PausableClock;
using minivmm::testing::ManualClock;
using namespace std::chrono_literals;

TEST_CASE("pausable clock: follows its base, stands still over a pause, then carries on", "[limiter][pause]")
{
    ManualClock base(Nanos(1s));
    PausableClock clock(base);
    CHECK(clock.now() == 1s);
    base.advance(2s);
    CHECK(clock.now() == 3s);
    clock.pause();
    base.advance(10s);
    CHECK(clock.now() == 3s);
    clock.pause(); // a second pause changes nothing
    base.advance(1s);
    clock.resume();
    CHECK(clock.now() == 3s);
    base.advance(500ms);
    CHECK(clock.now() == 3500ms);
    clock.resume(); // resume without a pause changes nothing
    CHECK(clock.now() == 3500ms);
}
