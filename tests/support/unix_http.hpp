// A test-side HTTP/1.1 client for the control API's Unix socket: sends exactly the bytes a test
// gives (malformed requests included) and returns the status and body of the answer.
#pragma once

#include <optional>
#include <string>

namespace minivmm::testing {

struct HttpReply {
    int status = 0;
    std::string body;
};

// Sends `raw` on a new connection to `socket_path` and reads to EOF; nullopt when nothing could
// be connected or no complete answer came back.
std::optional<HttpReply> http_exchange(const std::string& socket_path, const std::string& raw);
// A well-formed request (Connection: close, Content-Length when `body` is not empty).
std::optional<HttpReply> http_call(const std::string& socket_path, const std::string& method, const std::string& path,
    const std::string& body = {});

} // namespace minivmm::testing
