// parse_duration: the durations users type (--cpu-period 100ms), with a mandatory unit.
#pragma once

#include <string_view>

#include "vmm/limiter/clock.hpp"

namespace minivmm::limiter {

// Grammar: DIGITS[.DIGITS](ns|us|ms|s): "100ms", "0.5s", "250us". The unit is required so that
// "100" is never silently read as 100 ns or 100 s. Fractions are rounded down to whole
// nanoseconds. Throws UserError for anything else, or for more than 2^63 - 1 ns.
Nanos parse_duration(std::string_view text);

} // namespace minivmm::limiter
