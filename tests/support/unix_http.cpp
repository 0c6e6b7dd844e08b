// The test-side control API client (unix_http.hpp).
#include "tests/support/unix_http.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace minivmm::testing {

std::optional<HttpReply> http_exchange(const std::string& socket_path, const std::string& raw)
{
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return std::nullopt;
    sockaddr_un address {};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) {
        ::close(fd);
        return std::nullopt;
    }
    // The server may answer (and close) before reading a refused body: later sends can fail.
    for (std::size_t sent = 0; sent < raw.size();) {
        const ssize_t n = ::send(fd, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        sent += static_cast<std::size_t>(n);
    }
    std::string response;
    char buffer[8192];
    for (;;) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0)
            break;
        response.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    const auto head_end = response.find("\r\n\r\n");
    if (head_end == std::string::npos || response.size() < 12 || response.compare(0, 7, "HTTP/1.") != 0)
        return std::nullopt;
    HttpReply reply;
    reply.status = std::atoi(response.substr(9, 3).c_str());
    reply.body = response.substr(head_end + 4);
    return reply;
}

std::optional<HttpReply> http_call(const std::string& socket_path, const std::string& method, const std::string& path,
    const std::string& body)
{
    std::string raw = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
    if (!body.empty())
        raw += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    raw += "\r\n" + body;
    return http_exchange(socket_path, raw);
}

} // namespace minivmm::testing
