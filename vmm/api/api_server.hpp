// ApiServer: the control API's HTTP/1.1 server on a Unix socket (README.md, "API"), built on
// libmicrohttpd driven from one thread the caller provides (serve(): the "api" thread kind,
// DESIGN.md "Threads by kind"), never a thread per connection. The thread is the caller's so
// that it can load its own seccomp filter first (vm.hpp, add_service_thread). It reads a request
// (at most kMaxBodyBytes of body), routes and validates it with parse_request() and hands the
// typed request to the handler, which answers; the server only speaks HTTP. No KVM and no
// devices here.
#pragma once

#include <chrono>
#include <functional>
#include <stop_token>
#include <string>

#include "vmm/api/api_request.hpp"
#include "vmm/api/unix_listener.hpp"
#include "vmm/base/event_fd.hpp"

struct MHD_Daemon;

namespace minivmm::api {

// A handler's answer: HTTP status and a JSON text body.
struct ApiResponse {
    int status = 200;
    std::string body;
};

// {"error": "message"} with `status`.
ApiResponse error_response(int status, std::string_view message);

class ApiServer {
public:
    // Called on the API thread for each valid request; may block until the VM has answered.
    using Handler = std::function<ApiResponse(const ApiRequest&)>;

    // Takes over `listener`; connections wait in its backlog until serve() runs. Throws
    // SysError when the daemon cannot be set up.
    ApiServer(UnixListener listener, Handler handler);
    // Closes the daemon (and any connection left), then removes the socket file. serve() must
    // have returned.
    ~ApiServer();
    ApiServer(const ApiServer&) = delete;
    ApiServer& operator=(const ApiServer&) = delete;

    // The API thread's body: accepts connections and answers requests until `stop` is
    // requested, then lets answers already decided leave (at most kDrainTime) and returns.
    // Makes only the system calls of the "api" list (vmm/sandbox/allow_lists.cpp). Throws
    // SysError when waiting fails.
    void serve(std::stop_token stop);
    static constexpr std::chrono::milliseconds kDrainTime {1000};

    // The whole HTTP exchange after the body has arrived, as a pure function of its inputs and
    // the handler (also what the fuzz target drives).
    static ApiResponse answer(std::string_view method, std::string_view path, std::string_view body,
        bool body_too_large, const Handler& handler);

private:
    UnixListener m_listener; // destroyed after the daemon: the path is removed last
    Handler m_handler;
    MHD_Daemon* m_daemon = nullptr;
    int m_daemon_epoll_fd = -1; // MHD's epoll set (MHD_USE_EPOLL): readable when MHD has work
    EventFd m_stop_wake;        // signalled when stop is requested
};

} // namespace minivmm::api
