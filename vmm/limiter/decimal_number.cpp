// DecimalNumber: exact parsing and scaling of user-typed decimal numbers.
#include "vmm/limiter/decimal_number.hpp"

namespace minivmm::limiter {

namespace {

constexpr unsigned kMaxFractionDigits = 18; // 10^18 < 2^63: the divisor stays exact

// Digits into `value`; nullopt when they overflow 64 bits or exceed `max_digits`.
std::optional<std::uint64_t> take_digits(std::string_view& text, unsigned& count,
                                         unsigned max_digits)
{
    std::uint64_t value = 0;
    count = 0;
    while (!text.empty() && text.front() >= '0' && text.front() <= '9') {
        if (++count > max_digits)
            return std::nullopt;
        if (__builtin_mul_overflow(value, 10u, &value)
            || __builtin_add_overflow(value, static_cast<unsigned>(text.front() - '0'), &value))
            return std::nullopt;
        text.remove_prefix(1);
    }
    return value;
}

std::uint64_t power_of_ten(unsigned exponent)
{
    std::uint64_t value = 1;
    for (unsigned i = 0; i < exponent; ++i)
        value *= 10;
    return value;
}

} // namespace

std::optional<DecimalNumber> DecimalNumber::parse_prefix(std::string_view& text)
{
    DecimalNumber number;
    unsigned integer_digits = 0;
    auto integer = take_digits(text, integer_digits, UINT32_MAX);
    if (!integer || integer_digits == 0)
        return std::nullopt;
    number.integer = *integer;
    if (!text.empty() && text.front() == '.') {
        text.remove_prefix(1);
        auto fraction = take_digits(text, number.fraction_digits, kMaxFractionDigits);
        if (!fraction || number.fraction_digits == 0)
            return std::nullopt;
        number.fraction = *fraction;
    }
    return number;
}

std::optional<std::uint64_t> DecimalNumber::scaled(std::uint64_t unit) const
{
    using Wide = unsigned __int128;
    const Wide whole = static_cast<Wide>(integer) * unit;
    const Wide part = static_cast<Wide>(fraction) * unit / power_of_ten(fraction_digits);
    const Wide total = whole + part;
    if (total > UINT64_MAX)
        return std::nullopt;
    return static_cast<std::uint64_t>(total);
}

double DecimalNumber::to_double() const
{
    return static_cast<double>(integer)
        + static_cast<double>(fraction) / static_cast<double>(power_of_ten(fraction_digits));
}

} // namespace minivmm::limiter
