// QueueRunner: the one loop every virtio queue of minivmm is worked through (virtio-v1.2 §2.7.13
// "Supplying Buffers to The Device" seen from the device side): a per-pass budget of chains, the
// chain a RequestGate refused kept first in line for the retry, and the stop on a broken ring
// (§2.1.2 "Device Status Field": DEVICE_NEEDS_RESET, reported once).
//
// Why a budget: the driver can make a chain available again while the device is still working
// on the queue (another vCPU does not wait for us), so "until the ring is empty" may never come.
// A pass that has taken kChainsPerPass chains stops and asks its transport, through
// DeviceNotifier::schedule_queue_rerun, to run the queue again from the event loop once the
// loop's other fds (signals, timers, stdin, other devices) have had their turn. Nothing is
// dropped: the rest stays in the ring, and the re-run comes whether or not the driver notifies.
//
// With VIRTIO_F_EVENT_IDX a pass that stops for its budget has not re-armed avail_event (pop()
// writes it only when it finds the ring empty), so the driver may not notify again; the re-run
// is what finishes the work, and its own empty pop() re-arms avail_event then.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "devices/virtio/queue/descriptor_chain.hpp"
#include "devices/virtio/queue/device_notifier.hpp"
#include "devices/virtio/queue/virt_queue.hpp"

namespace minivmm::virtio {

class QueueRunner {
public:
    // Chains one pass may take: one ring's worth at the largest queue size minivmm offers
    // (VirtioBlk/VirtioNet::kQueueSize). A driver that fills the ring and notifies once is served
    // in one pass; only chains made available while the pass runs can exhaust it. At the
    // cheapest request (a GET_ID answered at once, a few µs) that bounds a pass to about a
    // millisecond before the loop serves its other fds.
    static constexpr unsigned kChainsPerPass = 256;

    // What the handler did with a chain.
    enum class Handled {
        Done,    // consumed (answered, or started on the host)
        Refused, // the RequestGate said "not yet": keep the chain first in line, end the pass
    };
    // Why a pass (or next()) ended.
    enum class End {
        Empty,   // the driver has made nothing more available
        Refused, // a chain waits for the RequestGate, which arranges the retry
        Budget,  // kChainsPerPass taken; a re-run is scheduled
        Busy,    // the device cannot take more now (e.g. io_uring full); its completion re-runs
        Broken,  // the ring broke a rule; nothing more until the driver resets the device
    };
    struct Next {
        std::optional<DescriptorChain> chain; // set: handle it; empty: `end` says why not
        End end = End::Empty;
    };

    // `queue` is the index given to schedule_queue_rerun; `name` prefixes the ring-error report
    // ("requestq", "receiveq", ...).
    QueueRunner(std::uint16_t queue, std::string name, unsigned budget = kChainsPerPass)
        : m_queue(queue), m_name(std::move(name)), m_budget(budget)
    {
    }

    // Starts a pass: the budget is full again.
    void begin_pass() { m_taken = 0; }
    // The next chain of this pass: a held one first, then the ring's. At the end of the budget
    // it schedules the re-run and says Budget; on a ring error it reports once and says Broken.
    Next next(VirtQueue& queue, DeviceNotifier& notifier);
    // Keeps `chain` first in line for the next pass (the gate refused it).
    void hold(DescriptorChain chain) { m_held = std::move(chain); }

    // One pass: takes chains while `can_take()` says the device has room and hands each to
    // `handle` (DescriptorChain& -> Handled) until the ring is empty, the gate refuses, or the
    // budget is spent.
    template<typename CanTake, typename Handle>
    End run(VirtQueue& queue, DeviceNotifier& notifier, CanTake&& can_take, Handle&& handle)
    {
        begin_pass();
        for (;;) {
            if (m_broken)
                return End::Broken;
            if (!can_take())
                return End::Busy;
            Next next = this->next(queue, notifier);
            if (!next.chain)
                return next.end;
            if (handle(*next.chain) == Handled::Refused) {
                hold(std::move(*next.chain));
                return End::Refused;
            }
        }
    }

    // The chain the gate refused, kept for the next pass (a snapshot saves its head).
    [[nodiscard]] const std::optional<DescriptorChain>& held() const { return m_held; }

    // Whether the ring broke a rule since the last reset().
    [[nodiscard]] bool broken() const { return m_broken; }
    // virtio-v1.2 §2.4 (Device Reset): forget the held chain and the broken state.
    void reset()
    {
        m_held.reset();
        m_broken = false;
        m_taken = 0;
    }

private:
    std::uint16_t m_queue;
    std::string m_name;
    unsigned m_budget;
    unsigned m_taken = 0;
    std::optional<DescriptorChain> m_held; // refused by the gate, first in line next time
    bool m_broken = false;
};

} // namespace minivmm::virtio
