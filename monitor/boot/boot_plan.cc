#include "monitor/boot/boot_plan.h"

#include <algorithm>
#include <string>

#include "monitor/boot/hex_format.h"
#include "monitor/boot/initrd_placement.h"
#include "monitor/boot/zero_page.h"

namespace bulwark::boot {
namespace {

// The command line as the kernel will read it: the bytes plus a terminating NUL.
Result<std::vector<uint8_t>> command_line_bytes(std::string_view cmdline, const KernelImage& kernel) {
  if (const size_t nul = cmdline.find('\0'); nul != std::string_view::npos)
    return Error("command line has a NUL byte at offset " + std::to_string(nul) +
                 "; the kernel would silently drop everything after it");
  const uint64_t monitor_limit = kCmdlineMaxSize - 1;
  const uint64_t limit = std::min<uint64_t>(monitor_limit, kernel.cmdline_limit);
  if (cmdline.size() > limit)
    return Error("command line of " + std::to_string(cmdline.size()) + " bytes exceeds the limit of " +
                 std::to_string(limit) + " (kernel cmdline_size " +
                 std::to_string(kernel.cmdline_limit) + ", monitor buffer " +
                 std::to_string(monitor_limit) + ", NUL excluded)");
  std::vector<uint8_t> bytes(cmdline.begin(), cmdline.end());
  bytes.push_back(0);
  return bytes;
}

}  // namespace

Result<BootPlan> plan_linux_boot(std::span<const uint8_t> kernel_file,
                                 std::span<const uint8_t> initrd_file, std::string_view cmdline,
                                 const GuestLayout& layout, uint64_t acpi_rsdp_addr) {
  auto kernel = parse_kernel_image(kernel_file, layout);
  if (!kernel) return kernel.error();
  auto cmdline_bytes = command_line_bytes(cmdline, *kernel);
  if (!cmdline_bytes) return cmdline_bytes.error();
  const auto initrd_addr = place_initrd(initrd_file.size(), *kernel, layout);
  if (!initrd_addr) return initrd_addr.error();

  const std::vector<E820Entry> e820 = layout.e820_map();
  auto zero_page = build_zero_page({.kernel = *kernel,
                                    .cmdline_addr = kCmdlineAddr,
                                    .initrd_addr = *initrd_addr,
                                    .initrd_size = initrd_file.size(),
                                    .acpi_rsdp_addr = acpi_rsdp_addr,
                                    .e820 = e820});
  if (!zero_page) return zero_page.error();

  BootPlan plan;
  plan.format = kernel->format;
  plan.kernel_segments = std::move(kernel->segments);
  plan.writes.push_back({kZeroPageAddr, std::move(*zero_page)});
  plan.writes.push_back({kCmdlineAddr, std::move(*cmdline_bytes)});
  plan.initrd_addr = *initrd_addr;
  plan.initrd = initrd_file;
  plan.entry64 = kernel->entry64;
  plan.zero_page_addr = kZeroPageAddr;
  return plan;
}

}  // namespace bulwark::boot
