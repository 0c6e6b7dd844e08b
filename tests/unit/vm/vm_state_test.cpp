// The lifecycle state machine (vmm/vm/vm_state.hpp): every (state, command) pair, checked
// against the table the README documents, so a change to one transition is a visible decision.
#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <utility>

#include "vmm/vm/vm_state.hpp"

using namespace minivmm::vm;

namespace {
using S = VmState;
using C = VmCommand;
constexpr std::optional<S> refused = std::nullopt;

// The expected next state of every pair; refused = a 409 with a reason.
const std::map<std::pair<S, C>, std::optional<S>> kTable = {
    {{S::Running, C::Query}, S::Running},
    {{S::Running, C::Pause}, S::Paused},
    {{S::Running, C::Resume}, refused},
    {{S::Running, C::Shutdown}, S::ShuttingDown},
    {{S::Running, C::Stop}, S::Stopping},
    {{S::Running, C::ChangeLimits}, S::Running},
    {{S::Running, C::ResizeDisk}, S::Running},
    {{S::Running, C::Backup}, S::Running},
    {{S::Running, C::Snapshot}, S::Running},
    {{S::Running, C::GuestEnded}, S::Stopping},

    {{S::Paused, C::Query}, S::Paused},
    {{S::Paused, C::Pause}, refused},
    {{S::Paused, C::Resume}, S::Running},
    {{S::Paused, C::Shutdown}, refused},
    {{S::Paused, C::Stop}, S::Stopping},
    {{S::Paused, C::ChangeLimits}, S::Paused},
    {{S::Paused, C::ResizeDisk}, refused},
    {{S::Paused, C::Backup}, S::Paused},
    {{S::Paused, C::Snapshot}, S::Paused},
    {{S::Paused, C::GuestEnded}, S::Stopping},

    {{S::ShuttingDown, C::Query}, S::ShuttingDown},
    {{S::ShuttingDown, C::Pause}, refused},
    {{S::ShuttingDown, C::Resume}, refused},
    {{S::ShuttingDown, C::Shutdown}, refused},
    {{S::ShuttingDown, C::Stop}, S::Stopping},
    {{S::ShuttingDown, C::ChangeLimits}, S::ShuttingDown},
    {{S::ShuttingDown, C::ResizeDisk}, refused},
    {{S::ShuttingDown, C::Backup}, S::ShuttingDown},
    {{S::ShuttingDown, C::Snapshot}, refused},
    {{S::ShuttingDown, C::GuestEnded}, S::Stopping},

    {{S::Stopping, C::Query}, S::Stopping},
    {{S::Stopping, C::Pause}, refused},
    {{S::Stopping, C::Resume}, refused},
    {{S::Stopping, C::Shutdown}, refused},
    {{S::Stopping, C::Stop}, refused},
    {{S::Stopping, C::ChangeLimits}, refused},
    {{S::Stopping, C::ResizeDisk}, refused},
    {{S::Stopping, C::Backup}, refused},
    {{S::Stopping, C::Snapshot}, refused},
    {{S::Stopping, C::GuestEnded}, S::Stopping},
};
} // namespace

TEST_CASE("vm state: every transition of every state is the documented one", "[vm][state]")
{
    for (S state : kAllStates) {
        for (C command : kAllCommands) {
            const auto expected = kTable.find({state, command});
            INFO(state_name(state) << " + " << command_name(command));
            REQUIRE(expected != kTable.end());
            const Transition transition = next_state(state, command);
            CHECK(transition.next == expected->second);
            if (!transition.next) {
                // A refusal says why in one line naming the state.
                CHECK_FALSE(transition.refusal.empty());
                CHECK(transition.refusal.find('\n') == std::string::npos);
                CHECK(transition.refusal.find(std::string(state_name(state))) != std::string::npos);
            }
        }
    }
    CHECK(kTable.size() == std::size(kAllStates) * std::size(kAllCommands));
}

TEST_CASE("vm state: pause twice and resume a running VM are refused", "[vm][state]")
{
    CHECK(next_state(S::Paused, C::Pause).refusal == "cannot pause a VM that is paused: it is already paused");
    CHECK(next_state(S::Running, C::Resume).refusal == "cannot resume a VM that is running: it is not paused");
}

TEST_CASE("vm state: the API's state names", "[vm][state]")
{
    CHECK(state_name(S::Running) == "running");
    CHECK(state_name(S::Paused) == "paused");
    CHECK(state_name(S::ShuttingDown) == "shutting_down");
    CHECK(state_name(S::Stopping) == "stopping");
}
