// tests/guests/virtio_hostile on our whole stack: bulwark-monitor with a real bulwark-dev-blk
// process (seccomp enforced) on an image filled with 0xEE. For every abuse the guest ends with
// its marker line and resets (the monitor survived), the guest saw the device failed
// (NEEDS_RESET) or its request refused, the device process is alive until the monitor leaves
// and then exits by itself (never killed by a signal), and the image is unchanged outside
// sector 100, the bad requests' target (and unchanged there too when the request was refused).
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "monitor/vmm/exit_codes.h"
#include "tests/devices/blk_socket_device.h"
#include "tests/integration/guest_test_support.h"
#include "tests/integration/virtio_disk_image.h"

namespace bulwark::test {
namespace {

using namespace std::chrono_literals;

enum class Abuse {
  kBadDataRequest,  // a request whose chain is broken: refused, or NEEDS_RESET
  kBrokenRing,      // the avail ring itself is broken: no completion, or NEEDS_RESET
  kQueueSize,       // a queue size that is not a power of two: refused one way or another
  kMsix,            // writes outside the MSI-X table: ignored, the device keeps working
};

struct HostileCase {
  const char* name;     // the guest's case=NAME
  const char* cmdline;
  Abuse abuse;
};

void PrintTo(const HostileCase& c, std::ostream* os) { *os << c.cmdline; }

// The text after `prefix` on the first console line that starts with it.
std::optional<std::string> line_after(const std::string& console, std::string_view prefix) {
  std::istringstream lines(console);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
  }
  return std::nullopt;
}

// The blk status byte of "virtio-hostile: completion id=I len=L status=0xS", nullopt for
// "no completion" (or no line at all).
std::optional<unsigned> completion_status(const std::string& console) {
  const auto rest = line_after(console, "virtio-hostile: completion ");
  if (!rest) return std::nullopt;
  const size_t at = rest->find("status=0x");
  if (at == std::string::npos) return 0xffffu;
  return static_cast<unsigned>(std::stoul(rest->substr(at + 9), nullptr, 16));
}

constexpr unsigned kBlkIoErr = 1, kBlkUnsupp = 2;

class HostileGuestOnOurStack : public GuestTest, public ::testing::WithParamInterface<HostileCase> {
 protected:
  void SetUp() override {
    GuestTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    if (dev_blk_path().empty()) GTEST_SKIP() << "bulwark-dev-blk not built";
    ASSERT_FALSE(dir_.path().empty());
    image_ = dir_.path() + "/disk.img";
    ASSERT_EQ(make_image(image_, kVirtioTestImageBytes, kVirtioTestImageFill), "");
  }

