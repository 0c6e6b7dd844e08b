// The gdb stub's packet interpreter (gdb_session.hpp; "Debugging with GDB" appendix E.3
// "Packets", E.4 "Stop Reply Packets", E.5 "General Query Packets"): dispatch, queries, threads
// and resuming. Registers, memory and breakpoints: gdb_session_data.cpp.
#include "vmm/gdb/gdb_session.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "vmm/gdb/packet_fields.hpp"
#include "vmm/gdb/rsp_packet.hpp"
#include "vmm/gdb/target_description.hpp"

namespace minivmm::gdb {

using namespace fields;

GdbSession::GdbSession(GdbTarget& target, const StopEvent& first_stop)
    : m_target(target)
    , m_mode(target.cpu_mode(first_stop.vcpu))
    , m_last_stop(first_stop)
    , m_general_vcpu(first_stop.vcpu)
{
}

std::string GdbSession::stop_reply(const StopEvent& event)
{
    m_last_stop = event;
    if (event.kind == StopEvent::Kind::Exited)
        return fmt::format("W{:02x}", event.exit_status);
    if (event.kind == StopEvent::Kind::Killed)
        return "X09";
    // E.4: after a stop the current thread is the one that stopped, for both Hg and Hc.
    m_general_vcpu = event.vcpu;
    m_continue_vcpu.reset();
    std::string reason;
    switch (event.kind) {
    case StopEvent::Kind::SoftwareBreak:
        reason = m_peer_swbreak ? "swbreak:;" : "";
        break;
    case StopEvent::Kind::HardwareBreak:
        reason = m_peer_hwbreak ? "hwbreak:;" : "";
        break;
    case StopEvent::Kind::Watch: {
        const std::string_view name = event.watch_type == BreakpointType::ReadWatch ? "rwatch"
            : event.watch_type == BreakpointType::AccessWatch                      ? "awatch"
                                                                                   : "watch";
        reason = fmt::format("{}:{:x};", name, event.watch_address);
        break;
    }
    default:
        break;
    }
    return fmt::format("T{:02x}{}thread:{:x};", event.signal, reason, event.vcpu + 1);
}

GdbSession::Outcome GdbSession::handle(std::string_view packet)
{
    if (packet.empty())
        return {std::string()};
    const char command = packet.front();
    const std::string_view args = packet.substr(1);
    switch (command) {
    case '?':
        return {stop_reply(m_last_stop)};
    case 'g':
        return {read_registers()};
    case 'G':
        return {write_registers(args)};
    case 'p':
        return {read_register(args)};
    case 'P':
        return {write_register(args)};
    case 'm':
        return {read_memory(args)};
    case 'M':
        return {write_memory(args, false)};
    case 'X':
        return {write_memory(args, true)};
    case 'Z':
        return {breakpoint(args, true)};
    case 'z':
        return {breakpoint(args, false)};
    case 'H':
        return {set_thread(args)};
    case 'T':
        return {thread_alive(args)};
    case 'c':
        return resume_all(ResumeAction::Continue, args);
    case 's':
        return resume_all(ResumeAction::Step, args);
    case 'C':
    case 'S': {
        // `C sig[;addr]`: minivmm cannot deliver a host signal to a guest; the signal is
        // dropped, as when gdb continues a SIGINT stop.
        const auto parts = split(args, ';');
        if (!parse_hex(parts ? parts->first : args))
            return {std::string(kSyntaxError)};
        return resume_all(command == 'C' ? ResumeAction::Continue : ResumeAction::Step, parts ? parts->second : "");
    }
    case 'D':
        m_target.detach();
        return {std::string("OK"), false, true};
    case 'k':
        m_target.kill();
        return {std::nullopt, false, true};
    case 'q':
    case 'Q':
        return {query(packet)};
    case 'v':
        if (packet == "vCont?")
            return {std::string("vCont;c;C;s;S")};
        if (starts_with(packet, "vCont;"))
            return vcont(packet.substr(6));
        if (starts_with(packet, "vKill")) {
            m_target.kill();
            return {std::string("OK"), false, true};
        }
        return {std::string()}; // vMustReplyEmpty and every other v packet: unsupported
    default:
        return {std::string()}; // E.3: an unsupported command gets an empty reply
    }
}

std::string GdbSession::query(std::string_view packet)
{
    if (starts_with(packet, "qSupported")) {
        // E.5 "qSupported": the peer lists what it understands after the colon.
        m_peer_swbreak = packet.find("swbreak+") != std::string_view::npos;
        m_peer_hwbreak = packet.find("hwbreak+") != std::string_view::npos;
        return fmt::format("PacketSize={:x};qXfer:features:read+;QStartNoAckMode+;swbreak+;hwbreak+;vContSupported+",
            kMaxPacketSize);
    }
    if (packet == "QStartNoAckMode") {
        m_no_ack = true;
        return "OK";
    }
    if (starts_with(packet, "qXfer:features:read:"))
        return features(packet.substr(std::strlen("qXfer:features:read:")));
    if (packet == "qC")
        return fmt::format("QC{:x}", m_general_vcpu + 1);
    if (packet == "qfThreadInfo") {
        std::string reply = "m";
        for (unsigned i = 0; i < m_target.vcpu_count(); ++i)
            reply += fmt::format("{}{:x}", i == 0 ? "" : ",", i + 1);
        return reply;
    }
    if (packet == "qsThreadInfo")
        return "l";
    if (starts_with(packet, "qThreadExtraInfo,")) {
        const auto thread = parse_thread(packet.substr(std::strlen("qThreadExtraInfo,")));
        if (!thread || *thread <= 0)
            return std::string(kSyntaxError);
        return to_hex(fmt::format("vCPU {}", *thread - 1));
    }
    if (starts_with(packet, "qAttached"))
        return "1"; // the guest existed before gdb: `D`, not `k`, when gdb quits
    if (packet == "qSymbol::")
        return "OK";
    return {};
}

std::string GdbSession::features(std::string_view args)
{
    // E.5 "qXfer:object:read:annex:offset,length".
    const auto parts = split(args, ':');
    if (!parts)
        return std::string(kSyntaxError);
    if (parts->first != "target.xml")
        return "E00"; // E.5: an unknown annex
    const auto range = address_length(parts->second);
    if (!range)
        return std::string(kSyntaxError);
    const std::string xml = target_description_xml(m_mode);
    const auto [offset, length] = *range;
    if (offset > xml.size())
        return std::string(kSyntaxError);
    // Each byte may be escaped into two: half the packet is always enough room.
    const std::size_t take = std::min<std::uint64_t>({length, xml.size() - offset, kMaxPacketSize / 2 - 1});
    const bool last = offset + take >= xml.size();
    return (last ? "l" : "m") + escape_binary(std::string_view(xml).substr(offset, take));
}

std::optional<long> GdbSession::parse_thread(std::string_view text) const
{
    if (text == "-1")
        return -1;
    const auto value = parse_hex(text);
    if (!value)
        return std::nullopt;
    if (*value == 0)
        return 0;
    if (*value > m_target.vcpu_count())
        return std::nullopt;
    return static_cast<long>(*value);
}

std::string GdbSession::set_thread(std::string_view args)
{
    if (args.empty())
        return std::string(kSyntaxError);
    const auto thread = parse_thread(args.substr(1));
    if (!thread)
        return std::string(kSyntaxError);
    if (args[0] == 'g') {
        if (*thread == -1)
            return std::string(kSyntaxError); // registers of "all threads" mean nothing
        if (*thread > 0)
            m_general_vcpu = static_cast<unsigned>(*thread - 1);
        return "OK";
    }
    if (args[0] == 'c') {
        if (*thread > 0)
            m_continue_vcpu = static_cast<unsigned>(*thread - 1);
        else
            m_continue_vcpu.reset();
        return "OK";
    }
    return std::string(kSyntaxError);
}

std::string GdbSession::thread_alive(std::string_view args)
{
    const auto thread = parse_thread(args);
    return thread && *thread > 0 ? "OK" : std::string(kSyntaxError);
}

GdbSession::Outcome GdbSession::resume_all(ResumeAction action, std::string_view address)
{
    if (!address.empty()) {
        // E.3 `c [addr]`: resume at `addr`.
        const auto pc = parse_hex(address);
        if (!pc)
            return {std::string(kSyntaxError)};
        const unsigned vcpu = m_continue_vcpu.value_or(m_general_vcpu);
        auto registers = m_target.read_registers(vcpu);
        if (!registers)
            return {std::string(kHostError)};
        registers->rip = *pc;
        if (!m_target.write_registers(vcpu, *registers))
            return {std::string(kHostError)};
    }
    std::vector<ResumeAction> actions(m_target.vcpu_count(), ResumeAction::Continue);
    if (action == ResumeAction::Step) {
        // All-stop stepping: only the stepped vCPU runs, the others stay stopped (one valid
        // schedule of "the others continue": they would be stopped again right after the step).
        std::fill(actions.begin(), actions.end(), ResumeAction::Stay);
        actions[m_continue_vcpu.value_or(m_general_vcpu)] = ResumeAction::Step;
    }
    m_target.resume(actions);
    return {std::nullopt, true};
}

GdbSession::Outcome GdbSession::vcont(std::string_view args)
{
    // E.3 `vCont[;action[:thread-id]]...`: for each thread the leftmost action that names it, or
    // the first action without a thread.
    const unsigned count = m_target.vcpu_count();
    std::vector<std::optional<ResumeAction>> chosen(count);
    while (!args.empty()) {
        const auto end = args.find(';');
        const std::string_view item = args.substr(0, end);
        args = end == std::string_view::npos ? std::string_view() : args.substr(end + 1);
        const auto colon = item.find(':');
        const std::string_view verb = item.substr(0, colon);
        ResumeAction action;
        if (verb == "c" || (verb.size() == 3 && verb[0] == 'C' && parse_hex(verb.substr(1))))
            action = ResumeAction::Continue;
        else if (verb == "s" || (verb.size() == 3 && verb[0] == 'S' && parse_hex(verb.substr(1))))
            action = ResumeAction::Step;
        else
            return {std::string(kSyntaxError)};
        if (colon == std::string_view::npos) {
            for (auto& slot : chosen)
                if (!slot)
                    slot = action;
            continue;
        }
        const auto thread = parse_thread(item.substr(colon + 1));
        if (!thread)
            return {std::string(kSyntaxError)};
        if (*thread <= 0) {
            for (auto& slot : chosen)
                if (!slot)
                    slot = action;
        } else if (!chosen[*thread - 1]) {
            chosen[*thread - 1] = action;
        }
    }
    std::vector<ResumeAction> actions(count, ResumeAction::Stay);
    bool any_step = false;
    for (unsigned i = 0; i < count; ++i) {
        actions[i] = chosen[i].value_or(ResumeAction::Stay);
        any_step = any_step || actions[i] == ResumeAction::Step;
    }
    // As for `s`: while one vCPU steps, the others stay stopped (`vCont;s:2;c` steps vCPU 1 only).
    if (any_step)
        std::replace(actions.begin(), actions.end(), ResumeAction::Continue, ResumeAction::Stay);
    if (std::all_of(actions.begin(), actions.end(), [](ResumeAction a) { return a == ResumeAction::Stay; }))
        return {std::string(kSyntaxError)};
    m_target.resume(actions);
    return {std::nullopt, true};
}

} // namespace minivmm::gdb
