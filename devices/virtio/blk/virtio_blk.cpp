#include "devices/virtio/blk/virtio_blk.hpp"

#include <linux/virtio_config.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "devices/virtio/blk/blk_request.hpp"
#include "devices/virtio/blk/sync_io_engine.hpp"
#include "devices/virtio/blk/uring_io_engine.hpp"
#include "devices/virtio/queue/virtq_abi.hpp"

namespace minivmm::virtio {
namespace {

constexpr std::uint64_t kSegmentSize = sizeof(virtio_blk_discard_write_zeroes);
static_assert(kSegmentSize == 16);

// Whether [sector, sector + count) lies within `capacity` sectors, without overflow.
bool sectors_in_range(std::uint64_t sector, std::uint64_t count, std::uint64_t capacity)
{
    return sector <= capacity && count <= capacity - sector;
}

} // namespace

std::unique_ptr<VirtioBlk> VirtioBlk::create(const DiskSpec& spec)
{
    return std::make_unique<VirtioBlk>(DiskImage::open(spec), spec.serial, spec.engine);
}

VirtioBlk::VirtioBlk(DiskImage image, std::string serial, DiskEngine engine)
    : m_image(std::move(image))
    , m_serial(std::move(serial))
    , m_log("virtio-blk")
{
    // virtio-v1.2 §5.2.3 (Feature bits).
    m_features = feature_bit(VIRTIO_F_VERSION_1) | feature_bit(VIRTIO_F_EVENT_IDX) | feature_bit(VIRTIO_F_INDIRECT_DESC)
        | feature_bit(VIRTIO_BLK_F_FLUSH) | feature_bit(VIRTIO_BLK_F_SEG_MAX) | feature_bit(VIRTIO_BLK_F_BLK_SIZE);
    if (m_image.access() == DiskAccess::ReadOnly)
        m_features |= feature_bit(VIRTIO_BLK_F_RO);
    else
        m_features |= feature_bit(VIRTIO_BLK_F_DISCARD) | feature_bit(VIRTIO_BLK_F_WRITE_ZEROES);
    if (engine == DiskEngine::Uring)
        m_engine = std::make_unique<UringIoEngine>(m_image, kQueueSize);
    else
        m_engine = std::make_unique<SyncIoEngine>(m_image);
}

VirtioBlk::~VirtioBlk()
{
    m_engine->drain();
}

void VirtioBlk::read_config(std::uint64_t offset, std::span<std::uint8_t> data) const
{
    // virtio-v1.2 §5.2.4 (Device configuration layout).
    virtio_blk_config config{};
    config.capacity = m_image.size_bytes() / kSectorSize;
    config.seg_max = kQueueSize - 2; // §5.2.6.1: header and status take a descriptor each
    // With direct=on, the host's O_DIRECT block: requests aligned to it avoid the bounce buffer
    // (§5.2.5: blk_size is "the optimal sector size"; smaller requests still work, bounced).
    config.blk_size = std::max(kSectorSize, m_image.alignment().offset);
    config.max_discard_sectors = kMaxDiscardSectors;
    config.max_discard_seg = kMaxDiscardSegments;
    config.discard_sector_alignment = 1;
    config.max_write_zeroes_sectors = kMaxDiscardSectors;
    config.max_write_zeroes_seg = kMaxDiscardSegments;
    config.write_zeroes_may_unmap = 1;
    read_config_window(config, offset, data);
}

void VirtioBlk::write_config(std::uint64_t offset, std::span<const std::uint8_t>)
{
    // virtio-v1.2 §5.2.4: only `writeback` is writable, and only with VIRTIO_BLK_F_CONFIG_WCE,
    // which is not offered.
    m_log.log(fmt::format("config write at {:#x} ignored (no writable fields)", offset));
}

void VirtioBlk::activate(Activation activation)
{
    m_memory = &activation.memory;
    m_notifier = &activation.notifier;
    m_negotiated = activation.features;
    m_queue = std::move(activation.queues.at(0));
    m_runner.reset();
}

void VirtioBlk::reset()
{
    // virtio-v1.2 §2.4 (Device Reset): no host I/O may touch guest memory afterwards.
    m_engine->drain();
    m_queue.reset();
    m_runner.reset();
    m_memory = nullptr;
    m_notifier = nullptr;
    m_negotiated = 0;
}

void VirtioBlk::process_queue(std::uint16_t queue)
{
    if (queue != 0 || !m_queue)
        return;
    run_queue();
}

std::vector<int> VirtioBlk::event_fds() const
{
    const int fd = m_engine->event_fd();
    return fd >= 0 ? std::vector<int>{fd} : std::vector<int>{};
}

void VirtioBlk::handle_event(int)
{
    if (!m_queue) {
        (void)m_engine->reap(); // stale completions of a reset device were drained already
        return;
    }
    complete_io(m_engine->reap());
    notify_if_needed();
    run_queue(); // requests left waiting for a free slot
}

void VirtioBlk::run_queue()
{
    // At most QueueRunner::kChainsPerPass requests per pass (a driver can keep the ring from
    // ever running empty); while io_uring has no free slot the next completion runs the queue.
    (void)m_runner.run(
        *m_queue, *m_notifier, [this] { return m_engine->in_flight() < m_engine->capacity(); },
        [this](const DescriptorChain& chain) { return handle_chain(chain); });
    m_engine->commit();
    complete_io(m_engine->reap());
    notify_if_needed();
}

std::vector<iovec> VirtioBlk::host_iovecs(const std::vector<GuestRange>& ranges) const
{
    std::vector<iovec> iov;
    iov.reserve(ranges.size());
    for (const auto& range : ranges) {
        // pop() checked every range lies in RAM; slice cannot fail.
        auto bytes = m_memory->slice(range.address, range.length);
        iov.push_back({bytes->data(), bytes->size()});
    }
    return iov;
}

QueueRunner::Handled VirtioBlk::handle_chain(const DescriptorChain& chain)
{
    using Handled = QueueRunner::Handled;
    const BlkRequest request = parse_blk_request(*m_memory, chain);
    const bool zeroing = request.parse == BlkRequest::Parse::Ok
        && (request.type == VIRTIO_BLK_T_DISCARD || request.type == VIRTIO_BLK_T_WRITE_ZEROES);
    // The segments are copied out of guest memory once; the limiter's charge and the work both
    // come from that copy.
    const ZeroingPlan plan = zeroing ? plan_zeroing(request.type, request.readable, request.readable_bytes) : ZeroingPlan{};
    // The limiter is charged the bytes a request moves on the disk: its buffers, or for discard
    // and write-zeroes the sectors it covers (up to 16 x 2 GiB, from a 16-byte segment each).
    const std::uint64_t charged = zeroing && plan.status == VIRTIO_BLK_S_OK ? plan.bytes
                                                                            : chain.readable_bytes + chain.writable_bytes;
    if (m_gate && !m_gate->admit(0, charged))
        return Handled::Refused;
    if (request.parse == BlkRequest::Parse::NoStatusByte) {
        m_log.log("request without a device-writable status byte; returned unanswered");
        m_queue->add_used(chain.head, 0);
        return Handled::Done;
    }
    if (request.parse == BlkRequest::Parse::HeaderTooShort) {
        complete(chain.head, request.status_address, VIRTIO_BLK_S_IOERR, 1);
        return Handled::Done;
    }
    const std::uint64_t capacity = m_image.size_bytes() / kSectorSize;
    const bool read_only = m_image.access() == DiskAccess::ReadOnly;
    switch (request.type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT: {
        const bool is_read = request.type == VIRTIO_BLK_T_IN;
        const auto& data = is_read ? request.writable : request.readable;
        const std::uint64_t bytes = is_read ? request.writable_bytes : request.readable_bytes;
        // virtio-v1.2 §5.2.6.2 (Device Requirements: Device Operation): "A device MUST set the
        // status byte to VIRTIO_BLK_S_IOERR for a write request if the VIRTIO_BLK_F_RO feature
        // if offered, and MUST NOT write any data."
        if (!is_read && read_only) {
            complete(chain.head, request.status_address, VIRTIO_BLK_S_IOERR, 1);
            return Handled::Done;
        }
        // virtio-v1.2 §5.2.6.1: data length is a multiple of 512 bytes; and the request must lie
        // within the disk's capacity (§5.2.6.2: IOERR otherwise).
        if (bytes % kSectorSize != 0 || !sectors_in_range(request.sector, bytes / kSectorSize, capacity)) {
            complete(chain.head, request.status_address, VIRTIO_BLK_S_IOERR, 1);
            return Handled::Done;
        }
        if (!is_read)
            before_image_change(request.sector * kSectorSize, bytes);
        BlkIo io{is_read ? BlkIo::Op::Read : BlkIo::Op::Write, chain.head, request.sector * kSectorSize,
            host_iovecs(data), request.status_address, static_cast<std::uint32_t>((is_read ? bytes : 0) + 1)};
        io.guest_ranges = data;
        io.memory = m_memory;
        m_engine->submit(std::move(io));
        return Handled::Done;
    }
    case VIRTIO_BLK_T_FLUSH:
        // virtio-v1.2 §5.2.6.2: a completed flush means previously completed writes are durable.
        m_engine->submit({BlkIo::Op::Flush, chain.head, 0, {}, request.status_address, 1});
        return Handled::Done;
    case VIRTIO_BLK_T_GET_ID: {
        // virtio-v1.2 §5.2.6 (Device Operation): the ID is up to VIRTIO_BLK_ID_BYTES bytes,
        // NUL-padded when shorter.
        std::uint8_t id[VIRTIO_BLK_ID_BYTES] = {};
        std::memcpy(id, m_serial.data(), std::min<std::size_t>(m_serial.size(), sizeof id));
        std::uint64_t written = 0;
        for (const auto& range : request.writable) {
            const auto part = static_cast<std::size_t>(std::min<std::uint64_t>(range.length, sizeof id - written));
            if (part == 0)
                break;
            (void)m_memory->write(range.address, {id + written, part});
            written += part;
        }
        complete(chain.head, request.status_address, VIRTIO_BLK_S_OK, static_cast<std::uint32_t>(written + 1));
        return Handled::Done;
    }
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        if (plan.status != VIRTIO_BLK_S_OK) {
            complete(chain.head, request.status_address, plan.status, 1);
            return Handled::Done;
        }
        for (const auto& range : plan.ranges)
            before_image_change(range.offset, range.length);
        // fallocate (or writing zeroes where it cannot) runs in the engine like any transfer:
        // on io_uring it does not hold the event loop for the up to 32 GiB one request covers.
        m_engine->submit({request.type == VIRTIO_BLK_T_DISCARD ? BlkIo::Op::Discard : BlkIo::Op::WriteZeroes,
            chain.head, 0, {}, request.status_address, 1, plan.ranges});
        return Handled::Done;
    default:
        // virtio-v1.2 §5.2.6.2: unknown request types are answered VIRTIO_BLK_S_UNSUPP.
        complete(chain.head, request.status_address, VIRTIO_BLK_S_UNSUPP, 1);
        return Handled::Done;
    }
}

VirtioBlk::ZeroingPlan VirtioBlk::plan_zeroing(std::uint32_t type, const std::vector<GuestRange>& payload,
    std::uint64_t payload_bytes) const
{
    const bool discard = type == VIRTIO_BLK_T_DISCARD;
    ZeroingPlan plan;
    // virtio-v1.2 §5.2.6.2: a request type whose feature was not negotiated is unsupported.
    if (!negotiated(discard ? VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES)) {
        plan.status = VIRTIO_BLK_S_UNSUPP;
        return plan;
    }
    if (m_image.access() == DiskAccess::ReadOnly) {
        plan.status = VIRTIO_BLK_S_IOERR;
        return plan;
    }
    // virtio-v1.2 §5.2.6: the payload is an array of struct virtio_blk_discard_write_zeroes;
    // §5.2.6.2: more segments than max_discard_seg / max_write_zeroes_seg is unsupported.
    const std::uint64_t segments = payload_bytes / kSegmentSize;
    if (payload_bytes % kSegmentSize != 0 || segments == 0) {
        plan.status = VIRTIO_BLK_S_IOERR;
        return plan;
    }
    if (segments > kMaxDiscardSegments) {
        plan.status = VIRTIO_BLK_S_UNSUPP;
        return plan;
    }
    std::vector<virtio_blk_discard_write_zeroes> ranges(segments);
    std::uint64_t copied = 0;
    auto* out = reinterpret_cast<std::uint8_t*>(ranges.data());
    for (const auto& range : payload) {
        if (!m_memory->read(range.address, {out + copied, range.length})) {
            plan.status = VIRTIO_BLK_S_IOERR;
            return plan;
        }
        copied += range.length;
    }
    const std::uint64_t capacity = m_image.size_bytes() / kSectorSize;
    for (const auto& segment : ranges) {
        const std::uint32_t flags = segment.flags;
        // virtio-v1.2 §5.2.6.2: the unmap flag is only meaningful for write zeroes; for discard,
        // or any other flag bit, the device answers VIRTIO_BLK_S_UNSUPP.
        const std::uint32_t allowed = discard ? 0 : VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
        if (flags & ~allowed) {
            plan.status = VIRTIO_BLK_S_UNSUPP;
            return plan;
        }
        // §5.2.6.2: num_sectors over the maximum, or a range past the end, is an I/O error.
        if (segment.num_sectors > kMaxDiscardSectors
            || !sectors_in_range(segment.sector, segment.num_sectors, capacity)) {
            plan.status = VIRTIO_BLK_S_IOERR;
            return plan;
        }
    }
    for (const auto& segment : ranges) {
        const std::uint64_t length = std::uint64_t(segment.num_sectors) * kSectorSize;
        plan.ranges.push_back({segment.sector * kSectorSize, length,
            (segment.flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) ? ZeroingMode::MayUnmap : ZeroingMode::KeepAllocated});
        plan.bytes += length;
    }
    return plan;
}

void VirtioBlk::before_image_change(std::uint64_t offset, std::uint64_t length)
{
    if (m_write_interceptor && length > 0)
        m_write_interceptor->before_write(offset, length);
}

void VirtioBlk::complete(std::uint16_t head, std::uint64_t status_address, std::uint8_t status,
    std::uint32_t used_length)
{
    // The status address came from a validated writable range, so the write cannot fail.
    (void)m_memory->write_obj(status_address, status);
    m_queue->add_used(head, used_length);
}

void VirtioBlk::complete_io(const std::vector<BlkCompletion>& done)
{
    for (const auto& completion : done) {
        const int result = completion.result;
        // A disk without hole punching cannot discard: that is "unsupported" (virtio-v1.2
        // §5.2.6.2), not an I/O error.
        const bool unsupported = completion.io.op == BlkIo::Op::Discard
            && (result == -EOPNOTSUPP || result == -ENOTSUP || result == -ENODEV);
        if (result != 0 && !unsupported)
            m_log.log(fmt::format("I/O error: {}", std::strerror(-result)));
        const std::uint8_t status = result == 0 ? VIRTIO_BLK_S_OK : unsupported ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR;
        complete(completion.io.head, completion.io.status_address, status, result == 0 ? completion.io.used_length : 1);
    }
}

void VirtioBlk::notify_if_needed()
{
    if (m_queue && m_queue->needs_notification())
        m_notifier->signal_used_queue(0);
}

Expected<void, std::string> VirtioBlk::resize(std::uint64_t new_size_bytes)
{
    const std::uint64_t old_size = m_image.size_bytes();
    if (new_size_bytes % kSectorSize != 0)
        return Unexpected(fmt::format("size {} is not a multiple of {} bytes", new_size_bytes, kSectorSize));
    if (new_size_bytes > static_cast<std::uint64_t>(INT64_MAX))
        return Unexpected(fmt::format("size {} is too large", new_size_bytes));
    if (m_image.access() == DiskAccess::ReadOnly)
        return Unexpected(std::string("the disk is read-only"));
    if (m_image.is_block_device())
        return Unexpected(std::string("the disk is a block device; resize the device itself"));
    if (new_size_bytes < old_size)
        return Unexpected(fmt::format("shrinking a disk while the guest runs is refused (size {} bytes, asked "
                                      "for {}); stop the VM and use `minivmm disk resize`",
            old_size, new_size_bytes));
    if (new_size_bytes == old_size)
        return {};
    if (int result = m_image.grow(new_size_bytes); result != 0)
        return Unexpected(fmt::format("growing the image to {} bytes failed: {}", new_size_bytes, std::strerror(-result)));
    if (m_notifier)
        m_notifier->notify_config_change();
    return {};
}

bool VirtioBlk::quiesce_writes()
{
    if (!m_queue) {
        m_engine->drain(); // no driver to answer; reset() drained already, this is a no-op
        return true;
    }
    m_engine->commit();
    complete_io(m_engine->reap());
    const int fd = m_engine->event_fd();
    while (m_engine->in_flight() > 0 && fd >= 0) {
        // The engine signals its eventfd for every completion; reap() consumes it before
        // looking, so a completion that lands after the look wakes this poll.
        pollfd ready{fd, POLLIN, 0};
        if (::poll(&ready, 1, -1) < 0 && errno != EINTR)
            break;
        complete_io(m_engine->reap());
    }
    notify_if_needed();
    return m_engine->in_flight() == 0;
}

} // namespace minivmm::virtio
