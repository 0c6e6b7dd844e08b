// The ctl client's HTTP/1.1 exchange (ctl_client.hpp; RFC 9112 "HTTP/1.1": status line, header
// fields, Content-Length framing).
#include "vmm/cli/ctl_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "vmm/base/unique_fd.hpp"

namespace minivmm::cli {

namespace {
// Answers are JSON reports of a few KiB; anything this large is not from minivmm.
constexpr std::size_t kMaxAnswerBytes = 16 << 20;

std::string lowercase(std::string_view text)
{
    std::string out(text);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}
} // namespace

HttpAnswer parse_http_answer(std::string_view response)
{
    const auto header_end = response.find("\r\n\r\n");
    if (header_end == std::string_view::npos)
        throw CtlError(CtlExit::VmEnded, "the VM closed the connection before it answered");
    const std::string_view head = response.substr(0, header_end);
    std::string_view body = response.substr(header_end + 4);
    // Status line: HTTP-version SP status-code SP [reason-phrase] (RFC 9112 §4).
    if (!head.starts_with("HTTP/1.") || head.size() < 12 || head[8] != ' ')
        throw CtlError(CtlExit::VmEnded, "the answer is not HTTP/1.1");
    HttpAnswer answer;
    const auto [end, error] = std::from_chars(head.data() + 9, head.data() + 12, answer.status);
    if (error != std::errc {} || end != head.data() + 12 || answer.status < 100 || answer.status > 599)
        throw CtlError(CtlExit::VmEnded, "the answer has no valid status code");
    // Content-Length, when given, frames the body (a shorter body means the VM went away).
    std::size_t line_start = head.find("\r\n");
    while (line_start != std::string_view::npos) {
        const std::size_t next = head.find("\r\n", line_start + 2);
        const std::string_view line = head.substr(line_start + 2, next == std::string_view::npos ? std::string_view::npos : next - line_start - 2);
        const auto colon = line.find(':');
        if (colon != std::string_view::npos && lowercase(line.substr(0, colon)) == "content-length") {
            std::string_view value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ')
                value.remove_prefix(1);
            std::size_t length = 0;
            const auto [last, bad] = std::from_chars(value.data(), value.data() + value.size(), length);
            if (bad != std::errc {} || length > kMaxAnswerBytes)
                throw CtlError(CtlExit::VmEnded, "the answer has a bad Content-Length");
            if (body.size() < length)
                throw CtlError(CtlExit::VmEnded, "the VM closed the connection in the middle of its answer");
            body = body.substr(0, length);
        }
        line_start = next;
    }
    answer.body = body;
    return answer;
}

HttpAnswer http_request(const std::string& socket_path, std::string_view method, std::string_view path,
    std::string_view body)
{
    sockaddr_un address {};
    address.sun_family = AF_UNIX;
    if (socket_path.empty() || socket_path.size() >= sizeof address.sun_path)
        throw CtlError(CtlExit::NoSocket, fmt::format("{}: not a usable socket path", socket_path));
    std::memcpy(address.sun_path, socket_path.data(), socket_path.size());
    struct stat status {};
    if (::stat(socket_path.c_str(), &status) < 0)
        throw CtlError(CtlExit::NoSocket, fmt::format("{}: {} (is the VM running with --api-socket?)", socket_path, std::strerror(errno)));
    if (!S_ISSOCK(status.st_mode))
        throw CtlError(CtlExit::NoSocket, fmt::format("{}: not a socket", socket_path));

    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd)
        throw CtlError(CtlExit::NoSocket, fmt::format("socket: {}", std::strerror(errno)));
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) {
        const int error = errno;
        if (error == ECONNREFUSED || error == ENOENT)
            throw CtlError(CtlExit::VmEnded, fmt::format("{}: no VM serves this socket (it has ended)", socket_path));
        throw CtlError(CtlExit::NoSocket, fmt::format("{}: connect: {}", socket_path, std::strerror(error)));
    }
    std::string request = fmt::format("{} {} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n", method, path);
    if (!body.empty())
        request += fmt::format("Content-Type: application/json\r\nContent-Length: {}\r\n", body.size());
    request += "\r\n";
    request += body;
    for (std::size_t sent = 0; sent < request.size();) {
        const ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throw CtlError(CtlExit::VmEnded, fmt::format("{}: the VM hung up ({})", socket_path, std::strerror(errno)));
        sent += static_cast<std::size_t>(n);
    }
    std::string response;
    char buffer[16384];
    for (;;) {
        const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw CtlError(CtlExit::VmEnded, fmt::format("{}: the VM hung up ({})", socket_path, std::strerror(errno)));
        if (n == 0)
            break;
        response.append(buffer, static_cast<std::size_t>(n));
        if (response.size() > kMaxAnswerBytes)
            throw CtlError(CtlExit::VmEnded, "the answer is too large to be from minivmm");
    }
    return parse_http_answer(response);
}

} // namespace minivmm::cli
