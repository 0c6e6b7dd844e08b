#include "vmm/base/sys_error.hpp"

#include <cstring>

#include <fmt/format.h>

namespace minivmm {

SysError::SysError(std::string_view what, int error)
    : std::runtime_error(fmt::format("{}: {}", what, std::strerror(error)))
    , m_error(error)
{
}

} // namespace minivmm
