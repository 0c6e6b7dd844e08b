// The gdb stub's listening socket (gdb_listener.hpp): ip(7)/tcp(7) on a numeric address, or
// unix(7) "Pathname sockets".
#include "vmm/gdb/gdb_listener.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"

namespace minivmm::gdb {

namespace {
constexpr std::string_view kUsage = "--gdb {}: expected tcp:HOST:PORT (a numeric IPv4 address or localhost) or unix:PATH";

UniqueFd bind_tcp(const std::string& spec, std::string_view host_port, std::string& address_text)
{
    const auto colon = host_port.rfind(':');
    if (colon == std::string_view::npos)
        throw UserError(fmt::format(fmt::runtime(kUsage), spec));
    std::string host(host_port.substr(0, colon));
    const std::string_view port_text = host_port.substr(colon + 1);
    unsigned port = 0;
    const auto parsed = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || parsed.ec != std::errc() || parsed.ptr != port_text.data() + port_text.size() || port > 65535)
        throw UserError(fmt::format("--gdb {}: the port must be a number from 0 to 65535", spec));
    if (host == "localhost")
        host = "127.0.0.1";
    sockaddr_in address {};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1)
        throw UserError(fmt::format(fmt::runtime(kUsage), spec));
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd)
        throw SysError("socket(AF_INET)");
    const int one = 1;
    // A gdb port is reused run after run; TIME_WAIT of the last session must not block it.
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0)
        throw SysError(fmt::format("--gdb {}: bind", spec));
    socklen_t length = sizeof address;
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length) < 0)
        throw SysError("getsockname");
    address_text = fmt::format("tcp:{}:{}", host, ntohs(address.sin_port));
    return fd;
}

UniqueFd bind_unix(const std::string& spec, const std::string& path)
{
    sockaddr_un address {};
    address.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof address.sun_path)
        throw UserError(fmt::format("--gdb {}: the path must be 1 to {} bytes", spec, sizeof address.sun_path - 1));
    std::memcpy(address.sun_path, path.data(), path.size());
    struct stat existing {};
    if (::lstat(path.c_str(), &existing) == 0) {
        if (!S_ISSOCK(existing.st_mode))
            throw UserError(fmt::format("--gdb {}: the path exists and is not a socket; refusing to replace it", spec));
        UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!probe)
            throw SysError("socket(AF_UNIX)");
        if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 || errno != ECONNREFUSED)
            throw UserError(fmt::format("--gdb {}: another process is serving this socket", spec));
        if (::unlink(path.c_str()) < 0 && errno != ENOENT)
            throw SysError(fmt::format("unlink stale socket {}", path));
    }
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd)
        throw SysError("socket(AF_UNIX)");
    // Whoever connects controls the guest: the file is 0600 from bind(2) on (unix(7)).
    const mode_t previous = ::umask(0177);
    const int bound = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address);
    ::umask(previous);
    if (bound < 0)
        throw SysError(fmt::format("--gdb {}: bind", spec));
    return fd;
}
} // namespace

GdbListener::GdbListener(UniqueFd fd, std::string address, std::string unix_path)
    : m_fd(std::move(fd))
    , m_address(std::move(address))
    , m_unix_path(std::move(unix_path))
{
}

GdbListener GdbListener::bind(const std::string& spec)
{
    UniqueFd fd;
    std::string address;
    std::string unix_path;
    if (spec.starts_with("tcp:")) {
        fd = bind_tcp(spec, std::string_view(spec).substr(4), address);
    } else if (spec.starts_with("unix:")) {
        unix_path = spec.substr(5);
        fd = bind_unix(spec, unix_path);
        address = spec;
    } else {
        throw UserError(fmt::format(fmt::runtime(kUsage), spec));
    }
    // One debugger at a time; a second waits in the backlog until the first leaves.
    if (::listen(fd.get(), 1) < 0)
        throw SysError(fmt::format("--gdb {}: listen", spec));
    return GdbListener(std::move(fd), std::move(address), std::move(unix_path));
}

GdbListener::~GdbListener()
{
    if (m_fd && !m_unix_path.empty())
        ::unlink(m_unix_path.c_str());
}

} // namespace minivmm::gdb
