#include "devices/virtio/blk/disk_spec.hpp"

#include <linux/virtio_blk.h>

#include <fmt/format.h>

#include "vmm/base/device_id.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/limiter/rate_limit_config.hpp"

namespace minivmm::virtio {
namespace {

bool parse_on_off(std::string_view key, std::string_view value)
{
    if (value == "on")
        return true;
    if (value == "off")
        return false;
    throw UserError(fmt::format("--disk: {}={} is not on or off", key, value));
}

} // namespace

DiskSpec parse_disk_spec(std::string_view text)
{
    DiskSpec spec;
    bool have_path = false;
    while (!text.empty()) {
        const auto comma = text.find(',');
        const std::string_view item = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        const auto equals = item.find('=');
        if (equals == std::string_view::npos)
            throw UserError(fmt::format("--disk: '{}' is not key=value", item));
        const std::string_view key = item.substr(0, equals);
        const std::string_view value = item.substr(equals + 1);
        if (key == "path") {
            if (value.empty())
                throw UserError("--disk: path is empty");
            spec.path = value;
            have_path = true;
        } else if (key == "readonly") {
            spec.access = parse_on_off(key, value) ? DiskAccess::ReadOnly : DiskAccess::ReadWrite;
        } else if (key == "direct") {
            spec.cache = parse_on_off(key, value) ? DiskCache::Direct : DiskCache::Buffered;
        } else if (key == "serial") {
            if (value.size() > VIRTIO_BLK_ID_BYTES)
                throw UserError(fmt::format("--disk: serial '{}' is longer than {} bytes", value, VIRTIO_BLK_ID_BYTES));
            spec.serial = value;
        } else if (key == "engine") {
            if (value == "sync")
                spec.engine = DiskEngine::Sync;
            else if (value == "uring")
                spec.engine = DiskEngine::Uring;
            else
                throw UserError(fmt::format("--disk: engine={} is not sync or uring", value));
        } else if (key == "id") {
            if (!valid_device_id(value))
                throw UserError(fmt::format("--disk: id='{}' must be 1 to 32 of A-Z a-z 0-9 _ -", value));
            spec.id = value;
        } else if (key == "bw" || key == "iops" || key == "burst" || key == "iops-burst") {
            spec.rate_limit += (spec.rate_limit.empty() ? "" : ",") + std::string(item);
        } else {
            throw UserError(fmt::format(
                "--disk: unknown key '{}' (expected path, readonly, serial, direct, engine, id, bw, iops, burst, iops-burst)", key));
        }
    }
    if (!have_path)
        throw UserError("--disk: path=FILE is required");
    if (!spec.rate_limit.empty())
        (void)limiter::parse_rate_limit(spec.rate_limit); // one clear error now, not at boot
    return spec;
}

} // namespace minivmm::virtio
