// Example messages for the command channel tests and the api_command seed corpus: one command
// of every kind with values away from the defaults, and a few replies. Trusted test data.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "api/command/command.h"

namespace bulwark::api::test {

inline RateLimiter full_limiter() {
  return RateLimiter{TokenBucket{1048576, 100, 2097152}, TokenBucket{1000, 1000, 0}};
}

struct NamedCommand {
  std::string name;  // command_name() of `command`
  uint16_t kind;     // the wire kind the README's table gives
  Command command;
};

inline std::vector<NamedCommand> command_examples() {
  std::vector<NamedCommand> out;
  out.push_back(
      {"PutBootSource", 1,
       PutBootSource{"vmlinux-6.1", "initrd.img", "console=ttyS0 reboot=k panic=1 pci=off"}});
  out.push_back({"PutMachineConfig", 2, PutMachineConfig{4, 2048, false, true, "T2"}});
  out.push_back(
      {"PutDrive", 3,
       PutDrive{"rootfs", "images/ubuntu-22.04.ext4", true, true, "qcow2", full_limiter()}});
  out.push_back({"PutNetworkInterface", 4,
                 PutNetworkInterface{"eth0", "06:00:ac:10:00:02", "tap0",
                                     RateLimiter{TokenBucket{500000, 10, 0}, std::nullopt},
                                     RateLimiter{std::nullopt, TokenBucket{100, 1000, 50}}}});
  out.push_back({"PutEntropy", 5, PutEntropy{RateLimiter{TokenBucket{4096, 1000, 0}, {}}}});
  out.push_back({"InstanceStart", 6, InstanceStart{}});
  out.push_back({"GetInstanceInfo", 7, GetInstanceInfo{}});
  out.push_back({"GetMachineConfig", 8, GetMachineConfig{}});
  out.push_back({"GetVmConfig", 9, GetVmConfig{}});
  out.push_back({"SetVmState", 10, SetVmState{true}});
  out.push_back({"SendCtrlAltDel", 11, SendCtrlAltDel{}});
  out.push_back({"FlushMetrics", 12, FlushMetrics{}});
  out.push_back({"Shutdown", 13, Shutdown{300}});
  out.push_back({"PatchDrive", 14, PatchDrive{"scratch_1", full_limiter()}});
  out.push_back(
      {"PatchNetworkInterface", 15,
       PatchNetworkInterface{"net-1", RateLimiter{{}, TokenBucket{0, 0, 10}}, full_limiter()}});
  out.push_back({"PutLogger", 16, PutLogger{"fc.log", "Debug", true, true, "vmm::logger"}});
  out.push_back({"PutMetrics", 17, PutMetrics{"metrics.fifo"}});
  out.push_back({"GetMetrics", 18, GetMetrics{}});
  out.push_back({"GetPolicy", 19, GetPolicy{}});
  out.push_back({"PutVsock", 20, PutVsock{"vsock0", 52, "v.sock"}});
  out.push_back({"PutTpm", 21, PutTpm{true}});
  out.push_back({"GetAttestation", 22, GetAttestation{}});
  out.push_back({"ReplaceDevice", 23, ReplaceDevice{2}});
  return out;
}

struct NamedReply {
  std::string name;
  Reply reply;
};

inline std::vector<NamedReply> reply_examples() {
  return {
      {"no_content", Reply{204, Reply::Body::kNone, ""}},
      {"json",
       Reply{200, Reply::Body::kJson, R"({"id":"vm-1","state":"Running","vmm_version":"0.1.0"})"}},
      {"prometheus",
       Reply{200, Reply::Body::kPrometheus,
             "# TYPE bulwark_vcpu_exits counter\nbulwark_vcpu_exits{vcpu=\"0\"} 12\n"}},
      {"fault", Reply{400, Reply::Body::kFault,
                      "The requested operation is not supported after "
                      "starting the microVM."}},
      {"timeout", Reply{504, Reply::Body::kFault, "the monitor did not answer in 5 s"}},
  };
}

}  // namespace bulwark::api::test
