// Validation of the jail options (sandbox_config.hpp).
#include "vmm/sandbox/sandbox_config.hpp"

#include <charconv>
#include <cstdint>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"

namespace minivmm::sandbox {

namespace {
std::uint32_t parse_id(const char* option, const std::string& text)
{
    std::uint64_t value = 0;
    const char* end = text.data() + text.size();
    const auto [stop, error] = std::from_chars(text.data(), end, value);
    // 0xffffffff is (uid_t)-1, which setuid/setgid read as "leave unchanged".
    if (text.empty() || error != std::errc() || stop != end || value >= 0xffff'ffffull)
        throw UserError(fmt::format("{} {}: expected a numeric id between 0 and 4294967294", option, text));
    return static_cast<std::uint32_t>(value);
}
} // namespace

std::optional<JailSpec> parse_jail_options(const std::string& directory, const std::string& uid, const std::string& gid)
{
    const int given = int(!directory.empty()) + int(!uid.empty()) + int(!gid.empty());
    if (given == 0)
        return std::nullopt;
    if (given != 3)
        throw UserError("--jail, --uid and --gid go together: give all three (--jail DIR --uid U --gid G)");
    if (directory.front() != '/')
        throw UserError(fmt::format("--jail {}: must be an absolute path", directory));
    return JailSpec {directory, parse_id("--uid", uid), parse_id("--gid", gid)};
}

} // namespace minivmm::sandbox
