#include "devices/virtio/transport/virtio_mmio_transport.hpp"

#include <linux/virtio_config.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "devices/virtio/queue/virtq_abi.hpp"
#include "vmm/snapshot/payload_header.hpp"

namespace minivmm::virtio {
namespace {

constexpr std::uint32_t kStatusDriverBits = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER
    | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_FAILED;

std::uint64_t load_le(std::span<const std::uint8_t> data)
{
    std::uint64_t value = 0;
    std::memcpy(&value, data.data(), std::min<std::size_t>(data.size(), sizeof value));
    return value;
}

void store_le(std::span<std::uint8_t> data, std::uint64_t value)
{
    std::memcpy(data.data(), &value, std::min<std::size_t>(data.size(), sizeof value));
}

bool width_ok(std::size_t size) { return size == 1 || size == 2 || size == 4 || size == 8; }

} // namespace

VirtioMmioTransport::VirtioMmioTransport(std::string name, std::unique_ptr<VirtioDevice> device,
    const GuestMemory& memory, InterruptLine& interrupt)
    : m_name(std::move(name))
    , m_device(std::move(device))
    , m_memory(memory)
    , m_interrupt(interrupt)
    , m_log("virtio-mmio " + m_name)
{
    for (std::uint16_t i = 0; i < m_device->queue_count(); ++i)
        m_queues.emplace_back(m_device->queue_max_size(i));
}

VirtioMmioTransport::~VirtioMmioTransport()
{
    std::lock_guard lock(m_mutex);
    if (m_activated)
        m_device->reset();
}

void VirtioMmioTransport::read(std::uint64_t offset, std::span<std::uint8_t> data)
{
    std::lock_guard lock(m_mutex);
    std::fill(data.begin(), data.end(), 0);
    if (offset >= VIRTIO_MMIO_CONFIG) {
        // virtio-v1.2 §4.2.2.2 (Driver Requirements: MMIO Device Register Layout): config space
        // fields are accessed with their own width (8, 16, 32 bits; 64-bit fields as 32-bit
        // halves), aligned; we also accept aligned 64-bit accesses, which x86 guests can emit.
        if (!width_ok(data.size()) || offset % data.size() != 0) {
            m_log.log(fmt::format("ignored {}-byte config read at {:#x}", data.size(), offset));
            return;
        }
        m_device->read_config(offset - VIRTIO_MMIO_CONFIG, data);
        return;
    }
    // virtio-v1.2 §4.2.2.2: "The driver MUST use only 32 bit wide and aligned reads and writes
    // to access the control registers".
    if (data.size() != 4 || offset % 4 != 0) {
        m_log.log(fmt::format("ignored {}-byte register read at {:#x}", data.size(), offset));
        return;
    }
    store_le(data, read_register(offset));
}

void VirtioMmioTransport::write(std::uint64_t offset, std::span<const std::uint8_t> data)
{
    std::lock_guard lock(m_mutex);
    if (offset >= VIRTIO_MMIO_CONFIG) {
        if (!width_ok(data.size()) || offset % data.size() != 0) {
            m_log.log(fmt::format("ignored {}-byte config write at {:#x}", data.size(), offset));
            return;
        }
        m_device->write_config(offset - VIRTIO_MMIO_CONFIG, data);
        return;
    }
    // virtio-v1.2 §4.2.2.2: control registers are 32-bit wide and aligned.
    if (data.size() != 4 || offset % 4 != 0) {
        m_log.log(fmt::format("ignored {}-byte register write at {:#x}", data.size(), offset));
        return;
    }
    write_register(offset, static_cast<std::uint32_t>(load_le(data)));
}

std::uint32_t VirtioMmioTransport::read_register(std::uint64_t offset)
{
    const QueueConfig* queue = selected_queue();
    switch (offset) {
    case VIRTIO_MMIO_MAGIC_VALUE: return kMagicValue;
    case VIRTIO_MMIO_VERSION: return kVersion;
    case VIRTIO_MMIO_DEVICE_ID: return m_device->device_id();
    case VIRTIO_MMIO_VENDOR_ID: return kVendorId;
    case VIRTIO_MMIO_DEVICE_FEATURES: {
        // virtio-v1.2 §4.2.2: bits 32 * DeviceFeaturesSel .. + 31 of the offered features.
        const std::uint64_t features = m_device->device_features();
        if (m_device_features_sel == 0)
            return static_cast<std::uint32_t>(features);
        if (m_device_features_sel == 1)
            return static_cast<std::uint32_t>(features >> 32);
        return 0;
    }
    case VIRTIO_MMIO_QUEUE_NUM_MAX: return queue ? queue->max_size() : 0; // 0: queue not available
    case VIRTIO_MMIO_QUEUE_READY: return queue && queue->ready() ? 1 : 0;
    case VIRTIO_MMIO_INTERRUPT_STATUS: return m_interrupt_status;
    case VIRTIO_MMIO_STATUS: return m_status;
    case VIRTIO_MMIO_QUEUE_DESC_LOW: return queue ? static_cast<std::uint32_t>(queue->desc_table()) : 0;
    case VIRTIO_MMIO_QUEUE_DESC_HIGH: return queue ? static_cast<std::uint32_t>(queue->desc_table() >> 32) : 0;
    case VIRTIO_MMIO_QUEUE_AVAIL_LOW: return queue ? static_cast<std::uint32_t>(queue->avail_ring()) : 0;
    case VIRTIO_MMIO_QUEUE_AVAIL_HIGH: return queue ? static_cast<std::uint32_t>(queue->avail_ring() >> 32) : 0;
    case VIRTIO_MMIO_QUEUE_USED_LOW: return queue ? static_cast<std::uint32_t>(queue->used_ring()) : 0;
    case VIRTIO_MMIO_QUEUE_USED_HIGH: return queue ? static_cast<std::uint32_t>(queue->used_ring() >> 32) : 0;
    // virtio-v1.2 §4.2.2: "Reading from a non-existent region ... results in a length of -1."
    case VIRTIO_MMIO_SHM_LEN_LOW:
    case VIRTIO_MMIO_SHM_LEN_HIGH: return 0xffff'ffff;
    case VIRTIO_MMIO_CONFIG_GENERATION: return m_config_generation;
    default: return 0; // write-only or reserved
    }
}

void VirtioMmioTransport::write_register(std::uint64_t offset, std::uint32_t value)
{
    switch (offset) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL: m_device_features_sel = value; return;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL: m_driver_features_sel = value; return;
    case VIRTIO_MMIO_DRIVER_FEATURES:
        // virtio-v1.2 §3.1.1 (Driver Requirements: Device Initialization), step 4: features are
        // written after DRIVER and before FEATURES_OK; later writes cannot change the deal.
        if (!(m_status & VIRTIO_CONFIG_S_DRIVER) || (m_status & VIRTIO_CONFIG_S_FEATURES_OK)) {
            m_log.log("DriverFeatures written outside the feature negotiation step; ignored");
            return;
        }
        if (m_driver_features_sel == 0)
            m_driver_features = (m_driver_features & ~0xffff'ffffull) | value;
        else if (m_driver_features_sel == 1)
            m_driver_features = (m_driver_features & 0xffff'ffffull) | (std::uint64_t(value) << 32);
        else if (value != 0)
            m_log.log("DriverFeatures: bits above 63 are not offered; ignored");
        return;
    case VIRTIO_MMIO_QUEUE_SEL: m_queue_sel = value; return;
    case VIRTIO_MMIO_QUEUE_NUM:
        if (auto* queue = selected_queue(); queue && queue_config_writable())
            queue->set_size(static_cast<std::uint16_t>(value <= 0xffff ? value : 0)); // 0 fails activation
        return;
    case VIRTIO_MMIO_QUEUE_READY:
        if (auto* queue = selected_queue(); queue && queue_config_writable())
            queue->set_ready(value & 1);
        return;
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
        if (auto* queue = selected_queue(); queue && queue_config_writable())
            queue->set_desc_table(QueueConfig::with_low(queue->desc_table(), value));
        return;
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
        if (auto* queue = selected_queue(); queue && queue_config_writable())
            queue->set_desc_table(QueueConfig::with_high(queue->desc_table(), value));
        return;
    case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
        if (auto* queue = selected_queue(); queue && queue_config_writable())
            queue->set_avail_ring(QueueConfig::with_low(queue->avail_ring(), value));
        return;
    case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
        if (auto* queue = selected_queue(); queue && queue_config_writable())
            queue->set_avail_ring(QueueConfig::with_high(queue->avail_ring(), value));
        return;
    case VIRTIO_MMIO_QUEUE_USED_LOW:
        if (auto* queue = selected_queue(); queue && queue_config_writable())
            queue->set_used_ring(QueueConfig::with_low(queue->used_ring(), value));
        return;
    case VIRTIO_MMIO_QUEUE_USED_HIGH:
        if (auto* queue = selected_queue(); queue && queue_config_writable())
            queue->set_used_ring(QueueConfig::with_high(queue->used_ring(), value));
        return;
    case VIRTIO_MMIO_QUEUE_NOTIFY:
        // Without an ioeventfd the write lands here; same effect as the loop's notify().
        if (value > 0xffff) {
            m_log.log(fmt::format("QueueNotify for queue {} that does not exist; ignored", value));
            return;
        }
        notify_locked(static_cast<std::uint16_t>(value));
        return;
    case VIRTIO_MMIO_INTERRUPT_ACK:
        // virtio-v1.2 §4.2.2: writing a bit of InterruptStatus to InterruptACK clears it.
        m_interrupt_status &= ~value;
        return;
    case VIRTIO_MMIO_STATUS: write_status(value); return;
    case VIRTIO_MMIO_SHM_SEL: m_shm_sel = value; return;
    default:
        m_log.log(fmt::format("write {:#x} to read-only or reserved register {:#x}; ignored", value, offset));
        return;
    }
}

QueueConfig* VirtioMmioTransport::selected_queue()
{
    return m_queue_sel < m_queues.size() ? &m_queues[m_queue_sel] : nullptr;
}

bool VirtioMmioTransport::queue_config_writable()
{
    // virtio-v1.2 §3.1.1 step 7: queues are set up before DRIVER_OK; changing a live queue
    // needs VIRTIO_F_RING_RESET, which this transport does not offer.
    if (m_status & VIRTIO_CONFIG_S_DRIVER_OK) {
        m_log.log("queue register written after DRIVER_OK; ignored");
        return false;
    }
    return true;
}

bool VirtioMmioTransport::features_acceptable() const
{
    // virtio-v1.2 §2.2.1 (Driver Requirements: Feature Bits): "The driver MUST NOT accept a
    // feature which the device did not offer".
    if (m_driver_features & ~m_device->device_features())
        return false;
    // virtio-v1.2 §6.1 (Driver Requirements: Reserved Feature Bits) and §4.2.4 (Legacy
    // interface): this is a version 2 (non-legacy) device; a driver without VIRTIO_F_VERSION_1
    // is legacy, which we refuse.
    return m_driver_features & feature_bit(VIRTIO_F_VERSION_1);
}

void VirtioMmioTransport::write_status(std::uint32_t value)
{
    // virtio-v1.2 §4.2.2: "Writing zero (0x0) to this register triggers a device reset."
    if (value == 0) {
        reset_locked();
        return;
    }
    // virtio-v1.2 §2.1.2 (Driver Requirements: Device Status Field): "The driver MUST NOT clear
    // a device status bit." DEVICE_NEEDS_RESET is the device's to set, so it is left out here.
    const std::uint32_t current = m_status & kStatusDriverBits;
    if ((current & ~value) != 0) {
        m_log.log(fmt::format("status write {:#x} clears bits of {:#x}; ignored", value, m_status));
        return;
    }
    const std::uint32_t added = value & ~current & kStatusDriverBits;
    std::uint32_t next = m_status;
    if (added & VIRTIO_CONFIG_S_FAILED)
        next |= VIRTIO_CONFIG_S_FAILED; // §3.1.1: the driver gave up; nothing else to do
    if (added & VIRTIO_CONFIG_S_ACKNOWLEDGE)
        next |= VIRTIO_CONFIG_S_ACKNOWLEDGE;
    // virtio-v1.2 §3.1.1 (Device Initialization): ACKNOWLEDGE, then DRIVER, then FEATURES_OK,
    // then DRIVER_OK; a step out of order is ignored.
    if ((added & VIRTIO_CONFIG_S_DRIVER) && (next & VIRTIO_CONFIG_S_ACKNOWLEDGE))
        next |= VIRTIO_CONFIG_S_DRIVER;
    if ((added & VIRTIO_CONFIG_S_FEATURES_OK) && (next & VIRTIO_CONFIG_S_DRIVER)) {
        // virtio-v1.2 §2.2.2 (Device Requirements: Feature Bits) / §3.1.1 step 5-6: a device
        // that does not accept the features leaves FEATURES_OK clear for the driver to re-read.
        if (features_acceptable())
            next |= VIRTIO_CONFIG_S_FEATURES_OK;
        else
            m_log.log(fmt::format("driver features {:#x} refused (offered {:#x}, VERSION_1 required)",
                m_driver_features, m_device->device_features()));
    }
    const bool start = (added & VIRTIO_CONFIG_S_DRIVER_OK) && (next & VIRTIO_CONFIG_S_FEATURES_OK);
    if (start)
        next |= VIRTIO_CONFIG_S_DRIVER_OK;
    if ((added & ~next & kStatusDriverBits) != 0)
        m_log.log(fmt::format("status bits {:#x} out of the §3.1.1 order; ignored", added & ~next));
    m_status = next;
    if (start && !(m_status & VIRTIO_CONFIG_S_FAILED))
        activate_device();
}

void VirtioMmioTransport::activate_device()
{
    std::vector<std::optional<VirtQueue>> queues;
    for (std::size_t i = 0; i < m_queues.size(); ++i) {
        if (!m_queues[i].ready()) {
            queues.emplace_back();
            continue;
        }
        auto queue = m_queues[i].activate(m_memory, m_driver_features);
        if (!queue) {
            report_guest_error(fmt::format("queue {} cannot start: {}", i, describe(queue.error())));
            return;
        }
        queues.emplace_back(std::move(*queue));
    }
    m_device->activate({m_memory, m_driver_features, std::move(queues), *this});
    m_activated = true;
}

void VirtioMmioTransport::reset_locked()
{
    // virtio-v1.2 §2.4 (Device Reset): back to the initial state; the device finishes host
    // I/O that still targets guest memory before we forget its queues.
    if (m_activated)
        m_device->reset();
    m_activated = false;
    m_status = 0;
    m_interrupt_status = 0;
    m_device_features_sel = 0;
    m_driver_features_sel = 0;
    m_driver_features = 0;
    m_queue_sel = 0;
    m_shm_sel = 0;
    for (auto& queue : m_queues)
        queue.reset();
}

void VirtioMmioTransport::notify(std::uint16_t queue)
{
    std::lock_guard lock(m_mutex);
    notify_locked(queue);
}

void VirtioMmioTransport::notify_locked(std::uint16_t queue)
{
    // virtio-v1.2 §3.1.1 step 8 / §2.1.2: the device works only between DRIVER_OK and either a
    // reset or DEVICE_NEEDS_RESET.
    if (!m_activated || (m_status & VIRTIO_CONFIG_S_NEEDS_RESET))
        return;
    if (queue >= m_queues.size()) {
        m_log.log(fmt::format("QueueNotify for queue {} that does not exist; ignored", queue));
        return;
    }
    m_device->process_queue(queue);
}

void VirtioMmioTransport::handle_device_event(int fd)
{
    std::lock_guard lock(m_mutex);
    m_device->handle_event(fd);
}

std::vector<int> VirtioMmioTransport::device_event_fds() const
{
    std::lock_guard lock(m_mutex);
    return m_device->event_fds();
}

void VirtioMmioTransport::signal_config_change()
{
    std::lock_guard lock(m_mutex);
    notify_config_change();
}

void VirtioMmioTransport::notify_config_change()
{
    // virtio-v1.2 §4.2.2 (MMIO Device Register Layout), ConfigGeneration: "Changes every time
    // the configuration noticeably changes"; §4.2.3.4: the configuration change notification is
    // InterruptStatus bit 1 (VIRTIO_MMIO_INT_CONFIG).
    ++m_config_generation;
    raise(VIRTIO_MMIO_INT_CONFIG);
}

namespace {
constexpr std::uint32_t kStateTag = snapshot::payload_tag("VMMI");
constexpr std::uint16_t kStateVersion = 1;
constexpr std::uint32_t kStatusKnownBits = kStatusDriverBits | VIRTIO_CONFIG_S_NEEDS_RESET;
constexpr std::uint32_t kInterruptKnownBits = VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG;
} // namespace

void VirtioMmioTransport::save_state(snapshot::StateWriter& out) const
{
    std::lock_guard lock(m_mutex);
    snapshot::write_payload_header(out, kStateTag, kStateVersion);
    out.u32(m_device->device_id());
    out.u32(m_status);
    out.u32(m_interrupt_status);
    out.u32(m_config_generation);
    out.u32(m_device_features_sel);
    out.u32(m_driver_features_sel);
    out.u64(m_driver_features);
    out.u32(m_queue_sel);
    out.u32(m_shm_sel);
    out.boolean(m_activated);
    out.u32(static_cast<std::uint32_t>(m_queues.size()));
    for (const QueueConfig& queue : m_queues) {
        out.u16(queue.size());
        out.boolean(queue.ready());
        out.u64(queue.desc_table());
        out.u64(queue.avail_ring());
        out.u64(queue.used_ring());
    }
    m_device->save_state(out);
}

void VirtioMmioTransport::restore_state(snapshot::StateReader& in)
{
    snapshot::read_payload_header(in, kStateTag, kStateVersion, "virtio-mmio transport");
    const std::uint32_t device_id = in.u32();
    const std::uint32_t status = in.u32();
    const std::uint32_t interrupt_status = in.u32();
    const std::uint32_t config_generation = in.u32();
    const std::uint32_t device_features_sel = in.u32();
    const std::uint32_t driver_features_sel = in.u32();
    const std::uint64_t driver_features = in.u64();
    const std::uint32_t queue_sel = in.u32();
    const std::uint32_t shm_sel = in.u32();
    const bool activated = in.boolean();
    const std::uint32_t queue_count = in.u32();

    std::lock_guard lock(m_mutex);
    if (device_id != m_device->device_id())
        in.fail(fmt::format("virtio device id {} saved, this slot holds device id {}", device_id, m_device->device_id()));
    if (queue_count != m_queues.size())
        in.fail(fmt::format("{} queues saved, the device has {}", queue_count, m_queues.size()));
    std::vector<QueueConfig> queues;
    for (std::uint32_t i = 0; i < queue_count; ++i) {
        QueueConfig queue(m_queues[i].max_size());
        queue.set_size(in.u16());
        queue.set_ready(in.boolean());
        queue.set_desc_table(in.u64());
        queue.set_avail_ring(in.u64());
        queue.set_used_ring(in.u64());
        queues.push_back(queue);
    }
    // A status no sequence of guest writes reaches (write_status) is corrupt.
    if (status & ~kStatusKnownBits)
        in.fail(fmt::format("device status {:#x} has unknown bits", status));
    const auto has = [status](std::uint32_t bit) { return (status & bit) != 0; };
    if ((has(VIRTIO_CONFIG_S_DRIVER) && !has(VIRTIO_CONFIG_S_ACKNOWLEDGE))
        || (has(VIRTIO_CONFIG_S_FEATURES_OK) && !has(VIRTIO_CONFIG_S_DRIVER))
        || (has(VIRTIO_CONFIG_S_DRIVER_OK) && !has(VIRTIO_CONFIG_S_FEATURES_OK)))
        in.fail(fmt::format("device status {:#x} skips a step of virtio-v1.2 §3.1.1", status));
    if (has(VIRTIO_CONFIG_S_FEATURES_OK)
        && ((driver_features & ~m_device->device_features()) || !(driver_features & feature_bit(VIRTIO_F_VERSION_1))))
        in.fail(fmt::format("driver features {:#x} accepted but the device offers {:#x}", driver_features,
            m_device->device_features()));
    // Running (activated) needs DRIVER_OK; FAILED may have come after it (write_status takes it at
    // any time). DRIVER_OK without FAILED and not running means activation failed, which set
    // DEVICE_NEEDS_RESET.
    const bool started = has(VIRTIO_CONFIG_S_DRIVER_OK) && !has(VIRTIO_CONFIG_S_FAILED);
    if (activated ? !has(VIRTIO_CONFIG_S_DRIVER_OK) : (started && !has(VIRTIO_CONFIG_S_NEEDS_RESET)))
        in.fail(fmt::format("device {} running with status {:#x}", activated ? "saved as" : "saved as not", status));
    if (interrupt_status & ~kInterruptKnownBits)
        in.fail(fmt::format("InterruptStatus {:#x} has unknown bits", interrupt_status));

    // From here on the transport changes; a failure resets it whole.
    reset_locked();
    try {
        m_status = status;
        m_interrupt_status = interrupt_status;
        m_config_generation = config_generation;
        m_device_features_sel = device_features_sel;
        m_driver_features_sel = driver_features_sel;
        m_driver_features = driver_features;
        m_queue_sel = queue_sel;
        m_shm_sel = shm_sel;
        m_queues = std::move(queues);
        if (!activated) {
            m_device->restore_state(in, nullptr);
        } else {
            // As activate_device() at DRIVER_OK, with the file in the guest's place: every ring
            // checked against guest memory, but a failure is a corrupt snapshot, not a guest error.
            std::vector<std::optional<VirtQueue>> running;
            for (std::size_t i = 0; i < m_queues.size(); ++i) {
                if (!m_queues[i].ready()) {
                    running.emplace_back();
                    continue;
                }
                auto queue = m_queues[i].activate(m_memory, m_driver_features);
                if (!queue)
                    in.fail(fmt::format("queue {} cannot run: {}", i, describe(queue.error())));
                running.emplace_back(std::move(*queue));
            }
            m_activated = true; // so that a failure below resets the device too
            VirtioDevice::Activation activation {m_memory, m_driver_features, std::move(running), *this};
            m_device->restore_state(in, &activation);
        }
        in.expect_end();
    } catch (...) {
        reset_locked();
        throw;
    }
}

std::uint32_t VirtioMmioTransport::status() const
{
    std::lock_guard lock(m_mutex);
    return m_status;
}

std::uint32_t VirtioMmioTransport::interrupt_status() const
{
    std::lock_guard lock(m_mutex);
    return m_interrupt_status;
}

void VirtioMmioTransport::raise(std::uint32_t interrupt_bits)
{
    // virtio-v1.2 §4.2.3.4 (Notifications From The Device): set the InterruptStatus bit, then
    // trigger the interrupt; the driver reads the register to learn why and ACKs it.
    m_interrupt_status |= interrupt_bits;
    m_interrupt.pulse();
}

void VirtioMmioTransport::signal_used_queue(std::uint16_t /*queue*/)
{
    raise(VIRTIO_MMIO_INT_VRING);
}

void VirtioMmioTransport::schedule_queue_rerun(std::uint16_t queue)
{
    if (m_queue_rerun)
        m_queue_rerun(queue);
}

void VirtioMmioTransport::report_guest_error(std::string_view what)
{
    m_log.log(fmt::format("{}; device needs reset", what));
    if (m_status & VIRTIO_CONFIG_S_NEEDS_RESET)
        return;
    // virtio-v1.2 §2.1.2 (Device Requirements: Device Status Field): "The device SHOULD set
    // DEVICE_NEEDS_RESET when it enters an error state that a reset is needed. If DRIVER_OK is
    // set, after it sets DEVICE_NEEDS_RESET, the device MUST send a device configuration change
    // notification to the driver."
    m_status |= VIRTIO_CONFIG_S_NEEDS_RESET;
    if (m_status & VIRTIO_CONFIG_S_DRIVER_OK)
        raise(VIRTIO_MMIO_INT_CONFIG);
}

} // namespace minivmm::virtio
