#include "vmm/kvm/vm_exit.hpp"

namespace minivmm::kvm {

namespace {
template<class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
// For clang 14 (the fuzz build), which lacks C++20 aggregate deduction (P1816).
template<class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;
} // namespace

std::string_view exit_name(const VmExit& exit)
{
    return std::visit(Overloaded {
                          [](const IoExit& io) -> std::string_view { return io.direction == Direction::Read ? "io-in" : "io-out"; },
                          [](const MmioExit& mmio) -> std::string_view { return mmio.direction == Direction::Read ? "mmio-read" : "mmio-write"; },
                          [](const ShutdownExit&) -> std::string_view { return "shutdown"; },
                          [](const HaltExit&) -> std::string_view { return "hlt"; },
                          [](const InterruptedExit&) -> std::string_view { return "interrupted"; },
                          [](const SystemEventExit&) -> std::string_view { return "system-event"; },
                          [](const InternalErrorExit&) -> std::string_view { return "internal-error"; },
                          [](const FailEntryExit&) -> std::string_view { return "fail-entry"; },
                          [](const UnknownExit&) -> std::string_view { return "unknown"; },
                          [](const DebugExit&) -> std::string_view { return "debug"; },
                      },
        exit);
}

} // namespace minivmm::kvm
