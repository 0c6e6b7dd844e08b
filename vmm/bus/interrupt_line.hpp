// InterruptLine: how a device raises its interrupt without knowing KVM. The VMM implements it
// with KVM_IRQ_LINE or an irqfd; tests implement it with a counter (tests/support).
#pragma once

namespace minivmm {

class InterruptLine {
public:
    virtual ~InterruptLine() = default;
    // Level-triggered sources (the 16550's INTR pin) drive the line's level.
    virtual void set_level(bool asserted) = 0;
    // Edge-triggered sources (virtio-mmio used-buffer notifications) send one pulse.
    virtual void pulse() = 0;
};

} // namespace minivmm
