// The control API's HTTP server (api_server.hpp) on libmicrohttpd 0.9.75 (Debian 12): RFC 9112
// (HTTP/1.1) framing is MHD's; this file collects each request's body, enforces the size limit
// and turns handler answers and failures into JSON responses.
#include "vmm/api/api_server.hpp"

#include <poll.h>
#include <time.h>

#include <microhttpd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstring>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "vmm/base/sys_error.hpp"

namespace minivmm::api {

namespace {

// What one connection's current request has sent so far.
struct PendingRequest {
    std::string body;
    bool too_large = false;
};

MHD_Result send(MHD_Connection* connection, const ApiResponse& response)
{
    MHD_Response* reply = MHD_create_response_from_buffer(response.body.size(),
        const_cast<char*>(response.body.data()), MHD_RESPMEM_MUST_COPY);
    if (!reply)
        return MHD_NO;
    MHD_add_response_header(reply, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    const MHD_Result queued = MHD_queue_response(connection, static_cast<unsigned>(response.status), reply);
    MHD_destroy_response(reply);
    return queued;
}

std::optional<std::uint64_t> content_length(MHD_Connection* connection)
{
    const char* text = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!text)
        return std::nullopt;
    std::uint64_t value = 0;
    const char* end = text + std::strlen(text);
    const auto [last, error] = std::from_chars(text, end, value);
    if (error != std::errc {} || last != end)
        return std::nullopt;
    return value;
}

MHD_Result on_request(void* context, MHD_Connection* connection, const char* url, const char* method,
    const char* /*version*/, const char* upload_data, std::size_t* upload_size, void** connection_state)
{
    const auto& handler = *static_cast<const ApiServer::Handler*>(context);
    auto* pending = static_cast<PendingRequest*>(*connection_state);
    if (!pending) {
        // First call: headers only. A declared body over the limit is refused before a byte of
        // it is read.
        if (auto length = content_length(connection); length && *length > kMaxBodyBytes)
            return send(connection, error_response(400, fmt::format("the body is larger than {} bytes", kMaxBodyBytes)));
        *connection_state = new PendingRequest;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        // Chunked or under-declared bodies: keep counting, stop storing past the limit.
        if (pending->body.size() + *upload_size > kMaxBodyBytes)
            pending->too_large = true;
        else
            pending->body.append(upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    return send(connection, ApiServer::answer(method, url, pending->body, pending->too_large, handler));
}

void on_completed(void*, MHD_Connection*, void** connection_state, MHD_RequestTerminationCode)
{
    delete static_cast<PendingRequest*>(*connection_state);
    *connection_state = nullptr;
}

} // namespace

ApiResponse error_response(int status, std::string_view message)
{
    // The message may quote the request. An error is one line (README.md, "API"): a control
    // character from the request (a "\n" inside a JSON string, found by fuzz_api_request) is
    // shown as \xNN instead. Bytes that are not UTF-8 are replaced with U+FFFD, never an
    // exception (json.exception.type_error.316) out of an answer.
    std::string line;
    line.reserve(message.size());
    for (const char c : message) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f)
            line += fmt::format("\\x{:02x}", byte);
        else
            line += c;
    }
    return {status, nlohmann::json {{"error", line}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

ApiResponse ApiServer::answer(std::string_view method, std::string_view path, std::string_view body,
    bool body_too_large, const Handler& handler)
{
    if (body_too_large)
        return error_response(400, fmt::format("the body is larger than {} bytes", kMaxBodyBytes));
    auto request = parse_request(method, path, body);
    if (!request)
        return error_response(request.error().status, request.error().message);
    try {
        return handler(*request);
    } catch (const std::exception& error) {
        return error_response(500, error.what());
    }
}

ApiServer::ApiServer(UnixListener listener, Handler handler)
    : m_listener(std::move(listener))
    , m_handler(std::move(handler))
{
    // MHD writes a Date header through the C library's time zone code, which reads
    // /etc/localtime on first use: read it here, before the API thread is confined (no openat).
    ::tzset();
    // No MHD_USE_INTERNAL_POLLING_THREAD: MHD makes no thread; serve() drives it (MHD_run) when
    // its epoll fd is readable, from a thread that loaded the "api" filter.
    const int fd = m_listener.fd();
    m_daemon = MHD_start_daemon(MHD_USE_EPOLL, 0, nullptr, nullptr, &on_request, &m_handler,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, &on_completed, nullptr,
        MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!m_daemon)
        throw SysError(fmt::format("--api-socket {}: cannot start the HTTP server", m_listener.path()), EIO);
    (void)m_listener.release_fd(); // MHD_stop_daemon closes it
    const MHD_DaemonInfo* info = MHD_get_daemon_info(m_daemon, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info) {
        MHD_stop_daemon(m_daemon);
        throw SysError(fmt::format("--api-socket {}: the HTTP server has no epoll fd", m_listener.path()), EIO);
    }
    m_daemon_epoll_fd = info->epoll_fd;
}

ApiServer::~ApiServer()
{
    if (m_daemon)
        MHD_stop_daemon(m_daemon);
}

namespace {

// Waits until MHD's epoll set has work, `wake` is signalled or `timeout_ms` passed (-1: no
// limit). EINTR is a normal return: the caller runs MHD and looks at its stop token again.
void wait_for_work(int daemon_epoll_fd, int wake_fd, int timeout_ms)
{
    pollfd fds[2] = {{daemon_epoll_fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
    if (::poll(fds, wake_fd < 0 ? 1 : 2, timeout_ms) < 0 && errno != EINTR)
        throw SysError("poll on the API server's fds");
}

// How long MHD may wait before it must run again (a connection timing out), in ms for poll().
int next_timeout_ms(MHD_Daemon* daemon, int limit_ms)
{
    MHD_UNSIGNED_LONG_LONG timeout = 0;
    if (MHD_get_timeout(daemon, &timeout) != MHD_YES)
        return limit_ms;
    const auto capped = static_cast<MHD_UNSIGNED_LONG_LONG>(limit_ms < 0 ? INT_MAX : limit_ms);
    return static_cast<int>(std::min(timeout, capped));
}

} // namespace

void ApiServer::serve(std::stop_token stop)
{
    std::stop_callback wake_on_stop(stop, [this] { m_stop_wake.signal(); });
    while (!stop.stop_requested()) {
        wait_for_work(m_daemon_epoll_fd, m_stop_wake.fd(), next_timeout_ms(m_daemon, -1));
        MHD_run(m_daemon);
    }
    // The last answer (typically to "stop") may still be on its way out: give open connections
    // a moment to finish before the destructor closes them. Every answer is already decided (the
    // controller refuses new requests by now), so this waits only for the socket writes.
    const auto deadline = std::chrono::steady_clock::now() + kDrainTime;
    for (;;) {
        MHD_run(m_daemon);
        const MHD_DaemonInfo* info = MHD_get_daemon_info(m_daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (!info || info->num_connections == 0 || left.count() <= 0)
            return;
        wait_for_work(m_daemon_epoll_fd, -1, next_timeout_ms(m_daemon, static_cast<int>(left.count())));
    }
}

} // namespace minivmm::api
