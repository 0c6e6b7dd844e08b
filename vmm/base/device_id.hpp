// Device ids (`--disk ...,id=NAME`, `--net ...,id=NAME`): how the control API, the limits report
// and --metrics name a device. One rule for every place that accepts one.
#pragma once

#include <string_view>

namespace minivmm {

// 1 to 32 of [A-Za-z0-9_-]: safe in a URL path segment, a JSON key and a report column.
constexpr bool valid_device_id(std::string_view id)
{
    if (id.empty() || id.size() > 32)
        return false;
    for (char c : id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

} // namespace minivmm
