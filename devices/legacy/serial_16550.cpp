// Serial16550: the 16550A register state machine, per PC16550D (SNLS378C) §8 "Registers".
#include "devices/legacy/serial_16550.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "vmm/snapshot/payload_header.hpp"

namespace minivmm {

namespace {

// PC16550D §8.7 (Interrupt Enable Register).
constexpr std::uint8_t kIerRxData = 0x01;      // ERBFI: received data available / timeout
constexpr std::uint8_t kIerThrEmpty = 0x02;    // ETBEI: transmitter holding register empty
constexpr std::uint8_t kIerLineStatus = 0x04;  // ELSI: receiver line status
constexpr std::uint8_t kIerModemStatus = 0x08; // EDSSI: modem status
constexpr std::uint8_t kIerMask = 0x0f;        // bits 4-7 are always 0

// PC16550D §8.6 (Interrupt Identification Register), Table IV.
constexpr std::uint8_t kIirNoInterrupt = 0x01;
constexpr std::uint8_t kIirLineStatus = 0x06;
constexpr std::uint8_t kIirRxData = 0x04;
constexpr std::uint8_t kIirCharTimeout = 0x0c;
constexpr std::uint8_t kIirThrEmpty = 0x02;
constexpr std::uint8_t kIirModemStatus = 0x00;
constexpr std::uint8_t kIirFifosEnabled = 0xc0; // bits 6-7 mirror FCR bit 0

// PC16550D §8.5 (FIFO Control Register).
constexpr std::uint8_t kFcrEnable = 0x01;
constexpr std::uint8_t kFcrRxReset = 0x02;
constexpr std::uint8_t kFcrTxReset = 0x04; // self-clearing; our transmitter is always empty
constexpr std::uint8_t kFcrTriggerShift = 6;

// PC16550D §8.1 (Line Control Register).
constexpr std::uint8_t kLcrDlab = 0x80;

// PC16550D §8.8 (Modem Control Register).
constexpr std::uint8_t kMcrDtr = 0x01;
constexpr std::uint8_t kMcrRts = 0x02;
constexpr std::uint8_t kMcrOut1 = 0x04;
constexpr std::uint8_t kMcrOut2 = 0x08;
constexpr std::uint8_t kMcrLoop = 0x10;
constexpr std::uint8_t kMcrMask = 0x1f; // bits 5-7 are always 0

// PC16550D §8.4 (Line Status Register).
constexpr std::uint8_t kLsrDataReady = 0x01;
constexpr std::uint8_t kLsrOverrun = 0x02;
constexpr std::uint8_t kLsrThrEmpty = 0x20;
constexpr std::uint8_t kLsrTransmitterEmpty = 0x40;

// PC16550D §8.9 (Modem Status Register).
constexpr std::uint8_t kMsrDeltaCts = 0x01;
constexpr std::uint8_t kMsrDeltaDsr = 0x02;
constexpr std::uint8_t kMsrTrailingEdgeRi = 0x04;
constexpr std::uint8_t kMsrDeltaDcd = 0x08;
constexpr std::uint8_t kMsrDeltaMask = 0x0f;
constexpr std::uint8_t kMsrCts = 0x10;
constexpr std::uint8_t kMsrDsr = 0x20;
constexpr std::uint8_t kMsrRi = 0x40;
constexpr std::uint8_t kMsrDcd = 0x80;

// PC16550D §8.5: FCR bits 7-6 select the receiver trigger level.
constexpr std::array<std::size_t, 4> kTriggerLevels{1, 4, 8, 14};

} // namespace

Serial16550::Serial16550(InterruptLine& interrupt, OutputSink output)
    : m_interrupt(interrupt)
    , m_output(std::move(output))
{
    // No cable and no modem: the host end is always ready, so the inputs read asserted and
    // guests that wait for CTS before transmitting make progress. No deltas at power-on.
    m_msr = kMsrCts | kMsrDsr | kMsrDcd;
    // PC16550D Table III (UART Reset Configuration): LSR = 0x60, the transmitter is empty.
    m_thre_pending = true;
}

void Serial16550::read(std::uint64_t offset, std::span<std::uint8_t> data)
{
    bool rx_space = false;
    std::function<void()> callback;
    {
        std::lock_guard lock(m_mutex);
        for (std::size_t i = 0; i < data.size(); ++i)
            data[i] = read_register(static_cast<std::uint8_t>((offset + i) % kLength), rx_space);
        update_interrupt();
        if (rx_space && take_rx_space_due())
            callback = m_rx_space_callback;
    }
    if (callback)
        callback();
}

void Serial16550::write(std::uint64_t offset, std::span<const std::uint8_t> data)
{
    std::array<std::uint8_t, 8> tx{};
    std::size_t tx_count = 0;
    bool rx_space = false;
    std::function<void()> callback;
    OutputSink* output = nullptr;
    {
        std::lock_guard lock(m_mutex);
        for (std::size_t i = 0; i < data.size() && i < tx.size(); ++i)
            rx_space |= write_register(static_cast<std::uint8_t>((offset + i) % kLength), data[i], tx,
                                       tx_count);
        update_interrupt();
        if (rx_space && take_rx_space_due())
            callback = m_rx_space_callback;
        if (tx_count > 0 && m_output)
            output = &m_output; // set once at construction, never reassigned
    }
    if (output)
        (*output)(std::span<const std::uint8_t>(tx.data(), tx_count));
    if (callback)
        callback();
}

std::size_t Serial16550::push_input(std::span<const std::uint8_t> bytes)
{
    std::lock_guard lock(m_mutex);
    const std::size_t room = rx_capacity() - std::min(rx_capacity(), m_rx_count);
    const std::size_t accepted = std::min(room, bytes.size());
    for (std::size_t i = 0; i < accepted; ++i)
        receive(bytes[i]);
    if (accepted < bytes.size())
        m_host_waiting = true;
    update_interrupt();
    return accepted;
}

void Serial16550::set_rx_space_callback(std::function<void()> callback)
{
    std::lock_guard lock(m_mutex);
    m_rx_space_callback = std::move(callback);
}

std::uint8_t Serial16550::read_register(std::uint8_t offset, bool& rx_space)
{
    const bool dlab = (m_lcr & kLcrDlab) != 0;
    switch (static_cast<Register>(offset)) {
    case Register::Data: {
        if (dlab)
            return m_dll;
        if (m_rx_count == 0)
            return m_last_rx;
        // PC16550D §8.6: reading RBR clears the data-available and timeout interrupts once
        // the FIFO falls below the trigger level; both follow from m_rx_count.
        m_last_rx = m_rx[m_rx_head];
        m_rx_head = (m_rx_head + 1) % kFifoSize;
        --m_rx_count;
        rx_space = true;
        return m_last_rx;
    }
    case Register::InterruptEnable:
        return dlab ? m_dlm : m_ier;
    case Register::InterruptId: {
        const std::uint8_t id = interrupt_id();
        // PC16550D §8.6 Table IV: reading IIR clears the THRE interrupt when it is the source.
        if ((id & 0x0f) == kIirThrEmpty)
            m_thre_pending = false;
        return id;
    }
    case Register::LineControl:
        return m_lcr;
    case Register::ModemControl:
        return m_mcr;
    case Register::LineStatus: {
        const std::uint8_t status = line_status();
        // PC16550D §8.4: OE (like PE, FE, BI) is reset when the CPU reads the LSR.
        m_overrun = false;
        return status;
    }
    case Register::ModemStatus: {
        const std::uint8_t status = m_msr;
        // PC16550D §8.9: bits 0-3 are reset when the CPU reads the MSR.
        m_msr &= static_cast<std::uint8_t>(~kMsrDeltaMask);
        return status;
    }
    case Register::Scratch:
        return m_scr;
    }
    return 0xff; // unreachable: offset < kLength
}

bool Serial16550::write_register(std::uint8_t offset, std::uint8_t value, std::array<std::uint8_t, 8>& tx,
                                 std::size_t& tx_count)
{
    const bool dlab = (m_lcr & kLcrDlab) != 0;
    switch (static_cast<Register>(offset)) {
    case Register::Data:
        if (dlab) {
            m_dll = value;
            return false;
        }
        // Transmission is instantaneous (the VMM keeps no baud-rate clock): the byte leaves
        // and THR is empty again at once, which re-arms the THRE interrupt (§8.6 Table IV:
        // writing THR clears it, THR becoming empty sets it).
        if (m_mcr & kMcrLoop) {
            // §8.8: in loopback the transmitter output is wired to the receiver input.
            receive(value);
        } else {
            tx[tx_count++] = value;
        }
        m_thre_pending = true;
        return false;
    case Register::InterruptEnable: {
        if (dlab) {
            m_dlm = value;
            return false;
        }
        const std::uint8_t old = m_ier;
        m_ier = value & kIerMask;
        // Enabling ETBEI while THR is empty raises the THRE interrupt, as on the chip (and
        // Linux's 8250 startup test for UART_BUG_THRE relies on it).
        if ((m_ier & kIerThrEmpty) && !(old & kIerThrEmpty))
            m_thre_pending = true;
        return false;
    }
    case Register::InterruptId: { // FCR
        const bool was_enabled = fifo_enabled();
        const bool enable = (value & kFcrEnable) != 0;
        bool rx_space = false;
        // §8.5: changing FCR0 clears both FIFOs; RCVR FIFO reset clears the receiver.
        if (enable != was_enabled || (value & kFcrRxReset)) {
            rx_space = m_rx_count > 0 || enable != was_enabled;
            clear_rx();
        }
        // Bits 1-2 are self-clearing; TX reset has nothing to drop.
        m_fcr = value & static_cast<std::uint8_t>(~(kFcrRxReset | kFcrTxReset));
        return rx_space;
    }
    case Register::LineControl:
        m_lcr = value;
        return false;
    case Register::ModemControl:
        m_mcr = value & kMcrMask;
        set_modem_inputs(modem_inputs());
        return false;
    case Register::LineStatus:
    case Register::ModemStatus:
        // §8.4, §8.9: writable only for factory testing; a guest write is ignored.
        return false;
    case Register::Scratch:
        m_scr = value;
        return false;
    }
    return false;
}

bool Serial16550::fifo_enabled() const
{
    return (m_fcr & kFcrEnable) != 0;
}

std::size_t Serial16550::rx_capacity() const
{
    // In 16450 mode the receiver is the single RBR.
    return fifo_enabled() ? kFifoSize : 1;
}

std::size_t Serial16550::rx_trigger_level() const
{
    return kTriggerLevels[m_fcr >> kFcrTriggerShift];
}

std::uint8_t Serial16550::line_status() const
{
    std::uint8_t status = kLsrThrEmpty | kLsrTransmitterEmpty; // transmission is instantaneous
    if (m_rx_count > 0)
        status |= kLsrDataReady;
    if (m_overrun)
        status |= kLsrOverrun;
    // Parity, framing and break errors cannot happen on a virtual wire, so bit 7 (error in
    // RCVR FIFO) stays 0 too.
    return status;
}

std::uint8_t Serial16550::interrupt_id() const
{
    const std::uint8_t fifo_bits = fifo_enabled() ? kIirFifosEnabled : 0;
    // §8.6 Table IV priorities: line status > data available / timeout > THRE > modem status.
    if ((m_ier & kIerLineStatus) && m_overrun)
        return fifo_bits | kIirLineStatus;
    if ((m_ier & kIerRxData) && m_rx_count > 0) {
        // §8.11: below the trigger level the chip reports a character timeout after four
        // character times without FIFO activity. We have no character clock, so that time has
        // always elapsed: data below the trigger level is reported as a timeout at once.
        if (fifo_enabled() && m_rx_count < rx_trigger_level())
            return fifo_bits | kIirCharTimeout;
        return fifo_bits | kIirRxData;
    }
    if ((m_ier & kIerThrEmpty) && m_thre_pending)
        return fifo_bits | kIirThrEmpty;
    if ((m_ier & kIerModemStatus) && (m_msr & kMsrDeltaMask))
        return fifo_bits | kIirModemStatus;
    return fifo_bits | kIirNoInterrupt;
}

std::uint8_t Serial16550::modem_inputs() const
{
    if (!(m_mcr & kMcrLoop))
        return kMsrCts | kMsrDsr | kMsrDcd;
    // §8.8: in loopback CTS, DSR, RI and DCD are driven by RTS, DTR, OUT1 and OUT2.
    std::uint8_t inputs = 0;
    if (m_mcr & kMcrRts)
        inputs |= kMsrCts;
    if (m_mcr & kMcrDtr)
        inputs |= kMsrDsr;
    if (m_mcr & kMcrOut1)
        inputs |= kMsrRi;
    if (m_mcr & kMcrOut2)
        inputs |= kMsrDcd;
    return inputs;
}

void Serial16550::set_modem_inputs(std::uint8_t inputs)
{
    const std::uint8_t old = m_msr;
    const std::uint8_t changed = old ^ inputs;
    std::uint8_t deltas = old & kMsrDeltaMask; // unread deltas accumulate until MSR is read
    if (changed & kMsrCts)
        deltas |= kMsrDeltaCts;
    if (changed & kMsrDsr)
        deltas |= kMsrDeltaDsr;
    // §8.9: TERI is set only on the trailing edge of RI (RI going inactive).
    if ((old & kMsrRi) && !(inputs & kMsrRi))
        deltas |= kMsrTrailingEdgeRi;
    if (changed & kMsrDcd)
        deltas |= kMsrDeltaDcd;
    m_msr = static_cast<std::uint8_t>(inputs | deltas);
}

void Serial16550::receive(std::uint8_t byte)
{
    if (m_rx_count >= rx_capacity()) {
        if (fifo_enabled()) {
            // §8.4: with a full FIFO the new character is lost (it stays in the shift register
            // and is overwritten); the FIFO contents are kept.
            m_overrun = true;
            return;
        }
        // 16450 mode: the new character overwrites the unread one in RBR.
        m_rx[m_rx_head] = byte;
        m_overrun = true;
        return;
    }
    m_rx[(m_rx_head + m_rx_count) % kFifoSize] = byte;
    ++m_rx_count;
}

void Serial16550::clear_rx()
{
    m_rx_head = 0;
    m_rx_count = 0;
}

void Serial16550::update_interrupt()
{
    // On a PC the UART's INTR pin reaches the interrupt controller through a buffer enabled by
    // OUT2. In loopback §8.8 forces the OUT pins inactive, so the PC sees no interrupt then.
    const bool gate = (m_mcr & kMcrOut2) && !(m_mcr & kMcrLoop);
    const bool level = gate && (interrupt_id() & kIirNoInterrupt) == 0;
    if (level != m_level) {
        m_level = level;
        m_interrupt.set_level(level);
    }
}

namespace {
constexpr std::uint32_t kStateTag = snapshot::payload_tag("U550");
constexpr std::uint16_t kStateVersion = 1;
} // namespace

void Serial16550::save_state(snapshot::StateWriter& out) const
{
    std::lock_guard lock(m_mutex);
    snapshot::write_payload_header(out, kStateTag, kStateVersion);
    for (const std::uint8_t reg : {m_ier, m_fcr, m_lcr, m_mcr, m_msr, m_scr, m_dll, m_dlm, m_last_rx})
        out.u8(reg);
    out.boolean(m_overrun);
    out.boolean(m_thre_pending);
    // The receiver's bytes oldest first: the ring position is not state.
    std::vector<std::uint8_t> rx;
    for (std::size_t i = 0; i < m_rx_count; ++i)
        rx.push_back(m_rx[(m_rx_head + i) % kFifoSize]);
    out.bytes(rx);
}

void Serial16550::restore_state(snapshot::StateReader& in)
{
    // Everything is read and checked into a copy first: a bad payload changes nothing.
    snapshot::read_payload_header(in, kStateTag, kStateVersion, "16550 UART");
    const std::uint8_t ier = in.u8();
    const std::uint8_t fcr = in.u8();
    const std::uint8_t lcr = in.u8();
    const std::uint8_t mcr = in.u8();
    const std::uint8_t msr = in.u8();
    const std::uint8_t scr = in.u8();
    const std::uint8_t dll = in.u8();
    const std::uint8_t dlm = in.u8();
    const std::uint8_t last_rx = in.u8();
    const bool overrun = in.boolean();
    const bool thre_pending = in.boolean();
    const std::vector<std::uint8_t> rx = in.bytes(kFifoSize);
    in.expect_end();
    // The values no guest write can produce (write_register masks them) are corrupt.
    if (ier & ~kIerMask)
        in.fail(fmt::format("IER {:#04x} has reserved bits set", ier));
    if (mcr & ~kMcrMask)
        in.fail(fmt::format("MCR {:#04x} has reserved bits set", mcr));
    if (fcr & (kFcrRxReset | kFcrTxReset))
        in.fail(fmt::format("FCR {:#04x} has self-clearing bits set", fcr));
    const std::size_t capacity = (fcr & kFcrEnable) ? kFifoSize : 1;
    if (rx.size() > capacity)
        in.fail(fmt::format("{} bytes in a receiver that holds {}", rx.size(), capacity));

    std::lock_guard lock(m_mutex);
    m_ier = ier;
    m_fcr = fcr;
    m_lcr = lcr;
    m_mcr = mcr;
    m_scr = scr;
    m_dll = dll;
    m_dlm = dlm;
    m_last_rx = last_rx;
    m_overrun = overrun;
    m_thre_pending = thre_pending;
    m_rx_head = 0;
    m_rx_count = rx.size();
    std::copy(rx.begin(), rx.end(), m_rx.begin());
    // MSR bits 4-7 are the modem inputs, which follow from MCR (loopback) or the always-ready
    // host end; only the unread deltas (bits 0-3) are state of their own.
    m_msr = static_cast<std::uint8_t>(modem_inputs() | (msr & kMsrDeltaMask));
    // The line follows the restored registers, as after any register access.
    update_interrupt();
}

bool Serial16550::take_rx_space_due()
{
    if (!m_host_waiting || m_rx_count >= rx_capacity())
        return false;
    m_host_waiting = false;
    return static_cast<bool>(m_rx_space_callback);
}

} // namespace minivmm
