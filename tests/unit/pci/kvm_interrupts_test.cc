// The KVM side of the virtio-pci transport on the host's real KVM: MSI routes, irqfds,
// ioeventfds (one fired by a real guest write) and KVM_SIGNAL_MSI. Skipped without /dev/kvm.
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>

#include "bulwark/common/unique_fd.h"
#include "monitor/kvm/ioeventfd.h"
#include "monitor/kvm/irq_routing.h"
#include "monitor/kvm/irqfd.h"
#include "monitor/virtio_pci/kvm_transport_actions.h"

namespace bulwark::kvm {
namespace {

class KvmVm : public ::testing::Test {
 protected:
  void SetUp() override {
    kvm_ = UniqueFd(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
    if (!kvm_.valid()) GTEST_SKIP() << "no /dev/kvm";
    vm_ = UniqueFd(::ioctl(kvm_.get(), KVM_CREATE_VM, 0));
    ASSERT_TRUE(vm_.valid());
    ASSERT_EQ(::ioctl(vm_.get(), KVM_SET_TSS_ADDR, 0xfffbd000ul), 0);
  }
  void create_irqchip() { ASSERT_EQ(::ioctl(vm_.get(), KVM_CREATE_IRQCHIP, 0), 0); }
  static UniqueFd eventfd() { return UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)); }

