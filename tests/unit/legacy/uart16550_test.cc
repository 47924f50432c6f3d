#include "monitor/legacy/uart16550.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/unit/legacy/port_access.h"

namespace bulwark::legacy {
namespace {

using testing::in_n;
using testing::inb;
using testing::outb;
using U = Uart16550;

class UartTest : public ::testing::Test {
 protected:
  UartTest()
      : uart_([this](bool level) { irq_changes_.push_back(level); },
              [this](uint8_t byte) { sent_.push_back(byte); }) {}

  bool irq() const { return !irq_changes_.empty() && irq_changes_.back(); }
  uint8_t iir_id() { return inb(uart_, U::kIirFcr) & 0x0f; }
  // What Linux does before enabling interrupts: OUT2 opens the PC's IRQ gate.
  void open_irq_gate() { outb(uart_, U::kMcr, U::kMcrOut2 | U::kMcrRts | U::kMcrDtr); }

  std::vector<bool> irq_changes_;
  std::vector<uint8_t> sent_;
  Uart16550 uart_;
};

TEST_F(UartTest, TransmittedBytesReachTheSinkInOrder) {
  for (uint8_t byte : {'o', 'k', '\n'}) outb(uart_, U::kRbrThrDll, byte);
  EXPECT_EQ(sent_, (std::vector<uint8_t>{'o', 'k', '\n'}));
  EXPECT_EQ(uart_.counters().bytes_transmitted, 3u);
}

TEST_F(UartTest, LineStatusIdleShowsTransmitterEmptyAndNoData) {
  EXPECT_EQ(inb(uart_, U::kLsr), U::kLsrThrEmpty | U::kLsrTransmitterEmpty);
  outb(uart_, U::kRbrThrDll, 'x');
  EXPECT_EQ(inb(uart_, U::kLsr), U::kLsrThrEmpty | U::kLsrTransmitterEmpty);
}

TEST_F(UartTest, ThreInterruptRaisedOnEnableAndClearedByIirRead) {
  open_irq_gate();
  EXPECT_TRUE(irq_changes_.empty());
  outb(uart_, U::kIerDlm, U::kIerTransmitterEmpty);
  EXPECT_EQ(irq_changes_, std::vector<bool>{true});
  EXPECT_EQ(iir_id(), static_cast<uint8_t>(UartInterrupt::kTransmitterEmpty));
  EXPECT_EQ(irq_changes_, (std::vector<bool>{true, false}));
  EXPECT_EQ(iir_id(), U::kIirNoInterrupt);
}

TEST_F(UartTest, EveryTransmitRaisesThreAgain) {
  // Linux's 8250 driver sends from its THRE interrupt handler; without a fresh THRE after
  // each write, user-space output would stall.
  open_irq_gate();
  outb(uart_, U::kIerDlm, U::kIerTransmitterEmpty);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(iir_id(), static_cast<uint8_t>(UartInterrupt::kTransmitterEmpty));
    EXPECT_FALSE(irq());
    outb(uart_, U::kRbrThrDll, static_cast<uint8_t>('a' + i));
    EXPECT_TRUE(irq());
  }
  EXPECT_EQ(sent_.size(), 3u);
}

TEST_F(UartTest, TransmitWhileThreIsPendingGivesAFreshEdge) {
  // An edge-triggered interrupt controller needs the line to drop and rise again, or a
  // handler that leaves with THRE still pending would never be called again.
  open_irq_gate();
  outb(uart_, U::kIerDlm, U::kIerTransmitterEmpty);
  ASSERT_EQ(irq_changes_, std::vector<bool>{true});
  outb(uart_, U::kRbrThrDll, 'e');
  EXPECT_EQ(irq_changes_, (std::vector<bool>{true, false, true}));
}

TEST_F(UartTest, TransmitKeepsTheLineHighWhileRxDataIsPending) {
  open_irq_gate();
  outb(uart_, U::kIerDlm, U::kIerTransmitterEmpty | U::kIerReceivedData);
  ASSERT_TRUE(uart_.receive_byte('r'));
  outb(uart_, U::kRbrThrDll, 'e');
  EXPECT_EQ(irq_changes_, std::vector<bool>{true});
}

TEST_F(UartTest, ThreReassertedWhenInterruptReEnabled) {
  // The sequence of Linux's UART_BUG_THRE test: a UART that fails it gets a polling timer.
  outb(uart_, U::kIerDlm, U::kIerTransmitterEmpty);
  EXPECT_EQ(iir_id(), static_cast<uint8_t>(UartInterrupt::kTransmitterEmpty));
  outb(uart_, U::kIerDlm, 0);
  outb(uart_, U::kIerDlm, U::kIerTransmitterEmpty);
  EXPECT_EQ(iir_id(), static_cast<uint8_t>(UartInterrupt::kTransmitterEmpty));
}

TEST_F(UartTest, IrqLineStaysLowWithoutOut2) {
  outb(uart_, U::kMcr, U::kMcrRts | U::kMcrDtr);
  outb(uart_, U::kIerDlm, U::kIerTransmitterEmpty | U::kIerReceivedData);
  ASSERT_TRUE(uart_.receive_byte('r'));
  EXPECT_EQ(iir_id(), static_cast<uint8_t>(UartInterrupt::kReceivedData));
  EXPECT_TRUE(irq_changes_.empty());
  // Opening the gate exposes the pending interrupt; closing it lowers the line.
  open_irq_gate();
  EXPECT_EQ(irq_changes_, std::vector<bool>{true});
  outb(uart_, U::kMcr, 0);
  EXPECT_EQ(irq_changes_, (std::vector<bool>{true, false}));
}

TEST_F(UartTest, ReceivedDataTakesPriorityOverThre) {
  open_irq_gate();
  outb(uart_, U::kIerDlm, U::kIerReceivedData | U::kIerTransmitterEmpty);
  ASSERT_TRUE(uart_.receive_byte('z'));
  EXPECT_EQ(iir_id(), static_cast<uint8_t>(UartInterrupt::kReceivedData));
  // Reading IIR while RX data is reported must not acknowledge the THRE interrupt.
  EXPECT_EQ(inb(uart_, U::kRbrThrDll), 'z');
  EXPECT_EQ(iir_id(), static_cast<uint8_t>(UartInterrupt::kTransmitterEmpty));
  EXPECT_EQ(iir_id(), U::kIirNoInterrupt);
  EXPECT_FALSE(irq());
}

TEST_F(UartTest, ReceivedByteSetsDataReadyAndRaisesRxInterrupt) {
  open_irq_gate();
  outb(uart_, U::kIerDlm, U::kIerReceivedData);
  EXPECT_FALSE(irq());
  ASSERT_TRUE(uart_.receive_byte(0x41));
  EXPECT_TRUE(irq());
  EXPECT_TRUE(inb(uart_, U::kLsr) & U::kLsrDataReady);
  EXPECT_EQ(inb(uart_, U::kRbrThrDll), 0x41);
  EXPECT_FALSE(inb(uart_, U::kLsr) & U::kLsrDataReady);
  EXPECT_FALSE(irq());
  EXPECT_EQ(iir_id(), U::kIirNoInterrupt);
}

TEST_F(UartTest, FullFifoRefusesBytesAndLosesNone) {
  outb(uart_, U::kIirFcr, U::kFcrEnableFifo | U::kFcrClearRx);
  EXPECT_EQ(inb(uart_, U::kIirFcr) & U::kIirFifosEnabled, U::kIirFifosEnabled);
  EXPECT_EQ(uart_.rx_free(), U::kFifoSize);
  for (size_t i = 0; i < U::kFifoSize; ++i) ASSERT_TRUE(uart_.receive_byte(static_cast<uint8_t>(i)));
  EXPECT_EQ(uart_.rx_free(), 0u);
  EXPECT_FALSE(uart_.receive_byte(0xee));  // the host keeps it
  EXPECT_EQ(inb(uart_, U::kLsr) & U::kLsrOverrun, 0);
  EXPECT_EQ(inb(uart_, U::kRbrThrDll), 0);
  EXPECT_EQ(uart_.rx_free(), 1u);
  EXPECT_TRUE(uart_.receive_byte(0xee));  // offered again
  for (size_t i = 1; i < U::kFifoSize; ++i) EXPECT_EQ(inb(uart_, U::kRbrThrDll), i);
  EXPECT_EQ(inb(uart_, U::kRbrThrDll), 0xee);
  EXPECT_EQ(uart_.counters().bytes_dropped_overrun, 0u);
}

TEST_F(UartTest, WithoutFifoOnlyOneByteIsHeld) {
  EXPECT_EQ(inb(uart_, U::kIirFcr) & U::kIirFifosEnabled, 0);
  EXPECT_TRUE(uart_.receive_byte(1));
  EXPECT_FALSE(uart_.receive_byte(2));
  EXPECT_EQ(inb(uart_, U::kRbrThrDll), 1);
  EXPECT_TRUE(uart_.receive_byte(2));
}

TEST_F(UartTest, FcrClearRxDiscardsReceivedBytes) {
  outb(uart_, U::kIirFcr, U::kFcrEnableFifo);
  ASSERT_TRUE(uart_.receive_byte(1));
  ASSERT_TRUE(uart_.receive_byte(2));
  outb(uart_, U::kIirFcr, U::kFcrEnableFifo | U::kFcrClearRx);
  EXPECT_FALSE(inb(uart_, U::kLsr) & U::kLsrDataReady);
  EXPECT_EQ(uart_.rx_free(), U::kFifoSize);
  EXPECT_EQ(uart_.counters().bytes_flushed_by_guest, 2u);
}

TEST_F(UartTest, LoopbackReturnsTransmittedBytesAndMirrorsModemLines) {
  // Linux's autoconfig check: MCR = LOOP | OUT2 | RTS must read MSR[7:4] = DCD | CTS.
  outb(uart_, U::kMcr, U::kMcrLoop | U::kMcrOut2 | U::kMcrRts);
  EXPECT_EQ(inb(uart_, U::kMsr) & 0xf0, U::kMsrDcd | U::kMsrCts);
  outb(uart_, U::kMcr, U::kMcrLoop | U::kMcrDtr | U::kMcrOut1);
  EXPECT_EQ(inb(uart_, U::kMsr) & 0xf0, U::kMsrDsr | U::kMsrRi);

  outb(uart_, U::kRbrThrDll, 0x5a);
  EXPECT_TRUE(sent_.empty());
  EXPECT_EQ(uart_.counters().bytes_transmitted, 0u);
  EXPECT_TRUE(inb(uart_, U::kLsr) & U::kLsrDataReady);
  EXPECT_EQ(inb(uart_, U::kRbrThrDll), 0x5a);

  // The receiver is disconnected from the line: host input waits.
  EXPECT_EQ(uart_.rx_free(), 0u);
  EXPECT_FALSE(uart_.receive_byte('h'));
  outb(uart_, U::kMcr, 0);
  EXPECT_TRUE(uart_.receive_byte('h'));
  EXPECT_EQ(inb(uart_, U::kMsr) & 0xf0, U::kMsrDcd | U::kMsrDsr | U::kMsrCts);
}

TEST_F(UartTest, LoopbackIntoFullFifoSetsOverrunAndLineStatusInterrupt) {
  outb(uart_, U::kIirFcr, U::kFcrEnableFifo);
  outb(uart_, U::kMcr, U::kMcrLoop | U::kMcrOut2);
  outb(uart_, U::kIerDlm, U::kIerLineStatus | U::kIerReceivedData);
  for (size_t i = 0; i <= U::kFifoSize; ++i) outb(uart_, U::kRbrThrDll, static_cast<uint8_t>(i));
  EXPECT_EQ(uart_.counters().bytes_dropped_overrun, 1u);
  EXPECT_EQ(uart_.rx_count(), U::kFifoSize);
  EXPECT_EQ(iir_id(), static_cast<uint8_t>(UartInterrupt::kLineStatus));
  EXPECT_TRUE(irq());
  const uint8_t lsr = inb(uart_, U::kLsr);
  EXPECT_TRUE(lsr & U::kLsrOverrun);
  EXPECT_TRUE(lsr & U::kLsrDataReady);
  EXPECT_FALSE(inb(uart_, U::kLsr) & U::kLsrOverrun);  // cleared by the read
  EXPECT_EQ(iir_id(), static_cast<uint8_t>(UartInterrupt::kReceivedData));
  EXPECT_EQ(inb(uart_, U::kRbrThrDll), 0);  // the FIFO kept the first 16; the 17th was lost
}

TEST_F(UartTest, ModemStatusInterruptOnLoopbackLineChange) {
  outb(uart_, U::kMcr, U::kMcrLoop | U::kMcrOut2);
  (void)inb(uart_, U::kMsr);  // clear the deltas entering loopback produced
  outb(uart_, U::kIerDlm, U::kIerModemStatus);
  EXPECT_EQ(iir_id(), U::kIirNoInterrupt);
  outb(uart_, U::kMcr, U::kMcrLoop | U::kMcrOut2 | U::kMcrRts);
  EXPECT_EQ(inb(uart_, U::kIirFcr), static_cast<uint8_t>(UartInterrupt::kModemStatus));
  EXPECT_TRUE(irq());
  EXPECT_EQ(inb(uart_, U::kMsr), U::kMsrDcd | U::kMsrCts | 0x01 /* delta CTS */);
  EXPECT_FALSE(irq());
}

TEST_F(UartTest, DivisorLatchReadsBackAndHidesDataRegisters) {
  outb(uart_, U::kIerDlm, U::kIerReceivedData);
  outb(uart_, U::kLcr, U::kLcrDlab | 0x03);
  outb(uart_, U::kRbrThrDll, 0x01);
  outb(uart_, U::kIerDlm, 0x02);
  EXPECT_TRUE(sent_.empty());  // DLL write is not a transmit
  EXPECT_EQ(inb(uart_, U::kRbrThrDll), 0x01);
  EXPECT_EQ(inb(uart_, U::kIerDlm), 0x02);
  EXPECT_EQ(inb(uart_, U::kLcr), U::kLcrDlab | 0x03);
  outb(uart_, U::kLcr, 0x03);
  EXPECT_EQ(inb(uart_, U::kIerDlm), U::kIerReceivedData);
}

TEST_F(UartTest, IerKeepsOnlyTheFourInterruptBits) {
  // Linux's probe writes 0 and 0x0f and expects them back; bit 6 must not stick (XScale test).
  outb(uart_, U::kIerDlm, 0);
  EXPECT_EQ(inb(uart_, U::kIerDlm), 0);
  outb(uart_, U::kIerDlm, 0xff);
  EXPECT_EQ(inb(uart_, U::kIerDlm), 0x0f);
}

TEST_F(UartTest, ScratchRegisterHoldsAnyValue) {
  outb(uart_, U::kScr, 0xa5);
  EXPECT_EQ(inb(uart_, U::kScr), 0xa5);
  outb(uart_, U::kScr, 0x5a);
  EXPECT_EQ(inb(uart_, U::kScr), 0x5a);
}

TEST_F(UartTest, WideAccessTouchesOnlyTheFirstRegister) {
  outb(uart_, U::kScr, 0x33);
  EXPECT_EQ(in_n(uart_, U::kScr, 4), (std::vector<uint8_t>{0x33, 0xff, 0xff, 0xff}));
  const std::array<uint8_t, 2> word{'w', 'x'};
  uart_.port_write(U::kRbrThrDll, word);
  EXPECT_EQ(sent_, std::vector<uint8_t>{'w'});
}

TEST_F(UartTest, OffsetsPastTheUartFloat) {
  EXPECT_EQ(inb(uart_, 8), 0xff);
  outb(uart_, 8, 'q');
  EXPECT_TRUE(sent_.empty());
}

TEST(UartWithoutCallbacks, EmptyCallbacksAreIgnored) {
  Uart16550 uart({}, {});
  outb(uart, Uart16550::kMcr, Uart16550::kMcrOut2);
  outb(uart, Uart16550::kIerDlm, Uart16550::kIerTransmitterEmpty);
  outb(uart, Uart16550::kRbrThrDll, 'a');
  EXPECT_TRUE(uart.irq_level());
  EXPECT_EQ(uart.counters().bytes_transmitted, 1u);
}

}  // namespace
}  // namespace bulwark::legacy
