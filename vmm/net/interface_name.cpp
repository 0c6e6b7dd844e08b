#include "vmm/net/interface_name.hpp"

#include <fmt/format.h>
#include <net/if.h>

#include <algorithm>
#include <cctype>

#include "vmm/base/sys_error.hpp"

namespace minivmm::net {

void check_interface_name(std::string_view name, std::string_view role)
{
    if (name.empty())
        throw UserError(fmt::format("{} is empty", role));
    if (name.size() >= IFNAMSIZ)
        throw UserError(fmt::format("{} '{}' is {} characters: an interface name is at most {} (IFNAMSIZ)", role, name,
            name.size(), IFNAMSIZ - 1));
    if (name == "." || name == "..")
        throw UserError(fmt::format("{} '{}' is not a valid interface name", role, name));
    const bool bad_character = std::any_of(name.begin(), name.end(),
        [](char c) { return c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)) || c == '\0'; });
    if (bad_character)
        throw UserError(fmt::format("{} '{}': an interface name has no '/', ':' or spaces", role, name));
}

} // namespace minivmm::net