  TempDir dir_;
  std::string image_;
};

TEST_P(HostileGuestOnOurStack, MonitorAndDeviceSurviveAndTheImageIsUnharmed) {
  const HostileCase& c = GetParam();
  const std::string socket = dir_.path() + "/blk.sock";
  auto device = start_blk_on_socket(image_, socket);
  ASSERT_TRUE(device.ok()) << device.error().message();

  const ProcessResult run =
      run_guest("virtio_hostile", {"--vhost-user-blk", socket, "--cmdline", c.cmdline}, {}, 90s);
  // The device ends when its frontend goes away; it must do so by itself, never by a signal.
  const ProcessResult device_end = device->wait(20s);
  const std::string context = run.describe() + "\n" + describe_device_end(device_end);

  // The monitor ran the guest to its end marker and ended with the guest's reset.
  EXPECT_TRUE(run.exited && run.exit_code == vmm::kExitGuestReset) << context;
  const std::string console = console_text(run.out);
  const auto done = line_after(console, std::string("VIRTIO-HOSTILE ") + c.name + " DONE status=0x");
  ASSERT_TRUE(done.has_value()) << context;
  EXPECT_EQ(console.find("VIRTIO-HOSTILE FAIL"), std::string::npos) << context;
  // The device process kept serving: after the abuse a driver that starts over gets its read.
  EXPECT_NE(done->find("recovered=yes"), std::string::npos) << context;

  EXPECT_TRUE(ended_cleanly(device_end)) << context;

  const auto status_line = line_after(console, "virtio-hostile: device status ");
  ASSERT_TRUE(status_line.has_value()) << context;
  const bool needs_reset = status_line->find("NEEDS_RESET") != std::string::npos;
  const std::optional<unsigned> completion = completion_status(console);
  bool request_refused = true;  // did the bad request leave sector 100 alone by design?
  switch (c.abuse) {
    case Abuse::kBadDataRequest:
      request_refused = !completion || *completion == kBlkIoErr || *completion == kBlkUnsupp;
      EXPECT_TRUE(needs_reset || request_refused)
          << "the broken request completed with status " << completion.value_or(0) << "\n" << context;
      break;
    case Abuse::kBrokenRing:
      EXPECT_TRUE(needs_reset || !completion) << "a broken ring produced a completion\n" << context;
      request_refused = !completion;
      break;
    case Abuse::kQueueSize: {
      // Refused when the transport kept another size, the device failed, or the request failed.
      const auto setup = line_after(console, "virtio-blk: queue 0 size 15 (");
      ASSERT_TRUE(setup.has_value()) << context;
      const bool size_kept = setup->find("reads back 15)") == std::string::npos;
      const auto request = line_after(console, "virtio-hostile: request on the size-15 queue: ");
      const bool request_failed = !request || *request != "OK";
      EXPECT_TRUE(needs_reset || size_kept || request_failed)
          << "a queue of size 15 was accepted and served\n" << context;
      break;
    }
    case Abuse::kMsix: {
      const auto readback = line_after(console, "virtio-hostile: entry ");
      ASSERT_TRUE(readback.has_value()) << context;
      EXPECT_EQ(readback->find("0xdeadbeef"), std::string::npos) << "an entry past the table kept a write\n" << context;
      EXPECT_EQ(readback->find("PBA reads 0xffffffffffffffff"), std::string::npos) << "the PBA took a write\n" << context;
      EXPECT_FALSE(needs_reset) << context;
      EXPECT_TRUE(has_line(run.out, "virtio-hostile: same queue read sector 0: OK")) << context;
      break;
    }
  }

  // The image: every sector but 100 untouched; 100 untouched too when the request was refused.
  const std::vector<uint8_t> image = read_image(image_, 0, kVirtioTestImageBytes);
  ASSERT_EQ(image.size(), kVirtioTestImageBytes);
  for (uint64_t sector = 0; sector < kVirtioTestImageBytes / kSectorBytes; ++sector) {
    if (sector == kVirtioHostileTargetSector && !request_refused) continue;
    for (uint64_t i = 0; i < kSectorBytes; ++i) {
      if (image[sector * kSectorBytes + i] != kVirtioTestImageFill) {
        ADD_FAILURE() << "image sector " << sector << " byte " << i << " changed to "
                      << static_cast<int>(image[sector * kSectorBytes + i]) << "\n" << context;
        return;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, HostileGuestOnOurStack,
    ::testing::Values(HostileCase{"loop", "case=loop", Abuse::kBadDataRequest},
                      HostileCase{"outside", "case=outside", Abuse::kBadDataRequest},
                      HostileCase{"outside", "case=outside dir=in", Abuse::kBadDataRequest},
                      HostileCase{"mmio", "case=mmio", Abuse::kBadDataRequest},
                      HostileCase{"mmio", "case=mmio dir=in", Abuse::kBadDataRequest},
                      HostileCase{"wrap", "case=wrap", Abuse::kBadDataRequest},
                      HostileCase{"wrap", "case=wrap dir=in", Abuse::kBadDataRequest},
                      HostileCase{"len_overflow", "case=len_overflow", Abuse::kBadDataRequest},
                      HostileCase{"len_overflow", "case=len_overflow dir=in", Abuse::kBadDataRequest},
                      HostileCase{"avail_ahead", "case=avail_ahead", Abuse::kBrokenRing},
                      HostileCase{"bad_head", "case=bad_head", Abuse::kBrokenRing},
                      HostileCase{"queue_size", "case=queue_size", Abuse::kQueueSize},
                      HostileCase{"msix", "case=msix", Abuse::kMsix}),
    [](const ::testing::TestParamInfo<HostileCase>& info) {
      std::string name = info.param.name;
      if (std::string_view(info.param.cmdline).find("dir=in") != std::string_view::npos) name += "_dir_in";
      return name;
    });

}  // namespace
}  // namespace bulwark::test
