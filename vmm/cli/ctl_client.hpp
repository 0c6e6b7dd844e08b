// CtlClient: the control API's client side for `minivmm ctl` (README.md, "API"): one HTTP/1.1
// request per connection over the VM's Unix socket (Content-Length body, Connection: close), the
// status line and body of the answer read back. Small on purpose: it talks only to minivmm.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace minivmm::cli {

// `minivmm ctl` exit codes (README.md, "API": the ctl client).
enum class CtlExit : int {
    Ok = 0,
    ErrorAnswer = 1, // the VM answered with an error (4xx/5xx): its message is printed
    Usage = 2,       // unknown verb, bad argument (the same code as every minivmm usage error)
    NoSocket = 3,    // nothing at the socket path, or not a socket we can connect to
    VmEnded = 4,     // the socket is there but no VM serves it (any more), or it hung up mid-answer
};

// A failure before an answer arrived; exit_code is CtlExit::NoSocket or CtlExit::VmEnded.
class CtlError : public std::runtime_error {
public:
    CtlError(CtlExit code, const std::string& message) : std::runtime_error(message), m_code(code) {}
    [[nodiscard]] CtlExit code() const { return m_code; }

private:
    CtlExit m_code;
};

struct HttpAnswer {
    int status = 0;
    std::string body;
};

// Sends `method path` with `body` (JSON, may be empty) and returns the answer. Throws CtlError.
HttpAnswer http_request(const std::string& socket_path, std::string_view method, std::string_view path,
    std::string_view body = {});

// Parses one HTTP/1.1 response ("HTTP/1.1 200 OK\r\n...\r\n\r\nbody"); throws CtlError(VmEnded)
// when it is cut short or malformed.
HttpAnswer parse_http_answer(std::string_view response);

} // namespace minivmm::cli
