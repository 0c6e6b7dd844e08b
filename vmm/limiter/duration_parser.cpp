// parse_duration: exact decimal durations with a required unit.
#include "vmm/limiter/duration_parser.hpp"

#include <cstdint>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"
#include "vmm/limiter/decimal_number.hpp"

namespace minivmm::limiter {

namespace {

[[noreturn]] void reject(std::string_view text, std::string_view why)
{
    throw UserError(fmt::format("invalid duration \"{}\": {} (examples: 100ms, 0.5s, 250us)",
                                text, why));
}

} // namespace

Nanos parse_duration(std::string_view text)
{
    if (text.empty())
        reject(text, "it is empty");
    if (text.front() == '-')
        reject(text, "a duration cannot be negative");
    std::string_view rest = text;
    auto number = DecimalNumber::parse_prefix(rest);
    if (!number)
        reject(text, "expected a number followed by ns, us, ms or s");
    std::uint64_t unit = 0;
    if (rest == "ns")
        unit = 1;
    else if (rest == "us")
        unit = 1'000;
    else if (rest == "ms")
        unit = 1'000'000;
    else if (rest == "s")
        unit = 1'000'000'000;
    else
        reject(text, rest.empty() ? "the unit is missing, add ns, us, ms or s"
                                  : fmt::format("unknown unit \"{}\", use ns, us, ms or s", rest));
    auto ns = number->scaled(unit);
    if (!ns || *ns > static_cast<std::uint64_t>(INT64_MAX))
        reject(text, "it is too long");
    return Nanos(static_cast<Nanos::rep>(*ns));
}

} // namespace minivmm::limiter
