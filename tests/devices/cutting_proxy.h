// A vhost-user man in the middle for the device-failure tests: forwards every message (and
// its fds) between the monitor and a real device process, until the monitor sends the request
// it waits for. Then it runs `on_cut` (which kills the device process) and hangs up on the
// monitor without answering, exactly as a backend dying at that moment would look.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>

#include "bulwark/common/unique_fd.h"

namespace bulwark::test {

class CuttingProxy {
 public:
  CuttingProxy(UniqueFd monitor_side, UniqueFd device_side, uint32_t cut_at_request,
               std::function<void()> on_cut);
  ~CuttingProxy();
  CuttingProxy(const CuttingProxy&) = delete;
  CuttingProxy& operator=(const CuttingProxy&) = delete;

  bool cut() const { return cut_.load(); }
  uint32_t forwarded() const { return forwarded_.load(); }

 private:
  void run(uint32_t cut_at_request, std::function<void()> on_cut);

  UniqueFd monitor_side_;
  UniqueFd device_side_;
  std::atomic<bool> cut_{false};
  std::atomic<uint32_t> forwarded_{0};
  std::thread thread_;
};

}  // namespace bulwark::test
