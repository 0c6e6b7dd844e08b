// parse_size: exact decimal sizes with binary unit suffixes.
#include "vmm/limiter/size_parser.hpp"

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"
#include "vmm/limiter/decimal_number.hpp"

namespace minivmm::limiter {

namespace {

[[noreturn]] void reject(std::string_view text, std::string_view why)
{
    throw UserError(fmt::format("invalid size \"{}\": {} (examples: 4096, 512M, 1.5G, 2GiB)",
                                text, why));
}

// Returns the multiplier for the suffix, or 0 when it is not one we know.
std::uint64_t unit_of(std::string_view suffix)
{
    if (suffix.empty())
        return 1;
    std::uint64_t unit = 0;
    switch (suffix.front()) {
    case 'b': case 'B': return suffix.size() == 1 ? 1 : 0;
    case 'k': case 'K': unit = std::uint64_t{1} << 10; break;
    case 'm': case 'M': unit = std::uint64_t{1} << 20; break;
    case 'g': case 'G': unit = std::uint64_t{1} << 30; break;
    case 't': case 'T': unit = std::uint64_t{1} << 40; break;
    default: return 0;
    }
    suffix.remove_prefix(1);
    if (suffix.empty() || suffix == "B" || suffix == "b" || suffix == "iB" || suffix == "ib")
        return unit;
    return 0;
}

} // namespace

std::uint64_t parse_size(std::string_view text)
{
    if (text.empty())
        reject(text, "it is empty");
    if (text.front() == '-')
        reject(text, "a size cannot be negative");
    std::string_view rest = text;
    auto number = DecimalNumber::parse_prefix(rest);
    if (!number)
        reject(text, "expected a number of bytes with an optional K, M, G or T suffix");
    const std::uint64_t unit = unit_of(rest);
    if (unit == 0)
        reject(text, fmt::format("unknown unit \"{}\", use K, M, G or T", rest));
    if (unit == 1 && !number->is_whole())
        reject(text, "a byte count must be a whole number");
    auto bytes = number->scaled(unit);
    if (!bytes)
        reject(text, "it does not fit in 64 bits");
    return *bytes;
}

} // namespace minivmm::limiter
