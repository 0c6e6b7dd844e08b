// Snapshottable: a device that saves and restores its own state (DESIGN.md, "The control
// plane": devices own their state and stay free of <linux/kvm.h>). save_state is called while
// the VM is paused (the control API's barrier: vCPUs parked, in-flight I/O completed);
// restore_state on a freshly built, not yet running machine, with what save_state wrote.
// restore_state validates everything it reads (the file is hostile) and throws SnapshotError.
#pragma once

#include "vmm/snapshot/state_reader.hpp"
#include "vmm/snapshot/state_writer.hpp"

namespace minivmm::snapshot {

class Snapshottable {
public:
    virtual ~Snapshottable() = default;
    virtual void save_state(StateWriter& out) const = 0;
    virtual void restore_state(StateReader& in) = 0;
};

} // namespace minivmm::snapshot
