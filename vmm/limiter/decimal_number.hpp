// DecimalNumber: the "123.45" part of a size, duration or CPU count the user typed, kept exact
// (no floating point) so that "1.5G" is exactly 1610612736 bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace minivmm::limiter {

struct DecimalNumber {
    std::uint64_t integer = 0;
    std::uint64_t fraction = 0;        // the digits after the point, as an integer
    unsigned fraction_digits = 0;      // how many there were ("05" -> fraction 5, 2 digits)

    // Parses the longest prefix of `text` of the form DIGITS[.DIGITS] and removes it from `text`.
    // nullopt when there is no digit before the point, no digit after a point, an integer part
    // above 2^64 - 1, or more than 18 digits after the point.
    static std::optional<DecimalNumber> parse_prefix(std::string_view& text);

    // integer.fraction * unit, rounded down; nullopt when the result does not fit in 64 bits.
    [[nodiscard]] std::optional<std::uint64_t> scaled(std::uint64_t unit) const;
    [[nodiscard]] bool is_whole() const { return fraction == 0; }
    [[nodiscard]] double to_double() const;
};

} // namespace minivmm::limiter
