// GdbListener: the socket a gdb connects to (`--gdb tcp:HOST:PORT` or `unix:PATH`; "Debugging
// with GDB" §20.1.2 "Connecting to a Remote Target": `target remote HOST:PORT` / `target remote
// PATH`). Made while the VMM may still open sockets (before the sandbox); accept() then runs on
// the gdb thread.
#pragma once

#include <string>

#include "vmm/base/unique_fd.hpp"

namespace minivmm::gdb {

class GdbListener {
public:
    // Parses and binds `spec`. Throws UserError for a malformed spec, SysError when the address
    // cannot be bound. A Unix socket path left by an earlier run (nobody listening) is replaced;
    // anything else at the path is refused.
    static GdbListener bind(const std::string& spec);
    GdbListener(GdbListener&&) noexcept = default;
    GdbListener& operator=(GdbListener&&) noexcept = delete;
    // Removes a Unix socket file (if it is still the one made here).
    ~GdbListener();

    [[nodiscard]] int fd() const { return m_fd.get(); }
    // For messages: "tcp:127.0.0.1:1234" (with the port the kernel chose for port 0) or "unix:PATH".
    [[nodiscard]] const std::string& address() const { return m_address; }

private:
    GdbListener(UniqueFd fd, std::string address, std::string unix_path);
    UniqueFd m_fd;
    std::string m_address;
    std::string m_unix_path;
};

} // namespace minivmm::gdb
