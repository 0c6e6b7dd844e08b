// GdbServer: the gdb thread's body. It accepts one gdb at a time on the listener, frames packets
// both ways (rsp_packet.hpp, with the acks of "Debugging with GDB" appendix E.11 "Packet
// Acknowledgment" until QStartNoAckMode), hands each to a GdbSession, and while the guest runs
// waits for either its stop or gdb's Ctrl-C (E.8 "Interrupts"). A gdb that disconnects without
// `D` is detached all the same: the guest runs on and the next gdb can attach.
#pragma once

#include <stop_token>

#include "vmm/base/event_fd.hpp"
#include "vmm/gdb/gdb_listener.hpp"
#include "vmm/gdb/gdb_target.hpp"

namespace minivmm::gdb {

class GdbServer {
public:
    GdbServer(GdbListener listener, GdbTarget& target);

    // Serves connections until `stop` is requested (the VM has ended). Makes only the system
    // calls of the "gdb" list (vmm/sandbox/allow_lists.cpp). Throws SysError when polling fails.
    void serve(std::stop_token stop);

private:
    void serve_connection(int connection, std::stop_token stop);

    GdbListener m_listener;
    GdbTarget& m_target;
    EventFd m_stop_wake; // signalled when stop is requested
};

} // namespace minivmm::gdb
