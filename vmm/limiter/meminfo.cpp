// parse_mem_available / read_host_mem_available: the host's available memory.
#include "vmm/limiter/meminfo.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "vmm/base/sys_error.hpp"
#include "vmm/base/unique_fd.hpp"

namespace minivmm::limiter {

namespace {

std::string_view trim(std::string_view text)
{
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
        text.remove_suffix(1);
    return text;
}

} // namespace

std::optional<std::uint64_t> parse_mem_available(std::string_view meminfo)
{
    constexpr std::string_view kKey = "MemAvailable:";
    while (!meminfo.empty()) {
        const auto newline = meminfo.find('\n');
        std::string_view line = meminfo.substr(0, newline);
        meminfo.remove_prefix(newline == std::string_view::npos ? meminfo.size() : newline + 1);
        if (!line.starts_with(kKey))
            continue;
        line = trim(line.substr(kKey.size()));
        // proc(5): the values of /proc/meminfo are in kibibytes, printed with a "kB" suffix.
        if (!line.ends_with("kB"))
            return std::nullopt;
        line = trim(line.substr(0, line.size() - 2));
        if (line.empty() || line.size() > 18)
            return std::nullopt;
        std::uint64_t kib = 0;
        for (char c : line) {
            if (c < '0' || c > '9')
                return std::nullopt;
            kib = kib * 10 + static_cast<std::uint64_t>(c - '0');
        }
        if (kib > UINT64_MAX / 1024)
            return std::nullopt;
        return kib * 1024;
    }
    return std::nullopt;
}

std::uint64_t read_host_mem_available()
{
    UniqueFd fd(::open("/proc/meminfo", O_RDONLY | O_CLOEXEC));
    if (!fd)
        throw SysError("open /proc/meminfo");
    std::string text;
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw SysError("read /proc/meminfo");
        }
        if (n == 0)
            break;
        text.append(buffer, static_cast<std::size_t>(n));
    }
    auto available = parse_mem_available(text);
    if (!available)
        throw SysError("/proc/meminfo has no MemAvailable line", ENODATA);
    return *available;
}

} // namespace minivmm::limiter
