// Interface names as the kernel accepts them: 1..IFNAMSIZ-1 bytes, not "." or "..", no '/', ':'
// or whitespace (net/core/dev.c dev_valid_name(); netdevice(7) "IFNAMSIZ").
#pragma once

#include <string_view>

namespace minivmm::net {

// Throws UserError ("switch name 'x...': longer than 15 characters (IFNAMSIZ)") when `name` is
// not a valid interface name; `role` says what the name is for ("switch name", "port name").
void check_interface_name(std::string_view name, std::string_view role);

} // namespace minivmm::net
