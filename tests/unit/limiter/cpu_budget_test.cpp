// Tests for CpuBudget: budget = share * period, charging, period rolls on a fixed grid, debt.
#include <catch2/catch.hpp>

#include "vmm/limiter/cpu_budget.hpp"

using namespace minivmm::limiter;
using namespace std::chrono_literals;

TEST_CASE("cpu budget: share * period per period, spent by charges", "[limiter][cpu_budget]")
{
    CpuBudget budget(0.25, 100ms, 0ms);
    CHECK(budget.budget() == 25ms);
    CHECK(budget.remaining() == 25ms);
    budget.charge(10ms);
    CHECK(budget.remaining() == 15ms);
    CHECK_FALSE(budget.exhausted());
    CHECK(budget.sleep_time(40ms) == 0ms);
    budget.charge(15ms);
    CHECK(budget.exhausted());
    CHECK(budget.remaining() == 0ms);
}

TEST_CASE("cpu budget: a spent budget sleeps exactly to the period's end", "[limiter][cpu_budget]")
{
    CpuBudget budget(0.25, 100ms, 1000ms);
    budget.charge(25ms);
    CHECK(budget.period_end() == 1100ms);
    CHECK(budget.sleep_time(1040ms) == 60ms);
    CHECK(budget.sleep_time(1099ms) == 1ms);
}

TEST_CASE("cpu budget: a new period refills the budget", "[limiter][cpu_budget]")
{
    CpuBudget budget(0.25, 100ms, 0ms);
    budget.charge(25ms);
    budget.advance_to(99ms);
    CHECK(budget.period_index() == 0);
    CHECK(budget.exhausted());
    budget.advance_to(100ms);
    CHECK(budget.period_index() == 1);
    CHECK(budget.period_start() == 100ms);
    CHECK(budget.remaining() == 25ms);
}

TEST_CASE("cpu budget: idle periods are not saved up and periods stay on the grid",
          "[limiter][cpu_budget]")
{
    CpuBudget budget(0.25, 100ms, 0ms);
    budget.advance_to(357ms);
    CHECK(budget.period_index() == 3);
    CHECK(budget.period_start() == 300ms);
    CHECK(budget.period_end() == 400ms);
    CHECK(budget.remaining() == 25ms);
}

TEST_CASE("cpu budget: an overshoot is carried as debt into the next periods",
          "[limiter][cpu_budget]")
{
    CpuBudget budget(0.25, 100ms, 0ms);
    budget.charge(30ms);
    budget.advance_to(100ms);
    CHECK(budget.used() == 5ms);
    CHECK(budget.remaining() == 20ms);

    CpuBudget deep(0.25, 100ms, 0ms);
    deep.charge(80ms);
    deep.advance_to(100ms);
    CHECK(deep.used() == 55ms);
    CHECK(deep.exhausted());
    deep.advance_to(300ms); // two more periods forgive 50 ms
    CHECK(deep.used() == 5ms);
    CHECK(deep.remaining() == 20ms);
}
