// GdbSession: the gdb stub's command interpreter for one connection ("Debugging with GDB"
// appendix E.3 "Packets", E.4 "Stop Reply Packets", E.5 "General Query Packets", E.11 "Packet
// Acknowledgment" for QStartNoAckMode). It turns each packet's payload into a reply payload and
// calls the GdbTarget; framing, the socket and waiting for a stop are the server's
// (gdb_server.hpp). Pure and deterministic: unit-tested against a fake target.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vmm/gdb/gdb_target.hpp"

namespace minivmm::gdb {

class GdbSession {
public:
    // Makes the session for a machine that is stopped by `first_stop` (what `?` reports).
    GdbSession(GdbTarget& target, const StopEvent& first_stop);

    struct Outcome {
        std::optional<std::string> reply; // a payload to send now (unframed); none after a resume
        bool resumed = false;             // the machine runs: a stop reply follows (stop_reply())
        bool end = false;                 // `D` or `k`: close the connection after the reply
    };
    // Interprets one packet payload (binary escapes still in place). Never throws on bad input:
    // a malformed packet is an error reply (`E01` syntax, `E14` memory) or empty (unknown).
    Outcome handle(std::string_view packet);

    // The stop reply for `event`, which also becomes the current stop (`?`) and thread.
    std::string stop_reply(const StopEvent& event);

    // QStartNoAckMode was accepted: the server stops sending and expecting acks after its OK.
    [[nodiscard]] bool no_ack_mode() const { return m_no_ack; }
    // The thread a plain `c`/`s` and Ctrl-C concern (the last stop's, or the one `Hc` chose).
    [[nodiscard]] unsigned current_vcpu() const { return m_general_vcpu; }

private:
    std::string query(std::string_view packet);
    std::string read_registers();
    std::string write_registers(std::string_view hex);
    std::string read_register(std::string_view args);
    std::string write_register(std::string_view args);
    std::string read_memory(std::string_view args);
    std::string write_memory(std::string_view args, bool binary);
    std::string breakpoint(std::string_view args, bool insert);
    std::string set_thread(std::string_view args);
    std::string thread_alive(std::string_view args);
    std::string features(std::string_view args);
    Outcome resume_all(ResumeAction action, std::string_view address);
    Outcome vcont(std::string_view args);
    // A thread id from gdb: nullopt when invalid; -1 means all, 0 any.
    std::optional<long> parse_thread(std::string_view text) const;

    GdbTarget& m_target;
    CpuMode m_mode;            // fixed for the connection: the description gdb read
    StopEvent m_last_stop;
    unsigned m_general_vcpu;   // Hg: registers and memory
    std::optional<unsigned> m_continue_vcpu; // Hc: plain `s`; nullopt = the general thread
    bool m_no_ack = false;
    bool m_peer_swbreak = false; // gdb said swbreak+ in qSupported (E.4, `swbreak`)
    bool m_peer_hwbreak = false;
};

} // namespace minivmm::gdb
