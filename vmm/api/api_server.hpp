// ApiServer: the control API's HTTP/1.1 server on a Unix socket (README.md, "API"), built on
// libmicrohttpd with one internal polling thread (the "api" thread kind, DESIGN.md "Threads by
// kind"), never a thread per connection. It reads a request (at most kMaxBodyBytes of body),
// routes and validates it with parse_request() and hands the typed request to the handler, which
// answers; the server only speaks HTTP. No KVM and no devices here.
#pragma once

#include <functional>
#include <string>

#include "vmm/api/api_request.hpp"
#include "vmm/api/unix_listener.hpp"

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

    // Starts serving `listener` at once. Throws SysError when the daemon cannot start.
    ApiServer(UnixListener listener, Handler handler);
    // Stops the daemon (its thread joined, connections closed), then removes the socket file.
    ~ApiServer();
    ApiServer(const ApiServer&) = delete;
    ApiServer& operator=(const ApiServer&) = delete;

    // The whole HTTP exchange after the body has arrived, as a pure function of its inputs and
    // the handler (also what the fuzz target drives).
    static ApiResponse answer(std::string_view method, std::string_view path, std::string_view body,
        bool body_too_large, const Handler& handler);

private:
    UnixListener m_listener; // destroyed after the daemon: the path is removed last
    Handler m_handler;
    MHD_Daemon* m_daemon = nullptr;
};

} // namespace minivmm::api
