#include "monitor/kvm/irq_routing.h"

#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

namespace bulwark::kvm {
namespace {

// struct kvm_irq_routing { __u32 nr; __u32 flags; entries[] }: in C the header is 8 bytes and
// that is what the ioctl number encodes; C++ sees __DECLARE_FLEX_ARRAY differently (kvm_abi.h).
struct RoutingHeader {
  uint32_t nr;
  uint32_t flags;
};
static_assert(sizeof(RoutingHeader) == 8);
static_assert(sizeof(kvm_irq_routing_entry) == 48);
constexpr unsigned long kSetGsiRouting = _IOW(KVMIO, 0x6a, RoutingHeader);

constexpr uint32_t kPicPins = 8;
constexpr uint32_t kLegacyIrqs = 16;
constexpr uint32_t kIoapicPins = 24;

kvm_irq_routing_entry irqchip_route(uint32_t gsi, uint32_t chip, uint32_t pin) {
  kvm_irq_routing_entry e{};
  e.gsi = gsi;
  e.type = KVM_IRQ_ROUTING_IRQCHIP;
  e.u.irqchip.irqchip = chip;
  e.u.irqchip.pin = pin;
  return e;
}

}  // namespace

std::vector<kvm_irq_routing_entry> default_irqchip_routes() {
  std::vector<kvm_irq_routing_entry> routes;
  for (uint32_t gsi = 0; gsi < kIoapicPins; ++gsi) {
    if (gsi < kLegacyIrqs) {
      routes.push_back(irqchip_route(gsi, gsi < kPicPins ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
                                     gsi % kPicPins));
    }
    routes.push_back(irqchip_route(gsi, KVM_IRQCHIP_IOAPIC, gsi));
  }
  return routes;
}

kvm_irq_routing_entry msi_route(uint32_t gsi, uint64_t address, uint32_t data) {
  kvm_irq_routing_entry e{};
  e.gsi = gsi;
  e.type = KVM_IRQ_ROUTING_MSI;
  e.u.msi.address_lo = static_cast<uint32_t>(address);
  e.u.msi.address_hi = static_cast<uint32_t>(address >> 32);
  e.u.msi.data = data;
  return e;
}

std::vector<uint64_t> encode_routing_table(std::span<const kvm_irq_routing_entry> entries) {
  const size_t bytes = sizeof(RoutingHeader) + entries.size_bytes();
  std::vector<uint64_t> table((bytes + 7) / 8, 0);
  const RoutingHeader header{static_cast<uint32_t>(entries.size()), 0};
  auto* out = reinterpret_cast<uint8_t*>(table.data());
  std::memcpy(out, &header, sizeof(header));
  if (!entries.empty()) std::memcpy(out + sizeof(header), entries.data(), entries.size_bytes());
  return table;
}

Result<uint32_t> GsiRouting::allocate_msi_gsi() {
  if (next_gsi_ >= kMsiGsiLimit) return Error("no free GSI for an MSI route");
  return next_gsi_++;
}

Status GsiRouting::set_msi_route(uint32_t gsi, uint64_t address, uint32_t data) {
  if (gsi < kFirstMsiGsi || gsi >= next_gsi_) return Error("GSI " + std::to_string(gsi) + " was not allocated");
  msi_routes_[gsi] = msi_route(gsi, address, data);
  return install();
}

Status GsiRouting::clear_route(uint32_t gsi) {
  if (msi_routes_.erase(gsi) == 0) return ok_status();
  return install();
}

Status GsiRouting::install() const {
  std::vector<kvm_irq_routing_entry> entries = default_irqchip_routes();
  for (const auto& [gsi, entry] : msi_routes_) entries.push_back(entry);
  std::vector<uint64_t> table = encode_routing_table(entries);
  if (::ioctl(vm_fd_, kSetGsiRouting, table.data()) != 0) return Error::from_errno("KVM_SET_GSI_ROUTING", errno);
  return ok_status();
}

Status signal_msi(int vm_fd, uint64_t address, uint32_t data) {
  kvm_msi msi{};
  msi.address_lo = static_cast<uint32_t>(address);
  msi.address_hi = static_cast<uint32_t>(address >> 32);
  msi.data = data;
  if (::ioctl(vm_fd, KVM_SIGNAL_MSI, &msi) < 0) return Error::from_errno("KVM_SIGNAL_MSI", errno);
  return ok_status();
}

}  // namespace bulwark::kvm
