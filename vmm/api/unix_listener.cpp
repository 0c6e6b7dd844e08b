// The API's listening Unix socket (unix_listener.hpp): unix(7), "Pathname sockets".
#include "vmm/api/unix_listener.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"

namespace minivmm::api {

namespace {
sockaddr_un address_of(const std::string& path)
{
    sockaddr_un address {};
    address.sun_family = AF_UNIX;
    // unix(7): sun_path holds at most 107 bytes and the terminating NUL.
    if (path.empty() || path.size() >= sizeof address.sun_path)
        throw UserError(fmt::format("--api-socket {}: the path must be 1 to {} bytes", path, sizeof address.sun_path - 1));
    std::memcpy(address.sun_path, path.data(), path.size());
    return address;
}

// True when nothing serves the socket at `address` (connect() refused): a leftover of a VM that
// died without cleaning up.
bool stale_socket(const sockaddr_un& address)
{
    UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!probe)
        throw SysError("socket(AF_UNIX)");
    if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0)
        return false;
    return errno == ECONNREFUSED;
}
} // namespace

UnixListener::UnixListener(UniqueFd fd, std::string path, dev_t device, ino_t inode)
    : m_fd(std::move(fd))
    , m_path(std::move(path))
    , m_device(device)
    , m_inode(inode)
{
}

UnixListener::UnixListener(UnixListener&& other) noexcept
    : m_fd(std::move(other.m_fd))
    , m_path(std::exchange(other.m_path, {}))
    , m_device(other.m_device)
    , m_inode(other.m_inode)
{
}

UnixListener UnixListener::bind(const std::string& path)
{
    const sockaddr_un address = address_of(path);
    struct stat existing {};
    if (::lstat(path.c_str(), &existing) == 0) {
        if (!S_ISSOCK(existing.st_mode))
            throw UserError(fmt::format("--api-socket {}: the path exists and is not a socket; refusing to replace it", path));
        if (!stale_socket(address))
            throw UserError(fmt::format("--api-socket {}: another process is serving this socket", path));
        if (::unlink(path.c_str()) < 0 && errno != ENOENT)
            throw SysError(fmt::format("unlink stale socket {}", path));
    } else if (errno != ENOENT) {
        throw SysError(fmt::format("--api-socket {}: lstat", path));
    }

    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd)
        throw SysError("socket(AF_UNIX)");
    // The socket file takes its mode from the umask at bind(2) (unix(7)): 0600 from the start,
    // never a moment of wider access. Only the main thread exists when the listener is made.
    const mode_t previous = ::umask(0177);
    const int bound = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address);
    const int bind_errno = errno;
    ::umask(previous);
    if (bound < 0)
        throw SysError(fmt::format("--api-socket {}: bind", path), bind_errno);
    struct stat created {};
    if (::lstat(path.c_str(), &created) < 0 || ::chmod(path.c_str(), 0600) < 0) {
        const int error = errno;
        ::unlink(path.c_str());
        throw SysError(fmt::format("--api-socket {}: stat/chmod", path), error);
    }
    UnixListener listener(std::move(fd), path, created.st_dev, created.st_ino);
    if (::listen(listener.fd(), 16) < 0)
        throw SysError(fmt::format("--api-socket {}: listen", path));
    return listener;
}

UnixListener::~UnixListener()
{
    if (m_path.empty())
        return;
    // Only our own socket: someone may have replaced the path since (then it is theirs).
    struct stat now {};
    if (::lstat(m_path.c_str(), &now) == 0 && now.st_dev == m_device && now.st_ino == m_inode)
        ::unlink(m_path.c_str());
}

} // namespace minivmm::api
