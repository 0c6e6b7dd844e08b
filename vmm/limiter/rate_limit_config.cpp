// parse_rate_limit: "bw=50M,iops=2000,burst=..." into bucket configurations.
#include "vmm/limiter/rate_limit_config.hpp"

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"
#include "vmm/limiter/decimal_number.hpp"
#include "vmm/limiter/size_parser.hpp"

namespace minivmm::limiter {

namespace {

constexpr std::string_view kForm = "expected bw=SIZE,iops=N[,burst=SIZE][,iops-burst=N], e.g. "
                                   "bw=50M,iops=2000";

[[noreturn]] void reject(std::string_view text, std::string_view why)
{
    throw UserError(fmt::format("invalid rate limit \"{}\": {}; {}", text, why, kForm));
}

std::uint64_t parse_count(std::string_view text, std::string_view item)
{
    std::string_view rest = item;
    auto number = DecimalNumber::parse_prefix(rest);
    if (!number || !rest.empty() || !number->is_whole())
        reject(text, fmt::format("\"{}\" is not a whole number", item));
    return number->integer;
}

std::uint64_t parse_size_in(std::string_view text, std::string_view item)
{
    try {
        return parse_size(item);
    } catch (const UserError& error) {
        reject(text, error.what());
    }
}

} // namespace

RateLimitConfig parse_rate_limit(std::string_view text)
{
    std::optional<std::uint64_t> bw, iops, burst, iops_burst;
    if (text.empty())
        reject(text, "it is empty");
    std::string_view rest = text;
    for (;;) {
        const auto comma = rest.find(',');
        const std::string_view item = rest.substr(0, comma);
        rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 1);
        const auto equals = item.find('=');
        if (equals == std::string_view::npos)
            reject(text, fmt::format("item \"{}\" is not KEY=VALUE", item));
        const std::string_view key = item.substr(0, equals);
        const std::string_view value = item.substr(equals + 1);
        std::optional<std::uint64_t>* slot = nullptr;
        bool is_size = false;
        if (key == "bw") {
            slot = &bw;
            is_size = true;
        } else if (key == "iops") {
            slot = &iops;
        } else if (key == "burst") {
            slot = &burst;
            is_size = true;
        } else if (key == "iops-burst") {
            slot = &iops_burst;
        } else {
            reject(text, fmt::format("unknown key \"{}\"", key));
        }
        if (*slot)
            reject(text, fmt::format("\"{}\" is given twice", key));
        *slot = is_size ? parse_size_in(text, value) : parse_count(text, value);
        if (comma == std::string_view::npos)
            break;
    }
    if (!bw && !iops)
        reject(text, "it sets neither bw nor iops");
    if (bw && *bw == 0)
        reject(text, "bw must be above 0 (leave it out for no bandwidth limit)");
    if (iops && *iops == 0)
        reject(text, "iops must be above 0 (leave it out for no request limit)");
    if (burst && !bw)
        reject(text, "burst applies to bw, which is not set");
    if (iops_burst && !iops)
        reject(text, "iops-burst applies to iops, which is not set");
    if (bw && *bw > static_cast<std::uint64_t>(INT64_MAX))
        reject(text, "bw is too large");

    RateLimitConfig config;
    if (bw)
        config.bytes = BucketConfig{*bw, *bw, burst.value_or(0)};
    if (iops)
        config.ops = BucketConfig{*iops, *iops, iops_burst.value_or(0)};
    return config;
}

} // namespace minivmm::limiter