  UniqueFd kvm_;
  UniqueFd vm_;
};

TEST(IrqRouting, DefaultTableMatchesKvmsIrqchipRoutes) {
  const auto routes = default_irqchip_routes();
  EXPECT_EQ(routes.size(), 16u * 2 + 8);  // 0-15 on PIC and IOAPIC, 16-23 on the IOAPIC
  const std::vector<uint64_t> table = encode_routing_table(routes);
  EXPECT_EQ(table.size() * 8, 8 + routes.size() * sizeof(kvm_irq_routing_entry));
  uint32_t nr;
  std::memcpy(&nr, table.data(), 4);
  EXPECT_EQ(nr, routes.size());
}

TEST_F(KvmVm, MsiRoutesIrqfdsAndSignalMsiAreAccepted) {
  create_irqchip();
  GsiRouting routing(vm_.get());
  const Result<uint32_t> gsi = routing.allocate_msi_gsi();
  ASSERT_TRUE(gsi.ok());
  EXPECT_EQ(*gsi, kFirstMsiGsi);
  const Status routed = routing.set_msi_route(*gsi, 0xfee00000, 0x4041);
  ASSERT_TRUE(routed.ok()) << routed.error().message();
  EXPECT_FALSE(routing.set_msi_route(*gsi + 1, 0xfee00000, 0x41).ok());  // not allocated

  UniqueFd call = eventfd();
  const Status assigned = assign_irqfd(vm_.get(), *gsi, call.get());
  ASSERT_TRUE(assigned.ok()) << assigned.error().message();
  EXPECT_FALSE(assign_irqfd(vm_.get(), *gsi, call.get()).ok());  // KVM refuses the same eventfd twice
  // Rerouting keeps the irqfd working; removing the route is accepted too.
  EXPECT_TRUE(routing.set_msi_route(*gsi, 0xfee01000, 0x4042).ok());
  EXPECT_TRUE(deassign_irqfd(vm_.get(), *gsi, call.get()).ok());
  EXPECT_TRUE(routing.clear_route(*gsi).ok());
  EXPECT_EQ(routing.msi_route_count(), 0u);

  // Legacy IRQ lines still work after the table was replaced (the UART uses one).
  kvm_irq_level line{};
  line.irq = 4;
  line.level = 1;
  EXPECT_GE(::ioctl(vm_.get(), KVM_IRQ_LINE, &line), 0);

  UniqueFd vcpu(::ioctl(vm_.get(), KVM_CREATE_VCPU, 0));
  ASSERT_TRUE(vcpu.valid());
  const Status msi = signal_msi(vm_.get(), 0xfee00000, 0x4041);
  EXPECT_TRUE(msi.ok()) << msi.error().message();
}

TEST_F(KvmVm, IoeventfdRegistrationFollowsKvmRules) {
  UniqueFd kick = eventfd();
  EXPECT_TRUE(assign_mmio_ioeventfd(vm_.get(), 0xc0003000, 0, kick.get()).ok());
  EXPECT_FALSE(assign_mmio_ioeventfd(vm_.get(), 0xc0003000, 0, kick.get()).ok());  // exists
  EXPECT_FALSE(assign_mmio_ioeventfd(vm_.get(), 0xc0003004, 3, kick.get()).ok());  // bad length
  EXPECT_TRUE(deassign_mmio_ioeventfd(vm_.get(), 0xc0003000, 0, kick.get()).ok());
  EXPECT_FALSE(deassign_mmio_ioeventfd(vm_.get(), 0xc0003000, 0, kick.get()).ok());  // gone
}

// A real-mode guest writes a word to an MMIO address with an ioeventfd on it, then leaves
// through an OUT: the eventfd must have fired inside KVM without an MMIO exit.
TEST_F(KvmVm, GuestWriteToANotifyAddressSignalsTheIoeventfd) {
  constexpr uint64_t kRamSize = 0x10000;
  void* ram = ::mmap(nullptr, kRamSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(ram, MAP_FAILED);
  const uint8_t code[] = {
      0xb8, 0x00, 0xa0,                    // mov ax, 0xa000
      0x8e, 0xd8,                          // mov ds, ax
      0xc7, 0x06, 0x10, 0x00, 0x01, 0x00,  // mov word [0x10], 1   -> gpa 0xa0010
      0xe6, 0x10,                          // out 0x10, al
      0xf4,                                // hlt
  };
  std::memcpy(static_cast<uint8_t*>(ram) + 0x1000, code, sizeof(code));
  kvm_userspace_memory_region region{};
  region.memory_size = kRamSize;
  region.userspace_addr = reinterpret_cast<uint64_t>(ram);
  ASSERT_EQ(::ioctl(vm_.get(), KVM_SET_USER_MEMORY_REGION, &region), 0);

  UniqueFd kick = eventfd();
  ASSERT_TRUE(assign_mmio_ioeventfd(vm_.get(), 0xa0010, 0, kick.get()).ok());

  UniqueFd vcpu(::ioctl(vm_.get(), KVM_CREATE_VCPU, 0));
  ASSERT_TRUE(vcpu.valid());
  const int run_size = ::ioctl(kvm_.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
  auto* run = static_cast<kvm_run*>(::mmap(nullptr, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu.get(), 0));
  ASSERT_NE(run, MAP_FAILED);
  kvm_sregs sregs{};
  ASSERT_EQ(::ioctl(vcpu.get(), KVM_GET_SREGS, &sregs), 0);
  sregs.cs.base = 0;
  sregs.cs.selector = 0;
  ASSERT_EQ(::ioctl(vcpu.get(), KVM_SET_SREGS, &sregs), 0);
  kvm_regs regs{};
  regs.rip = 0x1000;
  regs.rflags = 2;
  ASSERT_EQ(::ioctl(vcpu.get(), KVM_SET_REGS, &regs), 0);

  ASSERT_EQ(::ioctl(vcpu.get(), KVM_RUN, 0), 0);
  EXPECT_EQ(run->exit_reason, static_cast<uint32_t>(KVM_EXIT_IO));  // not KVM_EXIT_MMIO
  uint64_t count = 0;
  ASSERT_EQ(::read(kick.get(), &count, sizeof(count)), static_cast<ssize_t>(sizeof(count)));
  EXPECT_EQ(count, 1u);
  ::munmap(run, run_size);
  ::munmap(ram, kRamSize);
}

TEST_F(KvmVm, TransportActionsDriveTheRealKvm) {
  create_irqchip();
  GsiRouting routing(vm_.get());
  virtio_pci::KvmTransportActions actions(vm_.get(), routing);
  Result<UniqueFd> fd = actions.create_eventfd();
  ASSERT_TRUE(fd.ok());
  const Result<uint32_t> gsi = actions.allocate_gsi();
  ASSERT_TRUE(gsi.ok());
  EXPECT_TRUE(actions.set_msi_route(*gsi, pci::MsiMessage{0xfee00000, 0x30}).ok());
  EXPECT_TRUE(actions.assign_irqfd(*gsi, fd->get()).ok());
  EXPECT_TRUE(actions.deassign_irqfd(*gsi, fd->get()).ok());
  EXPECT_TRUE(actions.add_ioeventfd(0xc0000000, fd->get()).ok());
  EXPECT_TRUE(actions.remove_ioeventfd(0xc0000000, fd->get()).ok());
  actions.signal_eventfd(fd->get());
  uint64_t count = 0;
  ASSERT_EQ(::read(fd->get(), &count, sizeof(count)), static_cast<ssize_t>(sizeof(count)));
  EXPECT_EQ(count, 1u);
}

}  // namespace
}  // namespace bulwark::kvm
