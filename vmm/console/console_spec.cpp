// ConsoleSpec: parsing of the `--serial` value.
#include "vmm/console/console_spec.hpp"

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"

namespace minivmm {

ConsoleSpec ConsoleSpec::parse(std::string_view value)
{
    constexpr std::string_view kFilePrefix = "file:";
    if (value == "stdio")
        return {Kind::Stdio, {}};
    if (value == "none")
        return {Kind::None, {}};
    if (value.starts_with(kFilePrefix)) {
        const std::string_view path = value.substr(kFilePrefix.size());
        if (path.empty())
            throw UserError("--serial file: needs a path, e.g. --serial file:console.log");
        return {Kind::File, std::string(path)};
    }
    throw UserError(fmt::format("--serial '{}' is not valid: use stdio, file:PATH or none", value));
}

} // namespace minivmm
